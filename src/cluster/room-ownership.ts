// This node's room claims: claims an id in the room directory before a room is created here, remembers the
// claim (node + epoch) and releases exactly that claim when the room ends, and looks up who holds a room.
// A fenced node claims nothing. A claim under this node's id that it does not remember (left by an earlier
// run with the same FJ_NODE_ID) is taken over. Redis failures reject with ClusterUnavailableError (the API
// answers 503); a release that fails is remembered (bounded) and retried by retryReleases() once Redis is
// back, still fenced by its epoch. A claim won over a dead node's claim is reported (that room crashed); a
// lapsed node that still answers keeps its claims for the reap grace (it is stopping its rooms).
// It knows no rooms, only their ids.
import type { Logger } from '../log/logger.js';
import { ClusterUnavailableError } from './redis-client.js';
import type { RoomClaim, RoomDirectory } from './room-directory.js';

/** Most claims this node remembers (a bound on memory; beyond it a release is left to take-over). */
const MAX_HELD = 100_000;

export class RoomOwnership {
  private readonly held = new Map<string, RoomClaim>();
  private readonly pending = new Set<string>();
  /** Claims whose release failed (Redis unreachable): retried by retryReleases(). */
  private readonly unreleased = new Map<string, RoomClaim>();

  constructor(
    private readonly directory: RoomDirectory,
    readonly selfId: string,
    private readonly log: Logger,
    /** False while this node is fenced off (its lease lapsed): it must not take rooms then. */
    private readonly mayClaim: () => boolean = () => true,
    /** A claim this node won replaced the claim of a node whose lease lapsed: that node's room crashed. */
    private readonly onTakenOver: (roomId: string, from: RoomClaim) => void = () => {},
    /**
     * A claim of a node whose lease lapsed is taken over at once only if that node does not answer (dead);
     * one that still answers (cut off from Redis, stopping its rooms) holds it for the grace (503 meanwhile).
     */
    private readonly lapsed?: { graceMs: number; answers: (nodeId: string) => Promise<boolean> },
  ) {}

  /** True if this node now holds `roomId`; false if a claim (another node's, or this node's own) holds it. */
  async claim(roomId: string): Promise<boolean> {
    if (!this.mayClaim()) throw new ClusterUnavailableError('room claim', new Error('this node is fenced off from the cluster'));
    if (this.pending.has(roomId) || this.held.has(roomId)) return false;
    this.pending.add(roomId);
    try {
      let r = await this.directory.claim(roomId, this.selfId, this.lapsed && { lapsedGraceMs: this.lapsed.graceMs });
      if (!r.won && r.lapsed) {
        const holder = r.holder.node;
        if (holder !== this.selfId && (await this.lapsed!.answers(holder))) {
          throw new ClusterUnavailableError('room claim', new Error(`node ${holder} holding room ${roomId} lost its lease and is stopping its rooms`));
        }
        r = await this.directory.claim(roomId, this.selfId);
      }
      if (!r.won && r.holder.node === this.selfId) {
        // Not in `held` and not pending: an earlier run of this node id left it. Take it over once.
        this.log.info({ roomId, epoch: r.holder.epoch }, 'taking over a room claim left by an earlier run of this node');
        const left = r.holder;
        await this.directory.release(roomId, left);
        r = await this.directory.claim(roomId, this.selfId);
        // That earlier run's room crashed with it: reported like any claim taken over.
        if (r.won && !r.tookOver) r = { ...r, tookOver: left };
      }
      if (!r.won) return false;
      this.unreleased.delete(roomId);
      // Reported before the claim is held, so a roomCrashed published for it releases nothing here.
      if (r.tookOver) this.onTakenOver(roomId, r.tookOver);
      if (this.held.size < MAX_HELD) this.held.set(roomId, r.claim);
      return true;
    } finally {
      this.pending.delete(roomId);
    }
  }

  /**
   * Writes this node's claim on a room it serves again (Redis lost it: restarted empty). 'kept' when the
   * directory still has this node's claim, 'claimed' when written anew, else the other holder's node id.
   */
  async reassert(roomId: string): Promise<'kept' | 'claimed' | { heldBy: string }> {
    const r = await this.directory.claim(roomId, this.selfId);
    if (!r.won && r.holder.node !== this.selfId) return { heldBy: r.holder.node };
    const claim = r.won ? r.claim : r.holder;
    if (this.held.size < MAX_HELD || this.held.has(roomId)) this.held.set(roomId, claim);
    return r.won ? 'claimed' : 'kept';
  }

  /** The id of the node holding `roomId`'s claim, if any. */
  async owner(roomId: string): Promise<string | undefined> {
    return (await this.directory.owner(roomId))?.node;
  }

  /** The node holding `roomId`'s claim and its registration value (undefined once its lease lapsed), if claimed. */
  async ownerWithNode(roomId: string): Promise<{ node: string; registration: string | undefined } | undefined> {
    const r = await this.directory.ownerWithNode(roomId);
    return r && { node: r.claim.node, registration: r.registration };
  }

  /** Gives back this node's claim on `roomId` (its room ended, or was never created). */
  release(roomId: string): void {
    const claim = this.held.get(roomId);
    if (!claim) return;
    this.held.delete(roomId);
    this.directory.release(roomId, claim).catch((err: Error) => {
      this.log.warn({ roomId, err: err.message }, 'room claim not released; retried once Redis answers');
      if (this.unreleased.size < MAX_HELD) this.unreleased.set(roomId, claim);
    });
  }

  /** Room ids this node holds a claim on now, or is claiming. */
  heldIds(): string[] {
    return [...this.held.keys(), ...this.pending];
  }

  /**
   * Retries the releases that failed, each fenced by its epoch (a claim reaped or re-made by another node
   * meanwhile is left alone). Resolves with the ids whose claim this call deleted; Redis errors keep the rest.
   */
  async retryReleases(): Promise<string[]> {
    const done: string[] = [];
    for (const [roomId, claim] of [...this.unreleased]) {
      try {
        if (await this.directory.release(roomId, claim)) done.push(roomId);
        this.unreleased.delete(roomId);
      } catch (err) {
        this.log.debug({ roomId, err: (err as Error).message }, 'room claim release retry failed');
        break;
      }
    }
    return done;
  }
}
