// The per-subscriber allocator on given estimates (no clock, no transport): audio first, every video
// track its lowest layer before any gets more, never above the allowed layers, pause when even the
// lowest does not fit, upgrades held and backed off after a failed one, downgrades at once.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AUDIO_BPS, Allocator, HOLD_MS, PAUSE_AFTER_MS, allowedVariants, type AllocTrack } from '../../../src/media/sfu/allocator.js';

const LAYERS = [120_000, 450_000, 2_500_000];
const video = (key: string, level: number, layers = LAYERS): AllocTrack => ({ key, kind: 'video', layers, level });
const audio: AllocTrack = { key: 'a', kind: 'audio', layers: [0], level: 0 };

describe('Allocator', () => {
  test('fits layers into the estimate: lowest for all first, then raises round-robin; never above the allowed layers', () => {
    const a = new Allocator();
    assert.deepEqual(a.allocate([audio, video('v1', 2), video('v2', 2)], 10_000_000, 0), [0, 2, 2]);
    const b = new Allocator();
    assert.deepEqual(b.allocate([audio, video('v1', 1), video('v2', 1)], 1_100_000, 0), [0, 1, 1], '2 × 450 k + audio in 0.9 × 1.1 M');
    const c = new Allocator();
    assert.deepEqual(c.allocate([audio, video('v1', 1), video('v2', 1)], 700_000, 0), [0, 1, 0], 'second track stays on l');
    const d = new Allocator();
    assert.deepEqual(d.allocate([video('v1', 0, LAYERS.slice(0, 2))], 50_000_000, 0), [1], 'target m: never h');
  });

  test('pauses video whose lowest layer has not fitted for PAUSE_AFTER_MS (audio is kept), resumes with a margin after the hold', () => {
    const a = new Allocator();
    assert.deepEqual(a.allocate([audio, video('v', 0)], 60_000, 0), [0, 0], 'a first misfit keeps it');
    assert.deepEqual(a.allocate([audio, video('v', 0)], 60_000, PAUSE_AFTER_MS - 1), [0, 0], 'still within PAUSE_AFTER_MS');
    assert.deepEqual(a.allocate([audio, video('v', 0)], 60_000, PAUSE_AFTER_MS), [0, -1], 'paused');
    const t = PAUSE_AFTER_MS + HOLD_MS + 1;
    assert.deepEqual(a.allocate([audio, video('v', -1)], (AUDIO_BPS + 120_000) / 0.9 + 1000, t), [0, -1], 'fits without the resume margin only');
    assert.deepEqual(a.allocate([audio, video('v', -1)], 400_000, t + 1), [0, 0], 'resumed on l');
  });

  test('a misfit that passes within PAUSE_AFTER_MS never pauses; the next one counts from its own start', () => {
    const a = new Allocator();
    assert.deepEqual(a.allocate([audio, video('v', 0)], 60_000, 0), [0, 0]);
    assert.deepEqual(a.allocate([audio, video('v', 0)], 400_000, 1500), [0, 0], 'fits again');
    assert.deepEqual(a.allocate([audio, video('v', 0)], 60_000, 2000), [0, 0], 'a new misfit');
    assert.deepEqual(a.allocate([audio, video('v', 0)], 60_000, 2000 + PAUSE_AFTER_MS - 1), [0, 0]);
    assert.deepEqual(a.allocate([audio, video('v', 0)], 60_000, 2000 + PAUSE_AFTER_MS), [0, -1]);
  });

  test('an upgrade waits HOLD_MS after a change; an upgrade undone soon after backs the next one off, doubling', () => {
    const a = new Allocator();
    assert.deepEqual(a.allocate([video('v', 1)], 300_000, 0), [0], 'down at once');
    assert.deepEqual(a.allocate([video('v', 0)], 5_000_000, 1000), [0], 'held');
    assert.deepEqual(a.allocate([video('v', 0)], 5_000_000, 2000), [2], 'up after the hold');
    assert.deepEqual(a.allocate([video('v', 2)], 300_000, 3000), [0], 'failed: down at once');
    assert.deepEqual(a.allocate([video('v', 0)], 5_000_000, 6500), [0], 'backed off 4 s');
    assert.deepEqual(a.allocate([video('v', 0)], 5_000_000, 7001), [2], 'after 4 s');
    assert.deepEqual(a.allocate([video('v', 2)], 300_000, 7500), [0], 'failed again');
    assert.deepEqual(a.allocate([video('v', 0)], 5_000_000, 15_000), [0], 'backed off 8 s now');
    assert.deepEqual(a.allocate([video('v', 0)], 5_000_000, 15_501), [2]);
  });

  test('retransmissions: within the 10 % reserve they change nothing; beyond it they are taken from the budget (a layer goes down)', () => {
    // 1.1 M estimate: 990 k usable holds audio + 2 × 450 k (940 k); the reserve is 110 k.
    const tracks = [audio, video('v1', 1), video('v2', 1)];
    assert.deepEqual(new Allocator().allocate(tracks, 1_100_000, 0, 100_000), [0, 1, 1], '100 k resent: inside the reserve');
    assert.deepEqual(new Allocator().allocate(tracks, 1_100_000, 0, 200_000), [0, 1, 0], '200 k resent: 90 k over the reserve, one track drops to l');
    assert.deepEqual(new Allocator().allocate(tracks, 1_100_000, 0), [0, 1, 1], 'none resent (default)');
  });

  test('allowedVariants: the published rids up to the target, low to high', () => {
    assert.deepEqual(allowedVariants(['h', 'm', 'l'], 'm'), ['l', 'm']);
    assert.deepEqual(allowedVariants(['l', 'h'], 'h'), ['l', 'h']);
    assert.deepEqual(allowedVariants(['m', 'h'], 'l'), []);
  });
});

describe('Allocator priorities', () => {
  const audio: AllocTrack = { key: 'a', kind: 'audio', layers: [0], level: 0 };
  test('short of budget, the track the client asked the higher layer for gets its step first; the small tile waits', () => {
    const small: AllocTrack = { key: 'small', kind: 'video', layers: [150_000], level: 0 };
    const big: AllocTrack = { key: 'big', kind: 'video', layers: [150_000, 500_000], level: 0 };
    // Room for audio, both l layers and one more step: the big tile rises, in either order of the tracks.
    const est = (40_000 + 150_000 + 500_000 * 1.15) / 0.9 + 1000;
    assert.deepEqual(new Allocator().allocate([audio, small, big], est, 10_000), [0, 0, 1]);
    assert.deepEqual(new Allocator().allocate([audio, big, small], est, 10_000), [0, 1, 0]);
    // Room for audio and one l only: the big tile keeps its video, the small one pauses (after the misfit time).
    const tight = (40_000 + 150_000) / 0.9 + 1000;
    const a = new Allocator();
    a.allocate([audio, small, big], tight, 0);
    assert.deepEqual(a.allocate([audio, small, big], tight, PAUSE_AFTER_MS), [0, -1, 0]);
  });
});
