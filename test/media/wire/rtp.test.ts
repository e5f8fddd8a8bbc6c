// RTP wire helpers (src/media/rtp.ts): demux, header parsing (CSRCs, padding, one-/two-byte extensions,
// malformed input), extension lookup, rewriting for a subscriber, VP8/H264 keyframe detection, audio
// level and 16-bit sequence arithmetic.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  getHeaderExtension, isH264Keyframe, isNewerSeq, isRtcp, isRtpOrRtcp, isVp8Keyframe, parseAudioLevel,
  parseRtpHeader, rewriteRtpInto, seqDelta, type RtpHeader,
} from '../../../src/media/wire/rtp.js';

interface PacketSpec {
  version?: number;
  marker?: boolean;
  pt?: number;
  seq?: number;
  ts?: number;
  ssrc?: number;
  csrcs?: number[];
  /** profile + raw element bytes (padded here to a multiple of 4 with zeros). */
  ext?: { profile: number; data: number[] };
  payload?: Buffer;
  /** number of padding bytes (last one holds the count). */
  padding?: number;
}

function rtp(s: PacketSpec): Buffer {
  const csrcs = s.csrcs ?? [];
  const parts: Buffer[] = [];
  const fixed = Buffer.alloc(12 + 4 * csrcs.length);
  fixed[0] = ((s.version ?? 2) << 6) | (s.padding ? 0x20 : 0) | (s.ext ? 0x10 : 0) | csrcs.length;
  fixed[1] = (s.marker ? 0x80 : 0) | (s.pt ?? 96);
  fixed.writeUInt16BE(s.seq ?? 1, 2);
  fixed.writeUInt32BE(s.ts ?? 1000, 4);
  fixed.writeUInt32BE(s.ssrc ?? 0x11223344, 8);
  csrcs.forEach((c, i) => fixed.writeUInt32BE(c, 12 + 4 * i));
  parts.push(fixed);
  if (s.ext) {
    const data = [...s.ext.data];
    while (data.length % 4) data.push(0);
    const eh = Buffer.alloc(4);
    eh.writeUInt16BE(s.ext.profile, 0);
    eh.writeUInt16BE(data.length / 4, 2);
    parts.push(eh, Buffer.from(data));
  }
  parts.push(s.payload ?? Buffer.from([1, 2, 3, 4, 5]));
  if (s.padding) {
    const pad = Buffer.alloc(s.padding);
    pad[s.padding - 1] = s.padding;
    parts.push(pad);
  }
  return Buffer.concat(parts);
}

function payloadOf(buf: Buffer, h: RtpHeader): Buffer {
  return buf.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength);
}

/** One-byte form elements: audio level (id 1, len 1), abs-send-time (id 3, len 3), mid (id 4, len 2). */
const ONE_BYTE_EXT = { profile: 0xbede, data: [0x10, 0x85, 0x32, 0xaa, 0xbb, 0xcc, 0x00, 0x41, 0x30, 0x31] };

describe('demux', () => {
  test('isRtpOrRtcp accepts first byte 128..191 only', () => {
    assert.equal(isRtpOrRtcp(Buffer.from([128, 0])), true);
    assert.equal(isRtpOrRtcp(Buffer.from([191])), true);
    assert.equal(isRtpOrRtcp(Buffer.from([127])), false); // TURN channel / DTLS range
    assert.equal(isRtpOrRtcp(Buffer.from([192])), false);
    assert.equal(isRtpOrRtcp(Buffer.from([0, 1])), false); // STUN
    assert.equal(isRtpOrRtcp(Buffer.from([22])), false); // DTLS handshake
    assert.equal(isRtpOrRtcp(Buffer.alloc(0)), false);
  });

  test('isRtcp: RTCP PT 192..223 vs RTP (RFC 5761), marker bit masked', () => {
    for (const pt of [192, 200, 201, 202, 203, 205, 206, 223]) assert.equal(isRtcp(Buffer.from([0x80, pt, 0, 1])), true, `pt ${pt}`);
    assert.equal(isRtcp(rtp({ pt: 96 })), false);
    assert.equal(isRtcp(rtp({ pt: 96, marker: true })), false);
    assert.equal(isRtcp(rtp({ pt: 111 })), false);
    assert.equal(isRtcp(rtp({ pt: 0, marker: true })), false);
    assert.equal(isRtcp(rtp({ pt: 127, marker: true })), false);
    assert.equal(isRtcp(Buffer.from([0x80, 191])), false);
    assert.equal(isRtcp(Buffer.from([0x80, 224])), false);
    assert.equal(isRtcp(Buffer.from([0x00, 200])), false); // not version 2
    assert.equal(isRtcp(Buffer.from([0x80])), false);
  });
});

describe('parseRtpHeader', () => {
  test('plain packet: fields, lengths, no extension', () => {
    const payload = Buffer.from('hello rtp');
    const buf = rtp({ marker: true, pt: 111, seq: 65535, ts: 0xfffffff0, ssrc: 0xdeadbeef, payload });
    const h = parseRtpHeader(buf)!;
    assert.deepEqual(h, {
      marker: true, payloadType: 111, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef,
      headerLength: 12, payloadOffset: 12, payloadLength: payload.length, hasExtension: false,
      extOffset: 0, extLength: 0, extProfile: 0,
    });
    assert.deepEqual(payloadOf(buf, h), payload);
  });

  test('CSRCs move the header end', () => {
    const payload = Buffer.from([9, 8, 7]);
    const buf = rtp({ csrcs: [1, 2, 0xffffffff], payload });
    const h = parseRtpHeader(buf)!;
    assert.equal(h.headerLength, 24);
    assert.equal(h.payloadOffset, 24);
    assert.equal(h.payloadLength, 3);
    assert.deepEqual(payloadOf(buf, h), payload);
  });

  test('padding is excluded from the payload length', () => {
    const payload = Buffer.from([1, 2, 3, 4, 5, 6]);
    const buf = rtp({ payload, padding: 7 });
    const h = parseRtpHeader(buf)!;
    assert.equal(h.payloadLength, 6);
    assert.deepEqual(payloadOf(buf, h), payload);
    // padding may take the whole remainder (empty payload, e.g. a probing packet)
    const probe = rtp({ payload: Buffer.alloc(0), padding: 255 });
    const hp = parseRtpHeader(probe)!;
    assert.equal(hp.payloadLength, 0);
    assert.equal(hp.headerLength, 12);
  });

  test('one-byte extension block with CSRCs and padding', () => {
    const payload = Buffer.from([0xa, 0xb, 0xc]);
    const buf = rtp({ csrcs: [0x01020304], ext: ONE_BYTE_EXT, payload, padding: 4 });
    const h = parseRtpHeader(buf)!;
    assert.equal(h.hasExtension, true);
    assert.equal(h.extProfile, 0xbede);
    assert.equal(h.extOffset, 12 + 4 + 4);
    assert.equal(h.extLength, 12);
    assert.equal(h.headerLength, 12 + 4 + 4 + 12);
    assert.deepEqual(payloadOf(buf, h), payload);
    assert.deepEqual(getHeaderExtension(buf, h, 1), Buffer.from([0x85]));
    assert.deepEqual(getHeaderExtension(buf, h, 3), Buffer.from([0xaa, 0xbb, 0xcc]));
    assert.deepEqual(getHeaderExtension(buf, h, 4), Buffer.from('01')); // after a padding byte
    assert.equal(getHeaderExtension(buf, h, 2), undefined);
    assert.equal(getHeaderExtension(buf, h, 15), undefined);
    assert.equal(getHeaderExtension(buf, h, 0), undefined);
  });

  test('two-byte extension block: zero-length, long and high-id elements', () => {
    const long = Array.from({ length: 20 }, (_, i) => i + 100);
    const data = [1, 0, /* pad */ 0, 200, 20, ...long, 7, 2, 0xfe, 0xff];
    const payload = Buffer.from([0x55]);
    const buf = rtp({ ext: { profile: 0x1000, data }, payload });
    const h = parseRtpHeader(buf)!;
    assert.equal(h.extProfile, 0x1000);
    assert.equal(h.extLength, 32); // 29 bytes of elements, padded
    assert.deepEqual(payloadOf(buf, h), payload);
    assert.deepEqual(getHeaderExtension(buf, h, 1), Buffer.alloc(0));
    assert.deepEqual(getHeaderExtension(buf, h, 200), Buffer.from(long));
    assert.deepEqual(getHeaderExtension(buf, h, 7), Buffer.from([0xfe, 0xff]));
    assert.equal(getHeaderExtension(buf, h, 8), undefined);
    // app bits in the low nibble are still the two-byte form
    const buf2 = rtp({ ext: { profile: 0x100f, data: [5, 1, 0x42] } });
    assert.deepEqual(getHeaderExtension(buf2, parseRtpHeader(buf2)!, 5), Buffer.from([0x42]));
  });

  test('one-byte element id 15 stops parsing; unknown profile yields nothing', () => {
    const buf = rtp({ ext: { profile: 0xbede, data: [0x10, 0x01, 0xf0, 0x20, 0x02] } });
    const h = parseRtpHeader(buf)!;
    assert.deepEqual(getHeaderExtension(buf, h, 1), Buffer.from([0x01]));
    assert.equal(getHeaderExtension(buf, h, 2), undefined);
    const odd = rtp({ ext: { profile: 0x1234, data: [0x10, 0x01] } });
    assert.equal(getHeaderExtension(odd, parseRtpHeader(odd)!, 1), undefined);
  });

  test('element running past the block is not returned', () => {
    const buf = rtp({ ext: { profile: 0xbede, data: [0x10, 0x01, 0x00, 0x2f] } }); // id 2 claims 16 bytes
    const h = parseRtpHeader(buf)!;
    assert.deepEqual(getHeaderExtension(buf, h, 1), Buffer.from([0x01]));
    assert.equal(getHeaderExtension(buf, h, 2), undefined);
  });

  test('reuses `out` and resets extension fields', () => {
    const out = parseRtpHeader(rtp({ ext: ONE_BYTE_EXT }))!;
    assert.equal(out.hasExtension, true);
    const again = parseRtpHeader(rtp({ seq: 42 }), out);
    assert.equal(again, out);
    assert.equal(out.sequenceNumber, 42);
    assert.equal(out.hasExtension, false);
    assert.equal(out.extOffset, 0);
    assert.equal(out.extLength, 0);
    assert.equal(out.extProfile, 0);
    assert.equal(out.headerLength, 12);
  });

  test('malformed packets return undefined and leave `out` untouched', () => {
    const good = rtp({ csrcs: [1, 2], ext: ONE_BYTE_EXT, payload: Buffer.from([1, 2, 3]), padding: 3 });
    const out = parseRtpHeader(good)!;
    const snapshot = { ...out };
    const bad: [string, Buffer][] = [
      ['empty', Buffer.alloc(0)],
      ['11 bytes', good.subarray(0, 11)],
      ['version 1', rtp({ version: 1 })],
      ['version 0', rtp({ version: 0 })],
      ['version 3', rtp({ version: 3 })],
      ['CSRCs beyond the end', rtp({ csrcs: [1, 2, 3] }).subarray(0, 20)],
      ['extension header beyond the end', good.subarray(0, 22)],
      ['extension data beyond the end', good.subarray(0, 30)],
      ['padding count 0', (() => { const b = Buffer.from(good); b[b.length - 1] = 0; return b; })()],
      ['padding longer than the packet', (() => { const b = Buffer.from(good); b[b.length - 1] = 200; return b; })()],
      ['padding eating into the header', (() => { const b = rtp({ payload: Buffer.alloc(0), padding: 1 }); b[b.length - 1] = 2; return b; })()],
    ];
    for (const [name, buf] of bad) {
      assert.equal(parseRtpHeader(buf, out), undefined, name);
      assert.deepEqual(out, snapshot, name);
    }
    // every truncation of a valid packet either parses consistently or is rejected, never throws
    for (let n = 0; n <= good.length; n++) {
      const h = parseRtpHeader(good.subarray(0, n));
      if (h) assert.ok(h.payloadOffset + h.payloadLength <= n);
    }
  });

  test('random bytes never throw and parsed lengths stay inside the buffer', () => {
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    for (let i = 0; i < 20000; i++) {
      const len = rnd() % 64;
      const b = Buffer.alloc(len);
      for (let k = 0; k < len; k++) b[k] = rnd();
      if (len > 0) b[0] = 0x80 | (b[0] & 0x3f);
      const h = parseRtpHeader(b);
      if (!h) continue;
      assert.ok(h.headerLength + h.payloadLength <= len);
      for (let id = 0; id < 16; id++) {
        const e = getHeaderExtension(b, h, id);
        if (e) assert.ok(e.byteOffset >= b.byteOffset + h.extOffset && e.byteOffset + e.length <= b.byteOffset + h.extOffset + h.extLength);
      }
    }
  });
});

describe('rewriteRtpInto', () => {
  const payload = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff));
  const params = { ssrc: 0xcafebabe, payloadType: 100, sequenceNumber: 65535, timestamp: 0xffffffff };

  /** rewriteRtpInto a fresh buffer; the rewritten packet. */
  function rewrite(src: Buffer, h: RtpHeader, p: Parameters<typeof rewriteRtpInto>[2]): Buffer {
    const room = Buffer.alloc(src.length + 256);
    return room.subarray(0, rewriteRtpInto(src, h, p, room));
  }

  function check(src: Buffer, p: Parameters<typeof rewriteRtpInto>[2]): { out: Buffer; h: RtpHeader } {
    const copy = Buffer.from(src);
    const hs = parseRtpHeader(src)!;
    const room = Buffer.alloc(src.length + 256, 0xee);
    const n = rewriteRtpInto(src, hs, p, room);
    assert.ok(n > 0, 'written');
    assert.equal(rewriteRtpInto(src, hs, p, Buffer.alloc(n - 1)), -1, 'an output one byte short is refused');
    const out = room.subarray(0, n);
    assert.deepEqual(src, copy, 'source must not be modified');
    const h = parseRtpHeader(out)!;
    assert.ok(h, 'rewritten packet parses');
    assert.equal(h.ssrc, p.ssrc >>> 0);
    assert.equal(h.payloadType, p.payloadType);
    assert.equal(h.sequenceNumber, p.sequenceNumber);
    assert.equal(h.timestamp, p.timestamp >>> 0);
    assert.equal(h.marker, hs.marker);
    assert.deepEqual(payloadOf(out, h), payloadOf(src, hs), 'payload bytes identical');
    assert.deepEqual(out.subarray(h.payloadOffset + h.payloadLength), src.subarray(hs.payloadOffset + hs.payloadLength), 'padding identical');
    assert.deepEqual(out.subarray(12, 12 + 4 * (out[0] & 0x0f)), src.subarray(12, 12 + 4 * (src[0] & 0x0f)), 'CSRCs kept');
    if (h.hasExtension) assert.equal(h.extLength % 4, 0);
    return { out, h };
  }

  test('transport-wide sequence number: written first (one-byte form for id ≤ 14, two-byte above), mapped elements kept after it', () => {
    const src = rtp({ marker: true, pt: 96, seq: 10, ts: 5, ssrc: 1, ext: ONE_BYTE_EXT, payload });
    const bare = rtp({ pt: 96, seq: 10, ts: 5, ssrc: 1, payload });
    for (const [s, map] of [[src, new Map([[1, 3]])], [src, undefined], [bare, new Map([[1, 3]])]] as const) {
      for (const id of [5, 14, 15, 200]) {
        const { out, h } = check(s, { ...params, extensionMap: map, transportSeqExtId: id, transportSeq: 0xbeef });
        assert.equal(h.hasExtension, true);
        assert.deepEqual(getHeaderExtension(out, h, id), Buffer.from([0xbe, 0xef]), `id ${id}`);
        if (map && s === src) assert.ok(getHeaderExtension(out, h, 3), 'mapped element still there');
      }
    }
    const { out, h } = check(src, { ...params, transportSeqExtId: 300, transportSeq: 1 });
    assert.equal(h.hasExtension, false, 'an id out of 1..255 writes nothing');
    assert.equal(out.length, 12 + payload.length);
  });

  test('header fields rewritten, marker kept, no map drops the extension block', () => {
    const src = rtp({ marker: true, pt: 96, seq: 10, ts: 5, ssrc: 1, ext: ONE_BYTE_EXT, payload });
    const { out, h } = check(src, params);
    assert.equal(h.hasExtension, false);
    assert.equal(out[0] & 0x10, 0);
    assert.equal(out.length, 12 + payload.length);
    assert.equal(h.marker, true);
  });

  test('one-byte ids remapped, unmapped dropped, stays one-byte', () => {
    const src = rtp({ ext: ONE_BYTE_EXT, payload, csrcs: [7, 8] });
    const map = new Map([[1, 10], [4, 2]]); // 3 (abs-send-time) dropped
    const { out, h } = check(src, { ...params, extensionMap: map });
    assert.equal(h.extProfile, 0xbede);
    assert.deepEqual(getHeaderExtension(out, h, 10), Buffer.from([0x85]));
    assert.deepEqual(getHeaderExtension(out, h, 2), Buffer.from('01'));
    for (const id of [1, 3, 4]) assert.equal(getHeaderExtension(out, h, id), undefined, `id ${id}`);
    // elements: [0xa0 0x85] [0x21 '0' '1'] = 5 bytes → 8 with padding
    assert.equal(h.extLength, 8);
    assert.deepEqual(out.subarray(h.extOffset, h.extOffset + 8), Buffer.from([0xa0, 0x85, 0x21, 0x30, 0x31, 0, 0, 0]));
  });

  test('map keeping nothing (or an empty map) drops the block', () => {
    const src = rtp({ ext: ONE_BYTE_EXT, payload, padding: 5 });
    for (const map of [new Map<number, number>(), new Map([[9, 1]]), new Map([[1, 0]]), new Map([[1, 256]])]) {
      const { out, h } = check(src, { ...params, extensionMap: map });
      assert.equal(h.hasExtension, false);
      assert.equal(out.length, 12 + payload.length + 5);
    }
  });

  test('mapping to an id above 14 switches to the two-byte form', () => {
    const src = rtp({ ext: ONE_BYTE_EXT, payload });
    const { out, h } = check(src, { ...params, extensionMap: new Map([[1, 1], [3, 15]]) });
    assert.equal(h.extProfile, 0x1000);
    assert.deepEqual(getHeaderExtension(out, h, 1), Buffer.from([0x85]));
    assert.deepEqual(getHeaderExtension(out, h, 15), Buffer.from([0xaa, 0xbb, 0xcc]));
    assert.deepEqual(out.subarray(h.extOffset, h.extOffset + h.extLength), Buffer.from([1, 1, 0x85, 15, 3, 0xaa, 0xbb, 0xcc]));
  });

  test('two-byte source: long or empty elements stay two-byte, small ones become one-byte', () => {
    const long = Array.from({ length: 17 }, (_, i) => i);
    const src = rtp({ ext: { profile: 0x1000, data: [3, 2, 0xab, 0xcd, 0, 0, 20, 17, ...long, 5, 0] }, payload, padding: 2 });
    // a 17-byte element forces two-byte
    let r = check(src, { ...params, extensionMap: new Map([[20, 4], [3, 1]]) });
    assert.equal(r.h.extProfile, 0x1000);
    assert.deepEqual(getHeaderExtension(r.out, r.h, 4), Buffer.from(long));
    assert.deepEqual(getHeaderExtension(r.out, r.h, 1), Buffer.from([0xab, 0xcd]));
    // a zero-length element forces two-byte
    r = check(src, { ...params, extensionMap: new Map([[5, 6]]) });
    assert.equal(r.h.extProfile, 0x1000);
    assert.deepEqual(getHeaderExtension(r.out, r.h, 6), Buffer.alloc(0));
    // small elements with small ids: one-byte
    r = check(src, { ...params, extensionMap: new Map([[3, 14]]) });
    assert.equal(r.h.extProfile, 0xbede);
    assert.deepEqual(r.out.subarray(r.h.extOffset, r.h.extOffset + r.h.extLength), Buffer.from([0xe1, 0xab, 0xcd, 0]));
  });

  test('exactly 16-byte element with id 14 stays one-byte', () => {
    const sixteen = Array.from({ length: 16 }, (_, i) => 0xf0 | i);
    const src = rtp({ ext: { profile: 0xbede, data: [0x1f, ...sixteen] }, payload });
    const { out, h } = check(src, { ...params, extensionMap: new Map([[1, 14]]) });
    assert.equal(h.extProfile, 0xbede);
    assert.deepEqual(getHeaderExtension(out, h, 14), Buffer.from(sixteen));
  });

  test('unknown extension profile is dropped even with a map', () => {
    const src = rtp({ ext: { profile: 0xabcd, data: [0x10, 0x01] }, payload });
    const { h } = check(src, { ...params, extensionMap: new Map([[1, 1]]) });
    assert.equal(h.hasExtension, false);
  });

  test('values are masked to their field widths', () => {
    const src = rtp({ payload });
    const out = rewrite(src, parseRtpHeader(src)!, { ssrc: -1, payloadType: 0xff, sequenceNumber: 0x1ffff, timestamp: 2 ** 32 + 5 });
    const h = parseRtpHeader(out)!;
    assert.equal(h.ssrc, 0xffffffff);
    assert.equal(h.payloadType, 0x7f);
    assert.equal(h.marker, false);
    assert.equal(h.sequenceNumber, 0xffff);
    assert.equal(h.timestamp, 5);
  });

  test('output does not share memory with the source', () => {
    const src = rtp({ ext: ONE_BYTE_EXT, payload });
    const hs = parseRtpHeader(src)!;
    const out = rewrite(src, hs, { ...params, extensionMap: new Map([[1, 1]]) });
    out.fill(0);
    assert.equal(parseRtpHeader(src)!.sequenceNumber, 1);
    assert.deepEqual(payloadOf(src, hs), payload);
  });
});

describe('VP8 keyframe', () => {
  const KEY = 0x10; // VP8 payload header byte 0 with P = 0 (size bits/version irrelevant)
  const DELTA = 0x11; // P = 1
  test('minimal descriptor: S=1, PID=0', () => {
    assert.equal(isVp8Keyframe(Buffer.from([0x10, KEY, 0, 0])), true);
    assert.equal(isVp8Keyframe(Buffer.from([0x10, DELTA, 0, 0])), false);
    assert.equal(isVp8Keyframe(Buffer.from([0x10, 0x9c])), true); // P=0 with other bits set
  });
  test('non-start or non-zero partition is never a keyframe start', () => {
    assert.equal(isVp8Keyframe(Buffer.from([0x00, KEY])), false); // S=0
    assert.equal(isVp8Keyframe(Buffer.from([0x11, KEY])), false); // PID 1
    assert.equal(isVp8Keyframe(Buffer.from([0x17, KEY])), false); // PID 7
    assert.equal(isVp8Keyframe(Buffer.from([0x30, KEY])), true); // N bit doesn't matter
  });
  test('X with I (7-bit picture id)', () => {
    assert.equal(isVp8Keyframe(Buffer.from([0x90, 0x80, 0x05, KEY])), true);
    assert.equal(isVp8Keyframe(Buffer.from([0x90, 0x80, 0x05, DELTA])), false);
  });
  test('X with I (15-bit picture id)', () => {
    assert.equal(isVp8Keyframe(Buffer.from([0x90, 0x80, 0x81, 0x23, KEY])), true);
    assert.equal(isVp8Keyframe(Buffer.from([0x90, 0x80, 0x81, 0x23, DELTA])), false);
    // 0x81 0x22: second picture id byte is even, so misreading it as the payload header would say keyframe
    assert.equal(isVp8Keyframe(Buffer.from([0x90, 0x80, 0x81, 0x22, DELTA])), false);
  });
  test('X with I, L, T, K (all descriptor bytes)', () => {
    assert.equal(isVp8Keyframe(Buffer.from([0x90, 0xf0, 0xff, 0xfe, 0x12, 0x40, KEY])), true);
    assert.equal(isVp8Keyframe(Buffer.from([0x90, 0xf0, 0xff, 0xfe, 0x12, 0x40, DELTA])), false);
    assert.equal(isVp8Keyframe(Buffer.from([0x90, 0x40, 0x02, KEY])), true); // L only
    assert.equal(isVp8Keyframe(Buffer.from([0x90, 0x20, 0x40, KEY])), true); // T only
    assert.equal(isVp8Keyframe(Buffer.from([0x90, 0x10, 0x41, DELTA])), false); // K only
    assert.equal(isVp8Keyframe(Buffer.from([0x90, 0x00, KEY])), true); // X with no extensions
  });
  test('truncated descriptors are not keyframes', () => {
    for (const b of [[], [0x10], [0x90], [0x90, 0x80], [0x90, 0x80, 0x81], [0x90, 0x80, 0x81, 0x23], [0x90, 0xf0, 0x05, 0x00, 0x00]]) {
      assert.equal(isVp8Keyframe(Buffer.from(b)), false, JSON.stringify(b));
    }
  });
});

describe('H264 keyframe', () => {
  test('single NAL units', () => {
    assert.equal(isH264Keyframe(Buffer.from([0x65, 0x88, 0x84])), true); // IDR
    assert.equal(isH264Keyframe(Buffer.from([0x67, 0x42, 0xc0, 0x1f])), true); // SPS
    assert.equal(isH264Keyframe(Buffer.from([0x68, 0xce])), false); // PPS
    assert.equal(isH264Keyframe(Buffer.from([0x41, 0x9a])), false); // non-IDR slice
    assert.equal(isH264Keyframe(Buffer.from([0x06, 0x05])), false); // SEI
    assert.equal(isH264Keyframe(Buffer.alloc(0)), false);
  });
  test('STAP-A with SPS/PPS/IDR and without', () => {
    const sps = [0x67, 0x42, 0xc0, 0x1f];
    const pps = [0x68, 0xce, 0x3c, 0x80];
    assert.equal(isH264Keyframe(Buffer.from([0x78, 0, 4, ...sps, 0, 4, ...pps])), true);
    assert.equal(isH264Keyframe(Buffer.from([0x78, 0, 4, ...pps, 0, 2, 0x65, 0x88])), true); // IDR second
    assert.equal(isH264Keyframe(Buffer.from([0x78, 0, 4, ...pps, 0, 2, 0x41, 0x9a])), false);
    assert.equal(isH264Keyframe(Buffer.from([0x78, 0, 9, ...pps, 0, 2, 0x65, 0x88])), false); // size overruns
    assert.equal(isH264Keyframe(Buffer.from([0x78, 0, 0, 0x65])), false); // zero size
    assert.equal(isH264Keyframe(Buffer.from([0x78, 0])), false);
  });
  test('FU-A: start fragment of IDR only', () => {
    assert.equal(isH264Keyframe(Buffer.from([0x7c, 0x85, 0x88, 0x84])), true); // S=1 type 5
    assert.equal(isH264Keyframe(Buffer.from([0x7c, 0x05, 0x00])), false); // middle fragment
    assert.equal(isH264Keyframe(Buffer.from([0x7c, 0x45, 0x00])), false); // end fragment
    assert.equal(isH264Keyframe(Buffer.from([0x7c, 0x81, 0x9a])), false); // start of non-IDR
    assert.equal(isH264Keyframe(Buffer.from([0x7c, 0x87, 0x42])), true); // start of SPS (unusual but keyframe)
    assert.equal(isH264Keyframe(Buffer.from([0x7c])), false);
  });
});

describe('audio level', () => {
  test('voice bit and level', () => {
    assert.deepEqual(parseAudioLevel(Buffer.from([0x85])), { voice: true, level: 5 });
    assert.deepEqual(parseAudioLevel(Buffer.from([0x7f])), { voice: false, level: 127 });
    assert.deepEqual(parseAudioLevel(Buffer.from([0x00, 0xff])), { voice: false, level: 0 });
    assert.equal(parseAudioLevel(Buffer.alloc(0)), undefined);
  });
  test('from a parsed packet extension', () => {
    const buf = rtp({ ext: ONE_BYTE_EXT });
    const h = parseRtpHeader(buf)!;
    assert.deepEqual(parseAudioLevel(getHeaderExtension(buf, h, 1)!), { voice: true, level: 5 });
  });
});

describe('sequence numbers', () => {
  test('seqDelta with wraparound', () => {
    assert.equal(seqDelta(5, 3), 2);
    assert.equal(seqDelta(3, 5), -2);
    assert.equal(seqDelta(0, 65535), 1);
    assert.equal(seqDelta(65535, 0), -1);
    assert.equal(seqDelta(2, 65530), 8);
    assert.equal(seqDelta(65530, 2), -8);
    assert.equal(seqDelta(100, 100), 0);
    assert.equal(seqDelta(32767, 0), 32767);
    assert.equal(seqDelta(32768, 0), -32768);
    assert.equal(seqDelta(0, 32769), 32767);
  });
  test('isNewerSeq with wraparound and the half-circle tie', () => {
    assert.equal(isNewerSeq(1, 0), true);
    assert.equal(isNewerSeq(0, 1), false);
    assert.equal(isNewerSeq(0, 65535), true);
    assert.equal(isNewerSeq(65535, 0), false);
    assert.equal(isNewerSeq(10, 10), false);
    assert.equal(isNewerSeq(32767, 0), true);
    assert.equal(isNewerSeq(0, 32767), false);
    assert.equal(isNewerSeq(32768, 0), true); // tie broken by the larger number
    assert.equal(isNewerSeq(0, 32768), false);
    assert.equal(isNewerSeq(40000, 7232), true);
    assert.equal(isNewerSeq(7232, 40000), false);
  });
});
