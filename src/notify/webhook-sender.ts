// Delivers webhook HTTP requests: each enqueued body is POSTed, HMAC-signed, to the URL it was queued
// with. Events of one room go out strictly in order, one request at a time, and a failed request is
// retried (exponential backoff) until it succeeds or its retry budget runs out, then it is dropped.
// Rooms are independent: a dead receiver only ever delays its own room.
// What it must not do: know anything about rooms or protobuf (a room id is just a queue key, a body is
// opaque bytes), throw from enqueue, crash on any receiver behaviour, keep the process alive with its
// retry/timeout timers (only an explicitly awaited drain() does, bounded), or keep state for a room whose
// queue is empty. It never logs the secret or bodies.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Logger } from '../log/logger.js';

export interface WebhookSenderOptions {
  /** HMAC-SHA256 key. */
  secret: string;
  /** Per-request timeout, ms (covers connecting, the response and reading its body). */
  timeoutMs: number;
  /** How long one event keeps being retried, measured from its first attempt, before it is dropped. */
  maxRetryMs: number;
  /** Max queued (not in-flight) events per room; on overflow the oldest queued event is dropped. */
  queueLimit: number;
  log: Logger;
  /** First retry delay, ms; doubles per failed attempt up to maxBackoffMs. Default 250. */
  initialBackoffMs?: number;
  /** Default 5000. */
  maxBackoffMs?: number;
}

export interface WebhookStats {
  delivered: number;
  failedAttempts: number;
  dropped: number;
}

const SIGNATURE_PREFIX = 'sha256=';
/** Response bodies are read (so the connection can be reused) only up to this size, then cancelled. */
const MAX_RESPONSE_BODY = 64 * 1024;

/** `sha256=<lowercase hex HMAC-SHA256(secret, body)>`, the value of `x-fishjam-signature-256`. */
export function signWebhookBody(secret: string, body: Uint8Array): string {
  return SIGNATURE_PREFIX + createHmac('sha256', secret).update(body).digest('hex');
}

/** True when `header` is the correct `sha256=<hex>` signature of `body` under `secret` (constant-time compare). */
export function verifyWebhookSignature(secret: string, body: Uint8Array, header: string | undefined): boolean {
  if (typeof header !== 'string' || !header.startsWith(SIGNATURE_PREFIX)) return false;
  const hex = header.slice(SIGNATURE_PREFIX.length);
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return false;
  const given = Buffer.from(hex, 'hex');
  const expected = createHmac('sha256', secret).update(body).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

interface WebhookEvent {
  url: string;
  body: Uint8Array<ArrayBuffer>;
  signature: string;
}

interface RoomQueue {
  roomId: string;
  /** Waiting events, oldest first; does not include `current`. */
  queue: WebhookEvent[];
  /** The event being attempted or waiting for its retry. */
  current: WebhookEvent | null;
  /** Aborts the in-flight request. */
  abort: AbortController | null;
  /** Pending backoff timer and the function that ends the wait early (stop). */
  backoffTimer: NodeJS.Timeout | null;
  wake: (() => void) | null;
}

type AttemptResult = { ok: true } | { ok: false; reason: string };

interface DrainWaiter {
  resolve: (drained: boolean) => void;
  timer: NodeJS.Timeout;
}

export class WebhookSender {
  readonly stats: WebhookStats = { delivered: 0, failedAttempts: 0, dropped: 0 };

  private readonly secret: string;
  private readonly timeoutMs: number;
  private readonly maxRetryMs: number;
  private readonly queueLimit: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly log: Logger;
  private readonly rooms = new Map<string, RoomQueue>();
  private readonly drainWaiters = new Set<DrainWaiter>();
  private stopped = false;

  constructor(opts: WebhookSenderOptions) {
    this.secret = opts.secret;
    this.timeoutMs = Math.max(1, opts.timeoutMs);
    this.maxRetryMs = Math.max(0, opts.maxRetryMs);
    this.queueLimit = Math.max(1, Math.floor(opts.queueLimit));
    this.initialBackoffMs = Math.max(1, opts.initialBackoffMs ?? 250);
    this.maxBackoffMs = Math.max(this.initialBackoffMs, opts.maxBackoffMs ?? 5000);
    this.log = opts.log;
  }

  /**
   * Queue one event body for the room's URL; events of one room are delivered strictly in order, one
   * request at a time; different rooms are independent. Never throws; after stop() events are dropped.
   */
  enqueue(roomId: string, url: string, body: Uint8Array): void {
    try {
      if (this.stopped) {
        this.stats.dropped++;
        this.log.warn({ roomId }, 'webhook sender stopped, event dropped');
        return;
      }
      // Copy: the caller may reuse its buffer, and fetch wants an ArrayBuffer-backed view.
      const copy = new Uint8Array(body);
      const event: WebhookEvent = { url, body: copy, signature: signWebhookBody(this.secret, copy) };
      let room = this.rooms.get(roomId);
      const isNew = room === undefined;
      if (!room) {
        room = { roomId, queue: [], current: null, abort: null, backoffTimer: null, wake: null };
        this.rooms.set(roomId, room);
      }
      room.queue.push(event);
      if (room.queue.length > this.queueLimit) {
        const overflow = room.queue.length - this.queueLimit;
        room.queue.splice(0, overflow);
        this.stats.dropped += overflow;
        this.log.warn({ roomId, dropped: overflow, queueLimit: this.queueLimit }, 'webhook queue full, oldest event dropped');
      }
      if (isNew) {
        this.run(room).catch((err: unknown) => {
          // Unreachable by design (run catches everything); kept so a bug can never become an unhandled rejection.
          this.log.error({ roomId, err: describeError(err) }, 'webhook queue runner failed');
        });
      }
    } catch (err) {
      this.log.error({ roomId, err: describeError(err) }, 'webhook enqueue failed');
    }
  }

  /** Number of events queued or in flight (for a room, or all). */
  pending(roomId?: string): number {
    if (roomId !== undefined) {
      const room = this.rooms.get(roomId);
      return room ? room.queue.length + (room.current ? 1 : 0) : 0;
    }
    let n = 0;
    for (const room of this.rooms.values()) n += room.queue.length + (room.current ? 1 : 0);
    return n;
  }

  /**
   * Resolves true when every queue is empty, false if that has not happened within timeoutMs (or stop() was
   * called). Unlike the sender's own timers, this bounded wait keeps the process alive while it is awaited,
   * so a shutdown that awaits drain() really waits for pending retries instead of exiting under them.
   */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.rooms.size === 0) return Promise.resolve(true);
    if (this.stopped) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const waiter: DrainWaiter = {
        resolve,
        timer: setTimeout(() => {
          this.drainWaiters.delete(waiter);
          resolve(false);
        }, Math.max(0, timeoutMs)),
      };
      this.drainWaiters.add(waiter);
    });
  }

  /** Stop all retries/timers; in-flight requests are aborted and queued events dropped. Final. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    let discarded = 0;
    for (const room of this.rooms.values()) {
      discarded += room.queue.length + (room.current ? 1 : 0);
      room.queue.length = 0;
      room.current = null;
      room.abort?.abort(new Error('webhook sender stopped'));
      room.abort = null;
      if (room.backoffTimer) clearTimeout(room.backoffTimer);
      room.backoffTimer = null;
      room.wake?.();
      room.wake = null;
    }
    this.rooms.clear();
    this.stats.dropped += discarded;
    if (discarded > 0) this.log.warn({ dropped: discarded }, 'webhook sender stopped with undelivered events');
    this.settleDrainWaiters(false);
  }

  /** Delivers the room's events one by one until its queue is empty, then frees the room's state. */
  private async run(room: RoomQueue): Promise<void> {
    try {
      for (;;) {
        if (this.stopped) return;
        const event = room.queue.shift();
        if (!event) return;
        room.current = event;
        await this.deliver(room, event);
        room.current = null;
      }
    } catch (err) {
      this.log.error({ roomId: room.roomId, err: describeError(err) }, 'webhook delivery loop failed');
    } finally {
      room.current = null;
      // Nothing can have been enqueued between the loop's last check and here (no await in between),
      // except when the loop died on an error: then anything left is dropped, not stranded.
      if (this.rooms.get(room.roomId) === room) {
        if (room.queue.length > 0) {
          this.stats.dropped += room.queue.length;
          room.queue.length = 0;
        }
        this.rooms.delete(room.roomId);
        if (this.rooms.size === 0) this.settleDrainWaiters(true);
      }
    }
  }

  /** Attempts one event until it is delivered, its retry budget is spent (dropped) or the sender stops. */
  private async deliver(room: RoomQueue, event: WebhookEvent): Promise<void> {
    const firstAttemptAt = performance.now();
    let backoff = this.initialBackoffMs;
    for (let attempt = 1; ; attempt++) {
      const result = await this.attempt(room, event);
      if (this.stopped) return;
      if (result.ok) {
        this.stats.delivered++;
        if (attempt > 1) this.log.info({ roomId: room.roomId, attempt }, 'webhook delivered after retries');
        return;
      }
      this.stats.failedAttempts++;
      const elapsed = performance.now() - firstAttemptAt;
      if (elapsed >= this.maxRetryMs) {
        this.stats.dropped++;
        this.log.error(
          { roomId: room.roomId, attempts: attempt, elapsedMs: Math.round(elapsed), reason: result.reason },
          'webhook event dropped after retries',
        );
        return;
      }
      const level = attempt === 1 ? 'warn' : 'debug';
      this.log[level]({ roomId: room.roomId, attempt, reason: result.reason, retryInMs: backoff }, 'webhook attempt failed');
      await this.sleep(room, Math.min(backoff, this.maxRetryMs - elapsed));
      if (this.stopped) return;
      backoff = Math.min(backoff * 2, this.maxBackoffMs);
    }
  }

  /** One POST; never throws. Success is a 2xx status (redirects are not followed and count as failures). */
  private async attempt(room: RoomQueue, event: WebhookEvent): Promise<AttemptResult> {
    const controller = new AbortController();
    room.abort = controller;
    const timer = setTimeout(() => controller.abort(new Error(`timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
    timer.unref();
    try {
      const res = await fetch(event.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', 'x-fishjam-signature-256': event.signature },
        body: event.body,
        signal: controller.signal,
        redirect: 'manual',
      });
      await discardBody(res);
      if (res.status >= 200 && res.status < 300) return { ok: true };
      return { ok: false, reason: `HTTP ${res.status}` };
    } catch (err) {
      const reason = controller.signal.aborted ? describeError(controller.signal.reason) : describeError(err);
      return { ok: false, reason };
    } finally {
      clearTimeout(timer);
      if (room.abort === controller) room.abort = null;
    }
  }

  private sleep(room: RoomQueue, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        room.backoffTimer = null;
        room.wake = null;
        resolve();
      };
      room.wake = done;
      room.backoffTimer = setTimeout(done, Math.max(0, ms));
      room.backoffTimer.unref();
    });
  }

  private settleDrainWaiters(drained: boolean): void {
    for (const waiter of this.drainWaiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(drained);
    }
    this.drainWaiters.clear();
  }
}

/** Reads (small) or cancels (large) the response body so the connection is released; never throws. */
async function discardBody(res: Response): Promise<void> {
  const body = res.body;
  if (!body) return;
  const reader = body.getReader();
  try {
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      total += value.byteLength;
      if (total > MAX_RESPONSE_BODY) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // Body errors after the status line do not change the outcome.
  }
}

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    const causeText = cause instanceof Error ? `: ${(cause as Error & { code?: string }).code ?? cause.message}` : '';
    return `${err.message}${causeText}`;
  }
  return String(err);
}
