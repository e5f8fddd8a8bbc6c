// Per-SSRC history of the last N outgoing RTP packets, keyed by 16-bit sequence number, so NACKed
// packets can be resent. Sequence numbers are unwrapped to a running counter, and each ring
// slot remembers the unwrapped number it holds, so a lookup only ever returns the packet that was put
// under that sequence number within the last N sequence numbers, never one from an earlier wrap.
// What it must not do: copy or modify stored packets (it keeps the caller's Buffer, which the caller
// must not reuse afterwards), allocate per put/get, grow beyond its fixed capacity, or know about
// SSRCs, RTP parsing or sockets (one instance per outgoing SSRC).
// It also keeps each packet's resend budget (takeForResend): how often and how recently it was resent,
// and when it was first sent, so a NACK storm cannot turn one packet into many.

import { seqDelta } from '../wire/rtp.js';

/** Limits on resending one stored packet (NACK budget). */
export interface ResendBudget {
  /** Resends allowed per packet. */
  maxResends: number;
  /** A packet is not resent again within this long of its last send (about one round trip), ms. */
  minIntervalMs: number;
  /** A packet older than this (since first sent) is not resent: it would arrive too late to be played, ms. */
  maxAgeMs: number;
}

/** What it keeps per packet: anything with a length (a Buffer, or the native plane's handle of a frame it keeps). */
export interface Retained {
  readonly length: number;
}

export class RetransmitBuffer<T extends Retained = Buffer> {
  readonly capacity: number;
  private readonly packets: (T | undefined)[];
  /** Unwrapped sequence number held by each slot; −1 = empty. */
  private readonly slotSeq: Float64Array;
  /** Newest unwrapped sequence number put; −1 = nothing put since construction/clear. */
  private newest = -1;
  /** Per slot: when the packet was put and last (re)sent (caller's clock, ms), and how often it was resent. */
  private readonly putAt: Float64Array;
  private readonly lastSentAt: Float64Array;
  private readonly resends: Uint8Array;

  constructor(capacity = 1024) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 32768) {
      throw new RangeError('RetransmitBuffer: capacity must be an integer in 1..32768');
    }
    this.capacity = capacity;
    this.packets = new Array<T | undefined>(capacity).fill(undefined);
    this.slotSeq = new Float64Array(capacity).fill(-1);
    this.putAt = new Float64Array(capacity);
    this.lastSentAt = new Float64Array(capacity);
    this.resends = new Uint8Array(capacity);
  }

  /**
   * Stores `packet` under `seq`. Going forward (even by more than N, or across 65535 → 0) evicts what
   * falls out of the window. A late put within the window fills its slot. A put more than N behind the
   * newest is taken as a restart of the numbering: the history is cleared and starts again at `seq`.
   */
  put(seq: number, packet: T, at = 0): void {
    seq &= 0xffff;
    let ext: number;
    if (this.newest < 0) {
      ext = seq + 0x10000; // start one wrap in, so unwrapping backwards never goes negative
    } else {
      const d = seqDelta(seq, this.newest);
      ext = this.newest + d;
      if (d <= -this.capacity) {
        this.clear();
        ext = seq + 0x10000;
      }
    }
    if (this.newest < 0 || ext > this.newest) this.newest = ext;
    const slot = ext % this.capacity;
    this.packets[slot] = packet;
    this.slotSeq[slot] = ext;
    this.putAt[slot] = at;
    this.lastSentAt[slot] = at;
    this.resends[slot] = 0;
  }

  /**
   * The packet under `seq` if `budget` allows resending it at `now` (same clock as put's `at`), counting
   * the resend; undefined if unknown, too old, resent too recently or too often.
   */
  takeForResend(seq: number, now: number, budget: ResendBudget): T | undefined {
    const slot = this.slotOf(seq);
    if (slot < 0) return undefined;
    if (now - this.putAt[slot]! > budget.maxAgeMs) return undefined;
    if (this.resends[slot]! >= budget.maxResends) return undefined;
    if (this.resends[slot]! > 0 && now - this.lastSentAt[slot]! < budget.minIntervalMs) return undefined;
    this.resends[slot] = this.resends[slot]! + 1;
    this.lastSentAt[slot] = now;
    return this.packets[slot];
  }

  /** The packet put under `seq`, or undefined if it was never stored or has left the last-N window. */
  get(seq: number): T | undefined {
    const slot = this.slotOf(seq);
    return slot < 0 ? undefined : this.packets[slot];
  }

  /** The slot holding `seq`, or −1. */
  private slotOf(seq: number): number {
    if (this.newest < 0) return -1;
    const d = seqDelta(seq, this.newest);
    if (d > 0 || d <= -this.capacity) return -1;
    const ext = this.newest + d;
    const slot = ext % this.capacity;
    return this.slotSeq[slot] === ext ? slot : -1;
  }

  clear(): void {
    this.packets.fill(undefined);
    this.slotSeq.fill(-1);
    this.newest = -1;
  }
}
