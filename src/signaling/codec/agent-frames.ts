// The agent socket's wire format (fishjam/agent_notifications.proto): the auth request in, the
// authenticated reply out. Keeps no state; an undecodable frame is undefined, never an exception.
import { create, toBinary } from '@bufbuild/protobuf';
import type { RawData } from 'ws';
import { AgentRequestSchema, AgentResponseSchema } from '../../gen/fishjam/agent_notifications_pb.js';
import { decodeFrame } from './frames.js';

/** The token of an agent's authRequest frame; undefined for any other frame. */
export function decodeAgentAuthToken(data: RawData): string | undefined {
  const msg = decodeFrame(AgentRequestSchema, data);
  return msg?.content.case === 'authRequest' ? msg.content.value.token : undefined;
}

export function encodeAgentAuthenticated(): Uint8Array {
  return toBinary(AgentResponseSchema, create(AgentResponseSchema, { content: { case: 'authenticated', value: {} } }));
}
