// When one session may negotiate (ts-client 0.5.0's offerData → sdpOffer → sdpAnswer rounds): one round
// at a time, a request made during a round runs right after it, and a round ends only once the client
// is connected again — at once when nothing needs reconnecting, else on the transport's (re)connection
// (DTLS up and the client's first media packet, or ICE taking up restarted credentials), or after a
// timeout, so a client that never answers blocks nothing for long. It keeps time and state only; what
// a round sends is the `begin` callback's.

/** How long an answered round waits for the transport to (re)connect before it ends anyway. */
export const NEGOTIATION_SETTLE_TIMEOUT_MS = 5000;
/** How long after DTLS a round waits for the client's first media packet before it ends anyway. */
export const CLIENT_CONNECTED_GRACE_MS = 500;
/** How long an offerData may stay unanswered before the next round can start. */
export const OFFER_TIMEOUT_MS = 10_000;

export class NegotiationRounds {
  private negotiating = false;
  private pending = false;
  private answered = 0;
  private settleTimer: NodeJS.Timeout | undefined;
  /** After DTLS: waiting for the client's first SRTP/SRTCP packet (or the grace) to end the round. */
  private graceTimer: NodeJS.Timeout | undefined;

  /** `begin` starts a round: it sends the held announcements and offerData. */
  constructor(private readonly begin: () => void) {}

  /** Rounds whose answer went out. */
  get rounds(): number {
    return this.answered;
  }

  /** A round is wanted: now, or right after the one under way. */
  request(): void {
    if (this.negotiating) {
      this.pending = true;
      return;
    }
    this.negotiating = true;
    this.pending = false;
    this.begin();
    this.arm(OFFER_TIMEOUT_MS, () => this.finish());
  }

  /** An offer arrived (answering offerData or not): a round is under way until its answer settles. */
  offerArrived(): void {
    this.negotiating = true;
  }

  /** The offer could not be answered: the round ends now. */
  failed(): void {
    this.finish();
  }

  /** The answer went out; the round ends now if `settled` (the transport needs no reconnecting). */
  answerSent(settled: boolean): void {
    this.answered++;
    clearTimeout(this.settleTimer);
    if (settled) return this.finish();
    this.arm(NEGOTIATION_SETTLE_TIMEOUT_MS, () => this.settle());
  }

  /**
   * Our side of DTLS is done, one flight before the client's. ts-client 0.5.0 resolves addTrack only on
   * its PeerConnection's "connected" event, and not if another round (tracksAdded) has begun by then, so
   * the round waits for the client's first packet (clientActive), or the grace.
   */
  transportConnected(): void {
    this.graceTimer = setTimeout(() => this.clientConnected(), CLIENT_CONNECTED_GRACE_MS);
    this.graceTimer.unref();
  }

  /** A packet from the client arrived (cheap to call per packet). */
  clientActive(): void {
    if (this.graceTimer !== undefined) this.clientConnected();
  }

  /** ICE saw the client use the credentials of a restart. */
  iceRestarted(): void {
    this.settle();
  }

  close(): void {
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    clearTimeout(this.settleTimer);
  }

  private clientConnected(): void {
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.settle();
  }

  /** The transport is connected: an answered round under way ends. */
  private settle(): void {
    if (!this.negotiating || this.answered === 0) return;
    this.finish();
  }

  private finish(): void {
    clearTimeout(this.settleTimer);
    this.negotiating = false;
    if (this.pending) this.request();
  }

  private arm(ms: number, fire: () => void): void {
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(fire, ms);
    this.settleTimer.unref();
  }
}
