// A room: the single owner of its peers' state, its lifecycle timers and the order of its events.
// Sockets reach it only through its methods (attach, detach, handle) and hear from it only through
// EndpointLink; the backend hears from it only through the NotificationBus. No I/O happens here.
import { randomUUID } from 'node:crypto';
import { notFound, unavailable } from '../errors.js';
import type { ClientEndpointEvent, EndpointLink, ServerEndpointEvent } from './endpoint-events.js';
import type { Notification, NotificationBus, PeerType } from './notifications.js';
import { Peer, type PeerOptions } from './peer.js';
import type { TrackInfo, Variant } from './track.js';
import type { MediaPlane } from '../media/plane/media-plane.js';

export type VideoCodec = 'h264' | 'vp8';
export const ROOM_TYPES = ['full_feature', 'audio_only', 'broadcaster', 'livestream', 'conference', 'audio_only_livestream'] as const;
export type RoomType = (typeof ROOM_TYPES)[number];

export interface RoomConfig {
  roomId: string;
  maxPeers: number | null;
  videoCodec: VideoCodec | null;
  webhookUrl: string | null;
  peerlessPurgeTimeout: number | null;
  peerDisconnectedTimeout: number | null;
  roomType: RoomType;
  public: boolean;
}

/** Close reasons the clients match literally. */
export const CLOSE_PEER_REMOVED = 'Peer removed';
export const CLOSE_ROOM_STOPPED = 'Room stopped';

export type AttachRefusal = 'peer not found' | 'peer already connected' | 'invalid token';

export interface RoomHooks {
  /** Called when the peerless-purge timer decides the room must go. */
  onPurge(room: Room): void;
  onError(err: unknown, context: string): void;
  /** The SFU; absent when the media plane is off (signaling only). */
  media?: MediaPlane;
}

export class Room {
  readonly peers = new Map<string, Peer>();
  readonly createdAt = Date.now();
  private peerlessTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    readonly id: string,
    readonly config: RoomConfig,
    private readonly bus: NotificationBus,
    private readonly hooks: RoomHooks,
  ) {}

  /** Called by the registry once the room is registered. */
  start(): void {
    this.notify({ type: 'roomCreated', roomId: this.id, webhookUrl: this.config.webhookUrl });
    this.rearmPeerless();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  // ---- REST-driven operations ----

  /** Throws Fishjam's 503 when the room is full (disconnected peers count). */
  checkCapacity(type: PeerType): void {
    const { maxPeers } = this.config;
    if (maxPeers !== null && this.peers.size >= maxPeers) throw unavailable(`Reached ${type} peers limit in room ${this.id}`);
  }

  addPeer(options: PeerOptions): Peer {
    this.checkCapacity(options.type);
    const peer = new Peer(randomUUID(), options);
    this.peers.set(peer.id, peer);
    this.notify({ type: 'peerAdded', roomId: this.id, peerId: peer.id, peerType: peer.type });
    this.armDisconnectTimer(peer);
    this.rearmPeerless();
    return peer;
  }

  getPeer(peerId: string): Peer {
    const peer = this.peers.get(peerId);
    if (!peer) throw notFound(`Peer ${peerId} does not exist`);
    return peer;
  }

  /** REST delete (or purge when `purged`): the peer is gone for good. */
  removePeer(peerId: string, purged = false): void {
    const peer = this.getPeer(peerId);
    this.peers.delete(peerId);
    clearTimeout(peer.disconnectTimer);
    const wasConnected = peer.status === 'connected';
    const link = peer.link;
    peer.link = undefined;
    if (link) this.safeClose(link, 1000, CLOSE_PEER_REMOVED);
    if (!purged) {
      this.removeAllTracks(peer);
      if (wasConnected) this.notify({ type: 'peerDisconnected', roomId: this.id, peerId, peerType: peer.type });
    }
    this.announceGone(peer);
    peer.status = 'disconnected';
    this.notify({ type: 'peerDeleted', roomId: this.id, peerId, peerType: peer.type });
    this.rearmPeerless();
  }

  setSubscriptions(peerId: string, add: { peers?: string[]; tracks?: string[] }): void {
    const peer = this.getPeer(peerId);
    for (const p of add.peers ?? []) {
      if (!this.peers.has(p)) throw notFound(`Peer ${p} does not exist`);
      peer.subscriptions.peers.add(p);
    }
    for (const t of add.tracks ?? []) peer.subscriptions.tracks.add(t);
    for (const publisher of this.readyPeers()) {
      if (publisher !== peer) this.deliverTracks(peer, publisher, [...publisher.tracks.values()]);
    }
  }

  /** Stops the room: every peer is deleted (no PeerDisconnected) and its socket closed. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.peerlessTimer);
    for (const peer of this.peers.values()) {
      clearTimeout(peer.disconnectTimer);
      const link = peer.link;
      peer.link = undefined;
      if (link) this.safeClose(link, 1000, CLOSE_ROOM_STOPPED);
      peer.media?.close();
      peer.media = undefined;
      for (const track of peer.tracks.values()) this.notify({ type: 'trackRemoved', roomId: this.id, peerId: peer.id, track });
      peer.tracks.clear();
      this.notify({ type: 'peerDeleted', roomId: this.id, peerId: peer.id, peerType: peer.type });
    }
    this.peers.clear();
    this.notify({ type: 'roomDeleted', roomId: this.id });
  }

  // ---- socket-driven operations ----

  /** A socket authenticated as `peerId` with token `tokenId`. */
  attach(peerId: string, tokenId: string, link: EndpointLink): AttachRefusal | Peer {
    const peer = this.peers.get(peerId);
    if (!peer) return 'peer not found';
    if (peer.tokenId !== tokenId) return 'invalid token';
    if (peer.link) return 'peer already connected';
    peer.link = link;
    peer.status = 'connected';
    clearTimeout(peer.disconnectTimer);
    this.notify({ type: 'peerConnected', roomId: this.id, peerId, peerType: peer.type });
    this.rearmPeerless();
    return peer;
  }

  /** The peer's socket closed. The peer stays, disconnected, with no tracks. */
  detach(peerId: string, link: EndpointLink): void {
    const peer = this.peers.get(peerId);
    if (!peer || peer.link !== link) return;
    peer.link = undefined;
    peer.status = 'disconnected';
    this.notify({ type: 'peerDisconnected', roomId: this.id, peerId, peerType: peer.type });
    this.removeAllTracks(peer);
    this.announceGone(peer);
    this.armDisconnectTimer(peer);
    this.rearmPeerless();
  }

  /** A media event from a peer's socket. Unknown peers or stale links are ignored. */
  handle(peerId: string, link: EndpointLink, event: ClientEndpointEvent): void {
    const peer = this.peers.get(peerId);
    if (!peer || peer.link !== link) return;
    switch (event.type) {
      case 'connect':
        return this.onConnect(peer, event.metadata);
      case 'updateEndpointMetadata':
        return this.onMetadata(peer, event.metadata);
      case 'updateTrackMetadata':
        return this.onTrackMetadata(peer, event.trackId, event.metadata);
      case 'disconnect':
        // The client left (`leave()`): its endpoint goes away for the others, but the socket and the
        // peer's connected status stay until the socket closes; a later `connect` rejoins.
        this.removeAllTracks(peer);
        this.announceGone(peer);
        return;
      case 'renegotiateTracks':
        return peer.media?.requestNegotiation();
      case 'sdpOffer':
        return peer.media?.handleOffer(event.sdp, event.trackIdToMetadata, event.midToTrackId);
      case 'setTargetTrackVariant':
        return peer.media?.setTargetLayer(event.trackId, event.variant);
      case 'enableTrackVariant':
      case 'disableTrackVariant':
        return this.onVariantToggle(peer, event.trackId, event.variant, event.type === 'enableTrackVariant');
      case 'candidate':
        // ICE-lite behind the integrated TURN: the client's relay candidates need no action.
        return;
      case 'media':
        return;
    }
  }

  private onConnect(peer: Peer, metadata: unknown): void {
    peer.clientMetadata = metadata ?? null;
    const wasReady = peer.ready;
    peer.ready = true;
    const others = this.readyPeers().filter((p) => p !== peer);
    this.sendTo(peer, {
      type: 'connected',
      endpointId: peer.id,
      endpoints: [peer.view(), ...others.map((p) => ({ ...p.view(), tracks: this.visibleTracks(peer, p) }))],
      iceServers: peer.type === 'webrtc' ? this.hooks.media?.turnServers(this.id, peer.id) : undefined,
    });
    if (!wasReady) this.startMedia(peer);
    for (const other of others) this.deliverTracks(peer, other, [...other.tracks.values()]);
    this.notify({ type: 'peerMetadataUpdated', roomId: this.id, peerId: peer.id, peerType: peer.type, metadata: peer.clientMetadata });
    const announce: ServerEndpointEvent = wasReady
      ? { type: 'endpointUpdated', endpoint: peer.view() }
      : { type: 'endpointAdded', endpoint: peer.view() };
    for (const other of others) this.sendTo(other, announce);
  }

  private onMetadata(peer: Peer, metadata: unknown): void {
    const next = metadata ?? null;
    if (JSON.stringify(next) === JSON.stringify(peer.clientMetadata ?? null)) return;
    peer.clientMetadata = next;
    this.notify({ type: 'peerMetadataUpdated', roomId: this.id, peerId: peer.id, peerType: peer.type, metadata: next });
    if (!peer.ready) return;
    for (const other of this.readyPeers()) {
      if (other !== peer) this.sendTo(other, { type: 'endpointUpdated', endpoint: peer.view() });
    }
  }

  private onTrackMetadata(peer: Peer, trackId: string, metadata: unknown): void {
    const track = peer.tracks.get(trackId);
    const next = metadata ?? null;
    if (!track || JSON.stringify(next) === JSON.stringify(track.metadata ?? null)) return;
    track.metadata = next;
    this.notify({ type: 'trackMetadataUpdated', roomId: this.id, peerId: peer.id, track });
    for (const other of this.readyPeers()) {
      if (this.knowsOf(other, peer, track)) this.sendTo(other, { type: 'trackUpdated', endpointId: peer.id, trackId, metadata: next });
    }
  }

  // ---- helpers ----

  private readyPeers(): Peer[] {
    return [...this.peers.values()].filter((p) => p.ready && p.link !== undefined);
  }

  private removeAllTracks(peer: Peer): void {
    const trackIds = [...peer.tracks.keys()];
    if (trackIds.length > 0) this.unpublish(peer, trackIds);
    peer.media?.close();
    peer.media = undefined;
  }

  // ---- media plane ----

  private startMedia(peer: Peer): void {
    const plane = this.hooks.media;
    if (!plane || peer.type !== 'webrtc' || peer.media) return;
    const room = this;
    peer.media = plane.open(
      {
        roomId: this.id,
        peerId: peer.id,
        roomCodec: this.config.videoCodec,
        permissions: peer.options.permissions,
        enableSimulcast: peer.options.enableSimulcast,
      },
      {
        send: (event) => room.sendTo(peer, event),
        published: (tracks) => room.publish(peer, tracks),
        unpublished: (ids) => room.unpublish(peer, ids),
        trackMetadataChanged: (trackId, metadata) => room.onTrackMetadata(peer, trackId, metadata),
        voiceActivity: (trackId, status) => room.onVoiceActivity(peer, trackId, status),
        failed: (reason) => room.onMediaFailed(peer, reason),
      },
    );
  }

  /** May `subscriber` receive `track` of `publisher`? (permissions and manual subscriptions) */
  private receives(subscriber: Peer, publisher: Peer, track: TrackInfo): boolean {
    if (subscriber === publisher || !subscriber.options.permissions.canSubscribe) return false;
    if (subscriber.options.subscribeMode === 'auto') return true;
    return subscriber.subscriptions.peers.has(publisher.id) || subscriber.subscriptions.tracks.has(track.id);
  }

  /** Has `subscriber` been told about `track` (so events about it may follow)? Its tracksAdded waits for a negotiation round. */
  private knowsOf(subscriber: Peer, publisher: Peer, track: TrackInfo): boolean {
    return this.receives(subscriber, publisher, track) && (subscriber.media?.knowsTrack(track.id) ?? true);
  }

  private visibleTracks(subscriber: Peer, publisher: Peer): TrackInfo[] {
    return [...publisher.tracks.values()].filter((t) => this.receives(subscriber, publisher, t));
  }

  /** Announces `tracks` of `publisher` to `subscriber` (and, with media, starts sending them). */
  private deliverTracks(subscriber: Peer, publisher: Peer, tracks: TrackInfo[]): void {
    const allowed = tracks.filter((t) => this.receives(subscriber, publisher, t));
    if (allowed.length === 0 || !subscriber.ready) return;
    if (subscriber.media) {
      subscriber.media.subscribe(publisher.id, allowed);
    } else {
      this.sendTo(subscriber, { type: 'tracksAdded', endpointId: publisher.id, tracks: allowed });
    }
  }

  private publish(peer: Peer, tracks: TrackInfo[]): void {
    for (const info of tracks) {
      peer.tracks.set(info.id, info);
      this.notify({ type: 'trackAdded', roomId: this.id, peerId: peer.id, track: info });
    }
    for (const other of this.readyPeers()) {
      if (other !== peer) this.deliverTracks(other, peer, tracks);
    }
  }

  private unpublish(peer: Peer, trackIds: string[]): void {
    const removed = trackIds.filter((id) => peer.tracks.has(id));
    if (removed.length === 0) return;
    for (const id of removed) {
      const track = peer.tracks.get(id)!;
      peer.tracks.delete(id);
      this.notify({ type: 'trackRemoved', roomId: this.id, peerId: peer.id, track });
    }
    for (const other of this.readyPeers()) {
      if (other === peer) continue;
      if (other.media) other.media.unsubscribe(peer.id, removed);
      else if (peer.ready) this.sendTo(other, { type: 'tracksRemoved', endpointId: peer.id, trackIds: removed });
    }
  }

  /** The peer's media session died under it (its media worker exited): hang up so the client rejoins. */
  private onMediaFailed(peer: Peer, reason: string): void {
    const link = peer.link;
    if (!link) return;
    this.safeClose(link, 1011, `Media failed: ${reason}`.slice(0, 120));
  }

  private onVoiceActivity(peer: Peer, trackId: string, status: 'speech' | 'silence'): void {
    const track = peer.tracks.get(trackId);
    if (!track) return;
    for (const other of this.readyPeers()) {
      if (this.knowsOf(other, peer, track)) this.sendTo(other, { type: 'vadNotification', trackId, status });
    }
  }

  private onVariantToggle(peer: Peer, trackId: string, variant: Variant, enabled: boolean): void {
    const track = peer.tracks.get(trackId);
    if (!track || !track.simulcast.enabled) return;
    const isDisabled = track.simulcast.disabled.includes(variant);
    if (enabled === !isDisabled) return; // idempotent: the client repeats these after every answer
    track.simulcast.disabled = enabled ? track.simulcast.disabled.filter((v) => v !== variant) : [...track.simulcast.disabled, variant];
    for (const other of this.readyPeers()) {
      if (other !== peer && this.receives(other, peer, track)) {
        this.sendTo(other, { type: enabled ? 'trackEncodingEnabled' : 'trackEncodingDisabled', endpointId: peer.id, trackId, encoding: variant });
      }
    }
  }

  /** Tells the others that `peer` left (its tracks were already removed). */
  private announceGone(peer: Peer): void {
    if (!peer.ready) return;
    peer.ready = false;
    for (const other of this.readyPeers()) {
      if (other !== peer) this.sendTo(other, { type: 'endpointRemoved', endpointId: peer.id });
    }
  }

  private sendTo(peer: Peer, event: ServerEndpointEvent): void {
    if (!peer.link) return;
    try {
      peer.link.send(event);
    } catch (err) {
      this.hooks.onError(err, `send to peer ${peer.id}`);
    }
  }

  private safeClose(link: EndpointLink, code: number, reason: string): void {
    try {
      link.close(code, reason);
    } catch (err) {
      this.hooks.onError(err, 'close link');
    }
  }

  private notify(n: Notification): void {
    this.bus.publish(n);
  }

  private armDisconnectTimer(peer: Peer): void {
    const timeout = this.config.peerDisconnectedTimeout;
    if (timeout === null) return;
    clearTimeout(peer.disconnectTimer);
    peer.disconnectTimer = setTimeout(() => {
      if (this.stopped || this.peers.get(peer.id) !== peer || peer.status !== 'disconnected') return;
      this.removePeer(peer.id, true);
    }, timeout * 1000);
    peer.disconnectTimer.unref();
  }

  /** (Re)starts the peerless countdown when no peer is connected; cancels it otherwise. */
  private rearmPeerless(): void {
    const timeout = this.config.peerlessPurgeTimeout;
    if (timeout === null || this.stopped) return;
    clearTimeout(this.peerlessTimer);
    this.peerlessTimer = undefined;
    const anyConnected = [...this.peers.values()].some((p) => p.status === 'connected');
    if (anyConnected) return;
    this.peerlessTimer = setTimeout(() => {
      if (this.stopped) return;
      if ([...this.peers.values()].some((p) => p.status === 'connected')) return;
      this.hooks.onPurge(this);
    }, timeout * 1000);
    this.peerlessTimer.unref();
  }

  toJSON() {
    return {
      id: this.id,
      config: { ...this.config },
      components: [],
      peers: [...this.peers.values()].map((p) => p.toJSON()),
    };
  }
}
