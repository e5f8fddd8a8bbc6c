// Reads Shoal's configuration from FJ_* environment variables (Fishjam's names and defaults, plus ours).
// Every invalid value becomes a ConfigError naming the variable; this module never starts anything
// and never reads files.
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { parseClusterConfig, type ClusterConfig } from './cluster-config.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Config {
  /** 'production' refuses to start without an API token; 'development' generates one. */
  mode: 'production' | 'development';
  /** Built-in TLS (https + wss, and TURNS): paths of the PEM key and certificate chain; read at start. */
  tls: { keyPath: string; certPath: string } | undefined;
  ip: string;
  port: number;
  /** Public address without scheme, e.g. `localhost:5002`. */
  host: string;
  serverApiToken: string;
  serverApiTokenGenerated: boolean;
  /** Peer-token signing secrets: the first signs, any verifies (rotation). */
  secretKeyBase: string[];
  secretKeyBaseGenerated: boolean;
  /** Identity of this instance, written into every peer token it mints (and its name in a cluster). */
  nodeId: string;
  /** Cluster mode (FJ_REDIS_URL set): the shared Redis and the node lease; undefined on a single node. */
  cluster: ClusterConfig | undefined;
  peerTokenTtlSeconds: number;
  checkOrigin: CheckOrigin;
  webrtcUsed: boolean;
  /** Integrated TURN: IP advertised in TURN entries and the server candidate. */
  turnIp: string;
  turnListenIp: string;
  /** One UDP port for all peers (0 = any free port). */
  turnUdpPort: number;
  /** One TCP port for all peers (0 = any free port; undefined = TCP off). */
  turnTcpPort: number | undefined;
  /** Most TURN TCP/TLS connections one client IP may hold open at once. */
  turnTcpMaxPerIp: number;
  /** TURN over TLS port (only with built-in TLS; 0 = any free port; undefined = off). */
  turnTlsPort: number | undefined;
  /** Host name clients are given for TURNS (the certificate's name; defaults to FJ_HOST's host). */
  turnTlsHost: string;
  turnRealm: string;
  /**
   * Media worker threads (0 = media in the main thread). Each worker hosts whole rooms and owns its own
   * TURN ports: worker i listens on turnUdpPort + i (and turnTcpPort + i), or on free ports when those are 0.
   */
  mediaWorkers: number;
  /** FJ_MEDIA_DATAPLANE: the per-packet path (native addon or TypeScript); auto = native when the addon loads. */
  mediaDataPlane: 'native' | 'js' | 'auto';
  logLevel: LogLevel;
  structuredLogging: boolean;
  gitCommit: string;
  metricsIp: string;
  metricsPort: number;
  /** Largest accepted REST body, bytes. */
  maxRequestBodyBytes: number;
  /** Largest accepted WebSocket frame, bytes. */
  maxWsFrameBytes: number;
  /** Interval of WebSocket pings to peers and server sockets, ms. */
  pingIntervalMs: number;
  /** HMAC secret used to sign webhook bodies. */
  webhookSecret: string;
  webhookTimeoutMs: number;
  /** How long one webhook event is retried before it is dropped, ms. */
  webhookMaxRetryMs: number;
  /** Bound of each room's webhook queue (events). */
  webhookQueueLimit: number;
  /** How long a drain (first SIGTERM/SIGINT) waits for webhook events to be delivered before exiting, ms. */
  drainTimeoutMs: number;
  /** A WHIP streamer or WHEP viewer whose client sends nothing for this long is ended, ms. */
  livestreamIdleTimeoutMs: number;
  warnings: string[];
}

export type CheckOrigin = { kind: 'off' } | { kind: 'same-host' } | { kind: 'list'; origins: string[] };

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** Separator between several secrets in FJ_SECRET_KEY_BASE (first signs, all verify). */
export const SECRET_SEPARATOR = ',';

type Env = Record<string, string | undefined>;

class EnvReader {
  readonly warnings: string[] = [];
  constructor(private readonly env: Env) {}

  /** FJ_X wins over the deprecated JF_X fallback. */
  raw(name: string): string | undefined {
    const fj = this.env[`FJ_${name}`];
    const jf = this.env[`JF_${name}`];
    if (jf !== undefined && fj === undefined) {
      this.warnings.push(`JF_${name} is deprecated, use FJ_${name}`);
      return emptyToUndefined(jf);
    }
    if (jf !== undefined && fj !== undefined) this.warnings.push(`both FJ_${name} and JF_${name} set; using FJ_${name}`);
    return emptyToUndefined(fj);
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const lower = v.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    throw new ConfigError(`FJ_${name}`, `expected "true" or "false", got "${v}"`);
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v)) throw new ConfigError(`FJ_${name}`, `expected an integer from ${min} to ${max}, got "${v}"`);
    const n = Number(v);
    if (n < min || n > max) throw new ConfigError(`FJ_${name}`, `expected an integer from ${min} to ${max}, got "${v}"`);
    return n;
  }

  ip(name: string, fallback: string): string {
    const v = this.string(name, fallback);
    if (isIP(v) === 0) throw new ConfigError(`FJ_${name}`, `expected an IP address, got "${v}"`);
    return v;
  }
}

function emptyToUndefined(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

const LOG_LEVELS: Record<string, LogLevel> = { debug: 'debug', info: 'info', warning: 'warn', warn: 'warn', error: 'error' };
const NODE_ENVS = ['production', 'development', 'test'];

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}

/** The host part of FJ_HOST (`name:port`, `[v6]:port` or a bare name). */
function hostName(host: string): string {
  const v6 = /^\[([^\]]+)\]/.exec(host);
  if (v6) return v6[1]!;
  return host.replace(/:\d+$/, '');
}

export function loadConfig(env: Env = process.env): Config {
  const r = new EnvReader(env);
  const nodeEnv = emptyToUndefined(env.NODE_ENV);
  if (nodeEnv !== undefined && !NODE_ENVS.includes(nodeEnv)) throw new ConfigError('NODE_ENV', `expected one of ${NODE_ENVS.join(', ')}, got "${nodeEnv}"`);
  const mode = nodeEnv === 'production' ? 'production' : 'development';

  const ip = r.ip('IP', '127.0.0.1');
  const port = r.int('PORT', 5002, 1, 65535);
  const hostSet = r.raw('HOST') !== undefined;
  const host = r.string('HOST', `${ip === '0.0.0.0' ? 'localhost' : ip}:${port}`);

  let serverApiToken = r.raw('SERVER_API_TOKEN');
  let serverApiTokenGenerated = false;
  if (serverApiToken === undefined) {
    if (mode === 'production') {
      throw new ConfigError('FJ_SERVER_API_TOKEN', 'is required when NODE_ENV=production');
    }
    serverApiToken = randomBytes(24).toString('base64url');
    serverApiTokenGenerated = true;
  }

  let secretKeyBase: string[];
  let secretKeyBaseGenerated = false;
  const rawSecret = r.raw('SECRET_KEY_BASE');
  if (rawSecret === undefined) {
    secretKeyBase = [randomBytes(48).toString('base64')];
    secretKeyBaseGenerated = true;
    r.warnings.push(
      'FJ_SECRET_KEY_BASE is not set: a random key was generated, so peer tokens die on restart and do not verify on other nodes',
    );
  } else {
    secretKeyBase = rawSecret.split(SECRET_SEPARATOR).map((s) => s.trim());
    if (secretKeyBase.some((s) => s.length < 32)) {
      throw new ConfigError('FJ_SECRET_KEY_BASE', 'each secret must be at least 32 characters long');
    }
  }

  const logRaw = r.raw('LOG_LEVEL') ?? 'info';
  const logLevel = LOG_LEVELS[logRaw.toLowerCase()];
  if (logLevel === undefined) throw new ConfigError('FJ_LOG_LEVEL', `expected one of ${Object.keys(LOG_LEVELS).join(', ')}, got "${logRaw}"`);

  const mediaWorkers = parseMediaWorkers(r.raw('MEDIA_WORKERS'));
  const turnRangeRaw = r.raw('WEBRTC_TURN_PORT_RANGE');
  const turnRange = parsePortRange(turnRangeRaw);
  if (turnRange && r.raw('WEBRTC_TURN_PORT') === undefined && turnRange.ports < mediaWorkers) {
    throw new ConfigError('FJ_WEBRTC_TURN_PORT_RANGE', `${mediaWorkers} media workers need ${mediaWorkers} ports, the range "${turnRangeRaw}" has ${turnRange.ports}`);
  }

  const sslKey = r.raw('SSL_KEY_PATH');
  const sslCert = r.raw('SSL_CERT_PATH');
  if ((sslKey === undefined) !== (sslCert === undefined)) {
    throw new ConfigError(sslKey ? 'FJ_SSL_CERT_PATH' : 'FJ_SSL_KEY_PATH', 'FJ_SSL_KEY_PATH and FJ_SSL_CERT_PATH must be set together');
  }
  const tls = sslKey !== undefined && sslCert !== undefined ? { keyPath: sslKey, certPath: sslCert } : undefined;
  const turnTlsRaw = r.raw('WEBRTC_TURN_TLS_PORT');
  if (turnTlsRaw !== undefined && turnTlsRaw !== 'off' && !tls) throw new ConfigError('FJ_WEBRTC_TURN_TLS_PORT', 'needs FJ_SSL_KEY_PATH and FJ_SSL_CERT_PATH');
  const turnTlsPort = !tls || turnTlsRaw === 'off' ? undefined : r.int('WEBRTC_TURN_TLS_PORT', 5349, 0, 65535);

  const turnIp = r.ip('WEBRTC_TURN_IP', '127.0.0.1');
  const turnListenIp = r.ip('WEBRTC_TURN_LISTEN_IP', '127.0.0.1');
  // Listening publicly while telling clients a loopback address works for nobody but this machine.
  const unreachable: string[] = [];
  if (!isLoopback(ip) && !hostSet) unreachable.push(`FJ_IP is ${ip} but FJ_HOST is not set, so clients are told ${host}`);
  if (!isLoopback(turnListenIp) && isLoopback(turnIp)) unreachable.push(`FJ_WEBRTC_TURN_LISTEN_IP is ${turnListenIp} but FJ_WEBRTC_TURN_IP (advertised to clients) is ${turnIp}`);
  if (unreachable.length > 0 && mode === 'production') throw new ConfigError(hostSet ? 'FJ_WEBRTC_TURN_IP' : 'FJ_HOST', `${unreachable.join('; ')}: set the public address`);
  for (const u of unreachable) r.warnings.push(`${u}: remote clients cannot reach this server (set the public address)`);
  const refuse = (variable: string, message: string) => new ConfigError(variable, message);
  const clustering = parseClusterConfig((n) => r.raw(n), refuse, r.warnings, {
    port,
    host,
    secretKeyBaseSet: rawSecret !== undefined,
    int: (n, fallback, min, max) => r.int(n, fallback, min, max),
  });

  return {
    mode,
    tls,
    ip,
    port,
    host,
    serverApiToken,
    serverApiTokenGenerated,
    secretKeyBase,
    secretKeyBaseGenerated,
    nodeId: clustering.nodeId,
    cluster: clustering.cluster,
    peerTokenTtlSeconds: r.int('PEER_TOKEN_TTL', 86400, 1, 10 * 365 * 86400),
    checkOrigin: parseCheckOrigin(r.raw('CHECK_ORIGIN')),
    webrtcUsed: r.bool('WEBRTC_USED', true),
    turnIp,
    turnListenIp,
    turnUdpPort: r.int('WEBRTC_TURN_PORT', turnRange?.from ?? 50000, 0, 65535),
    turnTcpPort: r.raw('WEBRTC_TURN_TCP_PORT') === 'off' ? undefined : r.int('WEBRTC_TURN_TCP_PORT', 50000, 0, 65535),
    turnTcpMaxPerIp: r.int('WEBRTC_TURN_TCP_MAX_PER_IP', 64, 1, 1_000_000),
    turnTlsPort,
    turnTlsHost: r.string('WEBRTC_TURN_TLS_HOST', hostName(host)),
    turnRealm: r.string('WEBRTC_TURN_REALM', 'turn.shoal.localhost'),
    mediaWorkers,
    mediaDataPlane: parseDataPlane(r.raw('MEDIA_DATAPLANE')),
    logLevel,
    structuredLogging: r.bool('STRUCTURED_LOGGING', false),
    gitCommit: r.string('GIT_COMMIT', 'dev'),
    metricsIp: r.ip('METRICS_IP', '127.0.0.1'),
    metricsPort: r.int('METRICS_PORT', 9568, 0, 65535),
    maxRequestBodyBytes: r.int('MAX_REQUEST_BODY', 1024 * 1024, 1024, 64 * 1024 * 1024),
    maxWsFrameBytes: r.int('MAX_WS_FRAME', 1024 * 1024, 1024, 64 * 1024 * 1024),
    pingIntervalMs: r.int('PING_INTERVAL_MS', 30_000, 100, 3_600_000),
    webhookSecret: r.string('WEBHOOK_SECRET', serverApiToken),
    webhookTimeoutMs: r.int('WEBHOOK_TIMEOUT_MS', 5_000, 100, 600_000),
    webhookMaxRetryMs: r.int('WEBHOOK_MAX_RETRY_MS', 300_000, 0, 86_400_000),
    webhookQueueLimit: r.int('WEBHOOK_QUEUE_LIMIT', 10_000, 1, 10_000_000),
    drainTimeoutMs: r.int('DRAIN_TIMEOUT_MS', 10_000, 0, 600_000),
    livestreamIdleTimeoutMs: r.int('LIVESTREAM_IDLE_TIMEOUT_MS', 30_000, 1_000, 3_600_000),
    warnings: r.warnings,
  };
}

/** Fishjam's FJ_WEBRTC_TURN_PORT_RANGE (`from-to`): Shoal uses its first port, and one more per extra media worker. */
function parsePortRange(range: string | undefined): { from: number; ports: number } | undefined {
  if (range === undefined) return undefined;
  const m = /^(\d+)-(\d+)$/.exec(range);
  if (!m || Number(m[1]) > Number(m[2]) || Number(m[2]) > 65535 || Number(m[1]) < 1) {
    throw new ConfigError('FJ_WEBRTC_TURN_PORT_RANGE', `expected "from-to" with 1 <= from <= to <= 65535, got "${range}"`);
  }
  return { from: Number(m[1]), ports: Number(m[2]) - Number(m[1]) + 1 };
}

/** FJ_MEDIA_DATAPLANE: native, js or auto (unset). */
function parseDataPlane(v: string | undefined): 'native' | 'js' | 'auto' {
  if (v === undefined || v === '') return 'auto';
  const plane = v.toLowerCase();
  if (plane !== 'native' && plane !== 'js' && plane !== 'auto') throw new ConfigError('FJ_MEDIA_DATAPLANE', `expected native, js or auto, got "${v}"`);
  return plane;
}

/** FJ_MEDIA_WORKERS: a count (0 = none), or `auto` for one per CPU the process may use. */
function parseMediaWorkers(v: string | undefined): number {
  if (v === undefined || v === '') return 0;
  if (v.toLowerCase() === 'auto') return availableParallelism();
  if (!/^\d+$/.test(v) || Number(v) > 64) throw new ConfigError('FJ_MEDIA_WORKERS', `expected auto or an integer 0..64, got "${v}"`);
  return Number(v);
}

function parseCheckOrigin(v: string | undefined): CheckOrigin {
  if (v === undefined || v.toLowerCase() === 'false') return { kind: 'off' };
  if (v.toLowerCase() === 'true' || v === ':conn') return { kind: 'same-host' };
  const origins = v.split(/\s+/).filter(Boolean);
  for (const o of origins) {
    try {
      new URL(o);
    } catch {
      throw new ConfigError('FJ_CHECK_ORIGIN', `expected true, false, :conn or space-separated origins, got "${o}"`);
    }
  }
  return { kind: 'list', origins };
}
