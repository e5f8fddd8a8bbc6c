// A room's livestream (WHIP ingest, WHEP playback): at most one streamer, any number of viewers (bounded),
// each a media session opened through the room's MediaPort. The streamer's session publishes the tracks
// of its WHIP offer; each viewer's session is subscribed to them before its WHEP offer is answered. It
// reports StreamConnected/StreamerConnected, ViewerConnected (once the endpoint's offer was answered) and
// their disconnect twins and the streamer's track notifications on the room's bus. Streamers and viewers
// are not room peers: REST and the room's peers never see them. No I/O here: the caller's EndpointLink carries the session's events to HTTP.
import { randomUUID } from 'node:crypto';
import type { EndpointLink, TurnServerInfo } from './endpoint-events.js';
import type { MediaPort, MediaSession, MediaSessionOptions } from './media-port.js';
import type { Notification } from './notifications.js';
import type { TrackInfo } from './track.js';

/** How long a streamer or viewer may send no RTP/RTCP before its session ends it (it left without a DELETE). */
export const LIVESTREAM_IDLE_TIMEOUT_MS = 30_000;

/** Most viewers one livestream takes; more get a refusal (the REST layer's 503). */
export const MAX_LIVESTREAM_VIEWERS = 5000;

export type LivestreamRefusal = 'streamer already connected' | 'stream not found' | 'too many viewers' | 'media unavailable';

/** A connected streamer or viewer: its resource id (the WHIP/WHEP Location) and its media session. */
export interface LiveEndpoint {
  readonly id: string;
  readonly role: 'streamer' | 'viewer';
  readonly session: MediaSession;
}

interface LiveEntry extends LiveEndpoint {
  link: EndpointLink;
  tracks: Map<string, TrackInfo>;
  /** Its session answered the offer and the backend was told it connected (a refused offer never is). */
  announced: boolean;
}

export interface LivestreamDeps {
  roomId: string;
  roomCodec: 'vp8' | 'h264' | null;
  media: MediaPort | undefined;
  notify(n: Notification): void;
  onError(err: unknown, context: string): void;
  /** A streamer or viewer came or went (the room's peerless countdown counts them as connected). */
  activityChanged(): void;
  /** Default LIVESTREAM_IDLE_TIMEOUT_MS. */
  idleTimeoutMs?: number;
}

const PUBLISH_ONLY = { canPublish: true, canSubscribe: false, canPublishData: false };
const RECEIVE_ONLY = { canPublish: false, canSubscribe: true, canPublishData: false };

export class Livestream {
  private streamer: LiveEntry | undefined;
  private readonly viewers = new Map<string, LiveEntry>();
  private stopped = false;

  constructor(private readonly deps: LivestreamDeps) {}

  get viewerCount(): number {
    return this.viewers.size;
  }

  get streamerConnected(): boolean {
    return this.streamer !== undefined;
  }

  /** True while a streamer or a viewer is connected. */
  get active(): boolean {
    return this.streamer !== undefined || this.viewers.size > 0;
  }

  /** The streamer's published tracks (empty before its offer was answered). */
  get tracks(): TrackInfo[] {
    return this.streamer ? [...this.streamer.tracks.values()] : [];
  }

  /** Opens the streamer's session; the caller then hands it the WHIP offer. */
  connectStreamer(link: EndpointLink): LiveEndpoint | LivestreamRefusal {
    const media = this.deps.media;
    if (this.stopped || !media) return 'media unavailable';
    if (this.streamer) return 'streamer already connected';
    const id = randomUUID();
    const entry = this.open(media, id, 'streamer', link);
    this.streamer = entry;
    this.deps.activityChanged();
    return entry;
  }

  /** Opens a viewer's session subscribed to the streamer's tracks; the caller then hands it the WHEP offer. */
  connectViewer(link: EndpointLink): LiveEndpoint | LivestreamRefusal {
    const media = this.deps.media;
    if (this.stopped || !media) return 'media unavailable';
    const streamer = this.streamer;
    if (!streamer || streamer.tracks.size === 0) return 'stream not found';
    if (this.viewers.size >= MAX_LIVESTREAM_VIEWERS) return 'too many viewers';
    const id = randomUUID();
    const entry = this.open(media, id, 'viewer', link);
    this.viewers.set(id, entry);
    entry.session.subscribe(streamer.id, [...streamer.tracks.values()]);
    this.deps.activityChanged();
    return entry;
  }

  /** The integrated TURN entries the endpoint `id` is given (its only way to reach the media plane). */
  turnServers(id: string): TurnServerInfo[] {
    return this.deps.media?.turnServers(this.deps.roomId, id) ?? [];
  }

  /** The endpoint with this resource id, if it is connected. */
  find(id: string): LiveEndpoint | undefined {
    return this.streamer?.id === id ? this.streamer : this.viewers.get(id);
  }

  /**
   * Ends a streamer or viewer (WHIP/WHEP DELETE, or its session failed). A streamer's end ends every viewer
   * too: a WHEP session cannot renegotiate onto a later streamer's tracks. Returns false if it was not connected.
   */
  disconnect(id: string, reason = 'Stream ended'): boolean {
    if (this.streamer?.id === id) {
      const streamer = this.streamer;
      this.streamer = undefined;
      for (const viewerId of [...this.viewers.keys()]) this.disconnect(viewerId, 'Streamer disconnected');
      this.close(streamer, reason);
      for (const track of streamer.tracks.values()) this.deps.notify({ type: 'trackRemoved', roomId: this.deps.roomId, peerId: streamer.id, track });
      streamer.tracks.clear();
      if (streamer.announced) {
        this.deps.notify({ type: 'streamerDisconnected', roomId: this.deps.roomId, streamerId: streamer.id });
        this.deps.notify({ type: 'streamDisconnected', roomId: this.deps.roomId });
      }
      this.deps.activityChanged();
      return true;
    }
    const viewer = this.viewers.get(id);
    if (!viewer) return false;
    this.viewers.delete(id);
    this.close(viewer, reason);
    if (viewer.announced) this.deps.notify({ type: 'viewerDisconnected', roomId: this.deps.roomId, viewerId: id });
    this.deps.activityChanged();
    return true;
  }

  /** The room stops: everyone is disconnected (with their notifications, before the room's RoomDeleted). */
  stop(): void {
    if (this.stopped) return;
    if (this.streamer) this.disconnect(this.streamer.id, 'Room stopped');
    for (const id of [...this.viewers.keys()]) this.disconnect(id, 'Room stopped');
    this.stopped = true;
  }

  private open(media: MediaPort, id: string, role: 'streamer' | 'viewer', link: EndpointLink): LiveEntry {
    const tracks = new Map<string, TrackInfo>();
    let entry: LiveEntry | undefined;
    const live = () => entry !== undefined && this.find(id) === entry;
    const options: MediaSessionOptions = {
      roomId: this.deps.roomId,
      peerId: id,
      roomCodec: this.deps.roomCodec,
      permissions: role === 'streamer' ? PUBLISH_ONLY : RECEIVE_ONLY,
      enableSimulcast: false,
      idleTimeoutMs: this.deps.idleTimeoutMs ?? LIVESTREAM_IDLE_TIMEOUT_MS,
    };
    const session = media.open(
      options,
      {
        send: (event) => {
          if (!live()) return;
          if (event.type === 'sdpAnswer' && !entry!.announced) this.announce(entry!);
          try {
            link.send(event);
          } catch (err) {
            this.deps.onError(err, `send to livestream ${role} ${id}`);
          }
        },
        published: (infos) => {
          if (!live() || role !== 'streamer') return;
          for (const info of infos) {
            if (tracks.has(info.id)) continue;
            tracks.set(info.id, info);
            this.deps.notify({ type: 'trackAdded', roomId: this.deps.roomId, peerId: id, track: info });
          }
        },
        unpublished: (ids) => {
          if (!live()) return;
          for (const trackId of ids) {
            const track = tracks.get(trackId);
            if (!track) continue;
            tracks.delete(trackId);
            this.deps.notify({ type: 'trackRemoved', roomId: this.deps.roomId, peerId: id, track });
            for (const viewer of this.viewers.values()) viewer.session.unsubscribe(id, [trackId]);
          }
        },
        trackMetadataChanged: () => {},
        voiceActivity: () => {},
        failed: (reason) => {
          if (live()) this.disconnect(id, `Media failed: ${reason}`.slice(0, 120));
        },
      },
    );
    entry = { id, role, session, link, tracks, announced: false };
    return entry;
  }

  /** The first answer went out: the backend hears the endpoint connected (before any of its tracks). */
  private announce(entry: LiveEntry): void {
    entry.announced = true;
    const roomId = this.deps.roomId;
    if (entry.role === 'viewer') return this.deps.notify({ type: 'viewerConnected', roomId, viewerId: entry.id });
    this.deps.notify({ type: 'streamConnected', roomId });
    this.deps.notify({ type: 'streamerConnected', roomId, streamerId: entry.id });
  }

  private close(entry: LiveEntry, reason: string): void {
    try {
      entry.session.close();
    } catch (err) {
      this.deps.onError(err, `close livestream ${entry.role} ${entry.id}`);
    }
    try {
      entry.link.close(1000, reason);
    } catch (err) {
      this.deps.onError(err, `close livestream link ${entry.id}`);
    }
  }
}
