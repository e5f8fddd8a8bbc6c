// A room's lifecycle countdowns: per peer, how long it may stay disconnected (peerDisconnectedTimeout),
// and for the room, how long it may stay without a connected peer (peerlessPurgeTimeout); null turns a
// countdown off. It only keeps time and calls back: what an expiry means (purge the peer, drop the room)
// and whether it still applies when it fires is the Room's decision.
export interface LifecycleTimeouts {
  /** Seconds. */
  peerDisconnectedTimeout: number | null;
  /** Seconds. */
  peerlessPurgeTimeout: number | null;
}

export class LifecycleTimers {
  private peerless: NodeJS.Timeout | undefined;
  private readonly disconnected = new Map<string, NodeJS.Timeout>();

  constructor(private readonly timeouts: LifecycleTimeouts) {}

  /** (Re)starts `peerId`'s disconnected countdown. */
  startDisconnected(peerId: string, expired: () => void): void {
    const timeout = this.timeouts.peerDisconnectedTimeout;
    if (timeout === null) return;
    this.cancelDisconnected(peerId);
    const timer = setTimeout(() => {
      this.disconnected.delete(peerId);
      expired();
    }, timeout * 1000);
    timer.unref();
    this.disconnected.set(peerId, timer);
  }

  cancelDisconnected(peerId: string): void {
    clearTimeout(this.disconnected.get(peerId));
    this.disconnected.delete(peerId);
  }

  /** Restarts the peerless countdown when no peer is connected; cancels it when one is. */
  peerlessCheck(anyConnected: boolean, expired: () => void): void {
    if (this.timeouts.peerlessPurgeTimeout === null) return;
    clearTimeout(this.peerless);
    this.peerless = undefined;
    if (anyConnected) return;
    this.peerless = setTimeout(expired, this.timeouts.peerlessPurgeTimeout * 1000);
    this.peerless.unref();
  }

  /** Cancels every countdown. */
  stop(): void {
    clearTimeout(this.peerless);
    this.peerless = undefined;
    for (const timer of this.disconnected.values()) clearTimeout(timer);
    this.disconnected.clear();
  }
}
