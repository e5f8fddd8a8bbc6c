// Ends the rooms of dead nodes: every node runs one reaper; each tick (while this node's own lease holds)
// it asks the room directory to take the claims of nodes whose registration has been gone for a grace
// period — one atomic Redis script, so each claim goes to exactly one survivor — and reports each taken
// room id through onCrashed (server.ts publishes roomCrashed on this node's bus). Bounded per tick; Redis
// errors are logged and retried on the next tick, never thrown. It knows no rooms and sends nothing itself.
import type { Logger } from '../log/logger.js';
import type { RoomDirectory } from './room-directory.js';

export interface NodeReaperOptions {
  directory: Pick<RoomDirectory, 'reapLapsed'>;
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
    let ids: string[];
    try {
      ids = await this.o.directory.reapLapsed(this.o.graceMs, this.o.maxPerTick ?? 500);
      if (this.failing) this.o.log.info('room reaping works again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.o.log.warn({ err: (err as Error).message }, 'room reaping failed; retrying next tick');
      this.failing = true;
      return [];
    }
    if (ids.length > 0) this.o.log.warn({ rooms: ids.length }, "a dead node's rooms reported crashed");
    for (const id of ids) {
      try {
        this.o.onCrashed(id);
      } catch (err) {
        this.o.log.error({ err, roomId: id }, 'room crash report failed');
      }
    }
    return ids;
  }
}
