// Reads the cluster's notification stream (a Redis Stream) on its own connection with XREAD BLOCK from
// the last entry id seen, and hands every entry another node published to `deliver`, each exactly once:
// entries carry their origin (node id + boot id) and a per-origin sequence number, so an entry written
// twice (an XADD retried after a timeout) or read again is skipped. After a Redis restart (a new run_id:
// the stream is gone and its ids start again) it reads the new stream from its start. It never throws
// from its loop, never lets an ioredis 'error' reach the process, and knows nothing of rooms or sockets.
import { Redis } from 'ioredis';
import type { Logger } from '../log/logger.js';
import { DEFAULTS, reconnectDelay } from './redis-client.js';

/** Largest entry payload accepted, bytes (a ServerMessage is far smaller); larger ones are skipped. */
export const MAX_ENTRY_BYTES = 1024 * 1024;
/** Most entries one XREAD returns. */
const READ_COUNT = 256;
/** Most origins whose last sequence number is remembered (least recently seen forgotten first). */
const MAX_ORIGINS = 1024;
const MAX_ORIGIN_CHARS = 256;

export interface ReaderStats {
  /** Entries from other nodes handed to `deliver`. */
  received: number;
  /** Entries skipped because their origin's sequence number was already seen. */
  duplicates: number;
  /** Sequence numbers an origin skipped (dropped at its end, or trimmed before they were read). */
  gaps: number;
  /** Entries skipped as malformed or too large. */
  malformed: number;
  /** Times the reader found a restarted Redis (new run_id) and started over on the new stream. */
  restarts: number;
}

export interface NotificationReaderOptions {
  url: string;
  key: string;
  /** This node's origin: its own entries are skipped (they were delivered locally already). */
  origin: string;
  /** Connection name (CLIENT LIST). */
  name: string;
  log: Logger;
  deliver: (bytes: Uint8Array) => void;
  /** How long one XREAD blocks, ms (the command timeout is this plus the usual round-trip bound). */
  blockMs?: number;
}

/** One decoded stream entry. */
export interface StreamEntry {
  origin: string;
  seq: number;
  bytes: Uint8Array;
}

/** Decodes an entry's field list (o, s, m); undefined when anything is missing, malformed or too large. */
export function decodeEntry(fields: unknown): StreamEntry | undefined {
  if (!Array.isArray(fields) || fields.length > 16) return undefined;
  let origin: string | undefined;
  let seq: number | undefined;
  let bytes: Uint8Array | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i];
    const value = fields[i + 1];
    if (!Buffer.isBuffer(name) || !Buffer.isBuffer(value)) return undefined;
    const field = name.toString('latin1');
    if (field === 'o' && value.length > 0 && value.length <= MAX_ORIGIN_CHARS) origin = value.toString('utf8');
    else if (field === 's' && /^[0-9]{1,15}$/.test(value.toString('latin1'))) seq = Number(value.toString('latin1'));
    else if (field === 'm' && value.length <= MAX_ENTRY_BYTES) bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  return origin !== undefined && seq !== undefined && bytes !== undefined ? { origin, seq, bytes } : undefined;
}

/** Remembers each origin's last sequence number: says whether an entry is new (and counts gaps). */
export class SequenceFilter {
  private readonly last = new Map<string, number>();
  gaps = 0;

  constructor(private readonly maxOrigins = MAX_ORIGINS) {}

  /** True if `seq` is past the last one seen from `origin` (it then becomes the last one). */
  accept(origin: string, seq: number): boolean {
    const prev = this.last.get(origin);
    if (prev !== undefined && seq <= prev) return false;
    if (prev !== undefined && seq > prev + 1) this.gaps += seq - prev - 1;
    this.last.delete(origin);
    this.last.set(origin, seq);
    if (this.last.size > this.maxOrigins) this.last.delete(this.last.keys().next().value!);
    return true;
  }
}

export class NotificationReader {
  private readonly redis: Redis;
  private readonly blockMs: number;
  private readonly filter = new SequenceFilter();
  private readonly counts = { received: 0, duplicates: 0, malformed: 0, restarts: 0 };
  private lastId = '0-0';
  private runId: string | undefined;
  private positioned = false;
  private closed = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private failures = 0;

  constructor(private readonly o: NotificationReaderOptions) {
    this.blockMs = o.blockMs ?? 2_000;
    this.redis = new Redis(o.url, {
      connectionName: o.name.replace(/[^A-Za-z0-9._:-]/g, '-'),
      connectTimeout: DEFAULTS.connectTimeoutMs,
      // A blocking read must outlast its BLOCK time; a frozen server still fails it within a bound.
      commandTimeout: this.blockMs + DEFAULTS.commandTimeoutMs,
      // A read in flight when the connection drops fails (never resent to a restarted server), so the
      // loop sees every outage and checks the server's run_id before reading on.
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      enableOfflineQueue: false,
      retryStrategy: (times) => reconnectDelay(times, DEFAULTS.maxReconnectDelayMs),
    });
    // The shared cluster connection already reports outages; this one only must not crash the process.
    this.redis.on('error', (err: Error) => o.log.debug({ err: err.message }, 'notification reader: Redis error'));
  }

  start(): void {
    this.loop ??= this.run();
  }

  stats(): ReaderStats {
    return { ...this.counts, gaps: this.filter.gaps };
  }

  /** True once the reader knows where to read from (connected, positioned). */
  get ready(): boolean {
    return this.positioned;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    this.redis.disconnect(false);
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      try {
        if (!this.positioned) await this.position();
        const reply = await this.redis.callBuffer('XREAD', 'COUNT', READ_COUNT, 'BLOCK', this.blockMs, 'STREAMS', this.o.key, this.lastId);
        this.failures = 0;
        this.handle(reply);
      } catch (err) {
        if (this.closed) break;
        this.positioned = false;
        if (this.failures++ === 0) this.o.log.debug({ err: (err as Error).message }, 'notification reader: read failed; retrying');
        await this.pause(reconnectDelay(this.failures, DEFAULTS.maxReconnectDelayMs));
      }
    }
  }

  /** Where to read from: the stream's end on the first connection; its start after a Redis restart. */
  private async position(): Promise<void> {
    await this.waitReady();
    const info = String(await this.redis.call('INFO', 'server'));
    const runId = /run_id:([0-9a-f]+)/.exec(info)?.[1];
    if (runId === undefined) throw new Error('INFO server gave no run_id');
    if (this.runId === undefined) {
      const last = (await this.redis.call('XREVRANGE', this.o.key, '+', '-', 'COUNT', 1)) as [string, unknown][];
      this.lastId = last.length > 0 ? String(last[0][0]) : '0-0';
    } else if (runId !== this.runId) {
      // A new server: the old ids mean nothing there. Reading its stream from the start delivers what the
      // other nodes published since it came back; anything seen before is skipped by sequence number.
      this.counts.restarts++;
      this.o.log.info({ lastId: this.lastId }, 'Redis restarted: reading the notification stream from its start');
      this.lastId = '0-0';
    }
    this.runId = runId;
    this.positioned = true;
  }

  private handle(reply: unknown): void {
    if (!Array.isArray(reply)) return;
    // RESP2 answers [[key, items]]; RESP3 a map, which ioredis flattens to [key, items].
    const lists = Buffer.isBuffer(reply[0]) ? [reply[1]] : reply.map((stream) => (Array.isArray(stream) ? stream[1] : undefined));
    for (const items of lists) {
      if (!Array.isArray(items)) continue;
      for (const item of items) {
        if (!Array.isArray(item) || !Buffer.isBuffer(item[0])) continue;
        this.lastId = item[0].toString('latin1');
        const entry = decodeEntry(item[1]);
        if (entry === undefined) {
          if (this.counts.malformed++ === 0) this.o.log.warn({ id: this.lastId }, 'notification stream: malformed entry skipped');
          continue;
        }
        if (entry.origin === this.o.origin) continue;
        if (!this.filter.accept(entry.origin, entry.seq)) {
          this.counts.duplicates++;
          continue;
        }
        this.counts.received++;
        try {
          this.o.deliver(entry.bytes);
        } catch (err) {
          this.o.log.warn({ err }, 'cluster notification delivery failed');
        }
      }
    }
  }

  /** Resolves when the connection is ready, or after a bounded wait (the read then fails and retries). */
  private waitReady(): Promise<void> {
    if (this.redis.status === 'ready') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.redis.off('ready', done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, DEFAULTS.connectTimeoutMs);
      this.wake = done;
      this.redis.on('ready', done);
    });
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
