// Logs the room lifecycle from the NotificationBus: rooms created/deleted/crashed, peers added/connected/
// disconnected/deleted/crashed and tracks added/removed at info (crashes at warn), metadata updates at debug.
// Lines carry ids and types only: it must never log metadata contents, tokens or webhook URLs.
import type { Logger } from '../log/logger.js';
import type { Notification, NotificationBus } from '../room/notifications.js';

type Level = 'debug' | 'info' | 'warn';

const MESSAGES: Record<Notification['type'], [Level, string]> = {
  roomCreated: ['info', 'room created'],
  roomDeleted: ['info', 'room deleted'],
  roomCrashed: ['warn', 'room crashed'],
  peerAdded: ['info', 'peer added'],
  peerConnected: ['info', 'peer connected'],
  peerDisconnected: ['info', 'peer disconnected'],
  peerDeleted: ['info', 'peer deleted'],
  peerCrashed: ['warn', 'peer crashed'],
  peerMetadataUpdated: ['debug', 'peer metadata updated'],
  trackAdded: ['info', 'track added'],
  trackRemoved: ['info', 'track removed'],
  trackMetadataUpdated: ['debug', 'track metadata updated'],
  channelAdded: ['debug', 'data channel added'],
  channelRemoved: ['debug', 'data channel removed'],
  streamConnected: ['info', 'stream connected'],
  streamDisconnected: ['info', 'stream disconnected'],
  streamerConnected: ['info', 'streamer connected'],
  streamerDisconnected: ['info', 'streamer disconnected'],
  viewerConnected: ['debug', 'viewer connected'],
  viewerDisconnected: ['debug', 'viewer disconnected'],
};

/** The loggable fields of a notification: ids, types, a crash reason; never metadata or URLs. */
export function lifecycleFields(n: Notification): Record<string, unknown> {
  switch (n.type) {
    case 'roomCreated':
      return { event: n.type, roomId: n.roomId, webhook: n.webhookUrl !== null };
    case 'roomDeleted':
    case 'roomCrashed':
    case 'streamConnected':
    case 'streamDisconnected':
      return { event: n.type, roomId: n.roomId };
    case 'streamerConnected':
    case 'streamerDisconnected':
      return { event: n.type, roomId: n.roomId, streamerId: n.streamerId };
    case 'viewerConnected':
    case 'viewerDisconnected':
      return { event: n.type, roomId: n.roomId, viewerId: n.viewerId };
    case 'trackAdded':
    case 'trackRemoved':
    case 'trackMetadataUpdated':
      return { event: n.type, roomId: n.roomId, peerId: n.peerId, trackId: n.track.id, trackType: n.track.type };
    case 'channelAdded':
    case 'channelRemoved':
      return { event: n.type, roomId: n.roomId, peerId: n.peerId, channelId: n.channelId };
    case 'peerCrashed':
      return { event: n.type, roomId: n.roomId, peerId: n.peerId, peerType: n.peerType, reason: n.reason };
    default:
      return { event: n.type, roomId: n.roomId, peerId: n.peerId, peerType: n.peerType };
  }
}

export class LifecycleLog {
  private readonly unsubscribe: () => void;

  constructor(bus: NotificationBus, log: Logger) {
    this.unsubscribe = bus.subscribe((n) => {
      const [level, msg] = MESSAGES[n.type];
      if (log.isLevelEnabled(level)) log[level](lifecycleFields(n), msg);
    });
  }

  close(): void {
    this.unsubscribe();
  }
}
