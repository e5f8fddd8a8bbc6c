// How much one subscriber transport may retransmit: a token bucket filled at RESEND_SHARE of the
// bandwidth estimate, holding at most BURST_MS of it. On a congested link every loss is NACKed and a
// retransmission storm makes the congestion worse; with the budget, resends beyond a share of what the
// link carries are refused (the receiver's decoder asks for a keyframe instead). 3 % loss on a link the
// estimate fits needs a sixteenth of the share.
// What it must not do: read a clock (times are given), send, or know about packets beyond their size.

/** Part of the estimate retransmissions may use. */
export const RESEND_SHARE = 0.5;
/** The bucket holds this much of the share (a burst of NACKs after a short loss is served at once). */
const BURST_MS = 500;
/** The bucket holds at least this many bytes (a few full packets, even on a tiny estimate). */
const MIN_BURST_BYTES = 8 * 1200;

export class ResendBudget {
  private tokens = MIN_BURST_BYTES;
  private at = -1;

  /** True (and the bytes are taken) when `bytes` may be resent at `now` with the estimate at `estimateBps`. */
  take(bytes: number, estimateBps: number, now: number): boolean {
    const rate = (estimateBps * RESEND_SHARE) / 8000; // bytes per ms
    const cap = Math.max(MIN_BURST_BYTES, rate * BURST_MS);
    if (this.at >= 0) this.tokens = Math.min(cap, this.tokens + rate * Math.max(0, now - this.at));
    this.at = now;
    if (this.tokens < bytes) return false;
    this.tokens -= bytes;
    return true;
  }
}
