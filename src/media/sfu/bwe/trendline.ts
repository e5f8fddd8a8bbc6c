// The delay-based half of a GCC-like estimator (draft-ietf-rmcat-gcc): packets are grouped into send
// bursts of BURST_MS; for each pair of groups the change in one-way delay (arrival delta minus send
// delta) is accumulated and smoothed, and the slope of that accumulated delay over the last WINDOW
// groups (least squares) is compared with an adaptive threshold. A rising delay that stays over the
// threshold is overuse (a queue is building), a falling one underuse (a queue is draining).
// What it must not do: look at loss or bitrates, keep unbounded state, or read a clock (times are given).

export type BandwidthUsage = 'normal' | 'overusing' | 'underusing';

const BURST_MS = 5;
const WINDOW = 20;
const SMOOTHING = 0.9;
const GAIN = 4;
/** Modified-trend samples count at most this many (the gain grows with samples up to it). */
const MAX_SAMPLES_GAIN = 60;
const OVERUSE_TIME_MS = 10;
const K_UP = 0.0087;
const K_DOWN = 0.039;
const THRESHOLD_MIN = 6;
const THRESHOLD_MAX = 600;
const THRESHOLD_START = 12.5;

export class TrendlineDetector {
  private groupSendFirst = -1;
  private groupSendLast = 0;
  private groupArrivalLast = 0;
  private prevSend = -1;
  private prevArrival = 0;
  private accumulated = 0;
  private smoothed = 0;
  private samples = 0;
  private readonly xs = new Float64Array(WINDOW);
  private readonly ys = new Float64Array(WINDOW);
  private count = 0;
  private firstArrival = -1;
  private threshold = THRESHOLD_START;
  private lastThresholdUpdate = -1;
  private overuseSince = -1;
  private overuseCount = 0;
  private prevTrend = 0;
  private state: BandwidthUsage = 'normal';

  /** Overuse detections so far (each needs the trend over the threshold anew). */
  overuseEvents = 0;

  get usage(): BandwidthUsage {
    return this.state;
  }

  /** One received packet, in send order: its send time and arrival time (ms, each on its own clock). */
  packet(sendMs: number, arrivalMs: number): BandwidthUsage {
    if (this.groupSendFirst < 0) {
      this.startGroup(sendMs, arrivalMs);
      return this.state;
    }
    if (sendMs < this.groupSendFirst) return this.state; // reordered into an older group
    if (sendMs - this.groupSendFirst <= BURST_MS) {
      this.groupSendLast = Math.max(this.groupSendLast, sendMs);
      this.groupArrivalLast = Math.max(this.groupArrivalLast, arrivalMs);
      return this.state;
    }
    // The current group is complete.
    if (this.prevSend >= 0) this.delta(this.groupSendLast - this.prevSend, this.groupArrivalLast - this.prevArrival, this.groupArrivalLast);
    this.prevSend = this.groupSendLast;
    this.prevArrival = this.groupArrivalLast;
    this.startGroup(sendMs, arrivalMs);
    return this.state;
  }

  private startGroup(sendMs: number, arrivalMs: number): void {
    this.groupSendFirst = sendMs;
    this.groupSendLast = sendMs;
    this.groupArrivalLast = arrivalMs;
  }

  private delta(sendDelta: number, arrivalDelta: number, arrivalMs: number): void {
    if (this.firstArrival < 0) this.firstArrival = arrivalMs;
    this.accumulated += arrivalDelta - sendDelta;
    this.smoothed = SMOOTHING * this.smoothed + (1 - SMOOTHING) * this.accumulated;
    this.samples++;
    const i = this.count % WINDOW;
    this.xs[i] = arrivalMs - this.firstArrival;
    this.ys[i] = this.smoothed;
    this.count++;
    if (this.count < WINDOW) return;
    const trend = slope(this.xs, this.ys);
    this.detect(trend * Math.min(this.samples, MAX_SAMPLES_GAIN) * GAIN, trend, sendDelta, arrivalMs);
  }

  private detect(modified: number, trend: number, sendDelta: number, now: number): void {
    if (modified > this.threshold) {
      if (this.overuseSince < 0) this.overuseSince = now - sendDelta / 2;
      this.overuseCount++;
      if (now - this.overuseSince > OVERUSE_TIME_MS && this.overuseCount > 1 && trend >= this.prevTrend) {
        this.overuseSince = -1;
        this.overuseCount = 0;
        this.state = 'overusing';
        this.overuseEvents++;
      }
    } else if (modified < -this.threshold) {
      this.overuseSince = -1;
      this.overuseCount = 0;
      this.state = 'underusing';
    } else {
      this.overuseSince = -1;
      this.overuseCount = 0;
      this.state = 'normal';
    }
    this.prevTrend = trend;
    this.adaptThreshold(modified, now);
  }

  /** The threshold follows |modified trend| (fast down, slow up), ignoring spikes far above it. */
  private adaptThreshold(modified: number, now: number): void {
    if (this.lastThresholdUpdate < 0) this.lastThresholdUpdate = now;
    const abs = Math.abs(modified);
    if (abs > this.threshold + 15) {
      this.lastThresholdUpdate = now;
      return;
    }
    const k = abs < this.threshold ? K_DOWN : K_UP;
    const dt = Math.min(now - this.lastThresholdUpdate, 100);
    this.threshold += k * (abs - this.threshold) * dt;
    this.threshold = Math.min(THRESHOLD_MAX, Math.max(THRESHOLD_MIN, this.threshold));
    this.lastThresholdUpdate = now;
  }
}

/** Least-squares slope of y over x (0 when x does not vary). */
function slope(xs: Float64Array, ys: Float64Array): number {
  const n = xs.length;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i]!;
    sy += ys[i]!;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    num += dx * (ys[i]! - my);
    den += dx * dx;
  }
  return den === 0 ? 0 : num / den;
}
