// The Redis registry store against a real redis-server: registrations with a lease, the bounded newest-first
// listing that prunes lapsed ids from the index, removal, and a write stuck behind a frozen server refused
// when it finally reaches Redis (too late), instead of resurrecting the node.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/log/logger.js';
import { createRedisClient, type RedisClient } from '../../src/cluster/redis-client.js';
import { KEY_PREFIX, redisRegistryStore } from '../../src/cluster/registry-store.js';
import { REDIS_MISSING, startRedis, type TestRedis } from '../helpers/redis-server.js';

describe('Redis registry store', { skip: REDIS_MISSING }, () => {
  let redis: TestRedis;
  let client: RedisClient;
  let direct: Redis;

  before(async () => {
    redis = await startRedis();
    client = createRedisClient({ url: redis.url, log: createLogger('silent', false), name: 'store-test', commandTimeoutMs: 500 });
    direct = new Redis(redis.url, { lazyConnect: false });
    direct.on('error', () => {}); // reconnects on its own after the outage test
    assert.equal(await client.waitReady(2000), true);
  });
  after(async () => {
    direct?.disconnect();
    await client?.close();
    await redis?.dispose();
  });

  test('put with a lease, list newest first (bounded), lapsed ids pruned from the index, remove', async () => {
    const store = redisRegistryStore(client);
    await store.put('a', 'A', 60_000);
    await store.put('b', 'B', 60_000);
    await store.put('short', 'S', 200);
    assert.deepEqual((await store.list(10)).sort(), ['A', 'B', 'S']);
    assert.equal((await store.list(1)).length, 1);
    const ttl = await direct.pttl(`${KEY_PREFIX}node:a`);
    assert.ok(ttl > 59_000 && ttl <= 60_000, `lease set in Redis: ${ttl}`);
    // The short lease lapses in Redis; the next listing drops it from the index too.
    const deadline = Date.now() + 3000;
    while ((await direct.exists(`${KEY_PREFIX}node:short`)) === 1) {
      assert.ok(Date.now() < deadline, 'short lease lapsed');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual((await store.list(10)).sort(), ['A', 'B']);
    assert.deepEqual((await direct.zrange(`${KEY_PREFIX}nodes`, '0', '-1')).sort(), ['a', 'b']);
    await store.remove('a');
    assert.deepEqual(await store.list(10), ['B']);
    await store.remove('b');
  });

  test('a registration stuck behind a frozen server is refused when it lands late', async () => {
    const store = redisRegistryStore(client);
    await store.put('late', 'L1', 60_000); // learns the clock offset
    await store.remove('late');
    redis.pause();
    try {
      await assert.rejects(store.put('late', 'L2', 60_000), (err: Error) => err.name === 'ClusterUnavailableError' && /timed out/i.test(err.message));
    } finally {
      redis.resume();
    }
    // Same connection, in order: once this answers, the stuck script has run (and refused itself).
    assert.deepEqual(await store.list(10), []);
    assert.equal(await direct.exists(`${KEY_PREFIX}node:late`), 0);
    await store.put('late', 'L3', 60_000);
    assert.deepEqual(await store.list(10), ['L3']);
  });

  test('commands fail fast with ClusterUnavailableError while Redis is down, and work again after', async () => {
    const store = redisRegistryStore(client);
    await redis.stop();
    const t0 = Date.now();
    await assert.rejects(store.list(10), (err: Error) => err.name === 'ClusterUnavailableError');
    assert.ok(Date.now() - t0 < 1500, `failed after ${Date.now() - t0} ms`);
    await redis.start();
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        await store.put('back', 'K', 60_000);
        break;
      } catch (err) {
        assert.ok(Date.now() < deadline, `reconnected: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    assert.deepEqual(await store.list(10), ['K']);
  });
});
