// Messages between the main thread (WorkerMediaPlane) and a media worker (media-worker.ts). Everything
// is structured-cloneable plain data; sessions are named by a number the main thread assigns. Messages
// on one worker's port arrive in the order they were posted, which is all the ordering sessions need.
import type { LogLevel } from '../../config/config.js';
import type { TurnServerOptions } from '../../turn/turn-server.js';
import type { DtlsCertificate } from '../transport/dtls-certificate.js';
import type { MediaSession, MediaSessionHost, MediaSessionOptions } from './media-plane.js';
import type { MediaStats } from '../sfu/media-stats.js';

export interface MediaWorkerData {
  /** The worker's module (a .ts file is loaded through tsx). */
  entry: string;
  index: number;
  turn: Omit<TurnServerOptions, 'log'>;
  certificate: DtlsCertificate;
  credentialTtlSeconds: number;
  logLevel: LogLevel | 'silent';
  structuredLogging: boolean;
}

/** The MediaSession methods the main thread forwards, with their arguments. */
export type SessionMethod = Exclude<keyof MediaSession, 'knowsTrack' | 'close'>;
export type SessionCall = { [K in SessionMethod]: { method: K; args: Parameters<MediaSession[K]> } }[SessionMethod];

/** The MediaSessionHost callbacks a worker reports, with their arguments. */
export type HostMethod = Exclude<keyof MediaSessionHost, 'failed'>;
export type HostCall = { [K in HostMethod]: { method: K; args: Parameters<MediaSessionHost[K]> } }[HostMethod];

export type ToWorker =
  | { type: 'open'; session: number; options: MediaSessionOptions }
  | ({ type: 'call'; session: number } & SessionCall)
  | { type: 'close'; session: number }
  | { type: 'stats'; request: number }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'ready'; udpPort: number; tcpPort?: number }
  | { type: 'startFailed'; message: string; code?: string }
  | ({ type: 'host'; session: number } & HostCall)
  | { type: 'stats'; request: number; stats: MediaStats }
  | { type: 'stopped' };
