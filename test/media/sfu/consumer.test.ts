// Per-receiver forwarding: SSRC/payload-type/sequence/timestamp rewriting, simulcast switches only at
// keyframes with continuous numbering, NACK answered from the buffer, keyframe-request throttling.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KEYFRAME_REQUEST_INTERVAL_MS } from '../../../src/media/sfu/keyframe-pacer.js';
import { emptyMediaStats } from '../../../src/media/sfu/media-stats.js';
import { Router } from '../../../src/media/sfu/router.js';
import type { StreamVariant } from '../../../src/media/sfu/stream-variant.js';
import { parseRtpHeader } from '../../../src/media/wire/rtp.js';
import type { Codec } from '../../../src/media/wire/sdp.js';

const VP8: Codec = { payloadType: 96, name: 'VP8', clockRate: 90000, rtcpFb: [] };

/** A VP8 RTP packet; keyframe = start of partition 0 with the P bit clear. */
function vp8(seq: number, ts: number, ssrc: number, keyframe: boolean): Buffer {
  const b = Buffer.alloc(12 + 4);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  b[12] = 0x10; // S=1, PID=0
  b[13] = keyframe ? 0x00 : 0x01; // P bit: 0 = keyframe
  b[14] = 0xaa;
  b[15] = 0xbb;
  return b;
}

const spec = (rids: ('l' | 'm' | 'h')[]) => ({ trackId: 't', peerId: 'p', kind: 'video' as const, codec: VP8, rids });

function setup(rids: ('l' | 'm' | 'h')[] = []) {
  const plis: number[] = [];
  const stats = emptyMediaStats();
  const router = new Router('room', stats, () => {});
  const producer = router.produce(spec(rids), { sendPli: (ssrc) => plis.push(ssrc) });
  const sent: Buffer[] = [];
  const switched: string[] = [];
  const consumer = router.consume(producer, {
    ssrc: 0xabcdef01,
    payloadType: 100,
    targetVariant: 'm',
    send: (p, length) => {
      const copy = Buffer.from(p.subarray(0, length)); // p is the consumer's scratch
      sent.push(copy);
      return copy;
    },
    resend: (kept) => sent.push(kept as Buffer),
    nack: true,
    onVariantSwitched: (l) => switched.push(l),
  });
  consumer.start();
  plis.length = 0;
  const feed = (pkt: Buffer, layer: StreamVariant) => producer.onRtp(pkt, parseRtpHeader(pkt)!, layer);
  return { producer, consumer, sent, switched, plis, feed, stats };
}

describe('Consumer', () => {
  test('waits for a keyframe, then rewrites SSRC, payload type, sequence and timestamp; payload unchanged', () => {
    const { sent, feed } = setup();
    feed(vp8(1000, 5000, 1, false), '');
    assert.equal(sent.length, 0, 'no delta frame before the first keyframe');
    feed(vp8(1001, 5000, 1, true), '');
    feed(vp8(1002, 8000, 1, false), '');
    assert.equal(sent.length, 2);
    const [h1, h2] = sent.map((p) => parseRtpHeader(p)!);
    assert.equal(h1.ssrc, 0xabcdef01);
    assert.equal(h1.payloadType, 100);
    assert.equal((h2.sequenceNumber - h1.sequenceNumber) & 0xffff, 1);
    assert.equal((h2.timestamp - h1.timestamp) >>> 0, 3000);
    assert.deepEqual(sent[1].subarray(12), vp8(1002, 8000, 1, false).subarray(12));
  });

  test('simulcast: forwards only the target layer, switches at its keyframe with continuous sequence numbers', () => {
    const { consumer, sent, switched, feed, producer, plis } = setup(['l', 'm', 'h']);
    producer.variantSsrcs.set('l', 11).set('m', 22).set('h', 33);
    feed(vp8(10, 100, 11, true), 'l');
    feed(vp8(500, 100, 22, true), 'm');
    feed(vp8(501, 3100, 22, false), 'm');
    assert.deepEqual(switched, ['m']);
    assert.equal(sent.length, 2);
    consumer.setTargetVariant('h');
    assert.deepEqual(plis, [33], 'keyframe requested on the new layer');
    feed(vp8(502, 6100, 22, false), 'm'); // still on m until h has a keyframe
    feed(vp8(9000, 6100, 33, false), 'h'); // h delta frame: ignored
    feed(vp8(9001, 9100, 33, true), 'h');
    feed(vp8(9002, 12100, 33, false), 'h');
    assert.deepEqual(switched, ['m', 'h']);
    const seqs = sent.map((p) => parseRtpHeader(p)!.sequenceNumber);
    for (let i = 1; i < seqs.length; i++) assert.equal((seqs[i] - seqs[i - 1]) & 0xffff, 1, `seqs ${seqs}`);
    assert.ok(sent.every((p) => parseRtpHeader(p)!.ssrc === 0xabcdef01));
  });

  test('NACK is answered with the identical rewritten packet from the buffer', () => {
    const { consumer, sent, feed } = setup();
    feed(vp8(1, 0, 1, true), '');
    feed(vp8(2, 3000, 1, false), '');
    const lost = parseRtpHeader(sent[1])!.sequenceNumber;
    consumer.retransmit([lost, (lost + 100) & 0xffff]);
    assert.equal(sent.length, 3);
    assert.equal(sent[2], sent[1], 'the very buffer send() returned');
  });

  test('after a layer switch, NACKs for packets of the stream left behind are refused; the new one is served', () => {
    const { consumer, sent, feed, producer, stats } = setup(['l', 'm', 'h']);
    producer.variantSsrcs.set('l', 11).set('m', 22).set('h', 33);
    feed(vp8(500, 100, 22, true), 'm');
    feed(vp8(501, 3100, 22, false), 'm');
    const oldSeq = parseRtpHeader(sent[1]!)!.sequenceNumber;
    consumer.allocate('l');
    feed(vp8(10, 6100, 11, true), 'l');
    feed(vp8(11, 9100, 11, false), 'l');
    const newSeq = parseRtpHeader(sent[3]!)!.sequenceNumber;
    const before = sent.length;
    consumer.retransmit([oldSeq, newSeq]);
    assert.equal(sent.length, before + 1);
    assert.equal(sent.at(-1), sent[3], 'the l packet resent');
    assert.equal(stats.rtpRetransmitRefused, 1, 'the m packet refused');
  });

  test('NACK budget: the same packet NACKed again at once is not resent again (counted as refused)', () => {
    const { consumer, sent, feed, stats } = setup();
    feed(vp8(1, 0, 1, true), '');
    feed(vp8(2, 3000, 1, false), '');
    const lost = parseRtpHeader(sent[1])!.sequenceNumber;
    for (let i = 0; i < 50; i++) consumer.retransmit([lost]);
    assert.equal(sent.length, 3, 'one resend for 50 NACKs inside one round trip');
    assert.equal(stats.rtpRetransmitted, 1);
    assert.equal(stats.rtpRetransmitRefused, 49);
  });

  test('keyframe requests: one PLI per interval per layer; a request inside it is deferred, not dropped', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const { producer, plis } = setup();
    producer.variantSsrcs.set('', 7);
    for (let i = 0; i < 10; i++) producer.requestKeyframe();
    assert.deepEqual(plis, [7], 'one PLI at once');
    t.mock.timers.tick(KEYFRAME_REQUEST_INTERVAL_MS - 1);
    assert.deepEqual(plis, [7]);
    t.mock.timers.tick(1);
    assert.deepEqual(plis, [7, 7], 'the requests inside the interval became one PLI at its end');
    t.mock.timers.tick(10 * KEYFRAME_REQUEST_INTERVAL_MS);
    assert.deepEqual(plis, [7, 7], 'nothing more without a new request');
  });

  test('keyframe requests: a keyframe arriving before the deferred PLI cancels it; layers are paced apart', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const { producer, plis, feed } = setup(['l', 'm', 'h']);
    producer.variantSsrcs.set('l', 11).set('m', 22).set('h', 33);
    producer.requestKeyframe('m');
    producer.requestKeyframe('h');
    assert.deepEqual(plis, [22, 33], 'a request on another layer is not held back');
    producer.requestKeyframe('m'); // deferred
    feed(vp8(1, 0, 22, true), 'm');
    t.mock.timers.tick(KEYFRAME_REQUEST_INTERVAL_MS);
    assert.deepEqual(plis, [22, 33], 'the keyframe made the deferred request unnecessary');
  });

  test('nothing is forwarded before start(): the keyframe waits for a transport that can receive', () => {
    const plis: number[] = [];
    const router = new Router('room', emptyMediaStats(), () => {});
    const producer = router.produce(spec([]), { sendPli: (ssrc) => plis.push(ssrc) });
    producer.variantSsrcs.set('', 1);
    const sent: Buffer[] = [];
    const consumer = router.consume(producer, {
      ssrc: 5,
      payloadType: 96,
      targetVariant: 'm',
      send: (p, length) => {
        sent.push(Buffer.from(p.subarray(0, length)));
        return undefined;
      },
      resend: () => {},
      nack: false,
      onVariantSwitched: () => {},
    });
    const feed = (pkt: Buffer) => producer.onRtp(pkt, parseRtpHeader(pkt)!, '');
    feed(vp8(1, 0, 1, true));
    assert.equal(sent.length, 0);
    consumer.start();
    assert.deepEqual(plis, [1], 'start asks for a keyframe');
    feed(vp8(2, 3000, 1, false));
    assert.equal(sent.length, 0, 'a delta frame cannot start the stream');
    feed(vp8(3, 6000, 1, true));
    assert.equal(sent.length, 1);
    consumer.retransmit([parseRtpHeader(sent[0]!)!.sequenceNumber]);
    assert.equal(sent.length, 1, 'without negotiated NACK nothing is kept to resend');
    consumer.close();
  });

  test('a closed consumer forwards nothing and leaves its producer', () => {
    const { consumer, producer, sent, feed } = setup();
    consumer.close();
    feed(vp8(1, 0, 1, true), '');
    assert.equal(sent.length, 0);
    assert.equal(producer.sinkCount, 0);
  });
});
