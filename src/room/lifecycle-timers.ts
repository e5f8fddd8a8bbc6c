// A room's lifecycle countdowns: per peer, how long it may stay disconnected (peerDisconnectedTimeout),
// and for the room, how long it may stay without a connected peer (peerlessPurgeTimeout); null turns a
// countdown off. It only keeps time and calls back: what an expiry means (purge the peer, drop the room)
// and whether it still applies when it fires is the Room's decision. Countdowns longer than setTimeout
// allows (~24.8 days) run in steps, so a 30-day timeout takes 30 days, not 1 ms.
export interface LifecycleTimeouts {
  /** Seconds. */
  peerDisconnectedTimeout: number | null;
  /** Seconds. */
  peerlessPurgeTimeout: number | null;
}

/** The longest delay setTimeout honours (2^31 − 1 ms); a longer one would fire at once. */
export const MAX_TIMER_STEP_MS = 0x7fffffff;

/** A countdown of any length that never keeps the process alive: setTimeout steps of at most MAX_TIMER_STEP_MS. */
class Countdown {
  private timer: NodeJS.Timeout | undefined;
  private readonly deadline: number;

  constructor(ms: number, private readonly expired: () => void) {
    this.deadline = Date.now() + ms;
    this.arm(ms);
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(remaining: number): void {
    const step = Math.min(remaining, MAX_TIMER_STEP_MS);
    this.timer = setTimeout(() => {
      const left = this.deadline - Date.now();
      if (remaining > step && left > 0) this.arm(left);
      else this.expired();
    }, step);
    this.timer.unref();
  }
}

export class LifecycleTimers {
  private peerless: Countdown | undefined;
  private readonly disconnected = new Map<string, Countdown>();

  constructor(private readonly timeouts: LifecycleTimeouts) {}

  /** (Re)starts `peerId`'s disconnected countdown. */
  startDisconnected(peerId: string, expired: () => void): void {
    const timeout = this.timeouts.peerDisconnectedTimeout;
    if (timeout === null) return;
    this.cancelDisconnected(peerId);
    this.disconnected.set(
      peerId,
      new Countdown(timeout * 1000, () => {
        this.disconnected.delete(peerId);
        expired();
      }),
    );
  }

  cancelDisconnected(peerId: string): void {
    this.disconnected.get(peerId)?.cancel();
    this.disconnected.delete(peerId);
  }

  /** Restarts the peerless countdown when no peer is connected; cancels it when one is. */
  peerlessCheck(anyConnected: boolean, expired: () => void): void {
    if (this.timeouts.peerlessPurgeTimeout === null) return;
    this.peerless?.cancel();
    this.peerless = anyConnected ? undefined : new Countdown(this.timeouts.peerlessPurgeTimeout * 1000, expired);
  }

  /** Cancels every countdown. */
  stop(): void {
    this.peerless?.cancel();
    this.peerless = undefined;
    for (const countdown of this.disconnected.values()) countdown.cancel();
    this.disconnected.clear();
  }
}
