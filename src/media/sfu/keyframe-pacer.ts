// Paces keyframe requests (PLIs) to one publisher, per stream SSRC: at most one per interval; a request
// inside the interval is deferred to its end, not dropped, and a keyframe arriving meanwhile makes it
// unnecessary. It decides when to ask; sending is the callback's job, and it knows nothing of RTCP.

/** WebRTC senders ignore keyframe requests closer than 300 ms to the last one they served (kMinKeyframeSendIntervalMs). */
export const KEYFRAME_REQUEST_INTERVAL_MS = 300;

interface Pacing {
  lastSent: number;
  deferred: NodeJS.Timeout | undefined;
}

export class KeyframePacer {
  private readonly pacing = new Map<number, Pacing>();
  private closed = false;

  constructor(private readonly sendPli: (ssrc: number) => void) {}

  /** A PLI for `ssrc` now, or one at the end of the interval if the last was sent less than an interval ago. */
  request(ssrc: number): void {
    if (this.closed) return;
    let p = this.pacing.get(ssrc);
    if (p === undefined) {
      p = { lastSent: -Infinity, deferred: undefined };
      this.pacing.set(ssrc, p);
    }
    if (p.deferred !== undefined) return;
    const wait = p.lastSent + KEYFRAME_REQUEST_INTERVAL_MS - Date.now();
    if (wait <= 0) return this.send(ssrc, p);
    const pacing = p;
    p.deferred = setTimeout(() => {
      pacing.deferred = undefined;
      if (!this.closed) this.send(ssrc, pacing);
    }, wait);
  }

  /** A keyframe began on `ssrc`: whoever waits for one takes it, so a deferred request is dropped. */
  keyframeArrived(ssrc: number): void {
    const p = this.pacing.get(ssrc);
    if (p?.deferred === undefined) return;
    clearTimeout(p.deferred);
    p.deferred = undefined;
  }

  close(): void {
    this.closed = true;
    for (const p of this.pacing.values()) clearTimeout(p.deferred);
  }

  private send(ssrc: number, p: Pacing): void {
    p.lastSent = Date.now();
    this.sendPli(ssrc);
  }
}
