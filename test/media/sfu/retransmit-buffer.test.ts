// Retransmit history (src/media/retransmit-buffer.ts): lookups by sequence number, eviction of packets
// older than the last N, 16-bit wraparound, and never returning a stale packet from an earlier wrap.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RetransmitBuffer } from '../../../src/media/sfu/retransmit-buffer.js';

const pkt = (n: number) => Buffer.from(`packet ${n}`);

describe('RetransmitBuffer', () => {
  test('default capacity 1024; stored packets come back by sequence number (same Buffer)', () => {
    const rb = new RetransmitBuffer();
    assert.equal(rb.capacity, 1024);
    const p = pkt(7);
    rb.put(7, p);
    assert.equal(rb.get(7), p);
    assert.equal(rb.get(8), undefined);
    assert.equal(rb.get(6), undefined);
  });

  test('empty buffer and never-stored numbers return undefined', () => {
    const rb = new RetransmitBuffer(16);
    for (const s of [0, 1, 65535, 32768]) assert.equal(rb.get(s), undefined);
    rb.put(100, pkt(100));
    rb.put(102, pkt(102)); // 101 skipped (lost upstream)
    assert.equal(rb.get(101), undefined);
    assert.deepEqual(rb.get(102), pkt(102));
  });

  test('keeps exactly the last N sequence numbers', () => {
    const rb = new RetransmitBuffer(8);
    for (let s = 0; s < 20; s++) rb.put(s, pkt(s));
    for (let s = 0; s < 12; s++) assert.equal(rb.get(s), undefined, `evicted ${s}`);
    for (let s = 12; s < 20; s++) assert.deepEqual(rb.get(s), pkt(s), `kept ${s}`);
  });

  test('wraps across 65535 → 0', () => {
    const rb = new RetransmitBuffer(1024);
    for (let i = 0; i < 2000; i++) rb.put((65000 + i) & 0xffff, pkt((65000 + i) & 0xffff));
    // newest is (65000 + 1999) & 0xffff = 1463; window is 440..1463
    for (let s = 440; s <= 1463; s++) assert.deepEqual(rb.get(s), pkt(s), `kept ${s}`);
    assert.equal(rb.get(439), undefined);
    assert.equal(rb.get(65535), undefined);
    assert.equal(rb.get(1464), undefined);
    assert.equal(rb.get(1464 + 65536), undefined);
    assert.deepEqual(rb.get(1463 + 65536), pkt(1463), 'sequence numbers are taken mod 2^16');
  });

  test('a forward jump larger than N evicts everything older', () => {
    const rb = new RetransmitBuffer(16);
    for (let s = 0; s < 16; s++) rb.put(s, pkt(s));
    rb.put(1000, pkt(1000));
    for (let s = 0; s < 16; s++) assert.equal(rb.get(s), undefined, `evicted ${s}`);
    assert.deepEqual(rb.get(1000), pkt(1000));
    // slots of 985..999 still hold numbers from before the jump; none of them match
    for (let s = 985; s < 1000; s++) assert.equal(rb.get(s), undefined, `never stored ${s}`);
  });

  test('no stale packet from a previous wrap of the ring or of the 16-bit space', () => {
    const rb = new RetransmitBuffer(16);
    rb.put(5, pkt(5));
    rb.put(5 + 16, pkt(21)); // same slot, next ring wrap
    assert.equal(rb.get(5), undefined);
    assert.deepEqual(rb.get(21), pkt(21));
    // sparse puts across a whole 16-bit wrap: slot of 3 still holds the old 3 unless overwritten
    const rb2 = new RetransmitBuffer(16);
    rb2.put(3, pkt(3));
    for (let s = 20000; s <= 65535; s += 20000) rb2.put(s, pkt(s));
    rb2.put(60000, pkt(60000));
    rb2.put(65530, pkt(65530));
    rb2.put(4, pkt(4)); // newest is now 4 (one wrap later); 3 is inside the window but was never put in this wrap
    assert.equal(rb2.get(3), undefined);
    assert.deepEqual(rb2.get(4), pkt(4));
    assert.deepEqual(rb2.get(65530), pkt(65530));
  });

  test('late put inside the window is stored; newest is not moved back', () => {
    const rb = new RetransmitBuffer(16);
    rb.put(10, pkt(10));
    rb.put(12, pkt(12));
    rb.put(11, pkt(11));
    assert.deepEqual(rb.get(11), pkt(11));
    rb.put(13, pkt(13));
    for (const s of [10, 11, 12, 13]) assert.deepEqual(rb.get(s), pkt(s));
    // late put across the 16-bit wrap
    const rb2 = new RetransmitBuffer(16);
    rb2.put(2, pkt(2));
    rb2.put(65534, pkt(65534));
    assert.deepEqual(rb2.get(65534), pkt(65534));
    assert.deepEqual(rb2.get(2), pkt(2));
    assert.equal(rb2.get(65535), undefined);
  });

  test('a put overwrites the packet stored under the same sequence number', () => {
    const rb = new RetransmitBuffer(16);
    rb.put(9, pkt(1));
    rb.put(9, pkt(2));
    assert.deepEqual(rb.get(9), pkt(2));
  });

  test('a put more than N behind the newest restarts the history', () => {
    const rb = new RetransmitBuffer(16);
    for (let s = 1000; s < 1010; s++) rb.put(s, pkt(s));
    rb.put(500, pkt(500));
    assert.deepEqual(rb.get(500), pkt(500));
    assert.equal(rb.get(1009), undefined);
    rb.put(501, pkt(501));
    assert.deepEqual(rb.get(501), pkt(501));
    assert.deepEqual(rb.get(500), pkt(500));
  });

  test('clear forgets everything', () => {
    const rb = new RetransmitBuffer(16);
    for (let s = 0; s < 10; s++) rb.put(s, pkt(s));
    rb.clear();
    for (let s = 0; s < 10; s++) assert.equal(rb.get(s), undefined);
    rb.put(40000, pkt(40000));
    assert.deepEqual(rb.get(40000), pkt(40000));
    assert.equal(rb.get(5), undefined);
  });

  test('long run with a non-power-of-two capacity over several 16-bit wraps', () => {
    const rb = new RetransmitBuffer(1000);
    const total = 3 * 65536 + 123;
    for (let i = 0; i < total; i++) rb.put(i & 0xffff, pkt(i & 0xffff));
    const newest = (total - 1) & 0xffff;
    for (let k = 0; k < 1000; k++) assert.deepEqual(rb.get((newest - k) & 0xffff), pkt((newest - k) & 0xffff));
    assert.equal(rb.get((newest - 1000) & 0xffff), undefined);
    assert.equal(rb.get((newest + 1) & 0xffff), undefined);
  });

  test('invalid capacity is refused', () => {
    for (const c of [0, -1, 1.5, 40000]) assert.throws(() => new RetransmitBuffer(c), RangeError);
  });

  test('takeForResend: at most maxResends, not within minIntervalMs of the last send, not older than maxAgeMs', () => {
    const rb = new RetransmitBuffer(16);
    const budget = { maxResends: 2, minIntervalMs: 50, maxAgeMs: 500 };
    const p = pkt(5);
    rb.put(5, p, 1000);
    assert.equal(rb.takeForResend(5, 1001, budget), p, 'first resend right away');
    assert.equal(rb.takeForResend(5, 1040, budget), undefined, 'again within 50 ms: refused');
    assert.equal(rb.takeForResend(5, 1051, budget), p, 'after 50 ms: second resend');
    assert.equal(rb.takeForResend(5, 1200, budget), undefined, 'third: over maxResends');
    rb.put(6, pkt(6), 1000);
    assert.equal(rb.takeForResend(6, 1501, budget), undefined, 'older than maxAgeMs');
    assert.equal(rb.takeForResend(7, 1001, budget), undefined, 'never stored');
    rb.put(5 + 16, pkt(21), 1100);
    assert.equal(rb.takeForResend(5, 1300, budget), undefined, 'evicted');
    assert.deepEqual(rb.takeForResend(21, 1101, budget), pkt(21), 'a new packet in the slot starts a fresh budget');
  });
});
