import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { configError } from './config-error.js';

const SECRET = 'c'.repeat(40);
const CLUSTER = { FJ_REDIS_URL: 'redis://127.0.0.1:6379', FJ_SECRET_KEY_BASE: SECRET };


describe('cluster configuration (FJ_REDIS_URL, Fishjam FJ_DIST_*)', () => {
  test('a single node has no cluster and keeps FJ_HOST as its node id', () => {
    const c = loadConfig({ FJ_PORT: '5010' });
    assert.equal(c.cluster, undefined);
    assert.equal(c.nodeId, '127.0.0.1:5010');
  });

  test('FJ_REDIS_URL turns cluster mode on, with the default lease and a host-name + port node id', () => {
    const c = loadConfig({ ...CLUSTER, FJ_PORT: '5011' });
    assert.deepEqual(c.cluster, { redisUrl: 'redis://127.0.0.1:6379', leaseMs: 10_000, routingFlag: undefined, drainTimeoutMs: 30_000 });
    assert.match(c.nodeId, /^[A-Za-z0-9.-]+-5011$/);
    assert.ok(c.nodeId.startsWith(hostname().replace(/[^A-Za-z0-9.-]/g, '-').slice(0, 10)));
    assert.equal(loadConfig({ ...CLUSTER, FJ_NODE_ID: 'node-a' }).nodeId, 'node-a');
    assert.equal(loadConfig({ ...CLUSTER, FJ_REDIS_URL: 'rediss://u:p@redis.example:6380/2' }).cluster?.redisUrl, 'rediss://u:p@redis.example:6380/2');
  });

  test('FJ_REDIS_URL must be a redis:// or rediss:// URL; the message does not echo it (it may hold a password)', () => {
    for (const bad of ['http://127.0.0.1:6379', 'not a url', 'redis://', 'redis://h/abc', `redis://${'h'.repeat(3000)}`]) {
      const err = configError({ ...CLUSTER, FJ_REDIS_URL: bad });
      assert.equal(err.variable, 'FJ_REDIS_URL', bad);
      assert.ok(!err.message.includes('hhhhhhhh'));
    }
    assert.ok(!configError({ ...CLUSTER, FJ_REDIS_URL: 'http://user:hunter2@h/' }).message.includes('hunter2'));
  });

  test('cluster mode refuses to start without an explicit FJ_SECRET_KEY_BASE', () => {
    const err = configError({ FJ_REDIS_URL: 'redis://127.0.0.1:6379' });
    assert.equal(err.variable, 'FJ_SECRET_KEY_BASE');
    assert.match(err.message, /cluster mode.*same value on every node/);
  });

  test('FJ_NODE_ID is bounded in charset and length in cluster mode', () => {
    assert.equal(configError({ ...CLUSTER, FJ_NODE_ID: 'a b' }).variable, 'FJ_NODE_ID');
    assert.equal(configError({ ...CLUSTER, FJ_NODE_ID: 'n'.repeat(129) }).variable, 'FJ_NODE_ID');
    assert.equal(configError({ ...CLUSTER, FJ_NODE_ID: 'ü' }).variable, 'FJ_NODE_ID');
    assert.equal(loadConfig({ ...CLUSTER, FJ_NODE_ID: 'n'.repeat(128) }).nodeId.length, 128);
  });

  test('FJ_CLUSTER_LEASE_MS is bounded', () => {
    assert.equal(loadConfig({ ...CLUSTER, FJ_CLUSTER_LEASE_MS: '1500' }).cluster?.leaseMs, 1500);
    assert.equal(configError({ ...CLUSTER, FJ_CLUSTER_LEASE_MS: '100' }).variable, 'FJ_CLUSTER_LEASE_MS');
    assert.equal(configError({ ...CLUSTER, FJ_CLUSTER_LEASE_MS: '999999999' }).variable, 'FJ_CLUSTER_LEASE_MS');
  });

  test('FJ_CLUSTER_DRAIN_TIMEOUT_MS is bounded (0 hangs up at once)', () => {
    assert.equal(loadConfig({ ...CLUSTER, FJ_CLUSTER_DRAIN_TIMEOUT_MS: '0' }).cluster?.drainTimeoutMs, 0);
    assert.equal(configError({ ...CLUSTER, FJ_CLUSTER_DRAIN_TIMEOUT_MS: '-1' }).variable, 'FJ_CLUSTER_DRAIN_TIMEOUT_MS');
    assert.equal(configError({ ...CLUSTER, FJ_CLUSTER_DRAIN_TIMEOUT_MS: '999999999' }).variable, 'FJ_CLUSTER_DRAIN_TIMEOUT_MS');
  });

  test('FJ_DIST_ENABLED=true without FJ_REDIS_URL is refused: Shoal clusters on Redis', () => {
    const err = configError({ FJ_DIST_ENABLED: 'true' });
    assert.equal(err.variable, 'FJ_DIST_ENABLED');
    assert.match(err.message, /clusters on Redis.*FJ_REDIS_URL/);
    assert.equal(configError({ FJ_DIST_ENABLED: 'yes' }).variable, 'FJ_DIST_ENABLED');
    assert.equal(loadConfig({ FJ_DIST_ENABLED: 'false' }).cluster, undefined);
    assert.ok(loadConfig({ ...CLUSTER, FJ_DIST_ENABLED: 'true' }).cluster);
    assert.equal(configError({ ...CLUSTER, FJ_DIST_ENABLED: 'false' }).variable, 'FJ_DIST_ENABLED');
  });

  test('FJ_DIST_COOKIE is refused in cluster mode: an Erlang cookie cannot be honoured', () => {
    const err = configError({ ...CLUSTER, FJ_DIST_COOKIE: 'fishjam_cookie' });
    assert.equal(err.variable, 'FJ_DIST_COOKIE');
    assert.match(err.message, /cannot be honoured/);
    assert.ok(!err.message.includes('fishjam_cookie'));
  });

  test('Erlang-only FJ_DIST_* variables are ignored with a warning each', () => {
    const names = ['FJ_DIST_MODE', 'FJ_DIST_STRATEGY_NAME', 'FJ_DIST_NODES', 'FJ_DIST_QUERY', 'FJ_DIST_POLLING_INTERVAL', 'FJ_DIST_MIN_PORT', 'FJ_DIST_MAX_PORT'];
    const c = loadConfig({ ...CLUSTER, ...Object.fromEntries(names.map((n) => [n, 'x'])) });
    assert.ok(c.cluster);
    for (const n of names) assert.ok(c.warnings.some((w) => w.startsWith(`${n} is ignored`)), n);
    const single = loadConfig(Object.fromEntries(names.map((n) => [n, 'x'])));
    for (const n of names) assert.ok(single.warnings.some((w) => w.startsWith(`${n} has no effect`)), n);
  });

  test('FJ_DIST_NODE_NAME names the node when FJ_NODE_ID is unset, and must be name@host', () => {
    assert.equal(loadConfig({ ...CLUSTER, FJ_DIST_NODE_NAME: 'fishjam@10.0.0.1' }).nodeId, 'fishjam@10.0.0.1');
    const both = loadConfig({ ...CLUSTER, FJ_DIST_NODE_NAME: 'fishjam@10.0.0.1', FJ_NODE_ID: 'n1' });
    assert.equal(both.nodeId, 'n1');
    assert.ok(both.warnings.some((w) => w.startsWith('FJ_DIST_NODE_NAME is ignored')));
    assert.equal(configError({ ...CLUSTER, FJ_DIST_NODE_NAME: 'fishjam' }).variable, 'FJ_DIST_NODE_NAME');
  });

  test('FJ_FEATURE_FLAG_REQUEST_ROUTING_ENABLED is accepted: routing is always on in a cluster', () => {
    assert.equal(loadConfig({ ...CLUSTER, FJ_FEATURE_FLAG_REQUEST_ROUTING_ENABLED: 'true' }).cluster?.routingFlag, true);
    const off = loadConfig({ ...CLUSTER, FJ_FEATURE_FLAG_REQUEST_ROUTING_ENABLED: 'false' });
    assert.equal(off.cluster?.routingFlag, false);
    assert.ok(off.warnings.some((w) => w.includes('always routed')));
    assert.equal(configError({ ...CLUSTER, FJ_FEATURE_FLAG_REQUEST_ROUTING_ENABLED: 'on' }).variable, 'FJ_FEATURE_FLAG_REQUEST_ROUTING_ENABLED');
    assert.ok(loadConfig({ FJ_FEATURE_FLAG_REQUEST_ROUTING_ENABLED: 'true' }).warnings.some((w) => w.includes('no effect on a single node')));
  });

  test('the JF_ prefix works for the cluster variables too', () => {
    assert.equal(loadConfig({ JF_REDIS_URL: 'redis://h:1', FJ_SECRET_KEY_BASE: SECRET }).cluster?.redisUrl, 'redis://h:1');
  });
});
