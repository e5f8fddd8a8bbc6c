// The Redis room directory against a real redis-server: one winner among concurrent claims of one id,
// rising epochs, a release fenced by the epoch, take-over of a claim held by a node that is no longer
// registered, the bounded listing, and ClusterUnavailableError while Redis is down.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log/logger.js';
import { createRedisClient, type RedisClient } from '../../src/cluster/redis-client.js';
import { redisRegistryStore } from '../../src/cluster/registry-store.js';
import { redisRoomDirectory } from '../../src/cluster/room-directory.js';
import { REDIS_MISSING, startRedis, type TestRedis } from '../helpers/redis-server.js';

describe('Redis room directory', { skip: REDIS_MISSING }, () => {
  let redis: TestRedis;
  const clients: RedisClient[] = [];

  before(async () => {
    redis = await startRedis();
    for (let i = 0; i < 3; i++) {
      const c = createRedisClient({ url: redis.url, log: createLogger('silent', false), name: `dir-${i}`, commandTimeoutMs: 500 });
      assert.equal(await c.waitReady(2000), true);
      clients.push(c);
    }
    const store = redisRegistryStore(clients[0]);
    for (const n of ['n0', 'n1', 'n2']) await store.put(n, '{}', 60_000);
  });
  after(async () => {
    for (const c of clients) await c.close();
    await redis?.dispose();
  });

  test('concurrent claims of one id on three connections: exactly one wins, the others see the winner', async () => {
    for (let round = 0; round < 20; round++) {
      const id = `race-${round}`;
      const results = await Promise.all(clients.map((c, i) => redisRoomDirectory(c).claim(id, `n${i}`)));
      const winners = results.filter((r) => r.won);
      assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(results)}`);
      const claim = winners[0].won ? winners[0].claim : undefined;
      for (const r of results) if (!r.won) assert.deepEqual(r.holder, claim);
      assert.deepEqual(await redisRoomDirectory(clients[0]).owner(id), claim);
    }
  });

  test('epochs rise; release only by the holding epoch; a released id can be claimed again', async () => {
    const dir = redisRoomDirectory(clients[0]);
    const a = await dir.claim('rel', 'n0');
    assert.ok(a.won);
    assert.equal(await dir.release('rel', { node: 'n0', epoch: a.claim.epoch + 1 }), false, 'wrong epoch');
    assert.equal(await dir.release('rel', { node: 'n1', epoch: a.claim.epoch }), false, 'wrong node');
    assert.ok(await dir.owner('rel'));
    assert.equal(await dir.release('rel', a.claim), true);
    assert.equal(await dir.owner('rel'), undefined);
    const b = await dir.claim('rel', 'n1');
    assert.ok(b.won && b.claim.epoch > a.claim.epoch);
    assert.equal(await dir.release('rel', a.claim), false, 'an old epoch cannot release the new claim');
    assert.equal((await dir.owner('rel'))?.node, 'n1');
  });

  test('a claim held by an unregistered node is taken over', async () => {
    const dir = redisRoomDirectory(clients[0]);
    const gone = await dir.claim('orphan', 'ghost');
    assert.ok(gone.won);
    const taken = await dir.claim('orphan', 'n2');
    assert.ok(taken.won, 'ghost has no registration');
    assert.equal(taken.claim.node, 'n2');
    const again = await dir.claim('orphan', 'n0');
    assert.ok(!again.won && again.holder.node === 'n2', 'n2 is registered: its claim holds');
  });

  test('ownerWithNode: the claim and its node registration in one call (none once the node is gone)', async () => {
    const dir = redisRoomDirectory(clients[0]);
    assert.equal(await dir.ownerWithNode('nobody-claimed-this'), undefined);
    const live = await dir.claim('with-node', 'n0');
    assert.ok(live.won);
    assert.deepEqual(await dir.ownerWithNode('with-node'), { claim: live.claim, registration: '{}' });
    const ghost = await dir.claim('with-ghost', 'ghost-2');
    assert.ok(ghost.won);
    assert.deepEqual(await dir.ownerWithNode('with-ghost'), { claim: ghost.claim, registration: undefined });
  });

  test('listAll is bounded and lists the claims', async () => {
    const dir = redisRoomDirectory(clients[0]);
    const all = await dir.listAll(1000);
    assert.ok(all.has('race-0') && all.get('orphan')?.node === 'n2');
    assert.equal((await dir.listAll(3)).size, 3);
  });

  test('Redis down: every call rejects with ClusterUnavailableError, and works again after', async () => {
    const dir = redisRoomDirectory(clients[0]);
    await redis.stop();
    try {
      const isUnavailable = (err: Error) => err.name === 'ClusterUnavailableError';
      await assert.rejects(dir.claim('x', 'n0'), isUnavailable);
      await assert.rejects(dir.owner('x'), isUnavailable);
      await assert.rejects(dir.release('x', { node: 'n0', epoch: 1 }), isUnavailable);
      await assert.rejects(dir.listAll(10), isUnavailable);
    } finally {
      await redis.start();
    }
    assert.equal(await clients[0].waitReady(5000), true);
    // Nothing persisted: no node is registered, so any claim wins.
    assert.ok((await dir.claim('x', 'n0')).won);
  });
});
