// One peer (or agent) of a room: identity, status, metadata, permissions, subscriptions and the link
// to its live socket. Plain state owned by its Room; it never publishes events or touches sockets itself.
import type { PeerPermissions } from '../auth/peer-token.js';
import type { AgentOutput, MediaSession } from './media-port.js';
import type { EndpointLink, EndpointView } from './endpoint-events.js';
import type { PeerType } from './notifications.js';
import { trackJson, type TrackInfo } from './track.js';

export type SubscribeMode = 'auto' | 'manual';
export type PeerStatus = 'connected' | 'disconnected';

export interface PeerOptions {
  type: PeerType;
  enableSimulcast: boolean;
  metadata: unknown;
  subscribeMode: SubscribeMode;
  permissions: PeerPermissions;
  /** Agents: the format of the audio they hear (peer option `output`). */
  agentOutput?: AgentOutput;
}

export class Peer {
  status: PeerStatus = 'disconnected';
  /** Set while a socket is authenticated for this peer. */
  link: EndpointLink | undefined;
  /** True after the client's `connect` media event: it is announced to others. */
  ready = false;
  /** Client metadata; undefined until the client sends some. */
  clientMetadata: unknown = undefined;
  readonly tracks = new Map<string, TrackInfo>();
  /** Labels of the data channels open on the peer's media session (see peer-data-channels.ts). */
  readonly dataChannels = new Set<string>();
  readonly subscriptions = { peers: new Set<string>(), tracks: new Set<string>() };
  /** Id of the only token that may authenticate this peer (refresh replaces it). */
  tokenId = '';
  /** The peer's SFU session while it is connected (webrtc peers with the media plane on). */
  media: MediaSession | undefined;

  constructor(
    readonly id: string,
    readonly options: PeerOptions,
  ) {}

  get type(): PeerType {
    return this.options.type;
  }

  /** Metadata shown over REST: the client's once it has sent some, else the backend's initial metadata. */
  get metadata(): unknown {
    return this.clientMetadata !== undefined ? this.clientMetadata : (this.options.metadata ?? null);
  }

  /** May this peer receive `trackId` of `publisher`? (its permissions and, in manual mode, its subscriptions) */
  receives(publisher: Peer, trackId: string): boolean {
    if (publisher === this || !this.options.permissions.canSubscribe) return false;
    if (this.options.subscribeMode === 'auto') return true;
    return this.subscriptions.peers.has(publisher.id) || this.subscriptions.tracks.has(trackId);
  }

  /** The tracks of `publisher` this peer may receive. */
  receivableTracks(publisher: Peer): TrackInfo[] {
    return [...publisher.tracks.values()].filter((t) => this.receives(publisher, t.id));
  }

  view(): EndpointView {
    return {
      id: this.id,
      type: this.type,
      metadata: this.clientMetadata ?? null,
      serverMetadata: this.options.metadata ?? null,
      tracks: [...this.tracks.values()],
    };
  }

  toJSON() {
    return {
      id: this.id,
      type: this.type,
      status: this.status,
      tracks: [...this.tracks.values()].map(trackJson),
      metadata: this.metadata,
      subscribeMode: this.options.subscribeMode,
      subscriptions: { peers: [...this.subscriptions.peers], tracks: [...this.subscriptions.tracks] },
      permissions: this.options.permissions,
    };
  }
}
