// The agent socket's codec: AgentRequest frames as the SDK encodes them become agent commands (track
// metadata parsed within the metadata bounds, encodings mapped), anything else is `invalid` or
// `ignored` with a reason and never throws; TrackData responses decode as the SDK reads them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { AgentRequestSchema, AgentResponseSchema, TrackEncoding } from '../../src/gen/fishjam/agent_notifications_pb.js';
import { TrackType } from '../../src/gen/fishjam/notifications/shared_pb.js';
import { decodeAgentFrame, encodeAgentTrackData } from '../../src/signaling/codec/agent-frames.js';
import { opusPacketMs } from '../../src/media/agent/opus-codec.js';

const frame = (content: Parameters<typeof create<typeof AgentRequestSchema>>[1]) => Buffer.from(toBinary(AgentRequestSchema, create(AgentRequestSchema, content)));

function addTrack(metadata: string, type = TrackType.AUDIO, encoding = TrackEncoding.PCM16) {
  return frame({ content: { case: 'addTrack', value: { track: { id: 't1', type, metadata }, codecParams: { encoding, sampleRate: 24000, channels: 1 } } } });
}

describe('agent frames', () => {
  test('addTrack, removeTrack, trackData and interruptTrack become commands', () => {
    assert.deepEqual(decodeAgentFrame(addTrack('{"role":"voice"}')), { type: 'addTrack', trackId: 't1', metadata: { role: 'voice' }, encoding: 'pcm16', sampleRate: 24000, channels: 1 });
    assert.equal((decodeAgentFrame(addTrack('', TrackType.AUDIO, TrackEncoding.OPUS)) as { encoding: string }).encoding, 'opus');
    assert.equal((decodeAgentFrame(addTrack('', TrackType.AUDIO, TrackEncoding.UNSPECIFIED)) as { encoding: string }).encoding, 'unspecified');
    assert.deepEqual(decodeAgentFrame(frame({ content: { case: 'removeTrack', value: { trackId: 't1' } } })), { type: 'removeTrack', trackId: 't1' });
    assert.deepEqual(decodeAgentFrame(frame({ content: { case: 'interruptTrack', value: { trackId: 't1' } } })), { type: 'interruptTrack', trackId: 't1' });
    const data = decodeAgentFrame(frame({ content: { case: 'trackData', value: { trackId: 't1', data: new Uint8Array([1, 2, 3]) } } }));
    assert.equal(data.type, 'trackData');
    assert.deepEqual([...(data as { data: Uint8Array }).data], [1, 2, 3]);
  });

  test('bad frames are invalid or ignored with a reason, never an exception', () => {
    const reasons = [
      decodeAgentFrame(Buffer.from([0xff, 0xff, 0xff])),
      decodeAgentFrame(frame({})),
      decodeAgentFrame(addTrack('{not json')),
      decodeAgentFrame(addTrack('['.repeat(40) + ']'.repeat(40))),
      decodeAgentFrame(addTrack(JSON.stringify({ big: 'x'.repeat(70_000) }))),
      decodeAgentFrame(addTrack('', TrackType.VIDEO)),
      decodeAgentFrame(frame({ content: { case: 'addTrack', value: {} } })),
      decodeAgentFrame(frame({ content: { case: 'captureImage', value: { trackId: 't1' } } })),
    ].map((f) => (f.type === 'invalid' ? f.reason : f.type === 'ignored' ? `ignored: ${f.what}` : `unexpected ${f.type}`));
    assert.deepEqual(reasons, [
      'not an AgentRequest',
      'empty AgentRequest',
      'Track t1: metadata is not JSON',
      'Track t1: metadata is nested too deeply',
      'Track t1: metadata is larger than 65536 bytes',
      'Track t1: agents publish audio tracks only',
      'addTrack without a track',
      'ignored: captureImage (agents receive no video)',
    ]);
  });

  test('trackData responses carry the peer, the track (audio, JSON metadata) and the bytes', () => {
    const bytes = encodeAgentTrackData({ peerId: 'p1', track: { id: 'mic', metadata: { name: 'a' } }, data: new Uint8Array([9, 8]) });
    const msg = fromBinary(AgentResponseSchema, bytes);
    assert.equal(msg.content.case, 'trackData');
    const v = msg.content.value as { peerId: string; track: { id: string; type: number; metadata: string }; data: Uint8Array };
    assert.equal(v.peerId, 'p1');
    assert.deepEqual({ id: v.track.id, type: v.track.type, metadata: v.track.metadata }, { id: 'mic', type: TrackType.AUDIO, metadata: '{"name":"a"}' });
    assert.deepEqual([...v.data], [9, 8]);
  });

  test('Opus packet durations from the TOC byte (RFC 6716 §3.1)', () => {
    assert.equal(opusPacketMs(Uint8Array.from([(1 << 3) | 0])), 20); // SILK NB 20 ms, one frame
    assert.equal(opusPacketMs(Uint8Array.from([(3 << 3) | 1])), 120); // SILK 60 ms, two frames
    assert.equal(opusPacketMs(Uint8Array.from([(13 << 3) | 2])), 40); // hybrid 20 ms, two frames
    assert.equal(opusPacketMs(Uint8Array.from([(16 << 3) | 0])), 2.5); // CELT 2.5 ms
    assert.equal(opusPacketMs(Uint8Array.from([(31 << 3) | 3, 6])), 120); // CELT 20 ms × 6
    assert.equal(opusPacketMs(Uint8Array.from([(31 << 3) | 3, 7])), undefined); // 140 ms
    assert.equal(opusPacketMs(Uint8Array.from([(31 << 3) | 3])), undefined);
    assert.equal(opusPacketMs(new Uint8Array(0)), undefined);
  });
});
