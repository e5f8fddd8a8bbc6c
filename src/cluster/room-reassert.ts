// After Redis comes back restarted (its run_id changed; with no persistence it lost everything), puts this
// node's share of the cluster state back: renews its registration at once, then claims again every room
// it still serves, so routed calls reach it again and each room has one claim. A claim another node holds
// is logged and left. A reconnect to the same server only renews the registration. Other nodes reconnect
// up to a reconnect delay later, so for RECOVERY_MS after a restart `recovering()` is true: server.ts then
// refuses new claims and answers "unclaimed" lookups with 503, rather than creating a second room or
// saying 404 for a room whose owner has not re-claimed it yet. It retries with a bounded delay while Redis
// keeps failing and never throws. It knows room ids only (server.ts hands them in); it must not import
// rooms, media or the API.
import type { Logger } from '../log/logger.js';
import type { RoomOwnership } from './room-ownership.js';

/** Claims written concurrently (one round trip each): bounds the commands in flight on the one connection. */
const BATCH = 32;
/**
 * How long after Redis came back restarted new claims are refused: every node's client reconnects within
 * its capped delay (2 s) and a pass takes well under a second per thousand rooms, so by then every live
 * node has re-claimed its rooms.
 */
export const RECOVERY_MS = 5000;

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
  /** Redis's run_id (INFO server): a new one means it restarted and may have lost every claim. */
  runId?: () => Promise<string | undefined>;
  recoveryMs?: number;
  /** Monotonic clock, ms (tests inject a fake one). */
  now?: () => number;
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
  private readonly now: () => number;
  private knownRunId: string | undefined;
  private recoveringUntil = -Infinity;
  /** The outcome of the last complete pass (tests and logs read it). */
  last: ReassertResult | undefined;

  constructor(private readonly o: RoomReassertOptions) {
    this.retryMs = o.retryMs ?? 1000;
    this.now = o.now ?? (() => performance.now());
  }

  start(): void {
    this.off = this.o.onReconnect(() => void this.reconnected());
    void this.readRunId().then((id) => (this.knownRunId ??= id));
  }

  /** True for a while after Redis came back restarted: other nodes may not have re-claimed their rooms yet. */
  recovering(): boolean {
    return this.now() < this.recoveringUntil;
  }

  /**
   * Starts the recovery window at once (cautious). The same Redis server as before (a dropped connection, a
   * partition) kept every claim: the window ends and only the registration is renewed; claims are not
   * rewritten (one reaped meanwhile from a node cut off too long stays given up). A restarted one (new or
   * unreadable run_id) gets the full pass.
   */
  private async reconnected(): Promise<void> {
    if (this.stopped) return;
    const before = this.knownRunId;
    this.recoveringUntil = this.now() + (this.o.recoveryMs ?? RECOVERY_MS);
    const id = await this.readRunId();
    if (id !== undefined) this.knownRunId = id;
    if (id !== undefined && id === before) {
      this.recoveringUntil = -Infinity;
      await this.o.reregister();
      return;
    }
    this.o.log.warn({ recoveryMs: this.o.recoveryMs ?? RECOVERY_MS }, 'Redis restarted: new rooms refused (503) while every node re-claims its rooms');
    await this.trigger();
  }

  private async readRunId(): Promise<string | undefined> {
    if (!this.o.runId) return undefined;
    try {
      return await this.o.runId();
    } catch {
      return undefined;
    }
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
    this.recoveringUntil = -Infinity;
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
