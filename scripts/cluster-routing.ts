// Measures what REST routing costs in a 2-node cluster on this machine (two Shoal processes, a real
// redis-server): GET /room/:id and add-peer latency on the owner vs through the other node (p50/p99), and
// add-peer throughput with 8 requests in flight, direct vs routed; POST /room with placement. Prints the
// numbers; asserts nothing. Run: node --import tsx scripts/cluster-routing.ts [requests]
import { FORWARDED_HEADER } from '../src/api/cluster-routing.js';
import { API_TOKEN, SECRET } from '../test/helpers/server.js';
import { killShoalProcesses, spawnShoal } from '../test/helpers/shoal-process.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { call, fmt } from './cluster-script.js';

const N = Number(process.argv[2] ?? 400);


async function timed(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

async function throughput(total: number, inFlight: number, fn: () => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next++ < total) await fn();
  }));
  return total / ((performance.now() - t0) / 1000);
}

const redis = await startRedis();
const env = (id: string) => ({ FJ_REDIS_URL: redis.url, FJ_NODE_ID: id, FJ_SECRET_KEY_BASE: SECRET, FJ_CLUSTER_LEASE_MS: '3000' });
try {
  const a = await spawnShoal({ token: API_TOKEN, env: env('node-a') });
  const b = await spawnShoal({ token: API_TOKEN, env: env('node-b') });
  // Both registered before placing: wait (bounded) until A's listing names B.
  for (let t0 = Date.now(); ; ) {
    const r = await call(a.port, 'POST', '/room', {});
    const onB = r.json?.data?.fishjam_address === `127.0.0.1:${b.port}`;
    if (onB) break;
    if (Date.now() - t0 > 10_000) throw new Error('node B never chosen');
    await new Promise((r2) => setTimeout(r2, 200));
  }
  // Created on B itself (a forwarded create is never placed elsewhere).
  const room = await call(b.port, 'POST', '/room', { roomId: 'bench-room', maxPeers: null }, { [FORWARDED_HEADER]: 'bench' });
  if (room.status !== 201 || room.json.data.fishjam_address !== `127.0.0.1:${b.port}`) throw new Error(`create: ${room.status} ${JSON.stringify(room.json)}`);
  for (let i = 0; i < 50; i++) await call(a.port, 'GET', '/room/bench-room'); // warm-up both paths
  const direct = await timed(N, () => call(b.port, 'GET', '/room/bench-room'));
  const routed = await timed(N, () => call(a.port, 'GET', '/room/bench-room'));
  console.log(`GET /room/:id on the owner       ${fmt(direct)}`);
  console.log(`GET /room/:id through the other  ${fmt(routed)}`);
  const peers: string[] = [];
  const addPeer = (port: number) => async () => {
    const r = await call(port, 'POST', '/room/bench-room/peer', { type: 'webrtc', options: {} });
    if (r.status !== 201) throw new Error(`add peer: ${r.status} ${JSON.stringify(r.json)}`);
    peers.push(r.json.data.peer.id);
  };
  const addDirect = await timed(Math.min(N, 200), addPeer(b.port));
  const addRouted = await timed(Math.min(N, 200), addPeer(a.port));
  console.log(`add peer on the owner            ${fmt(addDirect)}`);
  console.log(`add peer through the other       ${fmt(addRouted)}`);
  for (const id of peers.splice(0)) await call(b.port, 'DELETE', `/room/bench-room/peer/${id}`);
  const tDirect = await throughput(N, 8, addPeer(b.port));
  for (const id of peers.splice(0)) await call(b.port, 'DELETE', `/room/bench-room/peer/${id}`);
  const tRouted = await throughput(N, 8, addPeer(a.port));
  console.log(`add-peer throughput, 8 in flight: on the owner ${tDirect.toFixed(0)}/s, through the other ${tRouted.toFixed(0)}/s`);
  const creates = await timed(Math.min(N, 200), () => call(a.port, 'POST', '/room', {}));
  console.log(`POST /room with placement (A)    ${fmt(creates)}`);
} finally {
  killShoalProcesses();
  await redis.dispose();
}
