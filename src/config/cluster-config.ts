// Cluster settings: FJ_REDIS_URL turns cluster mode on; Fishjam's Erlang-distribution variables
// (FJ_DIST_*, FJ_FEATURE_FLAG_REQUEST_ROUTING_ENABLED) are mapped, ignored with a warning or refused.
// Pure parsing for config.ts: it never connects to Redis and imports nothing but node built-ins.
import { hostname } from 'node:os';

export interface ClusterConfig {
  /** redis:// or rediss:// URL of the Redis every node shares. */
  redisUrl: string;
  /** How long a node's registration lives without a renewal, ms (renewed every leaseMs / 3). */
  leaseMs: number;
  /** FJ_FEATURE_FLAG_REQUEST_ROUTING_ENABLED as given (routing is always on in a Shoal cluster). */
  routingFlag: boolean | undefined;
  /** FJ_CLUSTER_DRAIN_TIMEOUT_MS: on SIGTERM, how long the rooms here may keep running (no new rooms placed here) before the rest are hung up, ms. */
  drainTimeoutMs: number;
}

/** What cluster mode decides about the node's identity and secret, next to the cluster settings. */
export interface ClusterParse {
  cluster: ClusterConfig | undefined;
  nodeId: string;
}

/** Thrown as config.ts's ConfigError (given as a factory so this file needs no import of it). */
type Refuse = (variable: string, message: string) => Error;

/** Reads an FJ_ variable (with the JF_ fallback), empty meaning unset. */
type Raw = (name: string) => string | undefined;

export const NODE_ID_PATTERN = /^[A-Za-z0-9._:@\[\]-]{1,128}$/;
const REDIS_URL_MAX = 2048;

/** Erlang-distribution variables with no meaning on Redis, and why (they are ignored with a warning). */
const IGNORED_DIST: Record<string, string> = {
  DIST_MODE: 'Erlang short/long node names do not exist on Redis',
  DIST_STRATEGY_NAME: 'nodes find each other in the Redis registry, not by a libcluster strategy',
  DIST_NODES: 'nodes find each other in the Redis registry',
  DIST_QUERY: 'nodes find each other in the Redis registry, not by DNS',
  DIST_POLLING_INTERVAL: 'nodes find each other in the Redis registry, not by DNS polling',
  DIST_MIN_PORT: 'there is no Erlang distribution port: nodes talk through Redis and FJ_PORT',
  DIST_MAX_PORT: 'there is no Erlang distribution port: nodes talk through Redis and FJ_PORT',
};

function parseBool(raw: Raw, refuse: Refuse, name: string): boolean | undefined {
  const v = raw(name);
  if (v === undefined) return undefined;
  if (v.toLowerCase() === 'true') return true;
  if (v.toLowerCase() === 'false') return false;
  throw refuse(`FJ_${name}`, `expected "true" or "false", got "${v}"`);
}

function parseRedisUrl(v: string, refuse: Refuse): string {
  const bad = () => refuse('FJ_REDIS_URL', 'expected a redis://host[:port][/db] or rediss://… URL (rediss = TLS)');
  if (v.length > REDIS_URL_MAX) throw bad();
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw bad();
  }
  if ((url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '') throw bad();
  if (url.pathname !== '' && url.pathname !== '/' && !/^\/\d{1,2}$/.test(url.pathname)) {
    throw refuse('FJ_REDIS_URL', 'the path, if any, must be a database number (/0 … /99)');
  }
  return v;
}

/** The cluster-mode default node id: this machine's name and the HTTP port, stable across restarts. */
export function defaultClusterNodeId(port: number): string {
  const name = hostname().replace(/[^A-Za-z0-9.-]/g, '-').slice(0, 100) || 'shoal';
  return `${name}-${port}`;
}

export function parseClusterConfig(
  raw: Raw,
  refuse: Refuse,
  warnings: string[],
  node: { port: number; host: string; secretKeyBaseSet: boolean; int: (name: string, fallback: number, min: number, max: number) => number },
): ClusterParse {
  const redisRaw = raw('REDIS_URL');
  const distEnabled = parseBool(raw, refuse, 'DIST_ENABLED');
  const routingFlag = parseBool(raw, refuse, 'FEATURE_FLAG_REQUEST_ROUTING_ENABLED');
  const nodeIdRaw = raw('NODE_ID');

  if (redisRaw === undefined) {
    if (distEnabled === true) {
      throw refuse('FJ_DIST_ENABLED', 'Shoal clusters on Redis, not Erlang distribution: set FJ_REDIS_URL=redis://… (with FJ_NODE_ID and FJ_HOST per node) instead');
    }
    const stray = ['DIST_COOKIE', 'DIST_NODE_NAME', ...Object.keys(IGNORED_DIST)].filter((n) => raw(n) !== undefined);
    for (const n of stray) warnings.push(`FJ_${n} has no effect: this is a single node (Shoal clusters on Redis: FJ_REDIS_URL)`);
    if (routingFlag === true) warnings.push('FJ_FEATURE_FLAG_REQUEST_ROUTING_ENABLED has no effect on a single node (Shoal clusters on Redis: FJ_REDIS_URL)');
    return { cluster: undefined, nodeId: nodeIdRaw ?? node.host };
  }

  const redisUrl = parseRedisUrl(redisRaw, refuse);
  if (distEnabled === false) {
    throw refuse('FJ_DIST_ENABLED', 'is false but FJ_REDIS_URL turns cluster mode on: unset one of them');
  }
  if (raw('DIST_COOKIE') !== undefined) {
    throw refuse(
      'FJ_DIST_COOKIE',
      'an Erlang cookie cannot be honoured: Shoal nodes share Redis, not Erlang distribution. Unset it; protect Redis instead (a password in FJ_REDIS_URL, rediss:// for TLS) and give every node the same FJ_SECRET_KEY_BASE',
    );
  }
  if (!node.secretKeyBaseSet) {
    throw refuse('FJ_SECRET_KEY_BASE', 'must be set in cluster mode (FJ_REDIS_URL), to the same value on every node, so a token minted on one node verifies on all');
  }
  for (const [n, why] of Object.entries(IGNORED_DIST)) {
    if (raw(n) !== undefined) warnings.push(`FJ_${n} is ignored: ${why}`);
  }
  if (routingFlag === false) warnings.push('FJ_FEATURE_FLAG_REQUEST_ROUTING_ENABLED=false is ignored: requests are always routed to the owning node in a Shoal cluster');

  // FJ_DIST_NODE_NAME names this node, as FJ_NODE_ID does: used when FJ_NODE_ID is not set.
  const distName = raw('DIST_NODE_NAME');
  if (distName !== undefined && !/^[^@\s]+@[^@\s]+$/.test(distName)) throw refuse('FJ_DIST_NODE_NAME', `expected name@host, got "${distName}"`);
  if (distName !== undefined && nodeIdRaw !== undefined) warnings.push('FJ_DIST_NODE_NAME is ignored: FJ_NODE_ID names this node');
  const nodeId = nodeIdRaw ?? distName ?? defaultClusterNodeId(node.port);
  if (!NODE_ID_PATTERN.test(nodeId)) {
    throw refuse(nodeIdRaw !== undefined ? 'FJ_NODE_ID' : 'FJ_DIST_NODE_NAME', `expected 1 to 128 characters of A-Z a-z 0-9 . _ : @ [ ] -, got "${nodeId.slice(0, 160)}"`);
  }
  const leaseMs = node.int('CLUSTER_LEASE_MS', 10_000, 500, 300_000);
  const drainTimeoutMs = node.int('CLUSTER_DRAIN_TIMEOUT_MS', 30_000, 0, 86_400_000);
  return { cluster: { redisUrl, leaseMs, routingFlag, drainTimeoutMs }, nodeId };
}
