// TwccResponder (src/media/session/twcc-responder.ts): arrivals become transport-cc feedback (parsed back
// with the codec), reordering, losses, sequence wrap, splitting long windows, jumps and stale packets.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TWCC_MAX_PER_FEEDBACK, TwccResponder } from '../../../src/media/session/twcc-responder.js';
import { parseTwccFeedback } from '../../../src/media/wire/twcc.js';

const parse = (bufs: Buffer[]) => bufs.map((b) => parseTwccFeedback(b)!);

describe('TwccResponder', () => {
  test('arrivals in, feedback out: reference time, deltas at 250 µs, losses, counts per packet', () => {
    const r = new TwccResponder(7);
    r.record(10, 1_000_000);
    r.record(12, 1_002_000);
    r.record(11, 1_003_000); // reordered
    r.record(14, 1_010_000);
    const [f] = parse(r.flush(99));
    assert.equal(f.senderSsrc, 7);
    assert.equal(f.mediaSsrc, 99);
    assert.equal(f.baseSeq, 10);
    assert.equal(f.referenceTimeUs, 960_000);
    assert.equal(f.feedbackCount, 0);
    assert.deepEqual(f.packets, [
      { seq: 10, arrivalUs: 1_000_000 }, { seq: 11, arrivalUs: 1_003_000 }, { seq: 12, arrivalUs: 1_002_000 }, { seq: 13 }, { seq: 14, arrivalUs: 1_010_000 },
    ]);
    assert.deepEqual(r.flush(99), [], 'nothing new');
    r.record(13, 1_020_000); // too late: already reported lost
    r.record(15, 1_030_000);
    const [g] = parse(r.flush(99));
    assert.equal(g.feedbackCount, 1);
    assert.deepEqual(g.packets, [{ seq: 15, arrivalUs: 1_030_000 }]);
  });

  test('sequence wrap and long windows split into several packets', () => {
    const r = new TwccResponder(1);
    const n = TWCC_MAX_PER_FEEDBACK * 2 + 10;
    for (let i = 0; i < n; i++) r.record((0xff00 + i) & 0xffff, 5_000_000 + i * 1000);
    const fs = parse(r.flush(0));
    assert.equal(fs.length, 3);
    const all = fs.flatMap((f) => f.packets);
    assert.equal(all.length, n);
    all.forEach((p, i) => assert.deepEqual(p, { seq: (0xff00 + i) & 0xffff, arrivalUs: 5_000_000 + i * 1000 }));
  });

  test('a jump past the ring starts over; stale and far-behind packets are ignored', () => {
    const r = new TwccResponder(1);
    r.record(0, 1000);
    r.flush(0);
    r.record(20_000, 2000);
    const fs = parse(r.flush(0));
    assert.equal(fs.length, 1);
    assert.equal(fs[0].baseSeq, 20_000);
    r.record(20_000 - 2000, 3000); // far behind the newest
    assert.deepEqual(r.flush(0), []);
  });
});
