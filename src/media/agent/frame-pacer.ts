// Plays an agent track's queued audio in real time: one step per frame, scheduled on a drift-corrected
// clock (each wake-up is aimed at `base + media played so far`, so timer lateness never accumulates),
// catching up after a short delay and re-basing (never bursting) after a long stall. Idle while there is
// nothing to play; wake() restarts it. The clock is injected so tests drive it by hand.
// What it must not do: play ahead of real time, or run a timer while idle.

export interface PacerClock {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: PacerClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * How far behind real time the pacer may fall and still catch up (sending the missed frames at once);
 * behind by more (the thread was blocked), it forgets the missed time instead of bursting it out.
 */
export const MAX_CATCH_UP_MS = 60;

/** One step: plays the next frame and returns its duration in ms, or 0 when there is nothing to play (the pacer goes idle). */
export type PacerStep = () => number;

export class FramePacer {
  private base = 0;
  private playedMs = 0;
  private timer: unknown;
  private running = false;

  constructor(
    private readonly clock: PacerClock,
    private readonly step: PacerStep,
  ) {}

  get active(): boolean {
    return this.running;
  }

  /** Something was queued: start playing now unless already playing. */
  wake(): void {
    if (this.running) return;
    this.running = true;
    this.base = this.clock.now();
    this.playedMs = 0;
    this.run();
  }

  /** Stops at once (nothing more is played until the next wake()). */
  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.running = false;
  }

  private readonly run = (): void => {
    this.timer = undefined;
    if (!this.running) return;
    const now = this.clock.now();
    if (now - (this.base + this.playedMs) > MAX_CATCH_UP_MS) this.base = now - this.playedMs;
    while (this.base + this.playedMs <= now) {
      const ms = this.step();
      if (!this.running) return; // the step stopped the pacer
      if (!(ms > 0)) {
        this.running = false;
        return;
      }
      this.playedMs += ms;
    }
    this.timer = this.clock.setTimeout(this.run, this.base + this.playedMs - now);
  };
}
