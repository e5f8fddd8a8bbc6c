// FramePacer on a hand-driven clock: real-time steps, drift correction when timers fire late, catch-up
// after a short delay, no burst after a long stall, idle (no timer) when there is nothing to play.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FramePacer, MAX_CATCH_UP_MS } from '../../../src/media/agent/frame-pacer.js';
import { FakeClock } from './fake-clock.js';

/** A pacer over `frames` 20 ms frames, recording when each was played. */
function pacerWith(clock: FakeClock, frames: number) {
  const playedAt: number[] = [];
  let left = frames;
  const pacer = new FramePacer(clock, () => {
    if (left === 0) return 0;
    left--;
    playedAt.push(clock.now());
    return 20;
  });
  return { pacer, playedAt, add: (n: number) => (left += n) };
}

describe('FramePacer', () => {
  test('plays the first frame at once, then one frame every 20 ms, and goes idle with no timer when empty', () => {
    const clock = new FakeClock();
    const { pacer, playedAt } = pacerWith(clock, 50);
    pacer.wake();
    assert.deepEqual(playedAt, [0]);
    clock.advance(490);
    assert.equal(playedAt.length, 25);
    assert.deepEqual(playedAt.slice(0, 4), [0, 20, 40, 60]);
    clock.advance(1000);
    assert.equal(playedAt.length, 50);
    assert.equal(playedAt.at(-1), 980);
    assert.equal(pacer.active, false);
    assert.equal(clock.pending, 0);
  });

  test('timers firing 7 ms late do not slow it down: 1 s of wall time still plays 1 s of audio', () => {
    const clock = new FakeClock(7);
    const { pacer, playedAt } = pacerWith(clock, 1000);
    pacer.wake();
    clock.advance(1000);
    // Without drift correction it would be 1000 / 27 ≈ 37 frames.
    assert.ok(playedAt.length >= 49 && playedAt.length <= 51, `${playedAt.length} frames in 1 s`);
    // Never ahead of real time: frame n is played no earlier than n · 20 ms.
    playedAt.forEach((at, n) => assert.ok(at >= n * 20, `frame ${n} at ${at} ms`));
  });

  test('after a short delay it catches up; after a long stall it re-bases instead of bursting', () => {
    const clock = new FakeClock();
    const { pacer, playedAt } = pacerWith(clock, 1000);
    pacer.wake();
    clock.advance(100); // frames at 0..100
    assert.equal(playedAt.length, 6);
    clock.jump(MAX_CATCH_UP_MS - 20); // a short delay: its frames are sent when the timer fires
    clock.advance(0);
    const caughtUp = playedAt.length;
    assert.ok(caughtUp >= 8, `${caughtUp} frames after a ${MAX_CATCH_UP_MS - 20} ms delay`);
    clock.jump(500); // a long stall: 25 frames' time missed
    clock.advance(0);
    assert.equal(playedAt.length, caughtUp + 1, 'one frame after the stall, not a burst of 25');
    clock.advance(100);
    assert.equal(playedAt.length, caughtUp + 6, 'then one every 20 ms again');
  });

  test('stop() cancels its timer; wake() starts again from now', () => {
    const clock = new FakeClock();
    const { pacer, playedAt } = pacerWith(clock, 100);
    pacer.wake();
    clock.advance(40);
    pacer.stop();
    assert.equal(clock.pending, 0);
    clock.advance(1000);
    assert.equal(playedAt.length, 3);
    pacer.wake();
    assert.equal(playedAt.at(-1), 1040);
    clock.advance(20);
    assert.equal(playedAt.at(-1), 1060);
  });
});
