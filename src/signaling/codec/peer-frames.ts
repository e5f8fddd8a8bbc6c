// The peer socket's wire format: PeerMessage protobuf frames (fishjam/peer_notifications.proto), with
// media events inside as JSON (ts-client 0.5.0, field 3) or protobuf (ts-client 0.25.x, fields 5/6).
// Turns frames into neutral values and events into frames; it keeps no state and never throws on
// client input (an undecodable frame is undefined, a malformed media event is reported as such).
import { create, toBinary } from '@bufbuild/protobuf';
import type { RawData } from 'ws';
import { PeerMessageSchema, PeerMessage_RoomType, type PeerMessage } from '../../gen/fishjam/peer_notifications_pb.js';
import type { ClientEndpointEvent, ServerEndpointEvent } from '../../room/endpoint-events.js';
import type { RoomType } from '../../room/room-config.js';
import { JsonLimitError } from '../../input/json-limits.js';
import { decodeFrame } from './frames.js';
import { encodeJsonMediaEvent, MediaEventParseError, parseJsonMediaEvent } from './json-media-events.js';
import { toClientEvent, toServerMediaEvent } from './proto-media-events.js';

/** Which client generation is on the other end: JSON media events (0.5.0) or protobuf ones (0.25.x). */
export type Generation = 'json' | 'proto';

export type PeerFrame =
  | { type: 'authRequest'; token: string; sdkVersion: string }
  | { type: 'mediaEvent'; generation: Generation; event: ClientEndpointEvent }
  | { type: 'malformedMediaEvent'; generation: Generation; reason: string }
  /** A well-formed media event carrying a value over a bound (too deep or too large): the client is told. */
  | { type: 'refusedMediaEvent'; generation: Generation; reason: string }
  /** Anything else a client may send (stats reports, server-only fields): ignored. */
  | { type: 'other' };

const ROOM_TYPES: Record<RoomType, PeerMessage_RoomType> = {
  conference: PeerMessage_RoomType.CONFERENCE,
  full_feature: PeerMessage_RoomType.CONFERENCE,
  audio_only: PeerMessage_RoomType.AUDIO_ONLY,
  livestream: PeerMessage_RoomType.LIVESTREAM,
  broadcaster: PeerMessage_RoomType.LIVESTREAM,
  audio_only_livestream: PeerMessage_RoomType.LIVESTREAM,
};

/** A binary frame from a client; undefined when it is no PeerMessage. */
export function decodePeerFrame(data: RawData): PeerFrame | undefined {
  const msg = decodeFrame(PeerMessageSchema, data);
  if (!msg) return undefined;
  const { content } = msg;
  try {
    switch (content.case) {
      case 'authRequest':
        return { type: 'authRequest', token: content.value.token, sdkVersion: content.value.sdkVersion };
      case 'mediaEvent':
        return { type: 'mediaEvent', generation: 'json', event: parseJsonMediaEvent(content.value.data) };
      case 'peerMediaEvent':
        return { type: 'mediaEvent', generation: 'proto', event: toClientEvent(content.value) };
      default:
        return { type: 'other' };
    }
  } catch (err) {
    const generation = content.case === 'mediaEvent' ? 'json' : 'proto';
    if (err instanceof JsonLimitError) return { type: 'refusedMediaEvent', generation, reason: err.message };
    if (!(err instanceof MediaEventParseError)) throw err;
    return { type: 'malformedMediaEvent', generation, reason: err.message };
  }
}

/** A room event as a frame in the client's generation. */
export function encodePeerEvent(event: ServerEndpointEvent, generation: Generation): Uint8Array {
  const msg: PeerMessage =
    generation === 'proto'
      ? create(PeerMessageSchema, { content: { case: 'serverMediaEvent', value: toServerMediaEvent(event) } })
      : create(PeerMessageSchema, { content: { case: 'mediaEvent', value: { data: encodeJsonMediaEvent(event) } } });
  return toBinary(PeerMessageSchema, msg);
}

/** The reply to a successful authRequest. */
export function encodeAuthenticated(roomType: RoomType): Uint8Array {
  return toBinary(PeerMessageSchema, create(PeerMessageSchema, { content: { case: 'authenticated', value: { roomType: ROOM_TYPES[roomType] } } }));
}
