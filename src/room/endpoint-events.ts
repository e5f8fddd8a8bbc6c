// Generation-neutral media events between a room and one connected endpoint. The room speaks these;
// signaling/ translates them to JSON (ts-client 0.5.0) or protobuf (ts-client 0.25.x) on the wire.
import type { PeerType } from './notifications.js';
import type { TrackInfo, Variant } from './track.js';

export interface EndpointView {
  id: string;
  type: PeerType;
  /** Metadata the client itself sent (connect / updateEndpointMetadata). */
  metadata: unknown;
  /** Metadata the backend set at peer creation (cloud `options.metadata`). */
  serverMetadata: unknown;
  tracks: TrackInfo[];
}

/** Room → endpoint. */
export type ServerEndpointEvent =
  | { type: 'connected'; endpointId: string; endpoints: EndpointView[]; iceServers?: TurnServerInfo[] }
  | { type: 'endpointAdded'; endpoint: EndpointView }
  | { type: 'endpointRemoved'; endpointId: string }
  | { type: 'endpointUpdated'; endpoint: EndpointView }
  | { type: 'tracksAdded'; endpointId: string; tracks: TrackInfo[] }
  | { type: 'tracksRemoved'; endpointId: string; trackIds: string[] }
  | { type: 'trackUpdated'; endpointId: string; trackId: string; metadata: unknown }
  | { type: 'error'; message: string }
  // ---- media plane ----
  | { type: 'offerData'; tracksTypes: { audio: number; video: number }; turnServers: TurnServerInfo[] }
  | { type: 'sdpAnswer'; sdp: string; midToTrackId: Record<string, string> }
  | { type: 'candidate'; candidate: string; sdpMLineIndex: number; sdpMid: string | null }
  | { type: 'encodingSwitched'; endpointId: string; trackId: string; variant: Variant; reason: 'low_bandwidth' | 'encoding_inactive' | 'other' }
  | { type: 'trackEncodingEnabled' | 'trackEncodingDisabled'; endpointId: string; trackId: string; variant: Variant }
  | { type: 'vadNotification'; trackId: string; status: 'speech' | 'silence' };

/** One entry of `integratedTurnServers` (ts-client 0.5.0). */
export interface TurnServerInfo {
  serverAddr: string;
  serverPort: number;
  /** `tls` is TURN over TLS (a `turns:` URL; serverAddr is then the certificate's host name). */
  transport: 'udp' | 'tcp' | 'tls';
  username: string;
  password: string;
}

/** Endpoint → room. Unknown media-plane events arrive as `media`. */
export type ClientEndpointEvent =
  | { type: 'connect'; metadata: unknown }
  | { type: 'disconnect' }
  | { type: 'updateEndpointMetadata'; metadata: unknown }
  | { type: 'updateTrackMetadata'; trackId: string; metadata: unknown }
  | { type: 'renegotiateTracks' }
  | { type: 'sdpOffer'; sdp: string; trackIdToMetadata: Record<string, unknown>; midToTrackId: Record<string, string> }
  | { type: 'candidate'; candidate: string }
  | { type: 'setTargetTrackVariant'; trackId: string; variant: Variant }
  | { type: 'enableTrackVariant' | 'disableTrackVariant'; trackId: string; variant: Variant }
  | { type: 'media'; name: string; data: unknown };

/** What a room holds for a connected endpoint: a way to talk to it and to hang up. */
export interface EndpointLink {
  send(event: ServerEndpointEvent): void;
  close(code: number, reason: string): void;
}
