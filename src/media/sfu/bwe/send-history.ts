// Per-subscriber-transport history of the packets sent with a transport-wide sequence number: when each
// was sent and how big it was, so transport-cc feedback (which names packets by that number) can be
// turned into send/arrival pairs. A fixed ring (no allocation per packet); an entry is found only while
// the ring still holds that exact sequence number.
// What it must not do: grow, allocate per packet, parse or send anything, or know about peers.

/** Packets remembered: 8 s at 1000 packets/s, far more than one feedback interval. */
export const SEND_HISTORY_PACKETS = 8192;

export class SendHistory {
  private readonly seqs = new Int32Array(SEND_HISTORY_PACKETS).fill(-1);
  private readonly sentMs = new Float64Array(SEND_HISTORY_PACKETS);
  private readonly sizes = new Uint16Array(SEND_HISTORY_PACKETS);
  private next = 0;
  /** Bytes of every packet recorded so far (the caller's sending rate is measured from it). */
  bytesSent = 0;

  /** Takes the next transport-wide sequence number (16 bits, wrapping) for a packet being sent. */
  nextSeq(): number {
    const seq = this.next;
    this.next = (this.next + 1) & 0xffff;
    return seq;
  }

  /** The sequence number nextSeq() will return next (not taken). */
  peekSeq(): number {
    return this.next;
  }

  /** Remembers that packet `seq` of `size` bytes was sent at `sentMs`. */
  record(seq: number, sentMs: number, size: number): void {
    const slot = seq & (SEND_HISTORY_PACKETS - 1);
    this.seqs[slot] = seq;
    this.sentMs[slot] = sentMs;
    this.sizes[slot] = size > 0xffff ? 0xffff : size;
    this.bytesSent += size;
  }

  /** Send time of `seq` (ms), or −1 if it is not (or no longer) known. */
  sentAt(seq: number): number {
    const slot = seq & (SEND_HISTORY_PACKETS - 1);
    return this.seqs[slot] === seq ? this.sentMs[slot]! : -1;
  }

  /** Size of `seq` in bytes (0 if unknown). */
  size(seq: number): number {
    const slot = seq & (SEND_HISTORY_PACKETS - 1);
    return this.seqs[slot] === seq ? this.sizes[slot]! : 0;
  }
}
