// A node's room claims against a real redis-server: a claim left under this node's id by an earlier run is
// taken over, two concurrent claims of one id on one node give one winner, another node's claim holds, a
// fenced node claims nothing (503-class error), and a release frees the id for anyone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log/logger.js';
import { createRedisClient, type RedisClient } from '../../src/cluster/redis-client.js';
import { redisRegistryStore } from '../../src/cluster/registry-store.js';
import { redisRoomDirectory } from '../../src/cluster/room-directory.js';
import { RoomOwnership } from '../../src/cluster/room-ownership.js';
import { REDIS_MISSING, startRedis, type TestRedis } from '../helpers/redis-server.js';

const log = createLogger('silent', false);

describe('room ownership', { skip: REDIS_MISSING }, () => {
  let redis: TestRedis;
  let client: RedisClient;

  before(async () => {
    redis = await startRedis();
    client = createRedisClient({ url: redis.url, log, name: 'own-test', commandTimeoutMs: 500 });
    assert.equal(await client.waitReady(2000), true);
    for (const n of ['n1', 'n2']) await redisRegistryStore(client).put(n, '{}', 60_000);
  });
  after(async () => {
    await client?.close();
    await redis?.dispose();
  });

  test('a claim left by an earlier run of the same node id is taken over', async () => {
    const dir = redisRoomDirectory(client);
    const old = await dir.claim('left-over', 'n1');
    assert.ok(old.won);
    const own = new RoomOwnership(dir, 'n1', log);
    assert.equal(await own.claim('left-over'), true);
    const now = await dir.owner('left-over');
    assert.ok(now && now.node === 'n1' && now.epoch > old.claim.epoch);
  });

  test('two concurrent claims of one id on one node: one wins; the second claim after it is refused too', async () => {
    const own = new RoomOwnership(redisRoomDirectory(client), 'n1', log);
    const results = await Promise.all([own.claim('twice'), own.claim('twice')]);
    assert.deepEqual(results.sort(), [false, true]);
    assert.equal(await own.claim('twice'), false, 'held by this node: already exists');
  });

  test("another node's claim holds; a release frees the id", async () => {
    const one = new RoomOwnership(redisRoomDirectory(client), 'n1', log);
    const two = new RoomOwnership(redisRoomDirectory(client), 'n2', log);
    assert.equal(await one.claim('shared'), true);
    assert.equal(await two.claim('shared'), false);
    assert.equal(await two.owner('shared'), 'n1');
    one.release('shared');
    const deadline = Date.now() + 2000;
    while ((await two.owner('shared')) !== undefined) {
      assert.ok(Date.now() < deadline, 'released');
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(await two.claim('shared'), true);
  });

  test('a fenced node claims nothing', async () => {
    let fenced = true;
    const own = new RoomOwnership(redisRoomDirectory(client), 'n2', log, () => !fenced);
    await assert.rejects(own.claim('fence'), (err: Error) => err.name === 'ClusterUnavailableError' && /fenced/.test(err.message));
    assert.equal(await own.owner('fence'), undefined);
    fenced = false;
    assert.equal(await own.claim('fence'), true);
  });
});
