// Bandwidth probing: the padding-only RTX packet a probe is made of, a consumer sending it (stamped and
// recorded like media), the prober's verdict on a simulated link (a wide one: success at about the
// target; a narrow drop-tail one: failure within a few feedbacks, padding stopped, the estimate's
// congestion undone by the caller, next probe backed off and capped), and the allocator's "what would
// the next step need" that a probe aims at.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Allocator, type AllocTrack } from '../../../../src/media/sfu/allocator.js';
import { MAX_BACKOFF_MS, MIN_BACKOFF_MS, PROBE_MS, Prober, type ProbeVerdict } from '../../../../src/media/sfu/bwe/prober.js';
import { RateControl } from '../../../../src/media/sfu/bwe/rate-control.js';
import { SendHistory } from '../../../../src/media/sfu/bwe/send-history.js';
import { emptyMediaStats } from '../../../../src/media/sfu/media-stats.js';
import { Router } from '../../../../src/media/sfu/router.js';
import { writeRtxPadding } from '../../../../src/media/sfu/rtx.js';
import { getHeaderExtension, parseRtpHeader } from '../../../../src/media/wire/rtp.js';
import type { Codec } from '../../../../src/media/wire/sdp.js';
import type { TwccPacketStatus } from '../../../../src/media/wire/twcc.js';
import { feed, rtp, VP8_KEY } from '../test-packets.js';

describe('writeRtxPadding', () => {
  test('a padding-only RTX packet: P bit, no payload, the last byte counts the padding, transport-wide seq in a one-byte element', () => {
    const out = Buffer.alloc(1500);
    const n = writeRtxPadding({ ssrc: 0xa1b2c3d4, payloadType: 97, sequenceNumber: 0x1_0007, timestamp: 123456, transportSeqExtId: 3, transportSeq: 0x0102 }, 200, out);
    assert.equal(n, 12 + 8 + 200);
    const h = parseRtpHeader(out.subarray(0, n))!;
    assert.ok(h, 'parses as RTP');
    assert.equal(out[0]! & 0x20, 0x20, 'padding bit');
    assert.equal(h.payloadLength, 0);
    assert.equal(h.ssrc, 0xa1b2c3d4);
    assert.equal(h.payloadType, 97);
    assert.equal(h.sequenceNumber, 7);
    assert.equal(h.timestamp, 123456);
    assert.equal(out[n - 1], 200);
    assert.equal(getHeaderExtension(out, h, 3)!.readUInt16BE(0), 0x0102);
  });

  test('bounded: padding 1..255, a one-byte extension id, room in the output; else −1', () => {
    const p = { ssrc: 1, payloadType: 97, sequenceNumber: 1, timestamp: 0, transportSeqExtId: 3, transportSeq: 1 };
    for (const bad of [0, 256, 1.5, -1]) assert.equal(writeRtxPadding(p, bad, Buffer.alloc(1500)), -1, String(bad));
    assert.equal(writeRtxPadding({ ...p, transportSeqExtId: 15 }, 10, Buffer.alloc(1500)), -1);
    assert.equal(writeRtxPadding(p, 255, Buffer.alloc(100)), -1);
    assert.equal(writeRtxPadding({ ssrc: 1, payloadType: 97, sequenceNumber: 1, timestamp: 0 }, 1, Buffer.alloc(13)), 13, 'no extension: header and one byte');
  });
});

describe('Consumer.sendPadding', () => {
  const VP8: Codec = { payloadType: 96, name: 'VP8', clockRate: 90000, rtcpFb: ['nack'], rtxPayloadType: 97 };
  function consumer(rtx: boolean) {
    const router = new Router('room', emptyMediaStats(), () => {});
    const producer = router.produce({ trackId: 't', peerId: 'p', kind: 'video', codec: VP8, rids: [] }, { sendPli: () => {} });
    const history = new SendHistory();
    const sent: Buffer[] = [];
    const c = router.consume(producer, {
      ssrc: 5,
      payloadType: 96,
      targetVariant: 'm',
      send: (b, n) => {
        sent.push(Buffer.from(b.subarray(0, n)));
        return undefined;
      },
      resend: () => {},
      nack: true,
      rtx: rtx ? { ssrc: 6, payloadType: 97 } : undefined,
      onVariantSwitched: () => {},
      transportCc: { extId: 3, history },
    });
    c.start();
    feed(producer, rtp({ ssrc: 1, pt: 96, seq: 1, ts: 900, payload: VP8_KEY }), '');
    sent.length = 0;
    return { c, sent, history };
  }

  test('on the RTX stream, each packet with the next transport-wide seq and recorded; about the bytes asked for', () => {
    const { c, sent, history } = consumer(true);
    const first = history.peekSeq();
    const bytes = c.sendPadding(1000, 42);
    assert.ok(bytes >= 1000 - 64 && bytes <= 1000, `sent ${bytes}`);
    assert.equal(sent.reduce((a, b) => a + b.length, 0), bytes);
    sent.forEach((b, i) => {
      const h = parseRtpHeader(b)!;
      assert.equal(h.ssrc, 6);
      assert.equal(h.payloadType, 97);
      assert.equal(h.payloadLength, 0);
      const tseq = getHeaderExtension(b, h, 3)!.readUInt16BE(0);
      assert.equal(tseq, first + i);
      assert.equal(history.sentAt(tseq), 42);
      assert.equal(history.size(tseq), b.length);
    });
  });

  test('without an RTX stream nothing is sent', () => {
    const { c, sent } = consumer(false);
    assert.equal(c.canPad, false);
    assert.equal(c.sendPadding(1000, 0), 0);
    assert.equal(sent.length, 0);
  });
});

/**
 * Runs a probe of `targetBps` through a drop-tail link of `rateBps` (queue `queueMs`) while `mediaBps` of
 * media flows, feedback every 50 ms; returns the verdict, when it came and the padding sent after it.
 */
function probeOver(rateBps: number, queueMs: number, targetBps: number, mediaBps = 200_000) {
  const history = new SendHistory();
  const prober = new Prober(history);
  prober.start(targetBps, mediaBps, 0);
  let queueFreeAt = 0;
  let pending: TwccPacketStatus[] = [];
  let base = -1;
  let verdict: ProbeVerdict | undefined;
  let at = -1;
  let paddingAfter = 0;
  let mediaOwed = 0;
  const send = (size: number, now: number) => {
    const seq = history.nextSeq();
    history.record(seq, now, size);
    const start = Math.max(now, queueFreeAt);
    let arrivalUs: number | undefined;
    if (start - now <= queueMs) {
      queueFreeAt = start + (size * 8000) / rateBps;
      arrivalUs = Math.round((queueFreeAt + 20) * 1000);
    }
    if (base < 0) base = seq;
    pending.push({ seq, arrivalUs });
  };
  for (let now = 0; now <= 3000; now += 5) {
    mediaOwed += (mediaBps * 5) / 8000;
    while (mediaOwed >= 1000) {
      send(1000, now);
      mediaOwed -= 1000;
    }
    const owed = prober.owed(now);
    let padded = 0;
    while (owed - padded >= 275) {
      send(275, now);
      padded += 275;
    }
    if (verdict) paddingAfter += padded;
    if (now % 50 === 0) {
      // The receiver reports, in order, what has arrived by now (and the losses among it).
      let n = 0;
      while (n < pending.length && (pending[n]!.arrivalUs === undefined || pending[n]!.arrivalUs! <= now * 1000)) n++;
      if (n > 0) {
        const v = prober.onFeedback({ senderSsrc: 1, mediaSsrc: 0, baseSeq: base, referenceTimeUs: 0, feedbackCount: 0, packets: pending.slice(0, n) }, false, now);
        pending = pending.slice(n);
        base = pending.length > 0 ? pending[0]!.seq : -1;
        if (v && !verdict) {
          verdict = v;
          at = now;
        }
      }
    }
  }
  return { verdict, at, paddingAfter, prober };
}

describe('Prober', () => {
  test('a wide link: succeeds after the probe with about the target (≥ 85 %, never above)', () => {
    const { verdict, at } = probeOver(10_000_000, 100, 1_000_000);
    assert.ok(verdict?.ok, JSON.stringify(verdict));
    if (!verdict.ok) return;
    assert.ok(verdict.bps >= 850_000 && verdict.bps <= 1_000_000, `probed ${verdict.bps}`);
    assert.ok(at >= PROBE_MS && at <= PROBE_MS + 600, `verdict at ${at} ms`);
  });

  test('a narrow drop-tail link: fails within 200 ms, stops padding, says the estimate before it', () => {
    const { verdict, at, paddingAfter } = probeOver(300_000, 100, 700_000, 150_000);
    assert.deepEqual(verdict, { ok: false, beforeBps: 150_000 });
    assert.ok(at <= 200, `verdict at ${at} ms`);
    assert.equal(paddingAfter, 0);
  });

  test('a deep queue fails it on delay before any loss', () => {
    const { verdict, at } = probeOver(300_000, 2000, 700_000, 150_000);
    assert.equal(verdict?.ok, false);
    assert.ok(at <= 200, `verdict at ${at} ms`);
  });

  test('failures back off from MIN_BACKOFF_MS, doubling, capped at MAX_BACKOFF_MS; one at a time', () => {
    const history = new SendHistory();
    const prober = new Prober(history);
    let now = 0;
    const gaps: number[] = [];
    for (let i = 0; i < 6; i++) {
      prober.start(1_000_000, 100_000, now);
      assert.equal(prober.mayStart(now), false, 'one probe at a time');
      const seq = history.nextSeq();
      history.record(seq, now, 1000);
      const v = prober.onFeedback({ senderSsrc: 1, mediaSsrc: 0, baseSeq: seq, referenceTimeUs: 0, feedbackCount: 0, packets: [{ seq }] }, true, now + 50);
      assert.equal(v?.ok, false);
      const from = now + 50;
      let next = from;
      while (!prober.mayStart(next)) next += 100;
      gaps.push(next - from);
      now = next;
    }
    const doubling = [1, 2, 4, 8, 16, 32].map((k) => Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * k));
    assert.deepEqual(gaps, doubling);
    assert.equal(gaps.at(-1), MAX_BACKOFF_MS, 'capped');
    assert.deepEqual(prober.counts, { started: 6, succeeded: 0, failed: 6 });
    // A resume probe fails too: the next resume probe waits only MIN_BACKOFF_MS, an upgrade the backoff.
    prober.start(1_000_000, 100_000, now, true);
    const seq = history.nextSeq();
    history.record(seq, now, 1000);
    prober.onFeedback({ senderSsrc: 1, mediaSsrc: 0, baseSeq: seq, referenceTimeUs: 0, feedbackCount: 0, packets: [{ seq }] }, true, now);
    assert.equal(prober.mayStart(now + MIN_BACKOFF_MS - 100, true), false);
    assert.equal(prober.mayStart(now + MIN_BACKOFF_MS, true), true, 'a resume probe waits only MIN_BACKOFF_MS');
    assert.equal(prober.mayStart(now + MIN_BACKOFF_MS, false), false, 'an upgrade probe waits out the backoff');
  });
});

describe('Allocator.nextStep', () => {
  const audio: AllocTrack = { key: 'a', kind: 'audio', layers: [0], level: 0 };
  const video = (level: number): AllocTrack => ({ key: 'v', kind: 'video', layers: [150_000, 500_000], level });

  test('what one step up needs: the others, plus the next layer with its margin, over the usable part', () => {
    const a = new Allocator();
    const levels = a.allocate([audio, video(0)], 250_000, 10_000);
    assert.deepEqual(levels, [0, 0]);
    const step = a.nextStep([audio, video(0)], levels, 10_000)!;
    assert.equal(step.resume, false);
    assert.ok(Math.abs(step.bps - (40_000 + 500_000 * 1.15) / 0.9) < 1, String(step.bps));
    assert.deepEqual(a.allocate([audio, video(0)], step.bps + 1, 10_000), [0, 1], 'that estimate grants the step');
    assert.deepEqual(new Allocator().allocate([audio, video(0)], step.bps - 1000, 10_000), [0, 0], 'just under it does not');
  });

  test('a paused track: what resuming needs (a resume); everything at its top: none', () => {
    const a = new Allocator();
    const step = a.nextStep([audio, video(-1)], [0, -1], 10_000)!;
    assert.equal(step.resume, true);
    assert.ok(Math.abs(step.bps - (40_000 + 150_000 * 1.3) / 0.9) < 1);
    assert.equal(a.nextStep([audio, video(1)], [0, 1], 10_000), undefined);
  });

  test('topStep: what every track on its top layer needs; an estimate of it raises l to the top in one allocation', () => {
    const three: AllocTrack = { key: 'v', kind: 'video', layers: [150_000, 500_000, 1_500_000], level: 0 };
    const a = new Allocator();
    const top = a.topStep([audio, three], [0, 0], 10_000)!;
    assert.ok(Math.abs(top - (40_000 + 1_500_000 * 1.15) / 0.9) < 1, String(top));
    assert.deepEqual(a.allocate([audio, three], top + 1, 10_000), [0, 2], 'l straight to h');
    assert.equal(a.topStep([audio, { ...three, level: 2 }], [0, 2], 20_000), undefined, 'nothing to rise');
  });

  test('a burst of retransmissions does not pause a playing track (it lowers what would rise)', () => {
    const a = new Allocator();
    assert.deepEqual(a.allocate([audio, video(0)], 240_000, 10_000, 185_000), [0, 0]);
  });
});

describe('RateControl after a probe', () => {
  test('probed() jumps up, never down; restore() goes back up and holds through the settle time, then moves again', () => {
    const r = new RateControl(300_000);
    assert.equal(r.probed(200_000), 300_000);
    assert.equal(r.probed(900_000), 900_000);
    r.update('overusing', 0, 200_000, 1000);
    assert.ok(r.bitrate < 900_000, 'an overuse cuts it');
    r.restore(900_000, 1000, 1000);
    assert.equal(r.bitrate, 900_000);
    assert.equal(r.update('overusing', 0.3, 200_000, 1500), 900_000, 'held while the probe settles');
    assert.ok(r.update('overusing', 0.3, 200_000, 2100) < 900_000, 'then congestion cuts again');
  });
});
