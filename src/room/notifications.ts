// The domain events Shoal reports to the user's backend (server socket, webhooks). Rooms publish them
// on a NotificationBus; notify/ encodes and delivers them. Order of publication is delivery order.
import type { TrackInfo } from './track.js';

export type PeerType = 'webrtc' | 'agent';

interface PeerRef {
  roomId: string;
  peerId: string;
  peerType: PeerType;
}

export type Notification =
  | { type: 'roomCreated'; roomId: string; webhookUrl: string | null }
  | { type: 'roomDeleted'; roomId: string }
  | { type: 'roomCrashed'; roomId: string }
  | ({ type: 'peerAdded' } & PeerRef)
  | ({ type: 'peerDeleted' } & PeerRef)
  | ({ type: 'peerConnected' } & PeerRef)
  | ({ type: 'peerDisconnected' } & PeerRef)
  | ({ type: 'peerMetadataUpdated'; metadata: unknown } & PeerRef)
  | ({ type: 'peerCrashed'; reason: string } & PeerRef)
  | { type: 'trackAdded' | 'trackRemoved' | 'trackMetadataUpdated'; roomId: string; peerId: string; track: TrackInfo }
  // Data channels a peer opened (the channel id is its label: "reliable", "lossy").
  | { type: 'channelAdded' | 'channelRemoved'; roomId: string; peerId: string; channelId: string }
  // Livestreams (WHIP/WHEP): the stream id is the room id.
  | { type: 'streamConnected' | 'streamDisconnected'; roomId: string }
  | { type: 'streamerConnected' | 'streamerDisconnected'; roomId: string; streamerId: string }
  | { type: 'viewerConnected' | 'viewerDisconnected'; roomId: string; viewerId: string };

export type NotificationListener = (n: Notification) => void;

/** Synchronous fan-out; a throwing listener is isolated so the others (and the room) are unaffected. */
export class NotificationBus {
  private readonly listeners = new Set<NotificationListener>();

  constructor(private readonly onListenerError: (err: unknown) => void = () => {}) {}

  subscribe(listener: NotificationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(n: Notification): void {
    for (const l of this.listeners) {
      try {
        l(n);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }
}
