// A rate limit for a log line that input from the network can trigger once per packet (an endpoint
// throwing on relayed garbage): at most one line per interval, each telling how many were held back
// since the previous one.
// What it must not do: log anything itself, keep more than a timestamp and a count, or allocate.

export class LogThrottle {
  private last = Number.NEGATIVE_INFINITY;
  private held = 0;

  constructor(private readonly intervalMs = 1000) {}

  /**
   * One more occurrence at `now`: returns how many were suppressed since the last logged one if this
   * one should be logged, else undefined (and counts it as suppressed).
   */
  take(now = Date.now()): number | undefined {
    if (now - this.last < this.intervalMs) {
      this.held++;
      return undefined;
    }
    this.last = now;
    const suppressed = this.held;
    this.held = 0;
    return suppressed;
  }
}
