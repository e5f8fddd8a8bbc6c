// Who hears about which track: published tracks are announced to the peers allowed to receive them
// (tracksAdded/tracksRemoved, or subscribe/unsubscribe on a subscriber's media session, which negotiates
// delivery and announces), events about a track (metadata, simulcast variants, voice activity) follow
// that announcement, and the backend hears trackAdded/Removed/MetadataUpdated. A part of its Room: it
// changes nothing but the publishers' track maps, and only when the Room calls it.
import type { ServerEndpointEvent } from './endpoint-events.js';
import type { Notification } from './notifications.js';
import type { Peer } from './peer.js';
import type { TrackInfo, Variant } from './track.js';

/** What the distribution needs of its Room. */
export interface TrackOutlet {
  readonly roomId: string;
  /** Peers that sent `connect` and still have a socket. */
  readyPeers(): Peer[];
  /** The peer that publishes `trackId`, if any. */
  trackOwner(trackId: string): Peer | undefined;
  sendTo(peer: Peer, event: ServerEndpointEvent): void;
  notify(n: Notification): void;
}

export class TrackDistribution {
  constructor(private readonly room: TrackOutlet) {}

  updateMetadata(peer: Peer, trackId: string, metadata: unknown): void {
    const track = peer.tracks.get(trackId);
    const next = metadata ?? null;
    if (!track || JSON.stringify(next) === JSON.stringify(track.metadata ?? null)) return;
    const updated: TrackInfo = { ...track, metadata: next };
    peer.tracks.set(trackId, updated);
    this.room.notify({ type: 'trackMetadataUpdated', roomId: this.room.roomId, peerId: peer.id, track: updated });
    this.tell(peer, updated, { type: 'trackUpdated', endpointId: peer.id, trackId, metadata: next });
  }

  /**
   * An event about `track` of `publisher` (given as it is after the change) for everyone who receives it.
   * A peer with a media session gets it through the session, which holds it back (folding the change
   * into the held announcement) until the track's tracksAdded has gone out; without media, tracksAdded
   * went out at once.
   */
  private tell(publisher: Peer, track: TrackInfo, event: ServerEndpointEvent): void {
    for (const other of this.room.readyPeers()) {
      if (!other.receives(publisher, track.id)) continue;
      if (other.media) other.media.trackEvent(publisher.id, track, event);
      else this.room.sendTo(other, event);
    }
  }

  /** Announces `tracks` of `publisher` to `subscriber` (and, with media, starts sending them). */
  deliver(subscriber: Peer, publisher: Peer, tracks: TrackInfo[]): void {
    const allowed = tracks.filter((t) => subscriber.receives(publisher, t.id));
    if (allowed.length === 0 || !subscriber.ready) return;
    if (subscriber.media) {
      subscriber.media.subscribe(publisher.id, allowed);
    } else {
      this.room.sendTo(subscriber, { type: 'tracksAdded', endpointId: publisher.id, tracks: allowed });
    }
  }

  /** The peer publishes `tracks`; a track id another peer already publishes stays that peer's (refused here). */
  publish(peer: Peer, tracks: TrackInfo[]): void {
    const owned = tracks.filter((info) => {
      const owner = this.room.trackOwner(info.id);
      return owner === undefined || owner === peer;
    });
    for (const info of owned) {
      peer.tracks.set(info.id, info);
      this.room.notify({ type: 'trackAdded', roomId: this.room.roomId, peerId: peer.id, track: info });
    }
    if (owned.length === 0) return;
    for (const other of this.room.readyPeers()) {
      if (other !== peer) this.deliver(other, peer, owned);
    }
  }

  unpublish(peer: Peer, trackIds: string[]): void {
    const removed = trackIds.filter((id) => peer.tracks.has(id));
    if (removed.length === 0) return;
    for (const id of removed) {
      const track = peer.tracks.get(id)!;
      peer.tracks.delete(id);
      this.room.notify({ type: 'trackRemoved', roomId: this.room.roomId, peerId: peer.id, track });
    }
    for (const other of this.room.readyPeers()) {
      if (other === peer) continue;
      if (other.media) other.media.unsubscribe(peer.id, removed);
      else if (peer.ready) this.room.sendTo(other, { type: 'tracksRemoved', endpointId: peer.id, trackIds: removed });
    }
  }

  voiceActivity(peer: Peer, trackId: string, status: 'speech' | 'silence'): void {
    const track = peer.tracks.get(trackId);
    if (track) this.tell(peer, track, { type: 'vadNotification', trackId, status });
  }

  toggleVariant(peer: Peer, trackId: string, variant: Variant, enabled: boolean): void {
    const track = peer.tracks.get(trackId);
    if (!track || !track.simulcast.enabled) return;
    const isDisabled = track.simulcast.disabled.includes(variant);
    if (enabled === !isDisabled) return; // idempotent: the client repeats these after every answer
    const disabled = enabled ? track.simulcast.disabled.filter((v) => v !== variant) : [...track.simulcast.disabled, variant];
    const updated: TrackInfo = { ...track, simulcast: { ...track.simulcast, disabled } };
    peer.tracks.set(trackId, updated);
    this.tell(peer, updated, { type: enabled ? 'trackEncodingEnabled' : 'trackEncodingDisabled', endpointId: peer.id, trackId, variant });
  }
}
