// Notices that a session's client went silent: no RTP or RTCP from it for `timeoutMs` (counted from the
// session's start, so a client that never connects is silent too). Sessions without a signaling socket
// (WHIP/WHEP) have no other sign that their client left without a DELETE. It counts packets (one
// increment each) and checks on a coarse, unref'd timer; it must not touch packets or know about rooms.

export class IdleWatch {
  private packets = 0;
  private seenAtCheck = 0;
  private lastActive: number;
  private done = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly timeoutMs: number,
    private readonly onIdle: () => void,
  ) {
    this.lastActive = Date.now();
    this.timer = setInterval(() => this.check(), Math.max(10, Math.min(5000, Math.floor(timeoutMs / 3))));
    this.timer.unref();
  }

  /** A packet arrived from the client (cheap: called per packet). */
  packet(): void {
    this.packets++;
  }

  close(): void {
    this.done = true;
    clearInterval(this.timer);
  }

  private check(): void {
    if (this.done) return;
    const now = Date.now();
    if (this.packets !== this.seenAtCheck) {
      this.seenAtCheck = this.packets;
      this.lastActive = now;
      return;
    }
    if (now - this.lastActive < this.timeoutMs) return;
    this.close();
    this.onIdle();
  }
}
