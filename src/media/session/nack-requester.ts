// Loss detection for one stream a publisher sends: notes sequence-number gaps as packets arrive and
// lists the missing sequence numbers to ask for (at once, and again on later ticks) in a generic NACK,
// within a budget — each at most MAX_TRIES times, not again within about one round trip, and not once it
// is too old to be useful (a frame that late is past the subscribers' jitter buffers). A packet that
// arrives (late or as an RTX repair) is forgotten; a repair of a packet asked for once is a round-trip
// sample (NACK → RTX), smoothed like TCP's SRTT, which then sets the wait between two requests.
// What it must not do: build or send packets (the caller does), grow with the sender's input (at most
// MAX_MISSING pending; a larger jump resets), or know about RTX, SSRCs or sockets.
import { seqDelta } from '../wire/rtp.js';

/** How many times one lost packet is asked for. */
export const NACK_MAX_TRIES = 5;
/** Give up on a packet this long after its gap was seen. */
export const NACK_MAX_AGE_MS = 1000;
/** Pending lost packets at most; a gap larger than this resets (the publisher's keyframe path recovers). */
export const NACK_MAX_MISSING = 256;
/** Floor for the wait between two requests of one packet (when the round trip is not known or tiny). */
export const NACK_MIN_RETRY_MS = 20;

/** Wait between two requests of one packet, as a multiple of the measured NACK → repair time. */
export const NACK_RETRY_RTT_FACTOR = 1.25;

interface Missing {
  firstSeenMs: number;
  lastSentMs: number;
  tries: number;
}

export class NackRequester {
  private highest = -1;
  private readonly missing = new Map<number, Missing>();
  /** Packets given up on (all tries used, or too old). */
  givenUp = 0;
  /** Smoothed NACK → repair time (ms), undefined before the first repair of a packet asked for once. */
  rttMs: number | undefined;

  /** A media packet `seq` arrived (RTX repairs included) at `nowMs`; true if it opened a new gap. */
  onPacket(seq: number, nowMs: number): boolean {
    if (this.highest < 0) { this.highest = seq; return false; }
    const d = seqDelta(seq, this.highest);
    if (d <= 0) { // late or repaired (or a duplicate)
      const m = this.missing.get(seq);
      if (m === undefined) return false;
      this.missing.delete(seq);
      if (m.tries === 1) {
        const sample = nowMs - m.lastSentMs;
        this.rttMs = this.rttMs === undefined ? sample : this.rttMs + (sample - this.rttMs) / 8;
      }
      return false;
    }
    const gap = d > 1;
    if (d > NACK_MAX_MISSING) {
      this.givenUp += this.missing.size;
      this.missing.clear();
    } else {
      for (let k = 1; k < d; k++) this.missing.set((this.highest + k) & 0xffff, { firstSeenMs: nowMs, lastSentMs: -Infinity, tries: 0 });
      if (this.missing.size > NACK_MAX_MISSING) this.dropOldest(this.missing.size - NACK_MAX_MISSING);
    }
    this.highest = seq;
    return gap && d <= NACK_MAX_MISSING;
  }

  /**
   * Sequence numbers to NACK now (ascending from the oldest pending); marks them asked. The wait between
   * two requests of one packet is NACK_RETRY_RTT_FACTOR × the measured repair time, `fallbackRttMs`
   * before there is one.
   */
  due(nowMs: number, fallbackRttMs: number): number[] {
    const out: number[] = [];
    if (this.missing.size === 0) return out;
    const wait = Math.max(NACK_MIN_RETRY_MS, this.rttMs === undefined ? fallbackRttMs : this.rttMs * NACK_RETRY_RTT_FACTOR);
    for (const [seq, m] of this.missing) {
      if (m.tries >= NACK_MAX_TRIES || nowMs - m.firstSeenMs > NACK_MAX_AGE_MS) {
        this.missing.delete(seq);
        this.givenUp++;
        continue;
      }
      if (nowMs - m.lastSentMs < wait) continue;
      m.tries++;
      m.lastSentMs = nowMs;
      out.push(seq);
    }
    return out;
  }

  /** How many packets are waiting for a repair. */
  get pending(): number {
    return this.missing.size;
  }

  private dropOldest(n: number): void {
    for (const seq of this.missing.keys()) {
      if (n-- <= 0) break;
      this.missing.delete(seq);
      this.givenUp++;
    }
  }
}
