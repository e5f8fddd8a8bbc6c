// RTX to subscribers: the RFC 4588 packetizer (SSRC, payload type, own sequence numbers, OSN payload head,
// timestamp/marker/extensions kept, fresh transport-wide seq) and a consumer's NACK answer on its RTX stream.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SendHistory } from '../../../src/media/sfu/bwe/send-history.js';
import { emptyMediaStats } from '../../../src/media/sfu/media-stats.js';
import { Router } from '../../../src/media/sfu/router.js';
import { writeRtxPacket } from '../../../src/media/sfu/rtx.js';
import { getHeaderExtension, parseRtpHeader } from '../../../src/media/wire/rtp.js';
import type { Codec } from '../../../src/media/wire/sdp.js';

/** An RTP packet with a one-byte extension block holding a transport-cc element (id 3) and padding. */
function packet(seq: number, tseq: number, payload: number[], padding = 0): Buffer {
  const ext = [0xbe, 0xde, 0, 1, 0x31, tseq >> 8, tseq & 0xff, 0];
  const pad = padding > 0 ? [...new Array<number>(padding - 1).fill(0), padding] : [];
  const b = Buffer.from([0x90 | (padding > 0 ? 0x20 : 0), 0x80 | 100, seq >> 8, seq & 0xff, 0, 1, 0x86, 0xa0, 0xab, 0xcd, 0xef, 0x01, ...ext, ...payload, ...pad]);
  return b;
}

describe('writeRtxPacket', () => {
  test('RTX SSRC, payload type and sequence; OSN then the payload; timestamp, marker and other header bytes kept; transport seq replaced', () => {
    const orig = packet(0x1234, 7, [0x10, 0x00, 0xaa, 0xbb]);
    const before = Buffer.from(orig);
    const out = Buffer.alloc(1500);
    const n = writeRtxPacket(orig, { ssrc: 0x11223344, payloadType: 101, sequenceNumber: 0x10005, transportSeqExtId: 3, transportSeq: 0x4242 }, out);
    assert.equal(n, orig.length + 2);
    const h = parseRtpHeader(out.subarray(0, n))!;
    assert.equal(h.ssrc, 0x11223344);
    assert.equal(h.payloadType, 101);
    assert.equal(h.sequenceNumber, 5, 'RTX seq taken mod 2^16');
    assert.equal(h.marker, true);
    assert.equal(h.timestamp, 100_000);
    assert.equal(out.readUInt16BE(h.payloadOffset), 0x1234, 'original sequence number first');
    assert.deepEqual([...out.subarray(h.payloadOffset + 2, n)], [0x10, 0x00, 0xaa, 0xbb]);
    assert.equal(getHeaderExtension(out, h, 3)!.readUInt16BE(0), 0x4242);
    assert.deepEqual(orig, before, 'the stored packet is not modified');
  });

  test('padding is not carried; without a transport-cc id the element is copied unchanged', () => {
    const orig = packet(9, 77, [1, 2, 3], 4);
    const out = Buffer.alloc(1500);
    const n = writeRtxPacket(orig, { ssrc: 1, payloadType: 97, sequenceNumber: 1 }, out);
    const h = parseRtpHeader(out.subarray(0, n))!;
    assert.equal(out[0]! & 0x20, 0, 'P bit cleared');
    assert.equal(h.payloadLength, 5);
    assert.deepEqual([...out.subarray(h.payloadOffset, n)], [0, 9, 1, 2, 3]);
    assert.equal(getHeaderExtension(out, h, 3)!.readUInt16BE(0), 77);
  });

  test('not RTP, or no room in the output: −1', () => {
    assert.equal(writeRtxPacket(Buffer.from([1, 2, 3]), { ssrc: 1, payloadType: 97, sequenceNumber: 1 }, Buffer.alloc(100)), -1);
    assert.equal(writeRtxPacket(packet(1, 1, [1, 2, 3]), { ssrc: 1, payloadType: 97, sequenceNumber: 1 }, Buffer.alloc(20)), -1);
  });
});

const VP8: Codec = { payloadType: 96, name: 'VP8', clockRate: 90000, rtcpFb: [] };

function vp8(seq: number, ts: number, keyframe: boolean): Buffer {
  return Buffer.from([0x80, 96, seq >> 8, seq & 0xff, ts >>> 24, (ts >> 16) & 0xff, (ts >> 8) & 0xff, ts & 0xff, 0, 0, 0, 1, 0x10, keyframe ? 0 : 1, 0xaa, 0xbb]);
}

function setup(rtx: boolean) {
  const stats = emptyMediaStats();
  const router = new Router('room', stats, () => {});
  const producer = router.produce({ trackId: 't', peerId: 'p', kind: 'video', codec: VP8, rids: [] }, { sendPli: () => {} });
  const sent: Buffer[] = [];
  const resent: Buffer[] = [];
  const history = new SendHistory();
  const consumer = router.consume(producer, {
    ssrc: 0xabcdef01,
    payloadType: 100,
    targetVariant: 'm',
    send: (p, length) => {
      const copy = Buffer.from(p.subarray(0, length));
      sent.push(copy);
      return Buffer.from('encrypted-frame');
    },
    resend: (kept) => resent.push(kept as Buffer),
    nack: true,
    rtx: rtx ? { ssrc: 0x5151, payloadType: 101 } : undefined,
    extensionMap: new Map(),
    transportCc: { extId: 5, history },
    onVariantSwitched: () => {},
  });
  consumer.start();
  const feed = (pkt: Buffer) => producer.onRtp(pkt, parseRtpHeader(pkt)!, '');
  return { consumer, sent, resent, feed, stats };
}

describe('Consumer with RTX', () => {
  test('a NACKed packet goes out on the RTX stream: consecutive RTX seqs, OSN, a fresh transport seq; the original stream is untouched', () => {
    const { consumer, sent, resent, feed, stats } = setup(true);
    feed(vp8(1, 0, true));
    feed(vp8(2, 3000, false));
    feed(vp8(3, 6000, false));
    const media = sent.map((p) => parseRtpHeader(p)!);
    const tseqOf = (p: Buffer) => getHeaderExtension(p, parseRtpHeader(p)!, 5)!.readUInt16BE(0);
    consumer.retransmit([media[0]!.sequenceNumber, media[2]!.sequenceNumber]);
    assert.equal(resent.length, 0, 'nothing resent as the original frame');
    assert.equal(sent.length, 5);
    const [a, b] = [sent[3]!, sent[4]!];
    const ha = parseRtpHeader(a)!;
    const hb = parseRtpHeader(b)!;
    assert.equal(ha.ssrc, 0x5151);
    assert.equal(ha.payloadType, 101);
    assert.equal((hb.sequenceNumber - ha.sequenceNumber) & 0xffff, 1);
    assert.equal(a.readUInt16BE(ha.payloadOffset), media[0]!.sequenceNumber);
    assert.equal(b.readUInt16BE(hb.payloadOffset), media[2]!.sequenceNumber);
    assert.deepEqual([...a.subarray(ha.payloadOffset + 2)], [...sent[0]!.subarray(media[0]!.payloadOffset)]);
    assert.equal(ha.timestamp, media[0]!.timestamp);
    assert.deepEqual([tseqOf(sent[0]!), tseqOf(sent[1]!), tseqOf(sent[2]!), tseqOf(a), tseqOf(b)].map((t) => (t - tseqOf(sent[0]!)) & 0xffff), [0, 1, 2, 3, 4]);
    assert.equal(stats.rtpRetransmitted, 2);
    assert.equal(stats.rtpRetransmittedRtx, 2);
    assert.equal(consumer.retransmittedBytes, a.length + b.length);
  });

  test('the NACK budget holds on the RTX path; without RTX the kept frame is resent as before', () => {
    const r = setup(true);
    r.feed(vp8(1, 0, true));
    const seq = parseRtpHeader(r.sent[0]!)!.sequenceNumber;
    for (let i = 0; i < 20; i++) r.consumer.retransmit([seq]);
    assert.equal(r.sent.length, 2, 'one RTX for 20 NACKs inside a round trip');
    const plain = setup(false);
    plain.feed(vp8(1, 0, true));
    plain.consumer.retransmit([parseRtpHeader(plain.sent[0]!)!.sequenceNumber]);
    assert.deepEqual(plain.resent.map(String), ['encrypted-frame']);
    assert.equal(plain.sent.length, 1);
    assert.equal(plain.stats.rtpRetransmittedRtx, 0);
  });
});
