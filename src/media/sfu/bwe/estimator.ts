// One subscriber transport's send-side bandwidth estimate (GCC-like, transport-cc based): each
// transport-cc feedback from the subscriber is matched with the send history (send time and size of
// each transport-wide sequence number), received packets feed the delay trendline in send order, lost
// ones the loss ratio, received bytes the acked bitrate, and the rate controller turns the three into
// the estimate. Retransmissions carry sequence numbers too, so they count against it.
// What it must not do: send anything, read a clock (times are given), keep unbounded state, or throw on
// feedback naming packets it never sent (they are ignored).
import { seqDelta } from '../../wire/rtp.js';
import type { TwccFeedback } from '../../wire/twcc.js';
import { RateControl } from './rate-control.js';
import type { SendHistory } from './send-history.js';
import { TrendlineDetector } from './trendline.js';

/** Loss is judged over at least this many packets and this long (one noisy feedback is no verdict). */
const LOSS_MIN_PACKETS = 20;
const LOSS_WINDOW_MS = 500;
/** After a failed probe, how long its congestion is waited out (a 100 ms queue drains well within it). */
const PROBE_SETTLE_MS = 1000;
/** The acked bitrate is measured over windows of this much arrival time. */
const ACKED_WINDOW_MS = 500;

export interface EstimateSnapshot {
  bitrate: number;
  loss: number;
  ackedBps: number;
  usage: string;
}

export class BandwidthEstimator {
  private readonly detector = new TrendlineDetector();
  private readonly rate: RateControl;
  private lossReceived = 0;
  private lossLost = 0;
  private lossSince = -1;
  private loss = 0;
  private ackedBytes = 0;
  private ackedFrom = -1;
  private ackedBps = 0;
  /** What the allocator would need for everything the client asked for (bps): the estimate may grow to it. */
  probeCeiling = 0;
  /** True when the last onFeedback() detected a new overuse (a queue is building). */
  overuseDetected = false;
  /** Highest transport sequence number fed to the detector (unwrapped); older ones are not fed again. */
  private newestFed = -1;

  constructor(
    private readonly history: SendHistory,
    startBitrate?: number,
  ) {
    this.rate = new RateControl(startBitrate);
  }

  get bitrate(): number {
    return this.rate.bitrate;
  }

  snapshot(): EstimateSnapshot {
    return { bitrate: this.rate.bitrate, loss: this.loss, ackedBps: this.ackedBps, usage: this.detector.usage };
  }

  /** One transport-cc feedback received at `now` (ms, the clock send times were recorded on). Returns the estimate. */
  onFeedback(fb: TwccFeedback, now: number): number {
    let known = 0;
    const overuses = this.detector.overuseEvents;
    for (let i = 0; i < fb.packets.length; i++) {
      const status = fb.packets[i]!;
      const seq = (fb.baseSeq + i) & 0xffff;
      const sent = this.history.sentAt(seq);
      if (sent < 0) continue;
      known++;
      if (status.arrivalUs === undefined) {
        this.lossLost++;
        continue;
      }
      this.lossReceived++;
      const arrivalMs = status.arrivalUs / 1000;
      this.acked(arrivalMs, this.history.size(seq));
      if (this.isNew(seq)) this.detector.packet(sent, arrivalMs);
    }
    this.overuseDetected = this.detector.overuseEvents !== overuses;
    if (known === 0) return this.rate.bitrate;
    const fresh = this.updateLoss(now);
    return this.rate.update(this.detector.usage, this.loss, this.ackedBps, now, this.probeCeiling, fresh, this.overuseDetected);
  }

  /**
   * A bandwidth probe failed at `now`; the estimate was `beforeBps` when it started. The loss and delay it
   * caused were its own (its padding has stopped): the loss measured so far is forgotten and the estimate
   * goes back up to `beforeBps` if the probe's congestion cut it.
   */
  probeFailed(beforeBps: number, now: number): void {
    this.lossReceived = 0;
    this.lossLost = 0;
    this.lossSince = now;
    this.rate.restore(beforeBps, now, PROBE_SETTLE_MS);
  }

  /** A bandwidth probe got `bps` through without congestion (see RateControl.probed). */
  probed(bps: number): number {
    return this.rate.probed(bps);
  }

  /** True once per sequence number going forward (feedback may repeat or reorder). */
  private isNew(seq: number): boolean {
    if (this.newestFed < 0) {
      this.newestFed = seq + 0x10000;
      return true;
    }
    const d = seqDelta(seq, this.newestFed);
    if (d <= 0) return false;
    this.newestFed += d;
    return true;
  }

  private acked(arrivalMs: number, size: number): void {
    if (this.ackedFrom < 0 || arrivalMs < this.ackedFrom) {
      this.ackedFrom = arrivalMs;
      this.ackedBytes = 0;
    }
    this.ackedBytes += size;
    const span = arrivalMs - this.ackedFrom;
    if (span >= ACKED_WINDOW_MS) {
      this.ackedBps = (this.ackedBytes * 8 * 1000) / span;
      this.ackedFrom = arrivalMs;
      this.ackedBytes = 0;
    }
  }

  /** True when a new loss ratio was measured. */
  private updateLoss(now: number): boolean {
    if (this.lossSince < 0) this.lossSince = now;
    const total = this.lossReceived + this.lossLost;
    if (total < LOSS_MIN_PACKETS || now - this.lossSince < LOSS_WINDOW_MS) return false;
    this.loss = this.lossLost / total;
    this.lossReceived = 0;
    this.lossLost = 0;
    this.lossSince = now;
    return true;
  }
}
