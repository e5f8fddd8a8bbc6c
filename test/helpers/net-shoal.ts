// Starts Shoal as a process inside the server namespace of a netns topology (spawnShoal under
// `ip netns exec`): HTTP, TURN (the address clients are given, FJ_WEBRTC_TURN_IP) and metrics all on the
// server's address on the topology, so clients reach it only through their shaped veth while the test
// process reaches it over the root namespace's unshaped link (optionally with the delay relay of
// net-relay.ts in front of its TURN port). Plus a REST helper and a metrics reader.
// It must not bind anything outside the server namespace.
import { availableParallelism } from 'node:os';
import { spawnShoal, type ShoalProcess } from './shoal-process.js';
import { inNamespace, type NetTopology } from './netns.js';
import { startDelayRelay, type DelayRelay } from './net-relay.js';

export const NET_API_TOKEN = 'netns-test-api-token';
const METRICS_PORT = 9568; // alone in its namespace: the default port cannot be taken
const RELAYED_TURN_PORT = 50_000; // fixed when relayed: the relay listens on the same ports

export interface NetShoal {
  proc: ShoalProcess;
  ip: string;
  port: number;
  /** ip:port, for ts-client 0.5.0 `signaling.host` */
  host: string;
  httpUrl: string;
  /** ws://ip:port, for ts-client 0.25.1 `connect({ url })` */
  wsUrl: string;
  metricsUrl: string;
  apiToken: string;
  /** With `delayRelay`: the relay clients reach Shoal's TURN through (set delays on it). */
  relay?: DelayRelay;
  stop(): Promise<void>;
}

/**
 * `env` adds or overrides FJ_* variables (e.g. FJ_MEDIA_WORKERS). `delayRelay`: clients are given the delay
 * relay's address (net-relay.ts) as Shoal's TURN address, so delay and jitter can be set per client.
 */
export async function startNetShoal(topo: NetTopology, env: Record<string, string> = {}, opts: { delayRelay?: boolean } = {}): Promise<NetShoal> {
  const ip = topo.server.ip;
  let relay: DelayRelay | undefined;
  const relayEnv: Record<string, string> = {};
  if (opts.delayRelay) {
    const workers = env.FJ_MEDIA_WORKERS === 'auto' ? availableParallelism() : Number(env.FJ_MEDIA_WORKERS ?? 0);
    const ports = Array.from({ length: Math.max(1, workers) }, (_, i) => RELAYED_TURN_PORT + i);
    relay = await startDelayRelay(topo, ports);
    Object.assign(relayEnv, { FJ_WEBRTC_TURN_IP: relay.ip, FJ_WEBRTC_TURN_PORT: String(RELAYED_TURN_PORT), FJ_WEBRTC_TURN_TCP_PORT: 'off' });
  }
  let proc: ShoalProcess;
  try {
    proc = await spawnShoal({
      token: NET_API_TOKEN,
      command: inNamespace(topo.server.ns, [process.execPath, '--import', 'tsx', 'src/main.ts']),
      env: {
        FJ_IP: ip,
        FJ_WEBRTC_TURN_IP: ip,
        FJ_WEBRTC_TURN_LISTEN_IP: ip,
        FJ_METRICS_IP: ip,
        FJ_METRICS_PORT: String(METRICS_PORT),
        ...relayEnv,
        ...env,
      },
    });
  } catch (err) {
    relay?.stop();
    throw err;
  }
  const host = `${ip}:${proc.port}`;
  return {
    proc,
    ip,
    port: proc.port,
    host,
    httpUrl: `http://${host}`,
    wsUrl: `ws://${host}`,
    metricsUrl: `http://${ip}:${METRICS_PORT}/metrics`,
    apiToken: NET_API_TOKEN,
    relay,
    stop: async () => {
      relay?.stop();
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
      proc.child.kill('SIGKILL');
      await proc.exited;
    },
  };
}

/** A REST call to the Shoal with its API token; `json` is the parsed body (undefined when not JSON). */
export async function netApi(s: NetShoal, method: string, path: string, body?: unknown): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(`${s.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${s.apiToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json: any;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

/** Creates a room and returns its id. */
export async function netRoom(s: NetShoal, options: Record<string, unknown> = {}): Promise<string> {
  const r = await netApi(s, 'POST', '/room', options);
  if (r.status !== 201) throw new Error(`POST /room: ${r.status} ${r.text}`);
  return r.json.data.room.id;
}

/** Adds a WebRTC peer to `roomId` and returns its token. */
export async function netPeerToken(s: NetShoal, roomId: string): Promise<string> {
  const r = await netApi(s, 'POST', `/room/${roomId}/peer`, { type: 'webrtc', options: {} });
  if (r.status !== 201) throw new Error(`POST /room/${roomId}/peer: ${r.status} ${r.text}`);
  return r.json.data.token;
}

/** Sum of a Prometheus series over its labels (0 when absent), read from the Shoal's /metrics. */
export async function netMetric(s: NetShoal, name: string): Promise<number> {
  const text = await (await fetch(s.metricsUrl, { signal: AbortSignal.timeout(10_000) })).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && m[1] === name) sum += Number(m[3]);
  }
  return sum;
}
