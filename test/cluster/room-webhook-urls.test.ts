// Room webhook URLs in Redis, on a real redis-server: taken once (read and deleted in one step, so one
// survivor sends a dead node's RoomCrashed webhook), forgotten, written again in batches, never throwing
// while Redis is down; and wired into a node: written when a room with a webhookUrl is created, written
// again after Redis restarted empty, deleted when the room ends.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createRedisClient, type RedisClient } from '../../src/cluster/redis-client.js';
import { RoomWebhookUrls, webhookKey } from '../../src/cluster/room-webhook-urls.js';
import { createLogger } from '../../src/log/logger.js';
import { REDIS_MISSING, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { api, startShoal, type TestShoal } from '../helpers/server.js';
import { clusterEnv, until } from '../helpers/cluster-nodes.js';

const log = createLogger('silent', false);

describe('room webhook URLs in Redis', { skip: REDIS_MISSING }, () => {
  let redis: TestRedis;
  let client: RedisClient;
  let direct: Redis;

  before(async () => {
    redis = await startRedis();
    client = createRedisClient({ url: redis.url, log, name: 'hooks-test' });
    await client.waitReady(5000);
    direct = new Redis(redis.url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  });
  after(async () => {
    direct?.disconnect();
    await client?.close();
    await redis?.dispose();
  });

  test('remembered, taken exactly once by concurrent takers, forgotten', async () => {
    const urls = new RoomWebhookUrls(client, log);
    urls.remember('r1', 'http://backend/hook');
    await until(async () => (await direct.get(webhookKey('r1'))) === 'http://backend/hook', 2000, 'r1 stored');
    const taken = await Promise.all([urls.take('r1'), urls.take('r1'), new RoomWebhookUrls(client, log).take('r1')]);
    assert.deepEqual(taken.filter((u) => u !== undefined), ['http://backend/hook']);
    urls.remember('r2', 'http://backend/2');
    await until(async () => (await direct.exists(webhookKey('r2'))) === 1, 2000, 'r2 stored');
    urls.forget('r2');
    await until(async () => (await direct.exists(webhookKey('r2'))) === 0, 2000, 'r2 deleted');
    assert.equal(await urls.take('r2'), undefined);
    urls.remember('r3', `http://backend/${'x'.repeat(3000)}`); // over the bound: not kept
    assert.equal(await urls.take('r3'), undefined);
  });

  test('written again in batches; with Redis down every call returns without throwing', async () => {
    const urls = new RoomWebhookUrls(client, log);
    const entries = Array.from({ length: 600 }, (_, i) => [`b${i}`, `http://backend/${i}`] as const);
    await urls.rememberAll(entries);
    assert.equal(await direct.get(webhookKey('b599')), 'http://backend/599');
    assert.equal((await direct.keys(webhookKey('b*'))).length, 600);
    redis.pause();
    try {
      urls.remember('down', 'http://backend/down');
      urls.forget('down');
      assert.equal(await urls.take('b1'), undefined);
      await urls.rememberAll([['down', 'http://backend/down']]);
    } finally {
      redis.resume();
    }
  });
});

describe('a node keeps its rooms’ webhook URLs in Redis', { skip: REDIS_MISSING }, () => {
  let redis: TestRedis;
  let node: TestShoal;
  let direct: Redis;

  before(async () => {
    redis = await startRedis();
    node = await startShoal(clusterEnv(redis, 'node-h', 2000));
    direct = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  });
  after(async () => {
    direct?.disconnect();
    await node?.stop().catch(() => {});
    await redis?.dispose();
  });

  test('written at create, again after Redis restarted empty, deleted when the room ends; none without a webhookUrl', async () => {
    assert.equal((await api(node, 'POST', '/room', { roomId: 'hooked', webhookUrl: 'http://127.0.0.1:9/hook' })).status, 201);
    assert.equal((await api(node, 'POST', '/room', { roomId: 'plain' })).status, 201);
    await until(async () => (await direct.get(webhookKey('hooked'))) === 'http://127.0.0.1:9/hook', 3000, 'URL stored at create');
    assert.equal(await direct.exists(webhookKey('plain')), 0);
    await redis.stop();
    await redis.start();
    await until(async () => (await direct.get(webhookKey('hooked')).catch(() => null)) === 'http://127.0.0.1:9/hook', 10_000, 'URL stored again after the restart');
    assert.equal((await api(node, 'DELETE', '/room/hooked')).status, 204);
    await until(async () => (await direct.exists(webhookKey('hooked'))) === 0, 3000, 'URL deleted with its room');
    await api(node, 'DELETE', '/room/plain');
  });
});
