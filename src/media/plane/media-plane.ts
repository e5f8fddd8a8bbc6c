// The SFU as the server drives it: the Room's MediaPort plus start/stop, counters, quality snapshots and
// per-thread load. Implemented in this thread (LocalMediaPlane) and over worker threads (WorkerMediaPlane).
// Nothing here touches packets, sockets or room state.
import type { MediaPort } from '../../room/media-port.js';
import { addTurnStats, emptyTurnStats, type TurnStats } from '../../turn/turn-stats.js';
import type { QualityLimits, QualitySnapshot } from '../sfu/media-quality.js';
import { addMediaStats, emptyMediaStats, type MediaStats } from '../sfu/media-stats.js';
import type { DataPlaneKind } from '../../dataplane/data-plane.js';

/** A plane's counters: the SFU's and its TURN servers' (all WebRTC traffic passes through them). */
export interface PlaneStats extends MediaStats {
  turn: TurnStats;
}

export function emptyPlaneStats(): PlaneStats {
  return { ...emptyMediaStats(), turn: emptyTurnStats() };
}

export function addPlaneStats(into: PlaneStats, from: PlaneStats): PlaneStats {
  addMediaStats(into, from);
  addTurnStats(into.turn, from.turn);
  return into;
}

export interface MediaThreadLoad {
  thread: string;
  rooms: number;
  sessions: number;
}

export interface MediaPlane extends MediaPort {
  /** The data plane carrying its packets (native or js: FJ_MEDIA_DATAPLANE). */
  readonly dataPlane: DataPlaneKind;
  /** Binds the plane's sockets (TURN); rejects if a port is taken. */
  start(): Promise<void>;
  /** Packet and TURN counters summed over every thread that forwards media. */
  stats(): Promise<PlaneStats>;
  /** Per-track and per-peer quality of every media thread, at most `limits` of each (default DEFAULT_QUALITY_LIMITS). */
  quality(limits?: QualityLimits): Promise<QualitySnapshot>;
  /** Rooms and sessions per media thread (`main`, or `worker-<i>`), and how often workers restarted. */
  load(): { threads: MediaThreadLoad[]; workerRestarts: number };
  stop(): Promise<void>;
}
