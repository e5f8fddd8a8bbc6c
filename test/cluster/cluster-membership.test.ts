// Cluster membership against a real redis-server: nodes register with a lease, /health counts the live
// ones, a node that leaves or is killed drops out in bounded time, and a Redis outage turns nodeStatus
// DOWN without hanging /health or crashing the process, then the nodes re-register.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_TOKEN, SECRET, startShoal, type TestShoal } from '../helpers/server.js';
import { killShoalProcesses, spawnShoal, type ShoalProcess } from '../helpers/shoal-process.js';
import { REDIS_MISSING, startRedis, type TestRedis } from '../helpers/redis-server.js';

const LEASE_MS = 2000;
const RENEW_MS = Math.floor(LEASE_MS / 3);

interface Distribution {
  enabled: boolean;
  nodeStatus: string;
  nodesInCluster: number;
}

/** GET /health on a port; each request is bounded (a hang fails the test). */
async function health(port: number, timeoutMs = 3000): Promise<Distribution> {
  const res = await fetch(`http://127.0.0.1:${port}/health`, { headers: { authorization: `Bearer ${API_TOKEN}` }, signal: AbortSignal.timeout(timeoutMs) });
  assert.equal(res.status, 200);
  return ((await res.json()) as { data: { distribution: Distribution } }).data.distribution;
}

/** Polls /health until `ok` holds, at most `withinMs`; returns the last answer and how long it took. */
async function until(port: number, ok: (d: Distribution) => boolean, withinMs: number, what: string): Promise<{ d: Distribution; ms: number }> {
  const t0 = Date.now();
  let d = await health(port);
  while (!ok(d)) {
    if (Date.now() - t0 > withinMs) assert.fail(`${what}: not within ${withinMs} ms, last /health distribution ${JSON.stringify(d)}`);
    await new Promise((r) => setTimeout(r, 50));
    d = await health(port);
  }
  return { d, ms: Date.now() - t0 };
}

const clusterEnv = (redis: TestRedis, nodeId: string): Record<string, string> => ({
  FJ_REDIS_URL: redis.url,
  FJ_NODE_ID: nodeId,
  FJ_SECRET_KEY_BASE: SECRET,
  FJ_CLUSTER_LEASE_MS: String(LEASE_MS),
});

describe('cluster membership on Redis', { skip: REDIS_MISSING }, () => {
  let redis: TestRedis;
  const nodes: TestShoal[] = [];

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    killShoalProcesses();
    for (const n of nodes) await n.stop().catch(() => {});
    await redis?.dispose();
  });

  test('a single node (no FJ_REDIS_URL) still reports distribution off', async () => {
    const single = await startShoal();
    nodes.push(single);
    assert.deepEqual(await health(single.port), { enabled: false, nodeStatus: 'DOWN', nodesInCluster: 0 });
    await single.stop();
  });

  test('two nodes see each other; one that leaves is gone from the other at once; a SIGKILLed one within lease + renew', async () => {
    const a = await startShoal(clusterEnv(redis, 'node-a'));
    const b = await startShoal(clusterEnv(redis, 'node-b'));
    nodes.push(a, b);
    for (const n of [a, b]) {
      const { d } = await until(n.port, (d) => d.nodesInCluster === 2, LEASE_MS * 2, `node on ${n.port} sees 2 nodes`);
      assert.deepEqual(d, { enabled: true, nodeStatus: 'UP', nodesInCluster: 2 });
    }
    const seen = (await a.shoal.cluster!.liveNodes()).map((n) => n.id).sort();
    assert.deepEqual(seen, ['node-a', 'node-b']);
    const bInfo = (await a.shoal.cluster!.liveNodes()).find((n) => n.id === 'node-b')!;
    assert.equal(bInfo.host, b.host);
    assert.equal(bInfo.apiUrl, b.httpUrl);
    assert.equal(bInfo.draining, false);
    assert.deepEqual(Object.keys(bInfo.load).sort(), ['cpu', 'forwardedTracks', 'peers', 'rooms']);

    await b.stop();
    // b deleted its key (no waiting for its lease): gone from Redis at once, from a's /health at its next renewal.
    assert.deepEqual((await a.shoal.cluster!.liveNodes()).map((n) => n.id), ['node-a']);
    await until(a.port, (d) => d.nodesInCluster === 1, RENEW_MS * 3, 'a sees b leave');

    const c: ShoalProcess = await spawnShoal({ token: API_TOKEN, env: clusterEnv(redis, 'node-c') });
    await until(a.port, (d) => d.nodesInCluster === 2, LEASE_MS * 2, 'a sees c join');
    assert.deepEqual(await health(c.port), { enabled: true, nodeStatus: 'UP', nodesInCluster: 2 });
    c.child.kill('SIGKILL');
    await c.exited;
    // No leave: c's key lapses after its lease; a notices at its next renewal.
    await until(a.port, (d) => d.nodesInCluster === 1, LEASE_MS + RENEW_MS + 1000, 'a drops the killed c');
    await a.stop();
  });

  test('Redis down: /health answers at once and turns DOWN after the lease, nothing crashes; Redis back: both re-register', async () => {
    const a = await startShoal(clusterEnv(redis, 'node-a2'));
    nodes.push(a);
    const d: ShoalProcess = await spawnShoal({ token: API_TOKEN, env: { ...clusterEnv(redis, 'node-d'), FJ_MEDIA_WORKERS: '1' } });
    for (const port of [a.port, d.port]) await until(port, (x) => x.nodesInCluster === 2 && x.nodeStatus === 'UP', LEASE_MS * 2, 'both UP with 2 nodes');

    await redis.stop();
    // Each /health call is bounded by health()'s 3 s abort; DOWN once no renewal was acknowledged for a lease.
    for (const port of [a.port, d.port]) {
      const { d: down } = await until(port, (x) => x.nodeStatus === 'DOWN', LEASE_MS + RENEW_MS * 2 + 1000, `node on ${port} DOWN without Redis`);
      assert.deepEqual(down, { enabled: true, nodeStatus: 'DOWN', nodesInCluster: 0 });
    }
    await assert.rejects(a.shoal.cluster!.liveNodes(), (err: Error) => err.name === 'ClusterUnavailableError');
    assert.equal(d.child.exitCode, null, 'the spawned node survived the outage');
    assert.equal(d.child.signalCode, null);

    await redis.start();
    // The reconnect delay is capped at 2 s, then the next renewal (every lease/3) registers again.
    for (const port of [a.port, d.port]) {
      const { d: up } = await until(port, (x) => x.nodeStatus === 'UP' && x.nodesInCluster === 2, 2000 + LEASE_MS * 2 + 1000, `node on ${port} back`);
      assert.deepEqual(up, { enabled: true, nodeStatus: 'UP', nodesInCluster: 2 });
    }
    d.child.kill('SIGTERM');
    assert.equal(await d.exited, 0, d.output());
    assert.deepEqual((await a.shoal.cluster!.liveNodes()).map((n) => n.id), ['node-a2'], 'the drain left the registry');
    await until(a.port, (x) => x.nodesInCluster === 1, RENEW_MS * 3, 'a sees d leave on SIGTERM');
    await a.stop();
  });

  test('a node started while Redis is unreachable starts anyway, DOWN, and joins once Redis is there', async () => {
    const spare = await startRedis();
    await spare.stop();
    const t0 = Date.now();
    const a = await startShoal(clusterEnv(spare, 'node-early'));
    nodes.push(a);
    assert.ok(Date.now() - t0 < 10_000);
    assert.deepEqual(await health(a.port), { enabled: true, nodeStatus: 'DOWN', nodesInCluster: 0 });
    await spare.start();
    await until(a.port, (x) => x.nodeStatus === 'UP' && x.nodesInCluster === 1, 2000 + LEASE_MS * 2, 'joined once Redis started');
    await a.stop();
    await spare.dispose();
  });

  test('Redis frozen (connections open, no answers): commands time out, the node is fenced, then recovers', async () => {
    const a = await startShoal(clusterEnv(redis, 'node-a3'));
    nodes.push(a);
    await until(a.port, (x) => x.nodeStatus === 'UP', LEASE_MS * 2, 'a UP');
    redis.pause();
    try {
      const t0 = Date.now();
      // Bounded by the command timeout (1 s), not by the frozen server.
      await assert.rejects(a.shoal.cluster!.liveNodes(), (err: Error) => err.name === 'ClusterUnavailableError' && /timed out/i.test(err.message));
      assert.ok(Date.now() - t0 < 2500, `liveNodes gave up after ${Date.now() - t0} ms`);
      await until(a.port, (x) => x.nodeStatus === 'DOWN', LEASE_MS + 2000, 'a DOWN while Redis is frozen');
    } finally {
      redis.resume();
    }
    await until(a.port, (x) => x.nodeStatus === 'UP' && x.nodesInCluster === 1, LEASE_MS * 2 + 2000, 'a UP again');
    await a.stop();
  });
});
