// A room: the single owner of its peers' state, its lifecycle timers and the order of its events.
// Sockets reach it only through its methods (attach, detach, handle) and hear from it only through
// EndpointLink; the backend hears from it only through the NotificationBus. No I/O happens here.
import { randomUUID } from 'node:crypto';
import { notFound, unavailable } from '../errors.js';
import type { ClientEndpointEvent, EndpointLink, ServerEndpointEvent } from './endpoint-events.js';
import type { Notification, NotificationBus, PeerType } from './notifications.js';
import { LifecycleTimers } from './lifecycle-timers.js';
import type { RoomConfig } from './room-config.js';
import { Peer, type PeerOptions } from './peer.js';
import { Livestream } from './livestream.js';
import type { AgentCommand, MediaPort, MediaSession } from './media-port.js';
import { deliverAgentAudio } from './agent-link.js';
import { TrackDistribution } from './track-distribution.js';
import { dataChannelChanged, dataChannelsClosed } from './peer-data-channels.js';

/** Close reasons the clients match literally. */
export const CLOSE_PEER_REMOVED = 'Peer removed';
export const CLOSE_ROOM_STOPPED = 'Room stopped';
/** A drain's close: code 1012 (service restart) and a reason neither client generation treats as final, so clients reconnect. */
export const CLOSE_SHUTTING_DOWN = { code: 1012, reason: 'Server is shutting down' } as const;

export type AttachRefusal = 'peer not found' | 'peer already connected' | 'invalid token';

export interface RoomHooks {
  /** Called when the peerless-purge timer decides the room must go. */
  onPurge(room: Room): void;
  onError(err: unknown, context: string): void;
  /** The SFU; absent when the media plane is off (signaling only). */
  media?: MediaPort;
  /** How long a silent WHIP/WHEP client is kept (default LIVESTREAM_IDLE_TIMEOUT_MS). */
  livestreamIdleTimeoutMs?: number;
}

export class Room {
  readonly peers = new Map<string, Peer>();
  readonly createdAt = Date.now();
  private readonly timers: LifecycleTimers;
  private readonly tracks: TrackDistribution;
  /** The room's WHIP streamer and WHEP viewers (not peers). */
  readonly livestream: Livestream;
  private stopped = false;

  constructor(
    readonly id: string,
    readonly config: RoomConfig,
    private readonly bus: NotificationBus,
    private readonly hooks: RoomHooks,
  ) {
    this.timers = new LifecycleTimers(config);
    this.livestream = new Livestream({ roomId: id, roomCodec: config.videoCodec, media: hooks.media, notify: (n) => this.notify(n), onError: hooks.onError, activityChanged: () => this.rearmPeerless(), idleTimeoutMs: hooks.livestreamIdleTimeoutMs });
    this.tracks = new TrackDistribution({
      roomId: id,
      readyPeers: () => this.readyPeers(),
      trackOwner: (trackId) => [...this.peers.values()].find((p) => p.tracks.has(trackId)),
      sendTo: (peer, event) => this.sendTo(peer, event),
      notify: (n) => this.notify(n),
    });
  }

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
    this.timers.cancelDisconnected(peerId);
    const wasConnected = peer.status === 'connected';
    this.hangUp(peer, CLOSE_PEER_REMOVED);
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
    const unknown = add.peers?.find((p) => !this.peers.has(p));
    if (unknown !== undefined) throw notFound(`Peer ${unknown} does not exist`);
    for (const p of add.peers ?? []) peer.subscriptions.peers.add(p);
    for (const t of add.tracks ?? []) peer.subscriptions.tracks.add(t);
    for (const publisher of this.readyPeers()) {
      if (publisher !== peer) this.tracks.deliver(peer, publisher, [...publisher.tracks.values()]);
    }
  }

  /** Stops the room: every peer is deleted (no PeerDisconnected) and its socket closed. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.timers.stop();
    this.livestream.stop();
    for (const peer of this.peers.values()) {
      this.hangUp(peer, CLOSE_ROOM_STOPPED);
      this.closeMedia(peer);
      for (const track of peer.tracks.values()) this.notify({ type: 'trackRemoved', roomId: this.id, peerId: peer.id, track });
      peer.tracks.clear();
      this.notify({ type: 'peerDeleted', roomId: this.id, peerId: peer.id, peerType: peer.type });
    }
    this.peers.clear();
    this.notify({ type: 'roomDeleted', roomId: this.id });
  }

  /** Closes every peer's socket with `code`/`reason` (each then detaches as if its client had left). */
  hangUpAll(code: number, reason: string): void {
    for (const peer of [...this.peers.values()]) if (peer.link) this.safeClose(peer.link, code, reason);
  }

  /** The token `tokenId` is from now on the only one that may authenticate `peerId` (mint and refresh). */
  setPeerToken(peerId: string, tokenId: string): void {
    const peer = this.peers.get(peerId);
    if (peer) peer.tokenId = tokenId;
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
    this.timers.cancelDisconnected(peerId);
    this.notify({ type: 'peerConnected', roomId: this.id, peerId, peerType: peer.type });
    this.rearmPeerless();
    if (peer.type === 'agent' && this.hooks.media?.hostsAgents) this.onAgentAttached(peer);
    return peer;
  }

  /** A command from an agent's socket, for its media session. Unknown peers or stale links are ignored. */
  agentCommand(peerId: string, link: EndpointLink, command: AgentCommand): void {
    const peer = this.peers.get(peerId);
    if (peer?.link === link) peer.media?.agent?.(command);
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
        return this.tracks.updateMetadata(peer, event.trackId, event.metadata);
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
        return peer.media?.setTargetVariant(event.trackId, event.variant);
      case 'enableTrackVariant':
      case 'disableTrackVariant':
        return this.tracks.toggleVariant(peer, event.trackId, event.variant, event.type === 'enableTrackVariant');
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
      endpoints: [peer.view(), ...others.map((p) => ({ ...p.view(), tracks: peer.receivableTracks(p) }))],
      iceServers: peer.type === 'webrtc' ? this.hooks.media?.turnServers(this.id, peer.id) : undefined,
    });
    if (!wasReady) this.startMedia(peer);
    for (const other of others) this.tracks.deliver(peer, other, [...other.tracks.values()]);
    this.notify({ type: 'peerMetadataUpdated', roomId: this.id, peerId: peer.id, peerType: peer.type, metadata: peer.clientMetadata });
    const announce: ServerEndpointEvent = wasReady
      ? { type: 'endpointUpdated', endpoint: peer.view() }
      : { type: 'endpointAdded', endpoint: peer.view() };
    for (const other of others) this.sendTo(other, announce);
  }

  /** An agent sends no `connect`: once authenticated it is in the room, hears the tracks it may and is announced. */
  private onAgentAttached(peer: Peer): void {
    peer.ready = true;
    this.startMedia(peer);
    for (const other of this.readyPeers()) {
      if (other === peer) continue;
      this.tracks.deliver(peer, other, [...other.tracks.values()]);
      this.sendTo(other, { type: 'endpointAdded', endpoint: peer.view() });
    }
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

  // ---- helpers ----

  private readyPeers(): Peer[] {
    return [...this.peers.values()].filter((p) => p.ready && p.link !== undefined);
  }

  private removeAllTracks(peer: Peer): void {
    const trackIds = [...peer.tracks.keys()];
    if (trackIds.length > 0) this.tracks.unpublish(peer, trackIds);
    this.closeMedia(peer);
  }

  private closeMedia(peer: Peer): void {
    peer.media?.close();
    peer.media = undefined;
    dataChannelsClosed(peer, this.id, (n) => this.notify(n));
  }

  /** Closes the peer's socket for good (the socket's own close then finds no link to detach). */
  private hangUp(peer: Peer, reason: string): void {
    const link = peer.link;
    peer.link = undefined;
    if (link) this.safeClose(link, 1000, reason);
  }

  // ---- media plane ----

  private startMedia(peer: Peer): void {
    const plane = this.hooks.media;
    if (!plane || peer.media || (peer.type !== 'webrtc' && !plane.hostsAgents)) return;
    // Callbacks of a session the peer no longer has (closed on disconnect; a worker's late message) do nothing.
    let session: MediaSession | undefined;
    const live = () => session !== undefined && peer.media === session;
    session = plane.open(
      {
        roomId: this.id,
        peerId: peer.id,
        roomCodec: this.config.videoCodec,
        permissions: peer.options.permissions,
        enableSimulcast: peer.options.enableSimulcast,
        ...(peer.type === 'agent' ? { agent: peer.options.agentOutput ?? { format: 'pcm16', sampleRate: 16000 } } : {}),
      },
      {
        send: (event) => {
          if (live()) this.sendTo(peer, event);
        },
        published: (tracks) => {
          if (live()) this.tracks.publish(peer, tracks);
        },
        unpublished: (ids) => {
          if (live()) this.tracks.unpublish(peer, ids);
        },
        trackMetadataChanged: (trackId, metadata) => {
          if (live()) this.tracks.updateMetadata(peer, trackId, metadata);
        },
        voiceActivity: (trackId, status) => {
          if (live()) this.tracks.voiceActivity(peer, trackId, status);
        },
        failed: (reason) => {
          if (live()) this.onMediaFailed(peer, reason);
        },
        agentAudio: (audio) => live() && deliverAgentAudio(peer.link, audio),
        dataChannel: (channelId, change) => live() && dataChannelChanged(peer, this.id, channelId, change, (n) => this.notify(n)),
      },
    );
    peer.media = session;
  }

  /** The peer's media session died under it (its media worker exited): hang up so the client rejoins. */
  private onMediaFailed(peer: Peer, reason: string): void {
    const link = peer.link;
    if (!link) return;
    this.safeClose(link, 1011, `Media failed: ${reason}`.slice(0, 120));
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

  /** A disconnected peer that does not come back within peerDisconnectedTimeout is purged. */
  private armDisconnectTimer(peer: Peer): void {
    this.timers.startDisconnected(peer.id, () => {
      if (this.stopped || this.peers.get(peer.id) !== peer || peer.status !== 'disconnected') return;
      this.removePeer(peer.id, true);
    });
  }

  /** A room with no connected peer for peerlessPurgeTimeout is dropped. */
  private rearmPeerless(): void {
    if (this.stopped) return;
    const anyConnected = () => this.livestream.active || [...this.peers.values()].some((p) => p.status === 'connected');
    this.timers.peerlessCheck(anyConnected(), () => {
      if (!this.stopped && !anyConnected()) this.hooks.onPurge(this);
    });
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
