// This node's room claims: claims an id in the room directory before a room is created here, remembers the
// claim (node + epoch) and releases exactly that claim when the room ends, and looks up who holds a room.
// A fenced node claims nothing. A claim under this node's id that it does not remember (left by an earlier
// run with the same FJ_NODE_ID) is taken over. Redis failures reject with ClusterUnavailableError (the API
// answers 503); releases are best effort (a claim left behind by a dead node is taken over by the next
// claim). It knows no rooms, only their ids.
import type { Logger } from '../log/logger.js';
import { ClusterUnavailableError } from './redis-client.js';
import type { RoomClaim, RoomDirectory } from './room-directory.js';

/** Most claims this node remembers (a bound on memory; beyond it a release is left to take-over). */
const MAX_HELD = 100_000;

export class RoomOwnership {
  private readonly held = new Map<string, RoomClaim>();
  private readonly pending = new Set<string>();

  constructor(
    private readonly directory: RoomDirectory,
    readonly selfId: string,
    private readonly log: Logger,
    /** False while this node is fenced off (its lease lapsed): it must not take rooms then. */
    private readonly mayClaim: () => boolean = () => true,
  ) {}

  /** True if this node now holds `roomId`; false if a claim (another node's, or this node's own) holds it. */
  async claim(roomId: string): Promise<boolean> {
    if (!this.mayClaim()) throw new ClusterUnavailableError('room claim', new Error('this node is fenced off from the cluster'));
    if (this.pending.has(roomId) || this.held.has(roomId)) return false;
    this.pending.add(roomId);
    try {
      let r = await this.directory.claim(roomId, this.selfId);
      if (!r.won && r.holder.node === this.selfId) {
        // Not in `held` and not pending: an earlier run of this node id left it. Take it over once.
        this.log.info({ roomId, epoch: r.holder.epoch }, 'taking over a room claim left by an earlier run of this node');
        await this.directory.release(roomId, r.holder);
        r = await this.directory.claim(roomId, this.selfId);
      }
      if (!r.won) return false;
      if (this.held.size < MAX_HELD) this.held.set(roomId, r.claim);
      return true;
    } finally {
      this.pending.delete(roomId);
    }
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
    this.directory.release(roomId, claim).catch((err: Error) => this.log.warn({ roomId, err: err.message }, 'room claim not released; it will be taken over'));
  }
}
