// Reaping a dead node's room claims on a real redis-server: claims of registered nodes are never taken;
// an unregistered node's claims are taken only after the grace (counted by Redis from the first look),
// each by exactly one of several concurrent reapers, bounded per call; released and taken-over claims are
// not reported; NodeReaper reports each once, does nothing while its node may not act, and survives Redis
// being down; a restarted node id's leftover claims are taken on the first pass. RoomOwnership reports a
// claim it won over a dead node's, lets a lapsed node that still answers keep its claims for the grace, and
// retries failed releases.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log/logger.js';
import { createRedisClient, type RedisClient } from '../../src/cluster/redis-client.js';
import { redisRegistryStore } from '../../src/cluster/registry-store.js';
import { redisRoomDirectory, type RoomClaim } from '../../src/cluster/room-directory.js';
import { RoomOwnership } from '../../src/cluster/room-ownership.js';
import { NodeReaper } from '../../src/cluster/node-reaper.js';
import { REDIS_MISSING, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

const log = createLogger('silent', false);

describe('reaping dead nodes’ room claims', { skip: REDIS_MISSING }, () => {
  let redis: TestRedis;
  const clients: RedisClient[] = [];

  before(async () => {
    redis = await startRedis();
    for (let i = 0; i < 3; i++) {
      const c = createRedisClient({ url: redis.url, log, name: `reap-${i}`, commandTimeoutMs: 500 });
      assert.equal(await c.waitReady(2000), true);
      clients.push(c);
    }
  });
  after(async () => {
    for (const c of clients) await c.close();
    await redis?.dispose();
  });

  const register = (id: string) => redisRegistryStore(clients[0]).put(id, '{}', 60_000);
  const unregister = (id: string) => redisRegistryStore(clients[0]).remove(id);

  test('a registered node’s claims stay; an unregistered one’s are taken after the grace, once', async () => {
    const dir = redisRoomDirectory(clients[0]);
    await register('alive');
    await register('doomed');
    for (const id of ['alive-1', 'alive-2']) assert.ok((await dir.claim(id, 'alive')).won);
    for (const id of ['doomed-1', 'doomed-2', 'doomed-3']) assert.ok((await dir.claim(id, 'doomed')).won);
    assert.deepEqual(await dir.reapLapsed(0, 100), [], 'both registered');

    await unregister('doomed');
    assert.deepEqual(await dir.reapLapsed(60_000, 100), [], 'first look: marked, not taken');
    assert.deepEqual(await dir.reapLapsed(60_000, 100), [], 'within the grace');
    const taken = await dir.reapLapsed(0, 100);
    assert.deepEqual(taken.sort(), ['doomed-1', 'doomed-2', 'doomed-3']);
    assert.deepEqual(await dir.reapLapsed(0, 100), [], 'each claim once');
    for (const id of taken) assert.equal(await dir.owner(id), undefined);
    assert.equal((await dir.owner('alive-1'))?.node, 'alive');
    assert.ok((await dir.claim('doomed-1', 'alive')).won, 'the id is free again');
    assert.ok(!(await dir.listAll(100)).has('doomed-2'), 'gone from the index too');
  });

  test('the grace is counted from the first look; a node registered again is not reaped and its mark is cleared', async () => {
    const dir = redisRoomDirectory(clients[0]);
    await register('flappy');
    assert.ok((await dir.claim('flappy-1', 'flappy')).won);
    await unregister('flappy');
    assert.deepEqual(await dir.reapLapsed(150, 10), [], 'marked');
    await register('flappy');
    assert.deepEqual(await dir.reapLapsed(0, 10), [], 'registered again: kept, mark cleared');
    await unregister('flappy');
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(await dir.reapLapsed(150, 10), [], 'a fresh mark: the earlier one was cleared');
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(await dir.reapLapsed(150, 10), ['flappy-1']);
  });

  test('three concurrent reapers: every claim goes to exactly one; each call is bounded', async () => {
    await register('big');
    const dir = redisRoomDirectory(clients[0]);
    const ids = Array.from({ length: 60 }, (_, i) => `big-${i}`);
    for (const id of ids) assert.ok((await dir.claim(id, 'big')).won);
    await unregister('big');
    assert.deepEqual(await dir.reapLapsed(0, 10), [], 'marked');
    const got: string[][] = [[], [], []];
    for (let round = 0; round < 10; round++) {
      const results = await Promise.all(clients.map((c) => redisRoomDirectory(c).reapLapsed(0, 7)));
      results.forEach((r, i) => {
        assert.ok(r.length <= 7, `bounded: ${r.length}`);
        got[i]!.push(...r);
      });
    }
    const all = got.flat();
    assert.equal(new Set(all).size, all.length, 'no claim reported twice');
    assert.deepEqual(all.sort(), [...ids].sort());
  });

  test('released and taken-over claims are not reported; the take-over names the replaced claim', async () => {
    const dir = redisRoomDirectory(clients[0]);
    await register('gone');
    await register('taker');
    const a = await dir.claim('rel-1', 'gone');
    const b = await dir.claim('took-1', 'gone');
    assert.ok(a.won && b.won);
    assert.equal(await dir.release('rel-1', a.claim), true);
    await unregister('gone');
    const took = await dir.claim('took-1', 'taker');
    assert.ok(took.won);
    assert.deepEqual(took.tookOver, b.claim);
    assert.deepEqual(await dir.reapLapsed(0, 10), []);
    assert.deepEqual(await dir.reapLapsed(0, 10), [], 'nothing of "gone" is left to reap');
    assert.equal((await dir.owner('took-1'))?.node, 'taker');
  });

  test('NodeReaper: reports each reaped id once, not while it may not act, and survives Redis down', async () => {
    const dir = redisRoomDirectory(clients[1]);
    await register('dead-r');
    for (const id of ['r-1', 'r-2']) assert.ok((await dir.claim(id, 'dead-r')).won);
    await unregister('dead-r');
    const crashed: string[] = [];
    let may = false;
    const reaper = new NodeReaper({ directory: dir, mayRun: () => may, onCrashed: (id) => crashed.push(id), periodMs: 60_000, graceMs: 0, log });
    assert.deepEqual(await reaper.tick(), []);
    assert.deepEqual(crashed, [], 'fenced or not yet up: no reaping');
    may = true;
    await reaper.tick(); // marks
    const ids = await reaper.tick();
    assert.deepEqual(ids.sort(), ['r-1', 'r-2']);
    assert.deepEqual(crashed.sort(), ['r-1', 'r-2']);
    await redis.stop();
    try {
      assert.deepEqual(await reaper.tick(), [], 'Redis down: nothing, no throw');
    } finally {
      await redis.start();
    }
    for (const c of clients) assert.equal(await c.waitReady(5000), true);
    assert.deepEqual(crashed.sort(), ['r-1', 'r-2']);
  });

  test('a lapsed node that does not answer is reaped without the grace; one that answers waits for it', async () => {
    const dir = redisRoomDirectory(clients[0]);
    for (const n of ['quiet', 'talking', 'living']) await register(n);
    assert.ok((await dir.claim('quiet-1', 'quiet')).won);
    assert.ok((await dir.claim('talking-1', 'talking')).won);
    assert.ok((await dir.claim('living-1', 'living')).won);
    await unregister('quiet');
    await unregister('talking');
    const lapsed = await dir.lapsedClaimNodes(64);
    assert.ok(lapsed.includes('quiet') && lapsed.includes('talking') && !lapsed.includes('living'), lapsed.join(','));
    assert.deepEqual(await dir.reapUnregistered('living', 10), [], 'a registered node is never taken');
    const asked: string[] = [];
    const crashed: string[] = [];
    const reaper = new NodeReaper({
      directory: dir,
      mayRun: () => true,
      isDead: async (id) => {
        asked.push(id);
        return id === 'quiet';
      },
      onCrashed: (id) => crashed.push(id),
      periodMs: 60_000,
      graceMs: 60_000,
      log,
    });
    const first = await reaper.tick();
    assert.ok(first.includes('quiet-1') && !first.includes('talking-1'), first.join(','));
    assert.ok(asked.includes('quiet') && asked.includes('talking') && !asked.includes('living'));
    assert.deepEqual(await reaper.tick(), [], 'talking waits for the grace; quiet is done');
    assert.equal((await dir.owner('talking-1'))?.node, 'talking');
    assert.equal(await dir.owner('quiet-1'), undefined);
    assert.ok(!(await dir.lapsedClaimNodes(64)).includes('quiet'), 'a node with no claims left leaves the set');
    assert.equal(crashed.filter((id) => id === 'quiet-1').length, 1);
  });

  test('reapNode: a fresh run takes its node id’s leftover claims, keeping the ones it holds; NodeReaper reports them once', async () => {
    const dir = redisRoomDirectory(clients[0]);
    await register('restarted');
    await register('other');
    for (const id of ['left-1', 'left-2', 'mine-now']) assert.ok((await dir.claim(id, 'restarted')).won);
    assert.ok((await dir.claim('not-mine', 'other')).won);
    assert.deepEqual((await dir.reapNode('restarted', 100, ['mine-now'])).sort(), ['left-1', 'left-2']);
    assert.equal((await dir.owner('mine-now'))?.node, 'restarted', 'kept');
    assert.equal((await dir.owner('not-mine'))?.node, 'other');
    assert.equal(await dir.owner('left-1'), undefined);

    assert.ok((await dir.claim('left-3', 'restarted')).won);
    const crashed: string[] = [];
    const reaper = new NodeReaper({ directory: dir, mayRun: () => true, self: { id: 'restarted', held: () => ['mine-now'] }, onCrashed: (id) => crashed.push(id), periodMs: 60_000, graceMs: 60_000, log });
    assert.deepEqual(await reaper.tick(), ['left-3']);
    assert.ok((await dir.claim('left-4', 'restarted')).won);
    assert.deepEqual(await reaper.tick(), [], 'only the first pass takes leftovers');
    assert.deepEqual(crashed, ['left-3']);
    assert.equal((await dir.owner('mine-now'))?.node, 'restarted');
  });

  test('RoomOwnership with a lapse grace: a lapsed holder that answers keeps its claim (503) until the grace; a silent one is taken over at once', async () => {
    const dir = redisRoomDirectory(clients[0]);
    await register('claimer');
    await register('cut-off');
    await register('dead');
    assert.ok((await dir.claim('cut-room', 'cut-off')).won);
    assert.ok((await dir.claim('dead-room', 'dead')).won);
    await unregister('cut-off');
    await unregister('dead');
    const alive = new Set(['cut-off']);
    const asked: string[] = [];
    const reported: string[] = [];
    const own = new RoomOwnership(dir, 'claimer', log, () => true, (id) => reported.push(id), {
      graceMs: 300,
      answers: async (id) => {
        asked.push(id);
        return alive.has(id);
      },
    });
    await assert.rejects(own.claim('cut-room'), (err: Error) => err.name === 'ClusterUnavailableError' && /cut-off .*stopping its rooms/.test(err.message));
    assert.equal((await dir.owner('cut-room'))?.node, 'cut-off', 'still held');
    assert.equal(await own.claim('dead-room'), true, 'the dead node does not answer: taken over');
    assert.deepEqual(asked, ['cut-off', 'dead']);
    assert.deepEqual(reported, ['dead-room']);
    // Once the grace has passed (Redis time since the first look) the claim is taken without asking.
    await new Promise((r) => setTimeout(r, 350));
    assert.equal(await own.claim('cut-room'), true);
    assert.deepEqual(asked, ['cut-off', 'dead']);
    assert.deepEqual(reported, ['dead-room', 'cut-room']);
    const fresh = await dir.claim('fresh-id', 'x', { lapsedGraceMs: 1000 });
    assert.ok(fresh.won && fresh.tookOver === undefined, 'an unclaimed id is won at once');
  });

  test('RoomOwnership reports a claim an earlier run under its own id left, when it claims that id again', async () => {
    const dir = redisRoomDirectory(clients[0]);
    await register('again');
    const old = await dir.claim('again-room', 'again');
    assert.ok(old.won);
    const reported: [string, RoomClaim][] = [];
    const own = new RoomOwnership(dir, 'again', log, () => true, (id, from) => reported.push([id, from]));
    assert.equal(await own.claim('again-room'), true);
    assert.deepEqual(reported, [['again-room', old.claim]]);
  });

  test('RoomOwnership reports a claim won over a dead node’s, and retries a release that failed', async () => {
    // This node reaches Redis through a proxy the test cuts.
    const proxy = await startTcpProxy(redis.port);
    const via = createRedisClient({ url: proxy.url('redis'), log, name: 'reap-proxied', commandTimeoutMs: 500, maxReconnectDelayMs: 100 });
    try {
      assert.equal(await via.waitReady(2000), true);
      const dir = redisRoomDirectory(via);
      await register('me');
      await register('was-alive');
      assert.ok((await dir.claim('taken', 'was-alive')).won);
      await unregister('was-alive');
      const reported: [string, RoomClaim][] = [];
      const own = new RoomOwnership(dir, 'me', log, () => true, (id, from) => reported.push([id, from]));
      assert.equal(await own.claim('taken'), true);
      assert.deepEqual(reported.map(([id, from]) => [id, from.node]), [['taken', 'was-alive']]);
      assert.equal(await own.claim('fresh'), true);
      assert.equal(reported.length, 1, 'a fresh id replaced nothing');

      proxy.cut();
      const deadline = Date.now() + 5000;
      while (via.connected()) {
        assert.ok(Date.now() < deadline, 'the client saw the cut');
        await new Promise((r) => setTimeout(r, 10));
      }
      own.release('fresh');
      // The release fails at once (not connected, no offline queue): remembered, and still failing.
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(await own.retryReleases(), [], 'cut: kept for later');
      proxy.restore();
      assert.equal(await via.waitReady(5000), true);
      assert.equal((await redisRoomDirectory(clients[0]).owner('fresh'))?.node, 'me', 'the claim outlived the failed release');
      assert.deepEqual(await own.retryReleases(), ['fresh']);
      assert.equal(await redisRoomDirectory(clients[0]).owner('fresh'), undefined);
      assert.deepEqual(await own.retryReleases(), [], 'done once');
    } finally {
      await via.close();
      await proxy.close();
    }
  });
});
