// AgentSession with a real Router and a recording host: what the agent hears (each subscribed audio
// track's Opus decoded to PCM16 at its output rate, or passed through as Opus; duplicates and packets
// libopus refuses dropped; unsubscribing or the producer closing ends it), and its commands (addTrack
// publishes, removeTrack unpublishes and closes the producer, bad requests get an `error` event and
// change nothing, close() releases everything).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../../src/log/logger.js';
import { AgentSession } from '../../../src/media/agent/agent-session.js';
import { OpusPcmEncoder } from '../../../src/media/agent/opus-codec.js';
import { emptyMediaStats } from '../../../src/media/sfu/media-stats.js';
import { Router } from '../../../src/media/sfu/router.js';
import { parseRtpHeader } from '../../../src/media/wire/rtp.js';
import type { AgentAudio, AgentCommand, AgentOutput, MediaSessionHost } from '../../../src/room/media-port.js';
import type { ServerEndpointEvent } from '../../../src/room/endpoint-events.js';
import type { TrackInfo } from '../../../src/room/track.js';
import { goertzel, samples, sinePcm16 } from './audio-signal.js';
import { FakeClock } from './fake-clock.js';

const PERMS = { canPublish: true, canSubscribe: true, canPublishData: true };
const OPUS = { payloadType: 111, name: 'opus', clockRate: 48000, channels: 2, rtcpFb: [] };

function setUp(output: AgentOutput = { format: 'pcm16', sampleRate: 16000 }, permissions = PERMS) {
  const router = new Router('room', emptyMediaStats(), () => {});
  const events: ServerEndpointEvent[] = [];
  const audio: AgentAudio[] = [];
  const published: TrackInfo[][] = [];
  const unpublished: string[][] = [];
  const voice: string[] = [];
  const host: MediaSessionHost = {
    send: (e) => events.push(e),
    published: (t) => published.push(t),
    unpublished: (ids) => unpublished.push(ids),
    trackMetadataChanged: () => {},
    voiceActivity: (trackId, status) => voice.push(`${trackId}:${status}`),
    failed: () => {},
    agentAudio: (a) => audio.push(a),
  };
  const clock = new FakeClock();
  const session = new AgentSession(
    { roomId: 'room', peerId: 'agent', roomCodec: null, permissions, enableSimulcast: false, agent: output },
    host,
    router,
    createLogger('silent', false),
    clock,
  );
  const errors = () => events.filter((e) => e.type === 'error').map((e) => (e as { message: string }).message);
  return { router, session, events, audio, published, unpublished, clock, errors, voice };
}

/** A browser-like publisher's audio track in the router, and a function sending `n` 20 ms packets of a 440 Hz tone. */
function publisher(router: Router, trackId = 'mic') {
  const producer = router.produce({ trackId, peerId: 'browser', kind: 'audio', codec: OPUS, rids: [] }, { sendPli: () => {} });
  const enc = new OpusPcmEncoder(48000);
  let seq = 100;
  const payloads: Buffer[] = [];
  const send = (n: number, repeatLast = false) => {
    for (let i = 0; i < n; i++) {
      const payload = enc.encode(sinePcm16(440, 48000, 20, 12000, seq * 960));
      payloads.push(payload);
      const buf = Buffer.concat([Buffer.from([0x80, 111, seq >> 8, seq & 0xff, 0, 0, 0, 0, 0, 0, 0, 1]), payload]);
      producer.onRtp(buf, parseRtpHeader(buf)!, '');
      if (repeatLast) producer.onRtp(buf, parseRtpHeader(buf)!, '');
      seq++;
    }
  };
  const info: TrackInfo = { id: trackId, type: 'audio', metadata: { name: 'mic' }, simulcast: { enabled: false, active: ['h'], disabled: [] } };
  return { producer, send, info, payloads, free: () => enc.free() };
}

const addTrack = (over: Partial<Extract<AgentCommand, { type: 'addTrack' }>> = {}): AgentCommand => ({
  type: 'addTrack',
  trackId: 'voice',
  metadata: { role: 'voice' },
  encoding: 'pcm16',
  sampleRate: 16000,
  channels: 1,
  ...over,
});

describe('AgentSession: what the agent hears', () => {
  for (const rate of [16000, 24000, 48000] as const) {
    test(`pcm16 at ${rate} Hz: one 20 ms frame of the tone per packet, duplicates dropped`, () => {
      const { router, session, audio } = setUp({ format: 'pcm16', sampleRate: rate });
      const mic = publisher(router);
      session.subscribe('browser', [mic.info]);
      mic.send(25, true);
      assert.equal(audio.length, 25);
      for (const a of audio) {
        assert.equal(a.peerId, 'browser');
        assert.deepEqual(a.track, { id: 'mic', metadata: { name: 'mic' } });
        assert.equal(a.data.length, (rate / 50) * 2);
      }
      const pcm = samples(Buffer.concat(audio.slice(5).map((a) => a.data)));
      assert.ok(goertzel(pcm, 440, rate) > 50 * goertzel(pcm, 1900, rate));
      mic.free();
      session.close();
    });
  }

  test('opus: the packets as published; metadata changes follow; unsubscribe and a closed producer stop it', () => {
    const { router, session, audio } = setUp({ format: 'opus', sampleRate: 48000 });
    const mic = publisher(router);
    session.subscribe('browser', [mic.info, { ...mic.info, id: 'cam', type: 'video' }]);
    mic.send(3);
    assert.equal(audio.length, 3);
    assert.deepEqual(audio.map((a) => Buffer.from(a.data)), mic.payloads, 'the Opus packets, unchanged');
    session.trackEvent('browser', { ...mic.info, metadata: { name: 'renamed' } }, { type: 'trackUpdated', endpointId: 'browser', trackId: 'mic', metadata: { name: 'renamed' } });
    mic.send(1);
    assert.deepEqual(audio[3]!.track.metadata, { name: 'renamed' });
    session.unsubscribe('browser', ['mic']);
    mic.send(3);
    assert.equal(audio.length, 4);
    assert.equal(mic.producer.sinkCount, 0);
    session.subscribe('browser', [mic.info]);
    mic.send(1);
    assert.equal(audio.length, 5);
    router.closeProducer(mic.producer);
    mic.send(1);
    assert.equal(audio.length, 5);
    mic.free();
    session.close();
  });

  test('packets libopus refuses are dropped; an agent without canSubscribe hears nothing', () => {
    const { router, session, audio } = setUp();
    const mic = publisher(router);
    session.subscribe('browser', [mic.info]);
    const bad = Buffer.from([0x80, 111, 0x7f, 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x03, 0x00]); // code 3, zero frames
    mic.producer.onRtp(bad, parseRtpHeader(bad)!, '');
    assert.equal(audio.length, 0);
    session.close();
    const deaf = setUp(undefined, { ...PERMS, canSubscribe: false });
    const mic2 = publisher(deaf.router);
    deaf.session.subscribe('browser', [mic2.info]);
    mic2.send(2);
    assert.equal(deaf.audio.length, 0);
    mic.free();
    mic2.free();
  });
});

describe('AgentSession: what the agent sends', () => {
  test('addTrack publishes an audio track with a producer; trackData plays into it; removeTrack unpublishes and closes it', () => {
    const { router, session, published, unpublished, clock, errors } = setUp();
    session.agent(addTrack());
    assert.deepEqual(published, [[{ id: 'voice', type: 'audio', metadata: { role: 'voice' }, simulcast: { enabled: false, active: ['h'], disabled: [] } }]]);
    const producer = router.producer('voice')!;
    assert.equal(producer.peerId, 'agent');
    let packets = 0;
    producer.addSink({ forward: () => void packets++, close: () => {} });
    session.agent({ type: 'trackData', trackId: 'voice', data: sinePcm16(440, 16000, 200) });
    clock.advance(1000);
    assert.equal(packets, 10);
    session.agent({ type: 'removeTrack', trackId: 'voice' });
    assert.deepEqual(unpublished, [['voice']]);
    assert.equal(router.producer('voice'), undefined);
    assert.deepEqual(errors(), []);
    session.close();
  });

  test('interruptTrack: audio stops at once, nothing is sent within the next 100 ms or after; voice activity follows', () => {
    const { router, session, clock, voice } = setUp();
    session.agent(addTrack());
    const sentAt: number[] = [];
    router.producer('voice')!.addSink({ forward: () => void sentAt.push(clock.now()), close: () => {} });
    session.agent({ type: 'trackData', trackId: 'voice', data: sinePcm16(440, 16000, 3000) });
    clock.advance(600);
    assert.deepEqual(voice, ['voice:speech']);
    session.agent({ type: 'interruptTrack', trackId: 'voice' });
    assert.deepEqual(voice, ['voice:speech', 'voice:silence']);
    const at = clock.now();
    clock.advance(3000);
    assert.equal(sentAt.filter((t) => t > at).length, 0);
    assert.equal(session.track('voice')!.queued, 0);
    session.close();
  });

  test('refused requests get an error event and change nothing', () => {
    const { router, session, published, errors } = setUp();
    const other = router.produce({ trackId: 'taken', peerId: 'browser', kind: 'audio', codec: OPUS, rids: [] }, { sendPli: () => {} });
    session.agent(addTrack({ trackId: 'taken' }));
    session.agent(addTrack({ trackId: '' }));
    session.agent(addTrack({ trackId: 'x'.repeat(129) }));
    session.agent(addTrack({ sampleRate: 44100 }));
    session.agent(addTrack({ channels: 2 }));
    session.agent(addTrack({ encoding: 'unspecified' }));
    session.agent({ type: 'trackData', trackId: 'nope', data: new Uint8Array(640) });
    session.agent({ type: 'interruptTrack', trackId: 'nope' });
    session.agent({ type: 'removeTrack', trackId: 'nope' });
    for (const id of ['a', 'b', 'c', 'd', 'e']) session.agent(addTrack({ trackId: id }));
    session.agent(addTrack({ trackId: 'a' }));
    assert.deepEqual(errors(), [
      'Track id taken is already in use',
      'Track id must be 1 to 128 characters',
      'Track id must be 1 to 128 characters',
      'Track voice: pcm16 sample rate must be 16000, 24000 or 48000, got 44100',
      'Track voice: only mono audio (channels: 1) is supported, got 2',
      'Track voice: encoding must be pcm16 or opus',
      'Track nope does not exist',
      'Track nope does not exist',
      'Track nope does not exist',
      'An agent may have at most 4 tracks',
      'Track a already exists',
    ]);
    assert.deepEqual(published.flat().map((t) => t.id), ['a', 'b', 'c', 'd']);
    assert.equal(router.producer('taken'), other);
    session.close();
    assert.equal(router.producer('a'), undefined, 'close() closes the agent’s producers');

    const mute = setUp(undefined, { ...PERMS, canPublish: false });
    mute.session.agent(addTrack());
    assert.deepEqual(mute.errors(), ['Publishing is not allowed for this agent']);
    assert.deepEqual(mute.published, []);
    mute.session.close();
  });
});
