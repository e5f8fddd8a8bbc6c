// Measures how fast one node puts its share of the cluster back after Redis restarts empty: for N rooms
// served by an in-process node, the time from redis-server being up again to the node's registration
// being back and to all N room claims being back (this includes the Redis client's reconnect delay, at
// most 2 s). Prints the numbers; asserts nothing.
// Run: node --import tsx scripts/cluster-reassert.ts [N1,N2,...] [outageMs]
import { Redis } from 'ioredis';
import { FORWARDED_HEADER } from '../src/api/cluster-routing.js';
import { SECRET, api, startShoal } from '../test/helpers/server.js';
import { startRedis } from '../test/helpers/redis-server.js';

const SIZES = (process.argv[2] ?? '100,1000,5000').split(',').map(Number);
const OUTAGE_MS = Number(process.argv[3] ?? 3000);

const redis = await startRedis();
const node = await startShoal({ FJ_REDIS_URL: redis.url, FJ_NODE_ID: 'measured', FJ_SECRET_KEY_BASE: SECRET, FJ_CLUSTER_LEASE_MS: '3000' });
let made = 0;
try {
  for (const n of SIZES) {
    for (; made < n; made++) {
      const r = await api(node, 'POST', '/room', { roomId: `room-${made}` }, { headers: { [FORWARDED_HEADER]: 'measure' } });
      if (r.status !== 201) throw new Error(`create ${made}: ${r.status} ${r.text}`);
    }
    await redis.stop();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    await redis.start();
    const t0 = performance.now();
    const probe = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    probe.on('error', () => {});
    let registeredMs: number | undefined;
    let claimedMs: number | undefined;
    while (claimedMs === undefined && performance.now() - t0 < 60_000) {
      const [reg, claims] = await Promise.all([probe.exists('shoal:cluster:node:measured'), probe.zcard('shoal:cluster:rooms')]);
      const at = performance.now() - t0;
      if (reg === 1 && registeredMs === undefined) registeredMs = at;
      if (claims === n) claimedMs = at;
      else await new Promise((r) => setTimeout(r, 5));
    }
    probe.disconnect();
    console.log(`${n} rooms, Redis down ${OUTAGE_MS} ms: registration back ${registeredMs?.toFixed(0)} ms, all ${n} claims back ${claimedMs?.toFixed(0)} ms after redis-server was up (claims − registration: ${((claimedMs ?? NaN) - (registeredMs ?? NaN)).toFixed(0)} ms)`);
  }
} finally {
  await node.stop();
  await redis.dispose();
}
