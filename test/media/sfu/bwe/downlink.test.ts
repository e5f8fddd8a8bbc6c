// A subscriber's downlink end to end without sockets: a consumer with transport-cc stamps each packet
// with consecutive transport-wide sequence numbers (and records them), the subscriber's transport-cc
// feedback (built with the shared codec, inside an RTCP compound) moves the estimate, and the allocator
// lowers a simulcast track to l on a congested link, pauses it when nothing fits (telling the caller),
// and resumes it when the link is clean again.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Downlink } from '../../../../src/media/sfu/bwe/downlink.js';
import type { Consumer } from '../../../../src/media/sfu/consumer.js';
import { emptyMediaStats } from '../../../../src/media/sfu/media-stats.js';
import { Router } from '../../../../src/media/sfu/router.js';
import { buildRr } from '../../../../src/media/wire/rtcp.js';
import { getHeaderExtension, parseRtpHeader } from '../../../../src/media/wire/rtp.js';
import type { Codec } from '../../../../src/media/wire/sdp.js';
import { buildTwccFeedback } from '../../../../src/media/wire/twcc.js';
import { feed, rtp, VP8_DELTA, VP8_KEY } from '../test-packets.js';

const VP8: Codec = { payloadType: 96, name: 'VP8', clockRate: 90000, rtcpFb: [] };
const TWCC_ID = 5;

function setup() {
  const stats = emptyMediaStats();
  const router = new Router('room', stats, () => {});
  const producer = router.produce({ trackId: 't', peerId: 'p', kind: 'video', codec: VP8, rids: ['l', 'm', 'h'] }, { sendPli: () => {} });
  producer.variantSsrcs.set('l', 11).set('m', 22).set('h', 33);
  const sent: { tseq: number; at: number; size: number }[] = [];
  const paused: boolean[] = [];
  let consumer!: Consumer;
  const downlink = new Downlink({ consumers: () => [consumer], pausedChanged: (_c, p) => paused.push(p), stats });
  consumer = router.consume(producer, {
    ssrc: 0x1234,
    payloadType: 100,
    targetVariant: 'm',
    send: (p, length) => {
      const h = parseRtpHeader(p.subarray(0, length))!;
      sent.push({ tseq: getHeaderExtension(p, h, TWCC_ID)!.readUInt16BE(0), at: performance.now(), size: length });
      return Buffer.from(p.subarray(0, length));
    },
    resend: () => {},
    nack: false,
    onVariantSwitched: () => {},
    transportCc: { extId: TWCC_ID, history: downlink.history },
  });
  consumer.start();
  let seq = 0;
  const frame = (variant: 'l' | 'm' | 'h', key: boolean) => {
    const ssrc = { l: 11, m: 22, h: 33 }[variant];
    feed(producer, rtp({ ssrc, pt: 96, seq: seq++, ts: seq * 3000, payload: Buffer.concat([key ? VP8_KEY : VP8_DELTA, Buffer.alloc(280)]) }), variant);
  };
  return { stats, producer, consumer, downlink, sent, paused, frame };
}

/** Feedback for `packets` (received with a one-way delay growing by `growUs` per packet, or lost), in an RR compound. */
function feedback(packets: { tseq: number; at: number }[], lost: (i: number) => boolean, growUs: number): Buffer {
  const base = packets[0]!.tseq;
  const fb = buildTwccFeedback({
    senderSsrc: 1,
    mediaSsrc: 0x1234,
    baseSeq: base,
    referenceTimeUs: 0,
    feedbackCount: 0,
    packets: packets.map((p, i) => ({ seq: p.tseq, arrivalUs: lost(i) ? undefined : Math.round(p.at * 1000) + 20_000 + i * growUs })),
  });
  return Buffer.concat([buildRr(1, []), fb]);
}

describe('Downlink', () => {
  test('consecutive transport-wide sequence numbers on every packet; clean feedback keeps the target, heavy loss lowers then pauses, clean again resumes', (t) => {
    const { consumer, downlink, sent, paused, frame, stats } = setup();
    frame('m', true);
    for (let i = 0; i < 30; i++) frame('m', false);
    assert.equal(sent.length, 31);
    for (let i = 1; i < sent.length; i++) assert.equal(sent[i]!.tseq, (sent[i - 1]!.tseq + 1) & 0xffff);
    let now = performance.now();
    let fed = 0;
    const round = (lossEvery: number) => {
      for (let i = 0; i < 10; i++) frame((consumer.currentVariant || 'l') as 'l' | 'm' | 'h', i === 0);
      const batch = sent.slice(fed);
      fed = sent.length;
      now += 100;
      if (batch.length > 0) downlink.onRtcp(feedback(batch, (i) => lossEvery > 0 && i % lossEvery !== 0, 0), now);
    };
    for (let i = 0; i < 10; i++) round(0);
    assert.equal(consumer.allocation ?? 'm', 'm', 'clean link: stays on the target');
    assert.ok(stats.transportFeedbackReceived >= 10);
    for (let i = 0; i < 100 && !consumer.paused; i++) round(2); // 50 % loss (a pause waits PAUSE_AFTER_MS of misfit)
    assert.equal(consumer.paused, true, `paused at ${Math.round(downlink.estimate / 1000)} kbit/s`);
    assert.deepEqual(paused, [true]);
    assert.ok(stats.allocatorLayerChanges >= 1, 'went down to l first');
    // Paused: nothing is forwarded, so feedback comes only with audio in real life; feed an empty-loss
    // feedback for packets it did send before to let the estimate recover.
    for (let i = 0; i < 300 && consumer.paused; i++) {
      now += 100;
      const last = sent.slice(-20);
      downlink.onRtcp(feedback(last, () => false, 0), now);
    }
    t.diagnostic(`estimate ${Math.round(downlink.estimate / 1000)} kbit/s`);
    assert.equal(consumer.paused, false, 'resumed');
    assert.deepEqual(paused, [true, false]);
  });

  test('retransmissions count against the estimate: resending beyond the reserve lowers the layer', () => {
    const { consumer, downlink } = setup();
    const t0 = 1_000_000;
    downlink.allocate(t0); // 600 kbit/s start estimate: m (500 k assumed) fits
    assert.equal(consumer.allocation ?? 'm', 'm');
    downlink.allocate(t0 + 500);
    assert.equal(consumer.allocation ?? 'm', 'm', 'nothing resent: still m');
    consumer.retransmittedBytes += 12_500; // 200 kbit/s over the next 500 ms, 140 k beyond the 10 % reserve
    downlink.allocate(t0 + 1000);
    assert.equal(consumer.allocation, 'l');
  });

  test('malformed RTCP and feedback for unknown packets change nothing and never throw', () => {
    const { downlink } = setup();
    const before = downlink.estimate;
    for (const b of [Buffer.alloc(0), Buffer.from([0x8f, 205, 0xff, 0xff]), Buffer.alloc(64, 0xff), Buffer.from([0x8f, 205, 0, 1, 0, 0, 0, 0])]) downlink.onRtcp(b, 1);
    downlink.onRtcp(feedback([{ tseq: 40000, at: 0 }, { tseq: 40001, at: 1 }], () => true, 0), 2);
    assert.equal(downlink.estimate, before);
  });
});
