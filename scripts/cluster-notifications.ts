// Measures what cluster-wide server notifications cost in a 2-node cluster on this machine (two Shoal
// processes, a real redis-server): for peers added one by one on node B, how much later the SDK's
// FishjamWSNotifier on node A sees each PeerAdded than the one on B itself (p50/p99), and for a burst of
// adds (8 in flight) how long after B's notifier A's saw the last of them. Also checks that A saw each
// event exactly once. Prints the numbers; asserts nothing else. Run:
//   node --import tsx scripts/cluster-notifications.ts [peers]
import { fromBinary } from '@bufbuild/protobuf';
import { WebSocket } from 'ws';
import { ServerMessageSchema } from '../src/gen/fishjam/server_notifications_pb.js';
import { FishjamWSNotifier } from '@fishjam-cloud/js-server-sdk';
import { FORWARDED_HEADER } from '../src/api/cluster-routing.js';
import { API_TOKEN, SECRET } from '../test/helpers/server.js';
import { killShoalProcesses, spawnShoal } from '../test/helpers/shoal-process.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { call, fmt } from './cluster-script.js';

(globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
const N = Number(process.argv[2] ?? 400);

/** A REST call that must succeed: its JSON body (a status of 300 or more throws). */
async function ok(port: number, method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<any> {
  const r = await call(port, method, path, body, extra);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

/** Arrival time (performance.now) of each peerAdded by peer id, and a count of repeats. */
function watch(port: number): { seen: Map<string, number>; repeats: () => number; close: () => void; ready: Promise<void> } {
  const seen = new Map<string, number>();
  let repeats = 0;
  const notifier = new FishjamWSNotifier({ fishjamId: `http://127.0.0.1:${port}`, managementToken: API_TOKEN }, () => {}, () => {});
  notifier.on('peerAdded', (m: any) => {
    if (seen.has(m.peerId)) repeats++;
    else seen.set(m.peerId, performance.now());
  });
  const socket = (notifier as unknown as { client: WebSocket }).client;
  const ready = new Promise<void>((resolve) =>
    socket.addEventListener('message', (ev) => {
      if (fromBinary(ServerMessageSchema, new Uint8Array(ev.data as ArrayBuffer)).content.case === 'subscribeResponse') resolve();
    }),
  );
  return { seen, repeats: () => repeats, close: () => socket.close(), ready };
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const redis = await startRedis();
const env = (id: string) => ({ FJ_REDIS_URL: redis.url, FJ_NODE_ID: id, FJ_SECRET_KEY_BASE: SECRET, FJ_CLUSTER_LEASE_MS: '3000' });
try {
  const a = await spawnShoal({ token: API_TOKEN, env: env('node-a') });
  const b = await spawnShoal({ token: API_TOKEN, env: env('node-b') });
  const onA = watch(a.port);
  const onB = watch(b.port);
  await Promise.all([onA.ready, onB.ready]);
  // Created on B itself (a forwarded create is never placed elsewhere).
  await ok(b.port, 'POST', '/room', { roomId: 'bench-notify', maxPeers: null }, { [FORWARDED_HEADER]: 'bench' });
  const add = async () => (await ok(b.port, 'POST', '/room/bench-notify/peer', { type: 'webrtc', options: {} })).data.peer.id as string;
  for (let i = 0; i < 50; i++) await add(); // warm-up
  await until(() => onA.seen.size === 50, 10_000, 'warm-up seen on A');

  const delays: number[] = [];
  for (let i = 0; i < N; i++) {
    const id = await add();
    await until(() => onA.seen.has(id) && onB.seen.has(id), 10_000, `peer ${id} seen on both`);
    delays.push(onA.seen.get(id)! - onB.seen.get(id)!);
  }
  console.log(`PeerAdded on node A (remote) after node B (local), one at a time:  ${fmt(delays)}`);

  const burst: string[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next++ < N) burst.push(await add());
  }));
  const restMs = performance.now() - t0;
  await until(() => burst.every((id) => onA.seen.has(id) && onB.seen.has(id)), 20_000, 'burst seen on both');
  const lastA = Math.max(...burst.map((id) => onA.seen.get(id)!));
  const lastB = Math.max(...burst.map((id) => onB.seen.get(id)!));
  console.log(`burst of ${N} adds (8 in flight, ${(N / (restMs / 1000)).toFixed(0)}/s): last PeerAdded on A ${(lastA - lastB).toFixed(1)} ms after B's`);
  const expected = 50 + 2 * N;
  console.log(`PeerAdded seen on A: ${onA.seen.size} of ${expected}, repeats ${onA.repeats()}; on B: ${onB.seen.size}, repeats ${onB.repeats()}`);
  onA.close();
  onB.close();
} finally {
  killShoalProcesses();
  await redis.dispose();
}
