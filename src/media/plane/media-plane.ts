// The seam between rooms and the SFU. A Room opens one MediaSession per connected WebRTC peer and talks
// to it only through plain, cloneable data (track infos, endpoint events), so a session may live in this
// thread (LocalMediaPlane) or in a media worker thread (WorkerMediaPlane) without the room knowing which.
// Nothing here touches packets, sockets or room state.
import type { PeerPermissions } from '../../auth/peer-token.js';
import type { ServerEndpointEvent, TurnServerInfo } from '../../room/endpoint-events.js';
import type { TrackInfo, Variant } from '../../room/track.js';
import type { MediaStats } from '../sfu/media-stats.js';

/** What a session needs to know about its peer; fixed for the session's life. */
export interface MediaSessionOptions {
  roomId: string;
  peerId: string;
  roomCodec: 'vp8' | 'h264' | null;
  permissions: PeerPermissions;
  enableSimulcast: boolean;
}

/** What a session reports to its room. */
export interface MediaSessionHost {
  send(event: ServerEndpointEvent): void;
  published(tracks: TrackInfo[]): void;
  unpublished(trackIds: string[]): void;
  trackMetadataChanged(trackId: string, metadata: unknown): void;
  voiceActivity(trackId: string, status: 'speech' | 'silence'): void;
  /** The session is gone for a reason outside the room's control (its media worker died). */
  failed(reason: string): void;
}

/** One peer's media, as its room drives it. Calls after close() are ignored. */
export interface MediaSession {
  /** Announces tracks of `endpointId` (published in the same room) and negotiates their delivery. */
  subscribe(endpointId: string, tracks: TrackInfo[]): void;
  unsubscribe(endpointId: string, trackIds: string[]): void;
  /** Has the client been told about this remote track yet? (Events about a track must not precede it.) */
  knowsTrack(trackId: string): boolean;
  setTargetLayer(trackId: string, layer: Variant): void;
  requestNegotiation(): void;
  handleOffer(sdp: string, trackIdToMetadata: Record<string, unknown>, midToTrackId: Record<string, string>): void;
  close(): void;
}

export interface MediaThreadLoad {
  thread: string;
  rooms: number;
  sessions: number;
}

export interface MediaPlane {
  /** Binds the plane's sockets (TURN); rejects if a port is taken. */
  start(): Promise<void>;
  open(options: MediaSessionOptions, host: MediaSessionHost): MediaSession;
  /** The integrated TURN entries a peer of `roomId` is given (empty before start). */
  turnServers(roomId: string, peerId: string): TurnServerInfo[];
  /** Packet counters summed over every thread that forwards media. */
  stats(): Promise<MediaStats>;
  /** Rooms and sessions per media thread (`main`, or `worker-<i>`), and how often workers restarted. */
  load(): { threads: MediaThreadLoad[]; workerRestarts: number };
  stop(): Promise<void>;
}
