// NackRequester (src/media/session/nack-requester.ts): gaps become due NACKs, a repaired packet is
// forgotten (and its NACK → repair time measured), the retry budget (tries, one round trip apart, max age),
// wrap-around and the bounded size.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NACK_MAX_AGE_MS, NACK_MAX_MISSING, NACK_MAX_TRIES, NACK_RETRY_RTT_FACTOR, NackRequester } from '../../../src/media/session/nack-requester.js';

describe('NackRequester', () => {
  test('a gap is due at once, then only after a round trip; a repair removes it and measures the round trip', () => {
    const n = new NackRequester();
    assert.equal(n.onPacket(100, 0), false);
    assert.equal(n.onPacket(104, 0), true, 'a new gap');
    assert.equal(n.onPacket(105, 0), false);
    assert.deepEqual(n.due(0, 50), [101, 102, 103]);
    assert.deepEqual(n.due(49, 50), [], 'the fallback round trip has not passed');
    n.onPacket(102, 40); // repaired 40 ms after the NACK
    assert.equal(n.rttMs, 40);
    assert.deepEqual(n.due(49, 50), [], `not before ${NACK_RETRY_RTT_FACTOR} × 40 ms`);
    assert.deepEqual(n.due(50, 50), [101, 103]);
    assert.equal(n.pending, 2);
    n.onPacket(101, 130); // second try: ambiguous, no sample
    assert.equal(n.rttMs, 40);
  });

  test('each packet is asked at most NACK_MAX_TRIES times, then given up', () => {
    const n = new NackRequester();
    n.onPacket(1, 0);
    n.onPacket(3, 0);
    let asked = 0;
    for (let t = 0; t < 900; t += 100) asked += n.due(t, 100).length;
    assert.equal(asked, NACK_MAX_TRIES);
    assert.equal(n.pending, 0);
    assert.equal(n.givenUp, 1);
  });

  test('too old to be useful: given up without more requests', () => {
    const n = new NackRequester();
    n.onPacket(1, 0);
    n.onPacket(3, 0);
    assert.deepEqual(n.due(0, 10_000), [2]);
    assert.deepEqual(n.due(NACK_MAX_AGE_MS + 1, 10), []);
    assert.equal(n.givenUp, 1);
  });

  test('sequence wrap-around; late and duplicate packets add nothing', () => {
    const n = new NackRequester();
    n.onPacket(0xfffe, 0);
    n.onPacket(1, 0);
    assert.deepEqual(n.due(0, 20), [0xffff, 0]);
    n.onPacket(0xfff0, 1);
    n.onPacket(1, 1);
    assert.equal(n.pending, 2);
  });

  test('bounded: a jump larger than the window resets, many small gaps keep at most NACK_MAX_MISSING', () => {
    const n = new NackRequester();
    n.onPacket(0, 0);
    n.onPacket(NACK_MAX_MISSING + 5, 0);
    assert.equal(n.pending, 0);
    let seq = NACK_MAX_MISSING + 5;
    for (let i = 0; i < 1000; i++) { seq = (seq + 3) & 0xffff; n.onPacket(seq, 0); }
    assert.ok(n.pending <= NACK_MAX_MISSING, `${n.pending}`);
    assert.ok(n.due(0, 20).length <= NACK_MAX_MISSING);
  });
});
