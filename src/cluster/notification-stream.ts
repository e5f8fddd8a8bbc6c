// Cluster-wide server notifications. This node's own notifications (encoded ServerMessage bytes, handed
// over by server.ts after its local sockets already got them) are appended in order to one Redis Stream,
// tagged with this node's origin and a sequence number; the NotificationReader hands the other nodes'
// entries to `deliver` (the local server sockets only: never the bus, so no webhooks or claim releases
// happen for another node's rooms). While Redis is unreachable, or this node is fenced, own entries wait in
// a bounded, ordered buffer (the oldest dropped and counted past it) and go out once it is up again — unless
// the node gives its rooms up (suppressUntilUp: the survivors report them crashed), which drops the buffer
// and everything until the node is up again. It knows nothing of rooms, sockets or protobuf.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log/logger.js';
import type { NodeStatus } from './node-registry.js';
import { NotificationReader, type ReaderStats } from './notification-reader.js';
import type { RedisClient } from './redis-client.js';

export const NOTIFICATION_STREAM_KEY = 'shoal:notifications';
export const STREAM_DEFAULTS = { streamMaxLen: 10_000, bufferLimit: 10_000, batch: 256, retryMaxMs: 2_000 } as const;

export interface NotificationStreamOptions {
  /** The cluster's shared connection (appends go there). */
  redis: RedisClient;
  /** Redis URL: the reader opens its own connection (XREAD BLOCK holds one). */
  url: string;
  nodeId: string;
  log: Logger;
  /** Hands another node's notification to this node's server sockets. */
  deliver: (bytes: Uint8Array) => void;
  /** This node's cluster status: nothing is appended while 'fenced' (held) or 'left' (dropped). */
  status: () => NodeStatus;
  key?: string;
  /** Approximate bound of the stream's length in Redis (XADD MAXLEN ~). */
  streamMaxLen?: number;
  /** Most own notifications kept while Redis is unreachable. */
  bufferLimit?: number;
  /** How long one blocking read waits, ms. */
  blockMs?: number;
}

export interface NotificationStreamStats extends ReaderStats {
  /** Own notifications appended to the stream. */
  published: number;
  /** Own notifications dropped: the buffer overflowed while Redis was unreachable. */
  droppedOverflow: number;
  /** Own notifications dropped because this node gave up its rooms (suppressUntilUp) or left. */
  droppedFenced: number;
  /** Own notifications waiting for Redis now. */
  buffered: number;
}

interface Pending {
  seq: number;
  bytes: Uint8Array;
}

export class NotificationStream {
  /** node id + a boot id: a restarted node with the same id starts a new sequence. */
  readonly origin: string;
  private readonly key: string;
  private readonly maxLen: string;
  private readonly bufferLimit: number;
  private readonly reader: NotificationReader;
  private readonly log: Logger;
  private buffer: Pending[] = [];
  private seq = 0;
  private flushing = false;
  private closed = false;
  private suppressed = false;
  private overflowSinceFlush = 0;
  private readonly idle = new Set<() => void>();
  private retry: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  private readonly counts = { published: 0, droppedOverflow: 0, droppedFenced: 0 };

  constructor(private readonly o: NotificationStreamOptions) {
    this.origin = `${o.nodeId}/${randomBytes(6).toString('hex')}`;
    this.key = o.key ?? NOTIFICATION_STREAM_KEY;
    this.maxLen = String(o.streamMaxLen ?? STREAM_DEFAULTS.streamMaxLen);
    this.bufferLimit = Math.max(1, o.bufferLimit ?? STREAM_DEFAULTS.bufferLimit);
    this.log = o.log;
    this.reader = new NotificationReader({
      url: o.url,
      key: this.key,
      origin: this.origin,
      name: `${o.nodeId}-notifications`,
      log: o.log,
      deliver: o.deliver,
      blockMs: o.blockMs,
    });
  }

  /** Starts reading the other nodes' notifications. */
  start(): void {
    if (!this.closed) this.reader.start();
  }

  /** True once the reader is connected and knows where to read from. */
  get reading(): boolean {
    return this.reader.ready;
  }

  /** Queues one own notification for the stream; never waits on Redis. */
  publish(bytes: Uint8Array): void {
    if (this.closed) return;
    if (this.dropping()) {
      this.counts.droppedFenced++;
      return;
    }
    this.buffer.push({ seq: ++this.seq, bytes });
    if (this.buffer.length > this.bufferLimit) {
      this.buffer.shift();
      this.counts.droppedOverflow++;
      if (this.overflowSinceFlush++ === 0) this.log.warn({ limit: this.bufferLimit }, 'cluster notification buffer full while Redis is unreachable: dropping the oldest');
    }
    // Deferred a tick, so a burst of notifications goes out in one pipeline.
    if (!this.flushing) queueMicrotask(() => void this.flush());
  }

  stats(): NotificationStreamStats {
    return { ...this.reader.stats(), ...this.counts, buffered: this.buffer.length };
  }

  /** Resolves true once every queued notification is in Redis, false after `timeoutMs`. */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.buffer.length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.idle.delete(onIdle);
        resolve(ok);
      };
      const onIdle = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.idle.add(onIdle);
    });
  }

  /** Publishes what is queued (bounded by `flushMs`), then stops reading and publishing. Idempotent. */
  async close(flushMs = 1_000): Promise<void> {
    if (this.closed) return;
    const flushed = await this.drained(flushMs);
    if (!flushed) this.log.warn({ buffered: this.buffer.length }, 'closing with cluster notifications unpublished');
    this.closed = true;
    if (this.retry) {
      clearTimeout(this.retry.timer);
      this.retry.resolve();
    }
    await this.reader.close();
  }

  /**
   * This node gives its rooms up (fenced while the others are up: they report its rooms crashed): what is
   * buffered and everything published until its status is 'up' again is dropped, so nothing of those
   * rooms reaches the cluster after their RoomCrashed. Called before the rooms are stopped.
   */
  suppressUntilUp(): void {
    if (!this.suppressed) this.log.warn({ dropped: this.buffer.length }, 'rooms given up: cluster notifications dropped until this node is up again');
    this.suppressed = true;
    this.dropBuffer();
  }

  /** True while own notifications are dropped (suppressUntilUp, until the node is up again). */
  get suppressing(): boolean {
    this.dropping();
    return this.suppressed;
  }

  /** Suppressed (until 'up') or left: the buffer is dropped and the notification with it. */
  private dropping(): boolean {
    const s = this.o.status();
    if (this.suppressed && s === 'up') {
      this.suppressed = false;
      this.log.info('node up again: cluster notifications published again');
    }
    const dropping = this.suppressed || s === 'left';
    if (dropping) this.dropBuffer();
    return dropping;
  }

  private dropBuffer(): void {
    if (this.buffer.length === 0) return;
    this.counts.droppedFenced += this.buffer.length;
    this.buffer = [];
    this.notifyIdle();
  }

  /** One loop at a time appends the buffer's head in batches, in order; a failure waits and retries. */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    let failures = 0;
    try {
      while (this.buffer.length > 0 && !this.closed) {
        if (this.dropping()) break;
        // Fenced: held (the lease may be back soon: Redis was down for every node) and retried.
        if (this.o.status() === 'fenced') {
          failures++;
          await this.wait(Math.min(STREAM_DEFAULTS.retryMaxMs, 50 * 2 ** Math.min(failures, 6)));
          continue;
        }
        const batch = this.buffer.slice(0, STREAM_DEFAULTS.batch);
        const acked = await this.append(batch);
        if (acked > 0) {
          // The buffer may have lost its oldest entries meanwhile (overflow): drop by sequence number.
          const lastSeq = batch[acked - 1].seq;
          let n = 0;
          while (n < this.buffer.length && this.buffer[n].seq <= lastSeq) n++;
          this.buffer.splice(0, n);
          this.counts.published += acked;
        }
        if (acked === batch.length) {
          if (failures > 0 || this.overflowSinceFlush > 0) this.log.info({ droppedOverflow: this.overflowSinceFlush }, 'cluster notifications published again');
          failures = 0;
          this.overflowSinceFlush = 0;
          continue;
        }
        failures++;
        await this.o.redis.waitReady(STREAM_DEFAULTS.retryMaxMs);
        await this.wait(Math.min(STREAM_DEFAULTS.retryMaxMs, 50 * 2 ** Math.min(failures, 6)));
      }
    } finally {
      this.flushing = false;
    }
    if (this.buffer.length === 0) this.notifyIdle();
    // A publish that arrived while the loop was finishing restarts it.
    else if (!this.closed && !this.dropping()) void this.flush();
  }

  /** Appends entries in one pipeline; resolves how many (a prefix) Redis acknowledged. */
  private async append(batch: Pending[]): Promise<number> {
    try {
      return await this.o.redis.run('publish cluster notifications', async (redis) => {
        const pipeline = redis.pipeline();
        for (const e of batch) {
          const m = Buffer.from(e.bytes.buffer, e.bytes.byteOffset, e.bytes.byteLength);
          pipeline.xadd(this.key, 'MAXLEN', '~', this.maxLen, '*', 'o', this.origin, 's', String(e.seq), 'm', m);
        }
        const results = (await pipeline.exec()) ?? [];
        let acked = 0;
        while (acked < results.length && results[acked][0] === null) acked++;
        return acked;
      });
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'cluster notification append failed; retrying');
      return 0;
    }
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.retry = undefined;
        resolve();
      }, ms);
      this.retry = { timer, resolve };
    });
  }

  private notifyIdle(): void {
    for (const w of [...this.idle]) w();
  }
}
