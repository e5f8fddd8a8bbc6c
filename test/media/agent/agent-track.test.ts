// AgentTrack on a hand-driven clock, into a real Producer: PCM16 at 16/24/48 kHz becomes 20 ms Opus
// packets carrying the same tone, sent in real time with continuous RTP numbering; Opus packets pass
// through paced by their duration; an interrupt stops the audio at once (nothing after it) and later
// audio plays as a new talkspurt; every bound refuses with a message and leaves the queue as it was.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpusScript from 'opusscript';
import { MAX_AGENT_CHUNK_BYTES, MAX_AGENT_QUEUED_MS } from '../../../src/media/agent/agent-limits.js';
import { AGENT_AUDIO_LEVEL_EXT_ID, AGENT_OPUS_PT, AgentTrack, FIRST_LISTENER_WAIT_MS, audioLevel, type AgentTrackEncoding } from '../../../src/media/agent/agent-track.js';
import { OpusPcmEncoder } from '../../../src/media/agent/opus-codec.js';
import { Producer } from '../../../src/media/sfu/producer.js';
import { getHeaderExtension, parseAudioLevel, type RtpHeader } from '../../../src/media/wire/rtp.js';
import { goertzel, rms, samples, sinePcm16 } from './audio-signal.js';
import { FakeClock } from './fake-clock.js';

interface Sent {
  at: number;
  marker: boolean;
  pt: number;
  seq: number;
  ts: number;
  ssrc: number;
  payload: Buffer;
}

function setUp(format: AgentTrackEncoding, onVoice?: (status: string) => void) {
  const clock = new FakeClock();
  const producer = new Producer('t1', 'agent', 'audio', { payloadType: AGENT_OPUS_PT, name: 'opus', clockRate: 48000, channels: 2, rtcpFb: [] }, [], { sendPli: () => {} });
  const sent: (Sent & { level?: number })[] = [];
  producer.addSink({
    forward: (buf: Buffer, h: RtpHeader) =>
      sent.push({
        at: clock.now(),
        marker: h.marker,
        pt: h.payloadType,
        seq: h.sequenceNumber,
        ts: h.timestamp,
        ssrc: h.ssrc,
        payload: Buffer.from(buf.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength)),
        level: parseAudioLevel(getHeaderExtension(buf, h, AGENT_AUDIO_LEVEL_EXT_ID) ?? Buffer.alloc(0))?.level,
      }),
    close: () => {},
  });
  const track = new AgentTrack('t1', format, producer, clock, onVoice);
  return { clock, producer, sent, track };
}

function setUpWithoutSink() {
  const clock = new FakeClock();
  const producer = new Producer('t3', 'agent', 'audio', { payloadType: AGENT_OPUS_PT, name: 'opus', clockRate: 48000, channels: 2, rtcpFb: [] }, [], { sendPli: () => {} });
  return { clock, track: new AgentTrack('t3', { encoding: 'pcm16', sampleRate: 16000 }, producer, clock) };
}

function decodeAll(packets: Buffer[]): Int16Array {
  const dec = new OpusScript(48000, 1);
  try {
    return samples(Buffer.concat(packets.map((p) => dec.decode(p))));
  } finally {
    dec.delete();
  }
}

describe('AgentTrack', () => {
  for (const rate of [16000, 24000, 48000] as const) {
    test(`PCM16 at ${rate} Hz: 1 s becomes 50 Opus packets of the same tone, one every 20 ms`, () => {
      const { clock, sent, track } = setUp({ encoding: 'pcm16', sampleRate: rate });
      // Chunks of 30 ms: frames straddle chunk boundaries.
      for (let t = 0; t < 1000; t += 30) assert.equal(track.push(sinePcm16(440, rate, Math.min(30, 1000 - t), 12000, (t * rate) / 1000)), undefined);
      clock.advance(2000);
      assert.equal(sent.length, 50);
      sent.forEach((p, i) => {
        assert.equal(p.at, i * 20);
        assert.equal(p.pt, AGENT_OPUS_PT);
        assert.equal(p.ssrc, sent[0]!.ssrc);
        assert.equal(p.seq, (sent[0]!.seq + i) & 0xffff);
        assert.equal(p.ts, (sent[0]!.ts + i * 960) >>> 0);
        assert.equal(p.marker, i === 0);
      });
      const pcm = decodeAll(sent.map((p) => p.payload)).subarray(4800);
      assert.ok(goertzel(pcm, 440, 48000) > 50 * goertzel(pcm, 1900, 48000));
      assert.ok(rms(pcm) > 0.15, `rms ${rms(pcm)}`);
      assert.equal(track.queued, 0);
      assert.equal(track.playing, false);
    });
  }

  test('PCM frames carry their level; voice activity turns to speech while it plays and back to silence when it ends or is interrupted', () => {
    const changes: string[] = [];
    const { clock, sent, track } = setUp({ encoding: 'pcm16', sampleRate: 16000 }, (s) => changes.push(s));
    track.push(Buffer.concat([sinePcm16(440, 16000, 1000), Buffer.alloc(640 * 10)]));
    clock.advance(2000);
    // A 12000-amplitude sine: rms 0.26 of full scale, 12 dB below it; the silent frames are 127.
    assert.deepEqual([...new Set(sent.slice(0, 50).map((p) => p.level))], [12]);
    assert.deepEqual([...new Set(sent.slice(50).map((p) => p.level))], [127]);
    assert.deepEqual(changes, ['speech', 'silence']);
    track.push(sinePcm16(440, 16000, 3000));
    clock.advance(600);
    assert.deepEqual(changes, ['speech', 'silence', 'speech']);
    track.interrupt();
    assert.deepEqual(changes, ['speech', 'silence', 'speech', 'silence']);
    assert.equal(audioLevel(Buffer.alloc(640)), 127);
    assert.equal(audioLevel(sinePcm16(440, 16000, 20, 32767)), 3);
  });

  test('a partial frame waits one frame for the rest, then is padded with silence', () => {
    const { clock, sent, track } = setUp({ encoding: 'pcm16', sampleRate: 16000 });
    track.push(sinePcm16(440, 16000, 10));
    assert.equal(sent.length, 0, 'held');
    clock.advance(20);
    assert.equal(sent.length, 1, 'padded and sent');
    clock.advance(100);
    assert.equal(sent.length, 1);
    assert.equal(track.playing, false);
  });

  test('Opus packets pass through unchanged, paced by their own duration', () => {
    const { clock, sent, track } = setUp({ encoding: 'opus' });
    const enc = new OpusPcmEncoder(48000);
    const p20 = enc.encode(sinePcm16(440, 48000, 20));
    enc.free();
    const p60 = Buffer.from([(3 << 3) | 0, 0xff, 0xfe]); // SILK 60 ms, one frame
    track.push(p20);
    track.push(p60);
    track.push(p20);
    clock.advance(200);
    assert.deepEqual(sent.map((s) => s.at), [0, 20, 80]);
    assert.deepEqual(sent.map((s) => (s.ts - sent[0]!.ts) >>> 0), [0, 960, 3840]);
    assert.deepEqual(sent[1]!.payload, p60);
    assert.deepEqual(sent[0]!.payload, p20);
    assert.equal(sent[0]!.level, undefined, 'Opus packets are not decoded: no level');
  });

  test('interrupt: nothing more is sent after it (within 0 ms), and later audio plays as a new talkspurt', () => {
    const { clock, sent, track } = setUp({ encoding: 'pcm16', sampleRate: 16000 });
    track.push(sinePcm16(440, 16000, 5000));
    clock.advance(200);
    assert.equal(sent.length, 11);
    const interruptedAt = clock.now();
    track.interrupt();
    assert.equal(track.queued, 0);
    assert.equal(clock.pending, 0, 'no timer left');
    clock.advance(1000);
    assert.equal(sent.filter((p) => p.at > interruptedAt).length, 0);
    const last = sent.at(-1)!;
    track.push(sinePcm16(440, 16000, 100));
    clock.advance(200);
    const resumed = sent.slice(11);
    assert.equal(resumed.length, 5);
    assert.equal(resumed[0]!.marker, true);
    assert.equal(resumed[0]!.seq, (last.seq + 1) & 0xffff, 'sequence numbers continue');
    const gap = ((resumed[0]!.ts - last.ts) >>> 0) / 48;
    assert.ok(gap >= 1000, `the timestamp moved with the wall clock over the silence (${gap} ms)`);
  });

  test('bounds: an oversized chunk, a queue past the limit and malformed Opus packets are refused and change nothing', () => {
    const { track } = setUp({ encoding: 'pcm16', sampleRate: 16000 });
    assert.match(track.push(new Uint8Array(MAX_AGENT_CHUNK_BYTES + 1)) ?? '', /at most 1048576 bytes/);
    assert.equal(track.queued, 0);
    // 16 kHz PCM16: 32 bytes a millisecond.
    const half = new Uint8Array(((MAX_AGENT_QUEUED_MS / 2 + 1000) * 32) | 0);
    assert.equal(track.push(half), undefined);
    const queued = track.queued;
    assert.match(track.push(half) ?? '', /queue full/);
    assert.equal(track.queued, queued);
    track.close();
    assert.match(track.push(new Uint8Array(640)) ?? '', /closed/);

    const opus = setUp({ encoding: 'opus' }).track;
    assert.match(opus.push(new Uint8Array(4000)) ?? '', /Opus packet may be at most/);
    assert.match(opus.push(Uint8Array.from([0x03])) ?? '', /not an Opus packet/); // code 3 without its count byte
    assert.match(opus.push(Uint8Array.from([0x03, 0x00])) ?? '', /not an Opus packet/); // zero frames
    assert.match(opus.push(Uint8Array.from([(3 << 3) | 3, 3])) ?? '', /not an Opus packet/); // 3 × 60 ms > 120 ms
    assert.equal(opus.queued, 0);
  });

  test('a new track waits for its first receiver (at most FIRST_LISTENER_WAIT_MS), then plays from the start', () => {
    const clock = new FakeClock();
    const producer = new Producer('t2', 'agent', 'audio', { payloadType: AGENT_OPUS_PT, name: 'opus', clockRate: 48000, channels: 2, rtcpFb: [] }, [], { sendPli: () => {} });
    const sent: number[] = [];
    const track = new AgentTrack('t2', { encoding: 'pcm16', sampleRate: 16000 }, producer, clock);
    track.push(sinePcm16(440, 16000, 200, 12000));
    clock.advance(300);
    assert.equal(track.queued, 200, 'nothing played while nobody receives the track');
    producer.addSink({ forward: () => void sent.push(clock.now()), close: () => {} });
    clock.advance(400);
    assert.equal(sent.length, 10, 'all 200 ms heard once the first receiver is there');
    assert.ok(sent[0]! >= 300 && sent[0]! <= 320, `started within one poll of the receiver (${sent[0]} ms)`);

    // Once it has played, later audio plays at once, receiver or not.
    track.push(sinePcm16(440, 16000, 40, 12000));
    clock.advance(100);
    assert.equal(sent.length, 12);
    track.close();

    // Nobody ever receives: it plays (into no one) after the wait, so the agent's queue does not stall.
    const lonely = setUpWithoutSink();
    lonely.track.push(sinePcm16(440, 16000, 100, 12000));
    lonely.clock.advance(FIRST_LISTENER_WAIT_MS - 50);
    assert.equal(lonely.track.queued, 100);
    lonely.clock.advance(250);
    assert.equal(lonely.track.queued, 0);
  });
});
