// Transport-cc feedback codec (src/media/wire/twcc.ts): a hand-assembled packet, every chunk kind,
// build → parse round trips (fast-check), and random or truncated bytes that must give undefined, never throw.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildTwccFeedback, parseTwccFeedback, type TwccFeedback } from '../../../src/media/wire/twcc.js';
import { parseRtcp } from '../../../src/media/wire/rtcp.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function framed(buf: Buffer): void {
  assert.equal(buf.length % 4, 0);
  assert.equal((buf.readUInt16BE(2) + 1) * 4, buf.length);
}

describe('twcc feedback', () => {
  test('hand-assembled packet: a run of three small deltas, padded', () => {
    // V=2 P=1 FMT=15, PT=205, length 6; sender 1, media 2; base 1, count 3; ref 1 (64 ms), fb 7;
    // chunk run-length symbol 1 run 3; deltas 4, 0, 1 ticks; 3 bytes padding.
    const pkt = hex('afcd0006 00000001 00000002 00010003 00000107 2003 040001 000003');
    const f = parseTwccFeedback(pkt);
    assert.deepEqual(f, {
      senderSsrc: 1, mediaSsrc: 2, baseSeq: 1, referenceTimeUs: 64_000, feedbackCount: 7,
      packets: [{ seq: 1, arrivalUs: 65_000 }, { seq: 2, arrivalUs: 65_000 }, { seq: 3, arrivalUs: 65_250 }],
    });
    assert.deepEqual(buildTwccFeedback(f!), pkt);
    assert.deepEqual(parseRtcp(pkt).map((p) => p.type), ['twcc']);
  });

  test('1-bit and 2-bit status vectors, lost packets, a negative delta, sequence wrap', () => {
    const f: TwccFeedback = {
      senderSsrc: 0xffffffff, mediaSsrc: 0x12345678, baseSeq: 0xfffe, referenceTimeUs: 0x7fffff * 64_000, feedbackCount: 255,
      packets: [
        { seq: 0xfffe, arrivalUs: 0x7fffff * 64_000 + 500 }, { seq: 0xffff }, { seq: 0, arrivalUs: 0x7fffff * 64_000 + 750 },
        { seq: 1 }, { seq: 2, arrivalUs: 0x7fffff * 64_000 + 250 }, // reordered: negative delta → large
        { seq: 3, arrivalUs: 0x7fffff * 64_000 + 100_000 }, // +99.75 ms → large
      ],
    };
    const b = buildTwccFeedback(f);
    framed(b);
    assert.equal(b[20] & 0xc0, 0xc0, 'a 2-bit status vector');
    assert.deepEqual(parseTwccFeedback(b), f);
  });

  test('a long lost run uses one run-length chunk', () => {
    const packets = Array.from({ length: 1000 }, (_, i) => (i === 999 ? { seq: i, arrivalUs: 1000 } : { seq: i }));
    const b = buildTwccFeedback({ senderSsrc: 1, mediaSsrc: 0, baseSeq: 0, referenceTimeUs: 0, feedbackCount: 0, packets });
    assert.equal(b.readUInt16BE(20), 999); // run-length, not received, 999
    assert.equal(b.readUInt16BE(22), 0x2001); // run-length, small, 1
    assert.deepEqual(parseTwccFeedback(b)?.packets, packets);
  });

  test('refuses what it cannot carry', () => {
    const base = { senderSsrc: 1, mediaSsrc: 0, baseSeq: 0, referenceTimeUs: 0, feedbackCount: 0 };
    assert.throws(() => buildTwccFeedback({ ...base, packets: [] }), RangeError);
    assert.throws(() => buildTwccFeedback({ ...base, packets: [{ seq: 0, arrivalUs: 9_000_000 }] }), RangeError);
  });

  test('round trip (fast-check): any statuses at 250 µs resolution', () => {
    const status = fc.option(fc.integer({ min: -2000, max: 30_000 }), { nil: undefined, freq: 4 });
    fc.assert(fc.property(
      fc.record({
        senderSsrc: fc.integer({ min: 0, max: 0xffffffff }), mediaSsrc: fc.integer({ min: 0, max: 0xffffffff }),
        baseSeq: fc.integer({ min: 0, max: 0xffff }), ref: fc.integer({ min: -0x800000, max: 0x7fffff }),
        feedbackCount: fc.integer({ min: 0, max: 255 }), steps: fc.array(status, { minLength: 1, maxLength: 300 }),
      }),
      ({ senderSsrc, mediaSsrc, baseSeq, ref, feedbackCount, steps }) => {
        const referenceTimeUs = ref * 64_000;
        let t = referenceTimeUs;
        const packets = steps.map((d, i) => {
          const seq = (baseSeq + i) & 0xffff;
          if (d === undefined) return { seq };
          t += d * 250;
          return { seq, arrivalUs: t };
        });
        const f = { senderSsrc, mediaSsrc, baseSeq, referenceTimeUs, feedbackCount, packets };
        const b = buildTwccFeedback(f);
        framed(b);
        assert.deepEqual(parseTwccFeedback(b), f);
      },
    ), { numRuns: 300 });
  });

  test('random bytes and truncations never throw and stay bounded', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      const b = Buffer.from(bytes);
      if (b.length >= 2) { b[0] = 0x8f | (b[0] & 0x20); b[1] = 205; }
      const f = parseTwccFeedback(b);
      if (f) assert.ok(f.packets.length <= 0xffff && f.packets.length >= 1);
    }), { numRuns: 3000 });
    const good = buildTwccFeedback({
      senderSsrc: 1, mediaSsrc: 2, baseSeq: 10, referenceTimeUs: 640_000, feedbackCount: 1,
      packets: Array.from({ length: 40 }, (_, i) => ({ seq: 10 + i, arrivalUs: i % 3 ? 640_000 + i * 1000 : undefined })),
    });
    for (let cut = 0; cut < good.length; cut++) {
      const part = Buffer.from(good.subarray(0, cut));
      assert.equal(parseTwccFeedback(part), undefined);
      if (cut >= 4) { part.writeUInt16BE(cut / 4 - 1 | 0, 2); assert.doesNotThrow(() => parseTwccFeedback(part)); }
    }
    // The largest status count with no deltas: bounded work, no throw.
    const huge = hex('8fcd0005 00000001 00000002 0000ffff 00000000 1fff1fff');
    assert.equal(parseTwccFeedback(huge), undefined); // 2 chunks cover 16382 of 65535 statuses
    assert.equal(parseTwccFeedback(hex('8fcd0004 00000001 00000002 00000001 00000000')), undefined); // no chunk
    assert.equal(parseTwccFeedback(hex('81cd0004 00000001 00000002 00000001 00000000')), undefined); // NACK, not twcc
  });
});
