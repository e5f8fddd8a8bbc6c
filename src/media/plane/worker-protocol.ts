// Messages between the main thread (WorkerMediaPlane) and a media worker (media-worker.ts). Everything
// is structured-cloneable plain data; sessions are named by a number the main thread assigns. Messages
// on one worker's port arrive in the order they were posted, which is all the ordering sessions need.
// The two lists below name the forwarded calls once; both directions are built from them.
import type { LogLevel } from '../../config/config.js';
import type { MediaSession, MediaSessionHost, MediaSessionOptions } from '../../room/media-port.js';
import type { TurnPorts } from '../../turn/turn-server.js';
import type { PlaneTurnOptions } from './local-media-plane.js';
import type { PlaneStats } from './media-plane.js';
import type { QualityLimits, QualitySnapshot } from '../sfu/media-quality.js';
import type { DtlsCertificate } from '../transport/dtls-certificate.js';
import type { DataPlaneKind } from '../../dataplane/data-plane.js';

export interface MediaWorkerData {
  /** The worker's module (a .ts file is loaded through tsx). */
  entry: string;
  index: number;
  turn: PlaneTurnOptions;
  certificate: DtlsCertificate;
  credentialTtlSeconds: number;
  logLevel: LogLevel | 'silent';
  structuredLogging: boolean;
  dataPlane: DataPlaneKind;
}

/** The MediaSession methods the main thread forwards to the worker (all but close, which has its own message). */
export const SESSION_METHODS = ['subscribe', 'unsubscribe', 'trackEvent', 'setTargetVariant', 'requestNegotiation', 'handleOffer', 'agent'] as const;
/** The MediaSessionHost callbacks the worker reports back (failed too: a session may end itself, e.g. a silent client). */
export const HOST_METHODS = ['send', 'published', 'unpublished', 'trackMetadataChanged', 'voiceActivity', 'agentAudio', 'dataChannel', 'failed'] as const;

export type SessionMethod = (typeof SESSION_METHODS)[number];
export type HostMethod = (typeof HOST_METHODS)[number];

// A method added to MediaSession or MediaSessionHost must be added to its list (or excluded here).
type Unlisted = Exclude<keyof MediaSession, SessionMethod | 'close'> | Exclude<keyof MediaSessionHost, HostMethod>;
const allListed: [Unlisted] extends [never] ? true : Unlisted = true;
void allListed;

// Optional methods (agent sessions' own) are forwarded like the others; a target without one ignores the call.
type CallOf<T, K extends keyof T> = NonNullable<T[K]> extends (...args: infer A) => void ? { method: K; args: A } : never;
export type SessionCall = { [K in SessionMethod]: CallOf<MediaSession, K> }[SessionMethod];
export type HostCall = { [K in HostMethod]: CallOf<MediaSessionHost, K> }[HostMethod];

/** Calls `call.method` on `target` if the method is one of `allowed` (a message naming another is dropped). */
export function invoke<T extends object>(target: T, allowed: readonly (keyof T)[], call: { method: string; args: unknown[] }): void {
  if (!(allowed as readonly string[]).includes(call.method)) return;
  const fn = target[call.method as keyof T];
  if (typeof fn === 'function') (fn as (...args: unknown[]) => void).apply(target, call.args);
}

export type ToWorker =
  | { type: 'open'; session: number; options: MediaSessionOptions }
  | ({ type: 'call'; session: number } & SessionCall)
  | { type: 'close'; session: number }
  | { type: 'stats'; request: number }
  | { type: 'quality'; request: number; limits: QualityLimits }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'ready'; ports: TurnPorts }
  | { type: 'startFailed'; message: string; code?: string }
  | ({ type: 'host'; session: number } & HostCall)
  | { type: 'stats'; request: number; stats: PlaneStats }
  | { type: 'quality'; request: number; quality: QualitySnapshot }
  | { type: 'stopped' };

/** The requests the main thread makes of every worker, each answered by one reply of the same type. */
export type WorkerRequest = Extract<ToWorker, { request: number }>;
export type WorkerReply = Extract<FromWorker, { request: number }>;
