// The rate controller of a GCC-like send-side estimate: one target bitrate moved by what the delay
// detector and the loss ratio say. Overuse (a queue builds) cuts it to 85 % of what actually arrived;
// loss over 10 % cuts it by half the loss; with no overuse and under 2 % loss it grows, by 8 % a second
// while far from the rate it last had to drop from and by about one packet per response time near it
// (additive increase, multiplicative decrease); underuse and 2–10 % loss hold it; a successful bandwidth
// probe (prober.ts) sets it to what the probe got through. Bounded to
// [MIN_BITRATE, MAX_BITRATE]; decreases at most once per DECREASE_INTERVAL_MS (one reaction per round trip).
// What it must not do: read a clock (times are given), parse feedback, or know about tracks or layers.
import type { BandwidthUsage } from './trendline.js';

export const MIN_BITRATE = 30_000;
export const MAX_BITRATE = 20_000_000;
export const START_BITRATE = 600_000;
const BETA = 0.85;
const HIGH_LOSS = 0.1;
const LOW_LOSS = 0.02;
const MULTIPLICATIVE_PER_SECOND = 1.08;
const DECREASE_INTERVAL_MS = 300;
const MAX_CUT = 0.5;
/** Additive increase near the last drop: one 1200-byte packet per ~300 ms response time, per second. */
const ADDITIVE_BPS_PER_SECOND = (1200 * 8 * 1000) / 300;

export class RateControl {
  private rate: number;
  private lastUpdate = -1;
  private lastDecrease = -Infinity;
  /** The rate that last had to be cut (−1 until one was); near it the increase is additive. */
  private dropFrom = -1;
  /** Until then (ms) the target neither falls nor grows (see restore). */
  private holdUntil = -Infinity;

  constructor(start = START_BITRATE) {
    this.rate = clamp(start);
  }

  get bitrate(): number {
    return this.rate;
  }

  /**
   * Back up to `bps` after a failed probe's own congestion cut the target; for `settleMs` the target
   * holds (the queue the probe built drains meanwhile: the delay and loss it still shows are the probe's).
   */
  restore(bps: number, now: number, settleMs: number): number {
    if (bps > this.rate) this.rate = clamp(bps);
    this.holdUntil = now + settleMs;
    return this.rate;
  }

  /** A bandwidth probe found that `bps` arrived without congestion: the target jumps to it (never down). */
  probed(bps: number): number {
    if (bps > this.rate) {
      this.rate = clamp(bps);
      this.dropFrom = -1;
    }
    return this.rate;
  }

  /**
   * One feedback's verdict at `now` (ms): the detector's usage, the loss ratio of recent packets (0..1)
   * and the bitrate that reached the receiver (bps, 0 if unknown). Returns the new target.
   */
  update(usage: BandwidthUsage, loss: number, ackedBps: number, now: number, probeCeiling = 0, lossFresh = true, overuseFresh = true): number {
    const dt = this.lastUpdate < 0 ? 0 : Math.min(1000, Math.max(0, now - this.lastUpdate));
    this.lastUpdate = now;
    if (now < this.holdUntil) return this.rate;
    const canDecrease = now - this.lastDecrease >= DECREASE_INTERVAL_MS;
    // A loss ratio cuts once per measurement (lossFresh), not again on every feedback until the next.
    const lossCut = loss > HIGH_LOSS && lossFresh;
    // Likewise an overuse cuts once per detection, not on every feedback while the detector still says so.
    const overuseCut = usage === 'overusing' && overuseFresh;
    if (overuseCut || lossCut) {
      if (canDecrease) {
        let next = this.rate;
        // 85 % of what arrived, but at most halving per reaction: while the sender is application-limited
        // (little video, a paused track) what arrived says little about the link.
        if (overuseCut) next = Math.min(next, BETA * Math.max(ackedBps > 0 ? ackedBps : this.rate, this.rate * MAX_CUT));
        if (lossCut) next = Math.min(next, this.rate * (1 - 0.5 * loss));
        this.dropFrom = this.rate;
        this.rate = clamp(next);
        this.lastDecrease = now;
      }
    } else if (usage === 'normal' && loss < LOW_LOSS) {
      // Near the rate it last dropped from (±10 %) the link's limit is probably there: additive. Above
      // it, the limit has moved (a link restored): multiplicative again.
      const near = this.dropFrom > 0 && this.rate >= this.dropFrom * 0.9 && this.rate <= this.dropFrom * 1.1;
      const grown = near ? this.rate + (ADDITIVE_BPS_PER_SECOND * dt) / 1000 : this.rate * MULTIPLICATIVE_PER_SECOND ** (dt / 1000);
      // Never far above what arrives (1.5 × acked + a margin, unless nothing is known yet) — except up
      // to `probeCeiling`, what the allocator would need for the layers the client asked for: with no
      // congestion signal the estimate may grow to it, and the allocator's upgrade is the probe.
      const cap = ackedBps > 0 ? Math.max(this.rate, 1.5 * ackedBps + 10_000, probeCeiling) : Infinity;
      this.rate = clamp(Math.min(grown, cap));
    }
    return this.rate;
  }
}

function clamp(bps: number): number {
  return Math.min(MAX_BITRATE, Math.max(MIN_BITRATE, bps));
}
