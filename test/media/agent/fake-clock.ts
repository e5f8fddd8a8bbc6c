// Test helper: a hand-driven PacerClock. Time moves only in advance(); timers fire at their due time
// (plus `lateness`, to model a busy event loop), in order. jump() moves time without firing anything
// (a blocked thread), so the next advance() finds the timers overdue.
import type { PacerClock } from '../../../src/media/agent/frame-pacer.js';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

export class FakeClock implements PacerClock {
  t = 0;
  private timers: Timer[] = [];
  private nextId = 1;

  constructor(private readonly lateness = 0) {}

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { id: this.nextId++, at: this.t + Math.max(0, ms) + this.lateness, fn };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }

  /** Moves time forward without firing timers (the thread was blocked). */
  jump(ms: number): void {
    this.t += ms;
  }
}
