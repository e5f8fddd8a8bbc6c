// The send-side estimate on synthetic transport-cc feedback: a simulated sender and link (bottleneck
// rate, constant base delay, optional random loss) produce the feedback a receiver would send; the
// estimate must follow the link down on queueing delay and on loss, grow on a clean link, stay inside
// its bounds, and ignore feedback about packets it never sent.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BandwidthEstimator } from '../../../../src/media/sfu/bwe/estimator.js';
import { MAX_BITRATE, MIN_BITRATE } from '../../../../src/media/sfu/bwe/rate-control.js';
import { SendHistory } from '../../../../src/media/sfu/bwe/send-history.js';
import type { TwccFeedback, TwccPacketStatus } from '../../../../src/media/wire/twcc.js';

interface Link {
  /** Bottleneck rate, bits per second (Infinity = no bottleneck). */
  rateBps: number;
  /** Random loss ratio. */
  loss: number;
  /** Queue limit in ms at the bottleneck rate (a tbf-like drop-tail queue). */
  queueMs: number;
}

/** A deterministic PRNG (tests must not flake). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Sends `sendBps(now)` worth of 1000-byte packets for `seconds` through `link`, feedback every 50 ms;
 * returns the estimate after each second.
 */
function simulate(est: BandwidthEstimator, history: SendHistory, seconds: number, sendBps: (est: number) => number, link: (t: number) => Link, seed = 1): number[] {
  const rand = prng(seed);
  const size = 1000;
  let t = 0;
  let queueFreeAt = 0;
  let pending: TwccPacketStatus[] = [];
  let baseSeq = -1;
  let nextFeedback = 50;
  let nextSend = 0;
  const perSecond: number[] = [];
  const end = seconds * 1000;
  for (t = 0; t <= end; t += 1) {
    while (nextSend <= t) {
      const seq = history.nextSeq();
      history.record(seq, nextSend, size);
      const l = link(nextSend);
      let arrival: number | undefined;
      const serialize = (size * 8 * 1000) / l.rateBps;
      const start = Math.max(nextSend, queueFreeAt);
      if (start - nextSend <= l.queueMs && rand() >= l.loss) {
        queueFreeAt = start + serialize;
        arrival = queueFreeAt + 20;
      } else if (start - nextSend > l.queueMs) {
        arrival = undefined; // queue full: dropped
      }
      if (baseSeq < 0) baseSeq = seq;
      pending.push({ seq, arrivalUs: arrival === undefined ? undefined : Math.round(arrival * 1000) });
      nextSend += (size * 8 * 1000) / Math.max(1, sendBps(est.bitrate));
    }
    if (t >= nextFeedback) {
      nextFeedback += 50;
      // The receiver reports packets that have arrived by now (and losses before the newest arrival).
      const ready = pending.filter((p) => p.arrivalUs === undefined || p.arrivalUs <= t * 1000);
      if (ready.length > 0 && ready.length === pending.length) {
        const fb: TwccFeedback = { senderSsrc: 1, mediaSsrc: 0, baseSeq, referenceTimeUs: 0, feedbackCount: 0, packets: pending };
        est.onFeedback(fb, t);
        baseSeq = -1;
        pending = [];
      } else if (ready.length > 0) {
        let n = 0;
        while (n < pending.length && (pending[n]!.arrivalUs === undefined || pending[n]!.arrivalUs! <= t * 1000)) n++;
        if (n > 0) {
          est.onFeedback({ senderSsrc: 1, mediaSsrc: 0, baseSeq, referenceTimeUs: 0, feedbackCount: 0, packets: pending.slice(0, n) }, t);
          pending = pending.slice(n);
          baseSeq = pending[0]!.seq;
        }
      }
    }
    if (t % 1000 === 0 && t > 0) perSecond.push(est.bitrate);
  }
  return perSecond;
}

describe('BandwidthEstimator', () => {
  test('a clean link: the estimate grows while the sender follows it, never above 1.5 × what arrives + 10 kbit/s', () => {
    const history = new SendHistory();
    const est = new BandwidthEstimator(history, 300_000);
    const series = simulate(est, history, 10, (e) => e, () => ({ rateBps: 50_000_000, loss: 0, queueMs: 100 }));
    assert.ok(series.at(-1)! > 600_000, `grew: ${series.map((b) => Math.round(b / 1000))}`);
    for (let i = 1; i < series.length; i++) assert.ok(series[i]! >= series[i - 1]! * 0.99, `no drop on a clean link: ${series}`);
    const snap = est.snapshot();
    assert.ok(snap.bitrate <= 1.5 * snap.ackedBps + 10_000 + 1, `${JSON.stringify(snap)}`);
  });

  test('sending 1 Mbit/s into a 300 kbit/s bottleneck: the estimate falls near the link rate within 3 s', () => {
    const history = new SendHistory();
    const est = new BandwidthEstimator(history, 1_000_000);
    const series = simulate(est, history, 6, (e) => e, () => ({ rateBps: 300_000, loss: 0, queueMs: 100 }));
    assert.ok(series[2]! < 400_000, `within 3 s: ${series.map((b) => Math.round(b / 1000))}`);
    assert.ok(series.at(-1)! < 400_000 && series.at(-1)! > 100_000, `settles near 300 kbit/s: ${series.map((b) => Math.round(b / 1000))}`);
  });

  test('the link recovers: the estimate climbs again', () => {
    const history = new SendHistory();
    const est = new BandwidthEstimator(history, 1_000_000);
    const series = simulate(est, history, 16, (e) => e, (t) => ({ rateBps: t < 4000 ? 300_000 : 10_000_000, loss: 0, queueMs: 100 }));
    assert.ok(series[3]! < 400_000, `down first: ${series.map((b) => Math.round(b / 1000))}`);
    assert.ok(series.at(-1)! > 2 * series[3]!, `up again: ${series.map((b) => Math.round(b / 1000))}`);
  });

  test('30 % random loss without queueing: the estimate decreases; 1 % loss: it does not', () => {
    const h1 = new SendHistory();
    const lossy = new BandwidthEstimator(h1, 1_000_000);
    const s1 = simulate(lossy, h1, 5, () => 800_000, () => ({ rateBps: 100_000_000, loss: 0.3, queueMs: 100 }));
    assert.ok(s1.at(-1)! < 500_000, `30 % loss: ${s1.map((b) => Math.round(b / 1000))}`);
    assert.ok(lossy.snapshot().loss > 0.2);
    const h2 = new SendHistory();
    const light = new BandwidthEstimator(h2, 500_000);
    const s2 = simulate(light, h2, 5, () => 500_000, () => ({ rateBps: 100_000_000, loss: 0.01, queueMs: 100 }), 7);
    assert.ok(s2.at(-1)! >= 500_000, `1 % loss: ${s2.map((b) => Math.round(b / 1000))}`);
  });

  test('bounded: total loss holds it at the minimum; feedback about unknown packets changes nothing and never throws', () => {
    const history = new SendHistory();
    const est = new BandwidthEstimator(history, 200_000);
    simulate(est, history, 20, () => 200_000, () => ({ rateBps: 100_000_000, loss: 1, queueMs: 100 }));
    assert.equal(est.bitrate, MIN_BITRATE);
    const fresh = new BandwidthEstimator(new SendHistory(), 400_000);
    const packets = Array.from({ length: 500 }, (_, i) => ({ seq: i, arrivalUs: i % 3 === 0 ? undefined : i * 1000 }));
    for (let k = 0; k < 20; k++) fresh.onFeedback({ senderSsrc: 1, mediaSsrc: 0, baseSeq: k * 97, referenceTimeUs: 0, feedbackCount: k, packets }, k * 50);
    assert.equal(fresh.bitrate, 400_000);
    assert.ok(MAX_BITRATE >= 20_000_000);
  });
});
