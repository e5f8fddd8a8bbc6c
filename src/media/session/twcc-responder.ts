// The receive side of transport-wide congestion control for one session's publisher: records the arrival
// time of every packet carrying a transport-wide sequence number (media, RTX and padding probes alike) and
// turns them, on every flush, into transport-cc feedback packets, so the publisher's own send-side
// estimator runs. Recording is a few array writes per packet (a ring indexed by the unwrapped sequence).
// What it must not do: estimate anything itself, allocate per packet, grow with the sender's input (the
// ring is fixed; sequence jumps larger than it restart the window), send (the caller owns the timer and
// the transport) or throw (an unencodable window is dropped and counted).
import { buildTwccFeedback, type TwccPacketStatus } from '../wire/twcc.js';

/** Packets remembered between flushes: ~7 s of a 2.5 Mbit/s publisher (one flush every 50 ms needs ~15); 32 KB. */
const RING = 1 << 11;
const MASK = RING - 1;
/** Statuses per feedback packet (keeps one packet well under the MTU: ≤ 2 chunk bytes + 2 delta bytes each, mostly far less). */
export const TWCC_MAX_PER_FEEDBACK = 250;
/** A packet older than this (in sequence numbers behind the newest) is no longer reported. */
const MAX_REORDER = 1 << 10;

export class TwccResponder {
  /** Arrival (µs) per unwrapped sequence slot; -1 = not received. */
  private readonly arrivals = new Float64Array(RING).fill(-1);
  /** Unwrapped sequence of each slot (to tell a stale slot from a fresh one). */
  private readonly slotSeq = new Float64Array(RING).fill(-1);
  private highest = -1;
  private nextToReport = -1;
  private feedbackCount = 0;
  /** Feedback windows dropped because they could not be encoded (a >8 s delta). */
  dropped = 0;

  constructor(private readonly senderSsrc: number) {}

  /** A packet with transport-wide sequence number `seq16` arrived at `nowUs` (monotonic µs). */
  record(seq16: number, nowUs: number): void {
    let seq: number;
    if (this.highest < 0) {
      seq = seq16 + 0x40000; // room below for reordered first packets (a multiple of 2^16: same low bits)
      this.nextToReport = seq;
      this.highest = seq;
    } else {
      const d = ((seq16 - this.highest) << 16) >> 16; // signed 16-bit distance to the newest
      seq = this.highest + d;
      if (d > 0) {
        if (d >= RING) this.nextToReport = seq; // a jump past the ring: start over from here
        this.highest = seq;
      } else if (-d > MAX_REORDER || seq < this.nextToReport) {
        return; // too old, or already reported as lost
      }
    }
    const slot = seq & MASK;
    this.slotSeq[slot] = seq;
    this.arrivals[slot] = nowUs;
  }

  /** Feedback packets for everything recorded since the last flush (none if nothing new). */
  flush(mediaSsrc: number): Buffer[] {
    const out: Buffer[] = [];
    if (this.highest < 0 || this.nextToReport > this.highest) return out;
    if (this.highest - this.nextToReport >= RING) this.nextToReport = this.highest - RING + 1;
    while (this.nextToReport <= this.highest) {
      const from = this.nextToReport;
      const to = Math.min(this.highest, from + TWCC_MAX_PER_FEEDBACK - 1);
      this.nextToReport = to + 1;
      const packets: TwccPacketStatus[] = [];
      let first = -1;
      for (let s = from; s <= to; s++) {
        const slot = s & MASK;
        const at = this.slotSeq[slot] === s ? this.arrivals[slot] : -1;
        if (at >= 0) {
          packets.push({ seq: s & 0xffff, arrivalUs: at });
          if (first < 0) first = at;
        } else {
          packets.push({ seq: s & 0xffff });
        }
      }
      if (first < 0) continue; // nothing received in this stretch: the next window reports it from its base
      const referenceTimeUs = Math.floor(first / 64_000) * 64_000;
      try {
        out.push(buildTwccFeedback({ senderSsrc: this.senderSsrc, mediaSsrc, baseSeq: from & 0xffff, referenceTimeUs, feedbackCount: this.feedbackCount, packets }));
        this.feedbackCount = (this.feedbackCount + 1) & 0xff;
      } catch {
        this.dropped++;
      }
    }
    return out;
  }
}
