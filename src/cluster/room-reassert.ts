// After Redis comes back (possibly restarted empty: no persistence), puts this node's share of the cluster
// state back: renews its registration at once, then claims again every room it still serves, so routed
// calls reach it again and each room has one claim. A claim another node holds for the same id is logged
// and left (such a create needed Redis, so it cannot have happened during the outage). It retries with a
// bounded delay while Redis keeps failing and never throws. It knows room ids only (server.ts hands them
// in); it must not import rooms, media or the API.
import type { Logger } from '../log/logger.js';
import type { RoomOwnership } from './room-ownership.js';

/** Claims written concurrently (one round trip each): bounds the commands in flight on the one connection. */
const BATCH = 32;

export interface RoomReassertOptions {
  /** Subscribes to "the Redis connection is ready again" (RedisClient.onReconnect). */
  onReconnect: (listener: () => void) => () => void;
  /** Renews this node's registration now (resolves whether or not it worked: the registry retries itself). */
  reregister: () => Promise<void>;
  ownership: Pick<RoomOwnership, 'reassert' | 'release'>;
  /** Ids of the rooms this node serves now. */
  roomIds: () => string[];
  /** Whether this node still serves `id` (a room that ended while its claim was written gives it back). */
  serves: (id: string) => boolean;
  log: Logger;
  /** Delay before another attempt after Redis failed again, ms. */
  retryMs?: number;
}

export interface ReassertResult {
  claimed: number;
  kept: number;
  /** Room id → the other node holding its claim. */
  heldElsewhere: Map<string, string>;
}

export class RoomReassert {
  private off: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly retryMs: number;
  /** The outcome of the last complete pass (tests and logs read it). */
  last: ReassertResult | undefined;

  constructor(private readonly o: RoomReassertOptions) {
    this.retryMs = o.retryMs ?? 1000;
  }

  start(): void {
    this.off = this.o.onReconnect(() => this.trigger());
  }

  /** Runs one pass now (or once more after the one under way); resolves when no pass is left to run. */
  trigger(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    clearTimeout(this.retryTimer);
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.loop().finally(() => (this.running = undefined));
    return this.running;
  }

  stop(): void {
    this.stopped = true;
    this.off?.();
    clearTimeout(this.retryTimer);
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.pass();
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message, retryMs: this.retryMs }, 'room re-assertion failed; retrying');
        if (!this.stopped) {
          this.retryTimer = setTimeout(() => void this.trigger(), this.retryMs);
          this.retryTimer.unref();
        }
        return;
      }
    } while (this.again && !this.stopped);
  }

  private async pass(): Promise<void> {
    await this.o.reregister();
    const result: ReassertResult = { claimed: 0, kept: 0, heldElsewhere: new Map() };
    const ids = this.o.roomIds();
    for (let i = 0; i < ids.length; i += BATCH) {
      if (this.stopped) return;
      const batch = await Promise.all(ids.slice(i, i + BATCH).map(async (id) => [id, await this.o.ownership.reassert(id)] as const));
      for (const [id, r] of batch) {
        if (r === 'claimed') result.claimed++;
        else if (r === 'kept') result.kept++;
        else {
          result.heldElsewhere.set(id, r.heldBy);
          this.o.log.error({ roomId: id, heldBy: r.heldBy }, 'room served here is claimed by another node; claim left as it is');
          continue;
        }
        if (!this.o.serves(id)) this.o.ownership.release(id);
      }
    }
    this.last = result;
    this.o.log.info({ claimed: result.claimed, kept: result.kept, heldElsewhere: result.heldElsewhere.size }, 'rooms re-asserted in the cluster directory');
  }
}
