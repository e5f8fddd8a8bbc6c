// The port a Room drives the SFU through: it opens one MediaSession per connected WebRTC peer and talks
// to it only in plain, cloneable data (track infos, endpoint events), so a session may live in this thread
// or in a media worker without the room knowing which. The SFU (media/) implements this port; the room
// never imports media/. Nothing here touches packets or sockets. An agent (cloud `createAgent`) gets a
// session too: its options carry `agent`, it is driven with agent commands and reports the audio it hears.
import type { PeerPermissions } from '../auth/peer-token.js';
import type { ServerEndpointEvent, TurnServerInfo } from './endpoint-events.js';
import type { TrackInfo, Variant } from './track.js';

/** What a session needs to know about its peer; fixed for the session's life. */
export interface MediaSessionOptions {
  roomId: string;
  peerId: string;
  roomCodec: 'vp8' | 'h264' | null;
  permissions: PeerPermissions;
  enableSimulcast: boolean;
  /** Set for an agent peer: the session is an agent session hearing the room's audio in this format. */
  agent?: AgentOutput;
  /**
   * Report host.failed('client went silent') when the client sends nothing for this long (or never connects).
   * Only livestream sessions set it: they have no signaling socket whose close would end them.
   */
  idleTimeoutMs?: number;
}

/** The audio an agent receives (peer option `output`): 16-bit little-endian mono PCM at a rate, or Opus packets as published. */
export interface AgentOutput {
  format: 'pcm16' | 'opus';
  sampleRate: 16000 | 24000 | 48000;
}

/** What an agent asks of its session (decoded from its socket's AgentRequest frames, values not yet checked). */
export type AgentCommand =
  | { type: 'addTrack'; trackId: string; metadata: unknown; encoding: 'pcm16' | 'opus' | 'unspecified'; sampleRate: number; channels: number }
  | { type: 'removeTrack'; trackId: string }
  | { type: 'trackData'; trackId: string; data: Uint8Array }
  | { type: 'interruptTrack'; trackId: string };

/** One chunk of a room track's audio for an agent (AgentResponse.TrackData). */
export interface AgentAudio {
  peerId: string;
  track: { id: string; metadata: unknown };
  data: Uint8Array;
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
  /** A data channel of the peer opened ('added') or closed ('removed'); `channelId` is its label. */
  dataChannel?(channelId: string, change: 'added' | 'removed'): void;
  /** Agent sessions: audio the agent hears (only agent sessions call it). */
  agentAudio?(audio: AgentAudio): void;
}

/** One peer's media, as its room drives it. Calls after close() are ignored. */
export interface MediaSession {
  /** Announces tracks of `endpointId` (published in the same room) and negotiates their delivery. */
  subscribe(endpointId: string, tracks: TrackInfo[]): void;
  unsubscribe(endpointId: string, trackIds: string[]): void;
  /**
   * An event about a remote track this session delivers (trackUpdated, trackEncodingEnabled/Disabled,
   * vadNotification), with the track's info as it is after the change. No event about a track may reach
   * the client before its tracksAdded, and tracksAdded waits for a negotiation round; so while the
   * track's tracksAdded is still held, the held info is replaced by `track` and the event is dropped
   * (the tracksAdded carries the change); once announced, the event is sent; otherwise it is ignored.
   */
  trackEvent(endpointId: string, track: TrackInfo, event: ServerEndpointEvent): void;
  setTargetVariant(trackId: string, variant: Variant): void;
  requestNegotiation(): void;
  handleOffer(sdp: string, trackIdToMetadata: Record<string, unknown>, midToTrackId: Record<string, string>): void;
  /** Agent sessions: one command of the agent (other sessions lack it or ignore it). */
  agent?(command: AgentCommand): void;
  close(): void;
}

/** What the Room needs of the SFU. */
export interface MediaPort {
  /** True if the port can open agent sessions (options.agent); without it agents get no media session. */
  readonly hostsAgents?: boolean;
  open(options: MediaSessionOptions, host: MediaSessionHost): MediaSession;
  /** The integrated TURN entries a peer of `roomId` is given (empty before the plane has started). */
  turnServers(roomId: string, peerId: string): TurnServerInfo[];
}
