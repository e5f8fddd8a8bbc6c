// The cluster's one Redis connection: ioredis with bounded connect and command timeouts, no offline
// queue, and a reconnect loop with a capped delay that never gives up. Every failure of a command
// becomes one ClusterUnavailableError (callers answer 503 with it). It must not let an ioredis
// 'error' event reach the process (that would crash it), and it knows nothing of nodes or rooms.
import { Redis } from 'ioredis';
import type { Logger } from '../log/logger.js';

/** Redis could not be reached, or did not answer within the command timeout. */
export class ClusterUnavailableError extends Error {
  constructor(readonly operation: string, cause?: unknown) {
    super(`cluster store (Redis) unavailable during ${operation}: ${cause instanceof Error ? cause.message : String(cause ?? 'not connected')}`, { cause });
    this.name = 'ClusterUnavailableError';
  }
}

export interface RedisClientOptions {
  url: string;
  log: Logger;
  /** Connection name shown by CLIENT LIST (the node id). */
  name: string;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  /** Largest delay between reconnect attempts, ms. */
  maxReconnectDelayMs?: number;
}

export interface RedisClient {
  /** Runs commands against Redis; any failure (down, timeout, refused) rejects with ClusterUnavailableError. */
  run<T>(operation: string, fn: (redis: Redis) => Promise<T>): Promise<T>;
  /** True while the connection is established and ready. */
  connected(): boolean;
  /** Resolves true once connected (false after `timeoutMs`): commands are not queued while connecting. */
  waitReady(timeoutMs: number): Promise<boolean>;
  /** The bound of one command round trip, ms. */
  readonly commandTimeoutMs: number;
  /** Calls `listener` each time the connection is ready again after it was lost (not on the first connect). */
  onReconnect(listener: () => void): () => void;
  close(): Promise<void>;
}

export const DEFAULTS = { connectTimeoutMs: 2_000, commandTimeoutMs: 1_000, maxReconnectDelayMs: 2_000 } as const;

/** Delay before reconnect attempt `times` (1, 2, …): doubling from 50 ms, capped, with a little jitter. */
export function reconnectDelay(times: number, capMs: number): number {
  const base = Math.min(capMs, 50 * 2 ** Math.min(times, 16));
  return Math.round(base * (0.8 + Math.random() * 0.2));
}

export function createRedisClient(o: RedisClientOptions): RedisClient {
  const commandTimeoutMs = o.commandTimeoutMs ?? DEFAULTS.commandTimeoutMs;
  const cap = o.maxReconnectDelayMs ?? DEFAULTS.maxReconnectDelayMs;
  const log = o.log.child({ module: 'cluster-redis' });
  const redis = new Redis(o.url, {
    connectionName: o.name.replace(/[^A-Za-z0-9._:-]/g, '-'),
    connectTimeout: o.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
    commandTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 1,
    // Commands sent while disconnected fail at once (and become ClusterUnavailableError) instead of waiting.
    enableOfflineQueue: false,
    retryStrategy: (times) => reconnectDelay(times, cap),
    lazyConnect: false,
  });
  let down = false;
  let closing = false;
  let everReady = false;
  const reconnectListeners = new Set<() => void>();
  // Without a listener an 'error' event would throw and end the process. Logged once per outage.
  redis.on('error', (err: Error) => {
    if (closing || down) return;
    down = true;
    log.warn({ err: err.message }, 'Redis unreachable; reconnecting');
  });
  redis.on('close', () => {
    if (closing || down) return;
    down = true;
    log.warn('Redis connection closed; reconnecting');
  });
  redis.on('ready', () => {
    if (down) log.info('Redis reachable again');
    down = false;
    if (everReady && !closing) for (const l of reconnectListeners) l();
    everReady = true;
  });
  return {
    commandTimeoutMs,
    connected: () => redis.status === 'ready',
    onReconnect(listener) {
      reconnectListeners.add(listener);
      return () => reconnectListeners.delete(listener);
    },
    waitReady: (timeoutMs) =>
      new Promise<boolean>((resolve) => {
        if (redis.status === 'ready') return resolve(true);
        const done = (ok: boolean) => {
          clearTimeout(timer);
          redis.off('ready', onReady);
          resolve(ok);
        };
        const onReady = () => done(true);
        const timer = setTimeout(() => done(false), timeoutMs);
        redis.on('ready', onReady);
      }),
    async run(operation, fn) {
      if (closing) throw new ClusterUnavailableError(operation, new Error('client closed'));
      try {
        return await fn(redis);
      } catch (err) {
        throw new ClusterUnavailableError(operation, err);
      }
    },
    async close() {
      closing = true;
      try {
        if (redis.status === 'ready') await Promise.race([redis.quit(), new Promise((r) => setTimeout(r, commandTimeoutMs).unref())]);
      } catch {
        // quitting a broken connection: disconnect below either way
      }
      redis.disconnect(false);
    },
  };
}
