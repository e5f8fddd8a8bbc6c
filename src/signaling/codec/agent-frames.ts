// The agent socket's wire format (fishjam/agent_notifications.proto): AgentRequest frames in (the auth
// request, then addTrack / removeTrack / trackData / interruptTrack), AgentResponse frames out (the
// authenticated reply, and trackData: a room track's audio). A track's metadata arrives as JSON text and
// is parsed here within the metadata bounds. Keeps no state; an undecodable frame is `invalid` with a
// reason, never an exception.
import { create, toBinary } from '@bufbuild/protobuf';
import type { RawData } from 'ws';
import { AgentRequestSchema, AgentResponseSchema, TrackEncoding } from '../../gen/fishjam/agent_notifications_pb.js';
import { TrackType } from '../../gen/fishjam/notifications/shared_pb.js';
import { MAX_METADATA_BYTES, checkMetadata, jsonTextTooDeep } from '../../input/json-limits.js';
import type { AgentAudio, AgentCommand } from '../../room/media-port.js';
import { decodeFrame } from './frames.js';

export type AgentFrame =
  | { type: 'auth'; token: string }
  | AgentCommand
  | { type: 'ignored'; what: string }
  | { type: 'invalid'; reason: string };

/** The token of an agent's authRequest frame; undefined for any other frame. */
export function decodeAgentAuthToken(data: RawData): string | undefined {
  const msg = decodeFrame(AgentRequestSchema, data);
  return msg?.content.case === 'authRequest' ? msg.content.value.token : undefined;
}

export function decodeAgentFrame(data: RawData): AgentFrame {
  const msg = decodeFrame(AgentRequestSchema, data);
  if (!msg) return { type: 'invalid', reason: 'not an AgentRequest' };
  const c = msg.content;
  switch (c.case) {
    case 'authRequest':
      return { type: 'auth', token: c.value.token };
    case 'addTrack': {
      const track = c.value.track;
      if (!track) return { type: 'invalid', reason: 'addTrack without a track' };
      if (track.type === TrackType.VIDEO) return { type: 'invalid', reason: `Track ${track.id}: agents publish audio tracks only` };
      const metadata = parseMetadata(track.metadata);
      if ('invalid' in metadata) return { type: 'invalid', reason: `Track ${track.id}: ${metadata.invalid}` };
      const params = c.value.codecParams;
      const encoding = params?.encoding === TrackEncoding.PCM16 ? 'pcm16' : params?.encoding === TrackEncoding.OPUS ? 'opus' : 'unspecified';
      return { type: 'addTrack', trackId: track.id, metadata: metadata.value, encoding, sampleRate: params?.sampleRate ?? 0, channels: params?.channels ?? 0 };
    }
    case 'removeTrack':
      return { type: 'removeTrack', trackId: c.value.trackId };
    case 'trackData':
      return { type: 'trackData', trackId: c.value.trackId, data: c.value.data };
    case 'interruptTrack':
      return { type: 'interruptTrack', trackId: c.value.trackId };
    case 'captureImage':
      return { type: 'ignored', what: 'captureImage (agents receive no video)' };
    default:
      return { type: 'invalid', reason: 'empty AgentRequest' };
  }
}

/** A track's JSON metadata text: its value (an empty text is null), or why it is refused. */
function parseMetadata(text: string): { value: unknown } | { invalid: string } {
  if (text === '') return { value: null };
  if (Buffer.byteLength(text, 'utf8') > MAX_METADATA_BYTES) return { invalid: `metadata is larger than ${MAX_METADATA_BYTES} bytes` };
  if (jsonTextTooDeep(text)) return { invalid: 'metadata is nested too deeply' };
  try {
    const value: unknown = JSON.parse(text);
    checkMetadata(value, 'Track metadata');
    return { value };
  } catch (err) {
    return { invalid: err instanceof SyntaxError ? 'metadata is not JSON' : (err as Error).message };
  }
}

export function encodeAgentAuthenticated(): Uint8Array {
  return toBinary(AgentResponseSchema, create(AgentResponseSchema, { content: { case: 'authenticated', value: {} } }));
}

/** A room track's audio for the agent. */
export function encodeAgentTrackData(audio: AgentAudio): Uint8Array {
  return toBinary(
    AgentResponseSchema,
    create(AgentResponseSchema, {
      content: {
        case: 'trackData',
        value: {
          peerId: audio.peerId,
          track: { id: audio.track.id, type: TrackType.AUDIO, metadata: JSON.stringify(audio.track.metadata ?? null) },
          data: audio.data,
        },
      },
    }),
  );
}
