// Measures the cluster membership layer on this machine with a real redis-server: how long a SIGKILLed
// node stays counted, /health latency with Redis up and down, how fast a node is back after Redis
// restarts, and the Redis commands one node costs per second. Prints the numbers; asserts nothing.
// Run: node --import tsx scripts/cluster-membership.ts [leaseMs]
import { Redis } from 'ioredis';
import { API_TOKEN, SECRET, startShoal } from '../test/helpers/server.js';
import { killShoalProcesses, spawnShoal } from '../test/helpers/shoal-process.js';
import { startRedis } from '../test/helpers/redis-server.js';

const LEASE = Number(process.argv[2] ?? 3000);

async function health(port: number): Promise<{ nodeStatus: string; nodesInCluster: number }> {
  const res = await fetch(`http://127.0.0.1:${port}/health`, { headers: { authorization: `Bearer ${API_TOKEN}` }, signal: AbortSignal.timeout(5000) });
  return ((await res.json()) as { data: { distribution: { nodeStatus: string; nodesInCluster: number } } }).data.distribution;
}

async function waitFor(port: number, ok: (d: { nodeStatus: string; nodesInCluster: number }) => boolean, withinMs: number): Promise<number> {
  const t0 = performance.now();
  while (!ok(await health(port))) {
    if (performance.now() - t0 > withinMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - t0;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const fmt = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(2)} ms, p99 ${pct(xs, 99).toFixed(2)} ms, max ${Math.max(...xs).toFixed(2)} ms (n=${xs.length})`;

async function latencies(port: number, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await health(port);
    out.push(performance.now() - t0);
  }
  return out;
}

const redis = await startRedis();
const env = (id: string) => ({ FJ_REDIS_URL: redis.url, FJ_NODE_ID: id, FJ_SECRET_KEY_BASE: SECRET, FJ_CLUSTER_LEASE_MS: String(LEASE) });
const a = await startShoal(env('m-a'));
try {
  console.log(`lease ${LEASE} ms, renewal every ${Math.floor(LEASE / 3)} ms`);
  const detect: number[] = [];
  for (let i = 0; i < 5; i++) {
    const c = await spawnShoal({ token: API_TOKEN, env: env(`m-c${i}`) });
    await waitFor(a.port, (d) => d.nodesInCluster === 2, LEASE * 3);
    // Kill at a random point of the renewal cycle.
    await new Promise((r) => setTimeout(r, Math.random() * (LEASE / 3)));
    c.child.kill('SIGKILL');
    await c.exited;
    detect.push(await waitFor(a.port, (d) => d.nodesInCluster === 1, LEASE * 3));
  }
  console.log(`SIGKILLed node dropped from the survivor's /health after: ${detect.map((x) => x.toFixed(0)).join(', ')} ms`);

  console.log(`/health, Redis up: ${fmt(await latencies(a.port, 500))}`);

  const direct = new Redis(redis.url);
  await direct.config('RESETSTAT');
  const window = 3 * LEASE;
  await new Promise((r) => setTimeout(r, window));
  const calls = new Map<string, number>();
  for (const m of (await direct.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(m[1]!, Number(m[2]));
  // Round trips the node made: TIME, SET and ZADD run inside the registration script (EVAL).
  const trips = ['eval', 'zrevrange', 'mget', 'zrem'].reduce((n, c) => n + (calls.get(c) ?? 0), 0);
  console.log(`Redis round trips from one idle node: ${(trips / (window / 1000)).toFixed(2)}/s over ${window} ms (${[...calls].map(([c, n]) => `${c}=${n}`).join(' ')}; TIME, SET, ZADD inside EVAL)`);
  direct.disconnect();

  await redis.stop();
  const downAfter = await waitFor(a.port, (d) => d.nodeStatus === 'DOWN', LEASE * 3);
  console.log(`Redis stopped: DOWN after ${downAfter.toFixed(0)} ms; /health, Redis down: ${fmt(await latencies(a.port, 500))}`);
  await redis.start();
  console.log(`Redis started again: UP after ${(await waitFor(a.port, (d) => d.nodeStatus === 'UP', LEASE * 3 + 5000)).toFixed(0)} ms`);
} finally {
  killShoalProcesses();
  await a.stop();
  await redis.dispose();
}
