// The cluster notification stream against a real redis-server: what one node publishes reaches the
// others once each and in order (never itself); while Redis is stopped entries wait in a bounded buffer
// (the oldest dropped and counted) and are delivered after it restarts, with no replay; a fenced node
// holds its entries until it is up, one that gave its rooms up drops them; an append retried after a frozen server answered late is delivered once; malformed
// or oversized entries are skipped without stopping the reader. Entry decoding and the sequence filter
// are checked directly too.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/log/logger.js';
import type { NodeStatus } from '../../src/cluster/node-registry.js';
import { MAX_ENTRY_BYTES, SequenceFilter, decodeEntry } from '../../src/cluster/notification-reader.js';
import { NotificationStream } from '../../src/cluster/notification-stream.js';
import { createRedisClient, type RedisClient } from '../../src/cluster/redis-client.js';
import { REDIS_MISSING, startRedis, type TestRedis } from '../helpers/redis-server.js';

const log = createLogger('silent', false);
const WAIT_MS = 8000;

/** One node's end: its stream, what it delivered, and a status the test can set. */
class Node {
  readonly got: string[] = [];
  status: NodeStatus = 'up';
  readonly client: RedisClient;
  readonly stream: NotificationStream;
  private readonly waiters = new Set<() => void>();

  constructor(redis: TestRedis, id: string, key: string, extra: { bufferLimit?: number } = {}) {
    this.client = createRedisClient({ url: redis.url, log, name: id });
    this.stream = new NotificationStream({
      redis: this.client,
      url: redis.url,
      nodeId: id,
      log,
      key,
      blockMs: 500,
      status: () => this.status,
      deliver: (bytes) => {
        this.got.push(Buffer.from(bytes).toString('utf8'));
        for (const w of [...this.waiters]) w();
      },
      ...extra,
    });
  }

  async start(): Promise<void> {
    await this.client.waitReady(5000);
    this.stream.start();
    await until(() => this.stream.reading, WAIT_MS, 'reader positioned');
  }

  publish(...texts: string[]): void {
    for (const t of texts) this.stream.publish(new TextEncoder().encode(t));
  }

  /** Resolves once `n` notifications were delivered (fails after WAIT_MS). */
  received(n: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.got.length < n) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`got ${this.got.length} of ${n} notifications: ${JSON.stringify(this.got)}`));
      }, WAIT_MS);
      this.waiters.add(check);
      check();
    });
  }

  async stop(): Promise<void> {
    await this.stream.close(200);
    await this.client.close();
  }
}

async function until(check: () => boolean, withinMs: number, what: string): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const seq = (from: number, to: number, prefix: string) => Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}`);

describe('entry decoding and the sequence filter', () => {
  const f = (...kv: (string | Buffer)[]) => kv.map((v) => (Buffer.isBuffer(v) ? v : Buffer.from(v)));
  test('a well-formed entry decodes; missing, malformed or oversized fields do not', () => {
    const e = decodeEntry(f('o', 'a/1', 's', '7', 'm', 'xyz'));
    assert.deepEqual(e && { origin: e.origin, seq: e.seq, m: Buffer.from(e.bytes).toString() }, { origin: 'a/1', seq: 7, m: 'xyz' });
    assert.equal(decodeEntry(f('o', 'a/1', 'm', 'xyz')), undefined, 'no sequence number');
    assert.equal(decodeEntry(f('o', 'a/1', 's', '-1', 'm', 'xyz')), undefined, 'negative sequence number');
    assert.equal(decodeEntry(f('o', 'a/1', 's', '1', 'm', Buffer.alloc(MAX_ENTRY_BYTES + 1))), undefined, 'too large');
    assert.equal(decodeEntry(f('o', 'x'.repeat(300), 's', '1', 'm', 'a')), undefined, 'origin too long');
    assert.equal(decodeEntry('not a list'), undefined);
  });
  test('each origin’s numbers pass once, in increasing order; gaps are counted; origins are bounded', () => {
    const filter = new SequenceFilter(2);
    assert.deepEqual([1, 2, 2, 1, 5].map((s) => filter.accept('a', s)), [true, true, false, false, true]);
    assert.equal(filter.gaps, 2);
    assert.equal(filter.accept('b', 1), true);
    assert.equal(filter.accept('c', 1), true); // 'a' (least recently seen) is forgotten
    assert.equal(filter.accept('a', 1), true);
  });
});

describe('cluster notification stream on a real redis-server', { skip: REDIS_MISSING }, () => {
  let redis: TestRedis;
  let raw: Redis;
  let keyNo = 0;
  const nodes: Node[] = [];
  /** Two started nodes on a fresh stream key. */
  const pair = async (extra: { bufferLimit?: number } = {}) => {
    const key = `test:notifications:${++keyNo}`;
    const x = new Node(redis, 'x', key, extra);
    const y = new Node(redis, 'y', key);
    nodes.push(x, y);
    await Promise.all([x.start(), y.start()]);
    return { x, y, key };
  };

  before(async () => {
    redis = await startRedis();
    raw = new Redis(redis.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    raw.on('error', () => {});
  });
  after(async () => {
    for (const n of nodes) await n.stop().catch(() => {});
    raw?.disconnect();
    await redis?.dispose();
  });

  test('what one node publishes reaches the other once each, in order; never itself', async () => {
    const { x, y } = await pair();
    x.publish(...seq(1, 300, 'x'));
    y.publish('y1');
    await y.received(300);
    await x.received(1);
    assert.deepEqual(y.got, seq(1, 300, 'x'));
    assert.deepEqual(x.got, ['y1']);
    await until(() => x.stream.stats().published === 300, WAIT_MS, 'all published');
    assert.equal(x.stream.stats().buffered, 0);
    assert.equal(y.stream.stats().duplicates, 0);
  });

  test('Redis restarted: entries published while it was down arrive afterwards, in order, with no replay', async () => {
    const { x, y } = await pair({ bufferLimit: 4 });
    x.publish('before');
    await y.received(1);
    await redis.stop();
    x.publish(...seq(1, 6, 'down'));
    assert.equal(x.stream.stats().buffered, 4, 'bounded buffer');
    assert.equal(x.stream.stats().droppedOverflow, 2);
    await redis.start();
    await y.received(5);
    x.publish('after');
    await y.received(6);
    // A quiet moment to let a replay or a duplicate show.
    await new Promise((r) => setTimeout(r, 600));
    assert.deepEqual(y.got, ['before', 'down3', 'down4', 'down5', 'down6', 'after']);
    assert.equal(y.stream.stats().restarts, 1);
    assert.equal(y.stream.stats().gaps, 2, 'the two dropped entries show as a gap');
  });

  test('a fenced node holds its buffer (Redis may be down for every node) and publishes it once up again', async () => {
    const { x, y } = await pair();
    x.status = 'fenced';
    x.publish('held1', 'held2');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual([y.got.length, x.stream.stats().buffered], [0, 2], 'nothing appended while fenced');
    x.status = 'up';
    await y.received(2);
    assert.deepEqual(y.got, ['held1', 'held2']);
  });

  test('a node that gives its rooms up drops its buffer and publishes nothing until it is up again', async () => {
    const { x, y } = await pair();
    await redis.stop();
    x.publish('lost1', 'lost2');
    x.status = 'fenced';
    x.stream.suppressUntilUp();
    x.publish('lost3');
    x.status = 'degraded';
    x.publish('lost4');
    await redis.start();
    assert.equal(x.stream.stats().buffered, 0);
    assert.equal(x.stream.stats().droppedFenced, 4);
    assert.equal(x.stream.suppressing, true, 'still giving up while degraded');
    x.status = 'up';
    assert.equal(x.stream.suppressing, false);
    x.publish('back');
    await y.received(1);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(y.got, ['back']);
  });

  test('a node that left publishes nothing', async () => {
    const { x, y } = await pair();
    x.status = 'left';
    x.publish('gone');
    assert.equal(x.stream.stats().droppedFenced, 1);
    x.status = 'up';
    x.publish('marker');
    await y.received(1);
    assert.deepEqual(y.got, ['marker']);
  });

  test('an append that timed out on a frozen server and was retried is delivered once', async () => {
    const { x, y } = await pair();
    redis.pause();
    try {
      x.publish('slow1', 'slow2');
      // The first append times out (1 s command bound) and is sent again while the server is still frozen.
      await new Promise((r) => setTimeout(r, 1800));
    } finally {
      redis.resume();
    }
    x.publish('slow3');
    await y.received(3);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(y.got, ['slow1', 'slow2', 'slow3']);
    assert.ok(y.stream.stats().duplicates >= 1, `duplicates skipped: ${JSON.stringify(y.stream.stats())}`);
  });

  test('malformed and oversized entries are skipped; the reader goes on', async () => {
    const { x, y, key } = await pair();
    await raw.xadd(key, '*', 'junk', '1');
    await raw.xadd(key, '*', 'o', 'z/1', 's', 'NaN', 'm', 'bad');
    await raw.xadd(key, '*', 'o', 'z/1', 's', '1', 'm', Buffer.alloc(MAX_ENTRY_BYTES + 1));
    x.publish('fine');
    await y.received(1);
    assert.deepEqual(y.got, ['fine']);
    assert.equal(y.stream.stats().malformed, 3);
  });
});
