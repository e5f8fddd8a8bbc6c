// Bandwidth probing for one subscriber transport: finds out whether the link carries more before the
// allocator raises a layer (or resumes a paused track), instead of raising it and seeing what breaks. A
// probe tops the transport's sending up to a target bitrate with padding for PROBE_MS; the transport-cc
// feedback about the packets sent meanwhile decides it. It succeeds when they arrived at ≥ 85 % of the
// target with little loss and no overuse (the estimate jumps to what arrived); it fails at once on
// queueing delay, overuse or loss among them (the padding stops; the estimate goes back to what it was,
// since the congestion was the probe's own), and the next probe waits, doubling from MIN_BACKOFF_MS
// to MAX_BACKOFF_MS (a link that was cut is tried again within that long, so its restore is noticed).
// What it must not do: send packets (it says how many padding bytes are owed; the caller sends them),
// read a clock (times are given), or decide layers.
import { seqDelta } from '../../wire/rtp.js';
import type { TwccFeedback } from '../../wire/twcc.js';
import type { SendHistory } from './send-history.js';

export const PROBE_MS = 500;
/** After the probe's last packet, how long its feedback may take before the probe is judged on what came. */
const VERDICT_WAIT_MS = 600;
const SUCCESS_RATIO = 0.85;
/** Loss among the probe's packets that fails it (the link dropped what it could not carry). */
const FAIL_LOSS = 0.05;
/**
 * Queueing delay that fails it: FAIL_DELAYED_PACKETS of the probe's packets with a one-way delay (arrival −
 * send, clocks' offset cancels) this much above the probe's smallest — a queue is building; stopping
 * here, before the trendline says overuse or the queue overflows, keeps the probe's harm to the media it
 * shares the link with small. Several packets, not one: a busy machine delays a single one that much.
 */
const FAIL_DELAY_MS = 40;
const FAIL_DELAYED_PACKETS = 3;
export const MIN_BACKOFF_MS = 3000;
/**
 * A cut link is probed again at least this often: its restore is found within this long (plus the probe);
 * a failed probe costs the link ~200 ms of a short queue (no freeze seen at 300 kbit/s). 12 s made a restore
 * take over 20 s when one probe after it failed on a busy machine.
 */
export const MAX_BACKOFF_MS = 8000;
/** Padding owed is capped at this much of the target (no long burst after a gap in the caller's calls). */
const MAX_OWED_MS = 60;

/** A failed probe says what the estimate was before it (what the probe's own congestion must not undercut). */
export type ProbeVerdict = { ok: true; bps: number } | { ok: false; beforeBps: number };

interface Probe {
  targetBps: number;
  beforeBps: number;
  startedAt: number;
  minDelay: number;
  delayed: number;
  /** The probe's packets: transport-wide sequence numbers from firstSeq up to (not including) lastSeq, −1 while sending. */
  firstSeq: number;
  lastSeq: number;
  /** The history's bytesSent when the probe started: what was sent since (media and padding) counts. */
  bytesAtStart: number;
  /** What the feedback said about the probe's packets so far. */
  received: number;
  lost: number;
  bytes: number;
  firstArrival: number;
  lastArrival: number;
  firstArrivalSize: number;
}

export class Prober {
  private probe: Probe | undefined;
  private nextAllowed = -Infinity;
  private lastEnded = -Infinity;
  private backoffMs = MIN_BACKOFF_MS;
  /** Probes started, succeeded, failed (for tests and stats). */
  readonly counts = { started: 0, succeeded: 0, failed: 0 };

  constructor(private readonly history: SendHistory) {}

  get active(): boolean {
    return this.probe !== undefined;
  }

  /**
   * True when a probe may start at `now`: none running and not backing off — except that a probe to
   * resume a paused track waits only MIN_BACKOFF_MS after the last one (a paused video is worse than a
   * low layer: finding room for it again is worth more frequent tries).
   */
  mayStart(now: number, resume = false): boolean {
    if (this.probe !== undefined) return false;
    return now >= this.nextAllowed || (resume && now >= this.lastEnded + MIN_BACKOFF_MS);
  }

  /** Starts probing `targetBps` (total sending) at `now`, while the estimate is `beforeBps`. */
  start(targetBps: number, beforeBps: number, now: number, resume = false): void {
    if (!this.mayStart(now, resume)) return;
    const first = this.history.peekSeq();
    this.probe = {
      targetBps,
      beforeBps,
      startedAt: now,
      minDelay: Infinity,
      delayed: 0,
      firstSeq: first,
      lastSeq: -1,
      bytesAtStart: this.history.bytesSent,
      received: 0,
      lost: 0,
      bytes: 0,
      firstArrival: Infinity,
      lastArrival: -Infinity,
      firstArrivalSize: 0,
    };
    this.counts.started++;
  }

  /**
   * Padding bytes to send at `now`: what tops everything the transport sent since the probe started
   * (media and padding, as its send history counts) up to the target rate — at most MAX_OWED_MS of it.
   * 0 outside the sending phase.
   */
  owed(now: number): number {
    const p = this.probe;
    if (!p || this.endSending(p, now)) return 0;
    const due = (p.targetBps * (now - p.startedAt)) / 8000 - (this.history.bytesSent - p.bytesAtStart);
    return Math.floor(Math.min(due, (p.targetBps * MAX_OWED_MS) / 8000));
  }

  /**
   * One feedback at `now`, with whether the estimator just detected an overuse. Returns the verdict once
   * the probe is decided (and forgets it), undefined while it runs or when none does.
   */
  onFeedback(fb: TwccFeedback, overuse: boolean, now: number): ProbeVerdict | undefined {
    const p = this.probe;
    if (!p) return undefined;
    let covered = false;
    for (let i = 0; i < fb.packets.length; i++) {
      const seq = (fb.baseSeq + i) & 0xffff;
      if (!this.inProbe(p, seq)) continue;
      if (p.lastSeq >= 0 && seqDelta(seq, p.lastSeq) === -1) covered = true;
      const st = fb.packets[i]!;
      if (st.arrivalUs === undefined) {
        p.lost++;
        continue;
      }
      p.received++;
      const at = st.arrivalUs / 1000;
      const size = this.history.size(seq);
      p.bytes += size;
      if (at < p.firstArrival) {
        p.firstArrival = at;
        p.firstArrivalSize = size;
      }
      if (at > p.lastArrival) p.lastArrival = at;
      const delay = at - this.history.sentAt(seq);
      if (delay < p.minDelay) p.minDelay = delay;
      else if (delay - p.minDelay > FAIL_DELAY_MS) p.delayed++;
    }
    const n = p.received + p.lost;
    if (overuse || p.delayed >= FAIL_DELAYED_PACKETS || (n >= 10 && p.lost / n > FAIL_LOSS)) return this.finish(false, now);
    if (!this.endSending(p, now) || (!covered && now - p.startedAt < PROBE_MS + VERDICT_WAIT_MS)) return undefined;
    const span = p.lastArrival - p.firstArrival;
    const bps = span > 0 ? ((p.bytes - p.firstArrivalSize) * 8000) / span : 0;
    return bps >= p.targetBps * SUCCESS_RATIO ? this.finish(true, now, Math.min(bps, p.targetBps)) : this.finish(false, now);
  }

  /** Gives up a running probe at `now` without a verdict (nothing left to probe for); no backoff. */
  cancel(): void {
    this.probe = undefined;
  }

  /** True once the sending phase is over (its last sequence number is then fixed). */
  private endSending(p: Probe, now: number): boolean {
    if (p.lastSeq < 0 && now - p.startedAt >= PROBE_MS) p.lastSeq = this.history.peekSeq();
    return p.lastSeq >= 0;
  }

  private inProbe(p: Probe, seq: number): boolean {
    const d = seqDelta(seq, p.firstSeq);
    if (d < 0) return false;
    return p.lastSeq < 0 || seqDelta(seq, p.lastSeq) < 0;
  }

  private finish(ok: boolean, now: number, bps = 0): ProbeVerdict {
    const p = this.probe!;
    this.probe = undefined;
    this.lastEnded = now;
    if (ok) {
      this.counts.succeeded++;
      this.backoffMs = MIN_BACKOFF_MS;
      this.nextAllowed = now + MIN_BACKOFF_MS;
      return { ok: true, bps };
    }
    this.counts.failed++;
    this.nextAllowed = now + this.backoffMs;
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
    return { ok: false, beforeBps: p.beforeBps };
  }
}
