// Cluster fault tests' helpers: spawns Shoal nodes as real processes on one redis-server (each its own
// HTTP, TURN and metrics ports on 127.0.0.1, FJ_HOST = its address), bounded REST calls to one node, a
// bounded poll, a direct look into Redis (node registrations, room claims), and a tone sent between two
// agents in a room (media through the SFU, without a browser). Spawned processes are
// killed by killShoalProcesses() from shoal-process.ts (call it in `after`).
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { FishjamClient, type FishjamAgent, type RoomId } from '@fishjam-cloud/js-server-sdk';
import { FORWARDED_HEADER } from '../../src/api/cluster-routing.js';
import { sinePcm16 } from '../media/agent/audio-signal.js';
import { API_TOKEN, SECRET, freePort } from './server.js';
import type { TestRedis } from './redis-server.js';
import { spawnShoal, type ShoalProcess } from './shoal-process.js';

export interface ClusterNodeProc {
  id: string;
  port: number;
  /** FJ_HOST: 127.0.0.1:port. */
  host: string;
  httpUrl: string;
  proc: ShoalProcess;
}

/** Spawns one node `id` on `redis` (lease `leaseMs`), with `env` on top. */
export async function spawnNode(redis: TestRedis, id: string, leaseMs: number, env: Record<string, string> = {}): Promise<ClusterNodeProc> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    try {
      const proc = await spawnShoal({
        token: API_TOKEN,
        env: {
          FJ_REDIS_URL: redis.url,
          FJ_NODE_ID: id,
          FJ_SECRET_KEY_BASE: SECRET,
          FJ_CLUSTER_LEASE_MS: String(leaseMs),
          FJ_PORT: String(port),
          FJ_HOST: host,
          FJ_IP: '127.0.0.1',
          FJ_LOG_LEVEL: 'info',
          ...env,
        },
      });
      return { id, port, host, httpUrl: `http://${host}`, proc };
    } catch (err) {
      // freePort() may race with another process taking the port: try another.
      if (attempt < 3 && /EADDRINUSE|already in use/.test(String(err))) continue;
      throw err;
    }
  }
}

export interface RawResponse {
  status: number;
  text: string;
  json: any;
  ms: number;
}

/** One REST call to a node with the API token, bounded by `timeoutMs`; `forwarded` makes the node handle it itself. */
export async function rest(node: { port: number }, method: string, path: string, body?: unknown, o: { forwarded?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
  const headers: Record<string, string> = { authorization: `Bearer ${API_TOKEN}`, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (o.forwarded) headers[FORWARDED_HEADER] = 'test';
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${node.port}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
  });
  const text = await res.text();
  let json: any;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, ms: performance.now() - t0 };
}

/** The environment of an in-process cluster node `nodeId` on `redis` (lease `leaseMs`), `extra` on top. */
export function clusterEnv(redis: TestRedis, nodeId: string, leaseMs: number, extra: Record<string, string> = {}): Record<string, string> {
  return { FJ_REDIS_URL: redis.url, FJ_NODE_ID: nodeId, FJ_SECRET_KEY_BASE: SECRET, FJ_CLUSTER_LEASE_MS: String(leaseMs), ...extra };
}

/** Polls `check` every 50 ms until it returns true, at most `withinMs`. */
export async function until(check: () => boolean | Promise<boolean>, withinMs: number, what: string): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await Promise.resolve().then(check).catch(() => false))) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What Redis holds now: node registrations (id → draining) and room claims (id → node). */
export async function redisView(redis: TestRedis): Promise<{ nodes: Map<string, boolean>; rooms: Map<string, string>; roomIndex: string[] }> {
  const r = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, commandTimeout: 2000, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    const nodes = new Map<string, boolean>();
    for (const key of await r.keys('shoal:cluster:node:*')) {
      const v = JSON.parse((await r.get(key)) ?? '{}');
      nodes.set(key.slice('shoal:cluster:node:'.length), v.draining === true);
    }
    const rooms = new Map<string, string>();
    for (const key of await r.keys('shoal:cluster:room:*')) rooms.set(key.slice('shoal:cluster:room:'.length), JSON.parse((await r.get(key)) ?? '{}').node);
    const roomIndex = await r.zrange('shoal:cluster:rooms', '0', '-1');
    return { nodes, rooms, roomIndex };
  } finally {
    r.disconnect();
  }
}

/** The ids GET /room on `node` lists (asserting a 200). */
export async function listedRooms(node: { port: number }): Promise<string[]> {
  const r = await rest(node, 'GET', '/room');
  assert.equal(r.status, 200, r.text);
  return (r.json.data as { id: string }[]).map((x) => x.id).sort();
}

/** A speaker agent sending a 440 Hz tone in real time (100 ms every 100 ms) and a listener recording arrivals. */
export async function toneLink(node: ClusterNodeProc, roomId: string, agents: FishjamAgent[]) {
  const fishjam = new FishjamClient({ fishjamId: node.httpUrl, managementToken: API_TOKEN });
  const speaker = await fishjam.createAgent(roomId as RoomId);
  const listener = await fishjam.createAgent(roomId as RoomId, { output: { audioFormat: 'pcm16', audioSampleRate: 16000 } } as never);
  agents.push(speaker.agent, listener.agent);
  const heard: number[] = [];
  listener.agent.on('trackData', (msg) => msg.peerId === speaker.peer.id && heard.push(performance.now()));
  const track = speaker.agent.createTrack({ encoding: 'pcm16', sampleRate: 16000, channels: 1 });
  let sample = 0;
  const send = (ms: number) => {
    speaker.agent.sendData(track.id, sinePcm16(440, 16000, ms, 12000, sample));
    sample += (16000 * ms) / 1000;
  };
  send(400); // ahead, so timer jitter in this process never starves the pacer
  const timer = setInterval(() => send(100), 100);
  return { heard, stop: () => clearInterval(timer) };
}
