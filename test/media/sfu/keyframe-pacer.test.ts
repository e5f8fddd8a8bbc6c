// KeyframePacer (mock timers and Date): at most one PLI per KEYFRAME_REQUEST_INTERVAL_MS per SSRC; a
// request inside the interval is deferred to its end (one, however many requests), and dropped when a
// keyframe arrives first; SSRCs are paced apart; close() cancels what is deferred. Also the wiring through
// a Producer: requestKeyframe is paced, and a keyframe packet drops the deferred PLI.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { KEYFRAME_REQUEST_INTERVAL_MS, KeyframePacer } from '../../../src/media/sfu/keyframe-pacer.js';
import { emptyMediaStats } from '../../../src/media/sfu/media-stats.js';
import { Router } from '../../../src/media/sfu/router.js';
import { feed, rtp, VP8_DELTA, VP8_KEY } from './test-packets.js';

const INTERVAL = KEYFRAME_REQUEST_INTERVAL_MS;

function setup(t: TestContext) {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
  const plis: { ssrc: number; at: number }[] = [];
  const pacer = new KeyframePacer((ssrc) => plis.push({ ssrc, at: Date.now() }));
  return { pacer, plis, tick: (ms: number) => t.mock.timers.tick(ms) };
}

describe('KeyframePacer', () => {
  test('the first request sends a PLI at once', (t) => {
    const { pacer, plis } = setup(t);
    pacer.request(7);
    assert.deepEqual(plis, [{ ssrc: 7, at: 0 }]);
  });

  test('a request inside the interval is deferred to the interval\'s end, not dropped', (t) => {
    const { pacer, plis, tick } = setup(t);
    pacer.request(7);
    tick(100);
    pacer.request(7);
    assert.equal(plis.length, 1, 'no second PLI inside the interval');
    tick(INTERVAL - 100 - 1);
    assert.equal(plis.length, 1);
    tick(1);
    assert.deepEqual(plis, [{ ssrc: 7, at: 0 }, { ssrc: 7, at: INTERVAL }]);
  });

  test('many requests inside one interval make one deferred PLI; the next interval paces from it', (t) => {
    const { pacer, plis, tick } = setup(t);
    pacer.request(7);
    for (let i = 0; i < 5; i++) {
      tick(20);
      pacer.request(7);
    }
    tick(INTERVAL - 100);
    tick(INTERVAL * 3);
    assert.deepEqual(plis.map((p) => p.at), [0, INTERVAL]);
    pacer.request(7);
    assert.equal(plis.length, 3, 'long after the last PLI a request is sent at once');
    assert.equal(plis[2]!.at, INTERVAL * 4);
  });

  test('a request an interval after the last PLI is sent at once', (t) => {
    const { pacer, plis, tick } = setup(t);
    pacer.request(7);
    tick(INTERVAL);
    pacer.request(7);
    assert.deepEqual(plis.map((p) => p.at), [0, INTERVAL]);
  });

  test('SSRCs are paced apart', (t) => {
    const { pacer, plis, tick } = setup(t);
    pacer.request(1);
    pacer.request(2);
    tick(10);
    pacer.request(3);
    assert.deepEqual(plis, [{ ssrc: 1, at: 0 }, { ssrc: 2, at: 0 }, { ssrc: 3, at: 10 }]);
    pacer.request(1);
    tick(INTERVAL - 10);
    assert.deepEqual(plis.slice(3), [{ ssrc: 1, at: INTERVAL }], 'only the SSRC asked again is deferred');
  });

  test('a keyframe arriving before the deferred PLI drops it (only for its SSRC)', (t) => {
    const { pacer, plis, tick } = setup(t);
    pacer.request(1);
    pacer.request(2);
    tick(50);
    pacer.request(1);
    pacer.request(2);
    pacer.keyframeArrived(1);
    tick(INTERVAL - 50);
    tick(INTERVAL);
    assert.deepEqual(plis.map((p) => [p.ssrc, p.at]), [[1, 0], [2, 0], [2, INTERVAL]]);
    pacer.keyframeArrived(1);
    pacer.request(1);
    assert.equal(plis.at(-1)!.ssrc, 1, 'a later request still goes out');
  });

  test('close() cancels a deferred PLI and later requests send nothing', (t) => {
    const { pacer, plis, tick } = setup(t);
    pacer.request(1);
    pacer.request(1);
    pacer.close();
    tick(INTERVAL * 2);
    pacer.request(9);
    assert.equal(plis.length, 1);
  });

  test('through a Producer: requestKeyframe is paced and counted; a keyframe packet drops the deferred PLI', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
    const stats = emptyMediaStats();
    const router = new Router('room', stats, () => {});
    const plis: number[] = [];
    const codec = { payloadType: 96, name: 'VP8', clockRate: 90000, rtcpFb: [] };
    const producer = router.produce({ trackId: 't', peerId: 'p', kind: 'video', codec, rids: [] }, { sendPli: (s) => plis.push(s) });
    producer.variantSsrcs.set('', 0xabc);
    producer.requestKeyframe();
    producer.requestKeyframe('');
    assert.deepEqual(plis, [0xabc]);
    feed(producer, rtp({ ssrc: 0xabc, pt: 96, payload: VP8_DELTA }));
    t.mock.timers.tick(INTERVAL);
    assert.deepEqual(plis, [0xabc, 0xabc], 'a delta frame does not drop the deferred PLI');
    t.mock.timers.tick(10);
    producer.requestKeyframe();
    feed(producer, rtp({ ssrc: 0xabc, pt: 96, payload: VP8_KEY }));
    t.mock.timers.tick(INTERVAL * 2);
    assert.deepEqual(plis, [0xabc, 0xabc], 'the keyframe served the deferred request');
    assert.equal(stats.keyframeRequests, 2);
  });
});
