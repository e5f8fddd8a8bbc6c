// VoiceActivityDetector: speech after a window of 25 packets with at least 5 loud ones (≤ 50 dBov),
// silence after a quiet window, reported only when the state changes (it starts silent). Also the wiring
// through an audio Producer, which reads the ssrc-audio-level extension of each packet.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyMediaStats } from '../../../src/media/sfu/media-stats.js';
import { Router } from '../../../src/media/sfu/router.js';
import { VoiceActivityDetector, type VoiceActivity } from '../../../src/media/sfu/voice-activity.js';
import { EXT_AUDIO_LEVEL } from '../../../src/media/wire/sdp.js';
import { feed, rtp } from './test-packets.js';

const WINDOW = 25;
const LOUD = 30;
const QUIET = 127;

function setup() {
  const changes: VoiceActivity[] = [];
  const vad = new VoiceActivityDetector((s) => changes.push(s));
  /** One window: `loud` packets at `loudLevel`, the rest quiet. */
  const window = (loud: number, loudLevel = LOUD) => {
    for (let i = 0; i < WINDOW; i++) vad.level(i < loud ? loudLevel : QUIET);
  };
  return { vad, changes, window };
}

describe('VoiceActivityDetector', () => {
  test('a loud window reports speech once; more loud windows report nothing', () => {
    const { changes, window } = setup();
    window(WINDOW);
    assert.deepEqual(changes, ['speech']);
    window(WINDOW);
    window(10);
    assert.deepEqual(changes, ['speech']);
  });

  test('a quiet window after speech reports silence once; it starts silent', () => {
    const { changes, window } = setup();
    window(0);
    assert.deepEqual(changes, [], 'already silent: nothing to report');
    window(WINDOW);
    window(0);
    window(0);
    assert.deepEqual(changes, ['speech', 'silence']);
    window(WINDOW);
    assert.deepEqual(changes, ['speech', 'silence', 'speech']);
  });

  test('decides once per window of 25 packets', () => {
    const { vad, changes } = setup();
    for (let i = 0; i < WINDOW - 1; i++) vad.level(0);
    assert.deepEqual(changes, [], 'no decision before the window is full');
    vad.level(QUIET);
    assert.deepEqual(changes, ['speech']);
  });

  test('thresholds: 5 loud packets of 25 are speech, 4 are not; 50 dBov is loud, 51 is not', () => {
    const four = setup();
    four.window(4);
    assert.deepEqual(four.changes, []);
    const five = setup();
    five.window(5);
    assert.deepEqual(five.changes, ['speech']);
    const at50 = setup();
    at50.window(WINDOW, 50);
    assert.deepEqual(at50.changes, ['speech']);
    const at51 = setup();
    at51.window(WINDOW, 51);
    assert.deepEqual(at51.changes, []);
  });

  test('loud packets are counted per window, not carried over', () => {
    const { changes, window } = setup();
    window(4);
    window(4);
    assert.deepEqual(changes, [], '4 + 4 loud packets in two windows are not speech');
  });

  test('through an audio Producer: levels come from the ssrc-audio-level extension', () => {
    const router = new Router('room', emptyMediaStats(), () => {});
    const changes: VoiceActivity[] = [];
    const opus = { payloadType: 111, name: 'opus', clockRate: 48000, channels: 2, rtcpFb: [] };
    const producer = router.produce(
      { trackId: 'a', peerId: 'p', kind: 'audio', codec: opus, rids: [] },
      { sendPli: () => {}, audioLevelExtId: 3, onVoiceActivity: (s) => changes.push(s), extensions: [{ id: 3, uri: EXT_AUDIO_LEVEL }] },
    );
    const packet = (level: number, extId = 3) => rtp({ ssrc: 5, pt: 111, ext: [[extId, Buffer.from([0x80 | level])]], payload: Buffer.from([1, 2, 3]) });
    for (let i = 0; i < WINDOW; i++) feed(producer, packet(20, 4));
    assert.deepEqual(changes, [], 'another extension id is not the audio level');
    for (let i = 0; i < WINDOW; i++) feed(producer, packet(20));
    assert.deepEqual(changes, ['speech']);
    for (let i = 0; i < WINDOW; i++) feed(producer, packet(120));
    assert.deepEqual(changes, ['speech', 'silence']);
  });
});
