// The server socket's wire format (fishjam/server_notifications.proto): the backend's auth and subscribe
// requests in, their replies out (notifications themselves are encoded by notify/server-message.ts).
// Keeps no state; an undecodable frame is undefined, never an exception.
import { create, toBinary } from '@bufbuild/protobuf';
import type { RawData } from 'ws';
import { ServerMessageSchema, ServerMessage_EventType } from '../../gen/fishjam/server_notifications_pb.js';
import { decodeFrame } from './frames.js';

/** What a backend may subscribe to; `eventType` is echoed in the reply as it came. */
export type Subscription = 'notifications' | 'metrics' | 'unknown';

export type ServerFrame =
  | { type: 'authRequest'; token: string }
  | { type: 'subscribeRequest'; subscription: Subscription; eventType: number }
  | { type: 'other' };

export function decodeServerFrame(data: RawData): ServerFrame | undefined {
  const msg = decodeFrame(ServerMessageSchema, data);
  if (!msg) return undefined;
  const { content } = msg;
  if (content.case === 'authRequest') return { type: 'authRequest', token: content.value.token };
  if (content.case !== 'subscribeRequest') return { type: 'other' };
  const eventType = content.value.eventType;
  const subscription: Subscription =
    eventType === ServerMessage_EventType.SERVER_NOTIFICATION ? 'notifications' : eventType === ServerMessage_EventType.METRICS ? 'metrics' : 'unknown';
  return { type: 'subscribeRequest', subscription, eventType };
}

export function encodeServerAuthenticated(): Uint8Array {
  return toBinary(ServerMessageSchema, create(ServerMessageSchema, { content: { case: 'authenticated', value: {} } }));
}

export function encodeSubscribeResponse(eventType: number): Uint8Array {
  return toBinary(ServerMessageSchema, create(ServerMessageSchema, { content: { case: 'subscribeResponse', value: { eventType } } }));
}
