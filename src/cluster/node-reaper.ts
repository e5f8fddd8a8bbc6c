// Ends the rooms of dead nodes: every node runs one reaper; each tick (while this node's own lease holds)
// it asks the room directory to take the claims of nodes whose registration has been gone for a grace
// period — one atomic Redis script, so each claim goes to exactly one survivor — and reports each taken
// room id through onCrashed (server.ts publishes roomCrashed on this node's bus). A lapsed node that does
// not answer at all (isDead) is not waited for. Its first pass also takes the claims an earlier run under
// this node id left (a restart within the lease: nobody else would reap them), except those this run
// holds already. Bounded per tick; Redis errors are logged and retried on the next tick, never thrown.
// It knows no rooms and sends nothing itself.
import type { Logger } from '../log/logger.js';
import type { NodeClaimsReaper, RoomDirectory } from './room-directory.js';

export interface NodeReaperOptions {
  directory: Pick<RoomDirectory, 'reapLapsed'> & NodeClaimsReaper;
  /**
   * Whether a lapsed node is certainly dead (it does not answer): its claims are then taken without waiting
   * for the grace. Default: never (always wait). A node that answers is cut off and stopping its rooms.
   */
  isDead?: (nodeId: string) => Promise<boolean>;
  /** This node's id and the room ids this run holds (never reaped as leftovers). */
  self?: { id: string; held: () => readonly string[] };
  /** True while this node may act for the cluster (its own lease holds). */
  mayRun: () => boolean;
  onCrashed: (roomId: string) => void;
  periodMs: number;
  /** How long a node must have been seen unregistered before its claims are taken (see fenceTimings). */
  graceMs: number;
  log: Logger;
  /** Most claims taken per tick (default 500). */
  maxPerTick?: number;
}

export class NodeReaper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<string[]> | undefined;
  private stopped = false;
  private failing = false;
  private leftoversDone = false;

  constructor(private readonly o: NodeReaperOptions) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** One pass now (never two at once): the room ids this node took and reported. */
  tick(): Promise<string[]> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick().finally(() => this.schedule()), this.o.periodMs);
    this.timer.unref();
  }

  private async pass(): Promise<string[]> {
    if (!this.o.mayRun()) return [];
    const ids: string[] = [];
    const max = this.o.maxPerTick ?? 500;
    try {
      if (!this.leftoversDone && this.o.self) {
        // SPOP hands back kept ids too (put back): a few bounded rounds, then the rest is left to later ticks.
        for (let round = 0; round < 4; round++) {
          const took = await this.o.directory.reapNode(this.o.self.id, max, this.o.self.held());
          ids.push(...took);
          if (took.length === 0) break;
        }
        if (ids.length > 0) this.o.log.warn({ rooms: ids.length }, 'claims left by an earlier run of this node id: reported crashed');
        this.leftoversDone = true;
      }
      ids.push(...(await this.o.directory.reapLapsed(this.o.graceMs, max)));
      if (this.o.isDead && ids.length < max) ids.push(...(await this.reapDead(max - ids.length)));
      if (this.failing) this.o.log.info('room reaping works again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.o.log.warn({ err: (err as Error).message }, 'room reaping failed; retrying next tick');
      this.failing = true;
      // Claims taken before the failure are reported below all the same.
    }
    if (ids.length > 0) this.o.log.warn({ rooms: ids.length }, 'rooms of a dead node reported crashed');
    for (const id of ids) {
      try {
        this.o.onCrashed(id);
      } catch (err) {
        this.o.log.error({ err, roomId: id }, 'room crash report failed');
      }
    }
    return ids;
  }

  /** Lapsed nodes holding claims that do not answer (a few per tick, asked in parallel): their claims now. */
  private async reapDead(budget: number): Promise<string[]> {
    const self = this.o.self?.id;
    const lapsed = (await this.o.directory.lapsedClaimNodes(MAX_ASKED)).filter((n) => n !== self);
    if (lapsed.length === 0) return [];
    const dead = await Promise.all(lapsed.map((n) => this.o.isDead!(n).catch(() => false)));
    const out: string[] = [];
    for (const [i, node] of lapsed.entries()) {
      if (!dead[i] || out.length >= budget) continue;
      const took = await this.o.directory.reapUnregistered(node, budget - out.length);
      if (took.length > 0) this.o.log.warn({ node, rooms: took.length }, 'a dead node (lease lapsed, not answering): its rooms taken at once');
      out.push(...took);
    }
    return out;
  }
}

/** Most lapsed nodes asked per tick whether they are dead. */
const MAX_ASKED = 8;
