// The SFU as the server drives it: the Room's MediaPort plus start/stop, counters and per-thread load.
// Implemented in this thread (LocalMediaPlane) and over worker threads (WorkerMediaPlane).
// Nothing here touches packets, sockets or room state.
import type { MediaPort } from '../../room/media-port.js';
import type { MediaStats } from '../sfu/media-stats.js';

export interface MediaThreadLoad {
  thread: string;
  rooms: number;
  sessions: number;
}

export interface MediaPlane extends MediaPort {
  /** Binds the plane's sockets (TURN); rejects if a port is taken. */
  start(): Promise<void>;
  /** Packet counters summed over every thread that forwards media. */
  stats(): Promise<MediaStats>;
  /** Rooms and sessions per media thread (`main`, or `worker-<i>`), and how often workers restarted. */
  load(): { threads: MediaThreadLoad[]; workerRestarts: number };
  stop(): Promise<void>;
}
