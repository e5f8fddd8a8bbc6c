// This node's room claims: claims an id in the room directory before a room is created here, remembers the
// claim (node + epoch) and releases exactly that claim when the room ends, and looks up who holds a room.
// Redis failures reject with ClusterUnavailableError (the API answers 503); releases are best effort (a
// claim left behind by a dead node is taken over by the next claim). It knows no rooms, only their ids.
import type { Logger } from '../log/logger.js';
import type { RoomClaim, RoomDirectory } from './room-directory.js';

/** Most claims this node remembers (a bound on memory; beyond it a release is left to take-over). */
const MAX_HELD = 100_000;

export class RoomOwnership {
  private readonly held = new Map<string, RoomClaim>();

  constructor(
    private readonly directory: RoomDirectory,
    readonly selfId: string,
    private readonly log: Logger,
  ) {}

  /** True if this node now holds `roomId` (or already did); false if another node's claim holds it. */
  async claim(roomId: string): Promise<boolean> {
    const r = await this.directory.claim(roomId, this.selfId);
    if (!r.won) return false;
    if (this.held.size < MAX_HELD) this.held.set(roomId, r.claim);
    return true;
  }

  /** The id of the node holding `roomId`'s claim, if any. */
  async owner(roomId: string): Promise<string | undefined> {
    return (await this.directory.owner(roomId))?.node;
  }

  /** Gives back this node's claim on `roomId` (its room ended, or was never created). */
  release(roomId: string): void {
    const claim = this.held.get(roomId);
    if (!claim) return;
    this.held.delete(roomId);
    this.directory.release(roomId, claim).catch((err: Error) => this.log.warn({ roomId, err: err.message }, 'room claim not released; it will be taken over'));
  }
}
