// Encodes domain notifications as the protobuf ServerMessage shared by the server socket and webhooks
// (OSS field numbers plus the cloud's peer_type). Pure: no delivery, no state.
import { create, toBinary } from '@bufbuild/protobuf';
import { PeerType as ProtoPeerType, TrackType, TrackSchema } from '../gen/fishjam/notifications/shared_pb.js';
import { ServerMessageSchema, type ServerMessage } from '../gen/fishjam/server_notifications_pb.js';
import type { Notification, PeerType } from '../room/notifications.js';
import type { TrackInfo } from '../room/track.js';

const PEER_TYPES: Record<PeerType, ProtoPeerType> = { webrtc: ProtoPeerType.WEBRTC, agent: ProtoPeerType.AGENT };

function protoTrack(t: TrackInfo) {
  return create(TrackSchema, {
    id: t.id,
    type: t.type === 'video' ? TrackType.VIDEO : TrackType.AUDIO,
    metadata: JSON.stringify(t.metadata ?? null),
  });
}

export function toServerMessage(n: Notification): ServerMessage {
  const content = ((): ServerMessage['content'] => {
    switch (n.type) {
      case 'roomCreated':
        return { case: 'roomCreated', value: { $typeName: 'fishjam.ServerMessage.RoomCreated', roomId: n.roomId } };
      case 'roomDeleted':
        return { case: 'roomDeleted', value: { $typeName: 'fishjam.ServerMessage.RoomDeleted', roomId: n.roomId } };
      case 'roomCrashed':
        return { case: 'roomCrashed', value: { $typeName: 'fishjam.ServerMessage.RoomCrashed', roomId: n.roomId } };
      case 'peerAdded':
        return { case: 'peerAdded', value: { $typeName: 'fishjam.ServerMessage.PeerAdded', roomId: n.roomId, peerId: n.peerId, peerType: PEER_TYPES[n.peerType] } };
      case 'peerDeleted':
        return { case: 'peerDeleted', value: { $typeName: 'fishjam.ServerMessage.PeerDeleted', roomId: n.roomId, peerId: n.peerId, peerType: PEER_TYPES[n.peerType] } };
      case 'peerConnected':
        return { case: 'peerConnected', value: { $typeName: 'fishjam.ServerMessage.PeerConnected', roomId: n.roomId, peerId: n.peerId, peerType: PEER_TYPES[n.peerType] } };
      case 'peerDisconnected':
        return {
          case: 'peerDisconnected',
          value: { $typeName: 'fishjam.ServerMessage.PeerDisconnected', roomId: n.roomId, peerId: n.peerId, peerType: PEER_TYPES[n.peerType] },
        };
      case 'peerMetadataUpdated':
        return {
          case: 'peerMetadataUpdated',
          value: {
            $typeName: 'fishjam.ServerMessage.PeerMetadataUpdated',
            roomId: n.roomId,
            peerId: n.peerId,
            metadata: JSON.stringify(n.metadata ?? null),
            peerType: PEER_TYPES[n.peerType],
          },
        };
      case 'peerCrashed':
        return {
          case: 'peerCrashed',
          value: { $typeName: 'fishjam.ServerMessage.PeerCrashed', roomId: n.roomId, peerId: n.peerId, reason: n.reason, peerType: PEER_TYPES[n.peerType] },
        };
      case 'trackAdded':
        return {
          case: 'trackAdded',
          value: { $typeName: 'fishjam.ServerMessage.TrackAdded', roomId: n.roomId, endpointInfo: { case: 'peerId', value: n.peerId }, track: protoTrack(n.track) },
        };
      case 'trackRemoved':
        return {
          case: 'trackRemoved',
          value: { $typeName: 'fishjam.ServerMessage.TrackRemoved', roomId: n.roomId, endpointInfo: { case: 'peerId', value: n.peerId }, track: protoTrack(n.track) },
        };
      case 'trackMetadataUpdated':
        return {
          case: 'trackMetadataUpdated',
          value: {
            $typeName: 'fishjam.ServerMessage.TrackMetadataUpdated',
            roomId: n.roomId,
            endpointInfo: { case: 'peerId', value: n.peerId },
            track: protoTrack(n.track),
          },
        };
      case 'channelAdded':
        return {
          case: 'channelAdded',
          value: { $typeName: 'fishjam.ServerMessage.ChannelAdded', roomId: n.roomId, endpointInfo: { case: 'peerId', value: n.peerId }, channelId: n.channelId },
        };
      case 'channelRemoved':
        return {
          case: 'channelRemoved',
          value: { $typeName: 'fishjam.ServerMessage.ChannelRemoved', roomId: n.roomId, endpointInfo: { case: 'peerId', value: n.peerId }, channelId: n.channelId },
        };
      case 'streamConnected':
        return { case: 'streamConnected', value: { $typeName: 'fishjam.ServerMessage.StreamConnected', streamId: n.roomId } };
      case 'streamDisconnected':
        return { case: 'streamDisconnected', value: { $typeName: 'fishjam.ServerMessage.StreamDisconnected', streamId: n.roomId } };
      case 'streamerConnected':
        return { case: 'streamerConnected', value: { $typeName: 'fishjam.ServerMessage.StreamerConnected', streamId: n.roomId, streamerId: n.streamerId } };
      case 'streamerDisconnected':
        return { case: 'streamerDisconnected', value: { $typeName: 'fishjam.ServerMessage.StreamerDisconnected', streamId: n.roomId, streamerId: n.streamerId } };
      case 'viewerConnected':
        return { case: 'viewerConnected', value: { $typeName: 'fishjam.ServerMessage.ViewerConnected', streamId: n.roomId, viewerId: n.viewerId } };
      case 'viewerDisconnected':
        return { case: 'viewerDisconnected', value: { $typeName: 'fishjam.ServerMessage.ViewerDisconnected', streamId: n.roomId, viewerId: n.viewerId } };
    }
  })();
  return create(ServerMessageSchema, { content });
}

export function encodeNotification(n: Notification): Uint8Array {
  return toBinary(ServerMessageSchema, toServerMessage(n));
}
