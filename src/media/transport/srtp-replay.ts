// The receive-side replay window of one SRTP or SRTCP stream (RFC 3711 §3.3.2): a bitmap of the
// REPLAY_WINDOW packet indices up to the highest one accepted, rejecting duplicates and indices older
// than the window.
// What it must not do: mark an index as seen before the packet authenticated (check and accept are
// separate calls, accept only after authentication), estimate the ROC, or allocate per packet.
import { SrtpError } from './srtp-error.js';

/** Replay window size in packets (a power of two, multiple of 32). */
export const REPLAY_WINDOW = 1024;

/** Bitmap of the REPLAY_WINDOW indices up to the highest one accepted; bit (index mod size) per index. */
export class ReplayWindow {
  /** Highest accepted index; -1 before the first packet. */
  highest = -1;
  private readonly bits = new Uint32Array(REPLAY_WINDOW >>> 5);

  /** Throws for a duplicate or an index older than the window. */
  check(index: number): void {
    const h = this.highest;
    if (h < 0 || index > h) return;
    if (h - index >= REPLAY_WINDOW) throw new SrtpError('replayed packet (older than the replay window)');
    const pos = index % REPLAY_WINDOW;
    if ((this.bits[pos >>> 5] & (1 << (pos & 31))) !== 0) throw new SrtpError('replayed packet');
  }

  /** Marks an authenticated index as seen, sliding the window forward if it is the newest. */
  accept(index: number): void {
    const h = this.highest;
    const bits = this.bits;
    if (index > h) {
      if (h < 0 || index - h >= REPLAY_WINDOW) bits.fill(0);
      else {
        for (let i = h + 1; i < index; i++) {
          const p = i % REPLAY_WINDOW;
          bits[p >>> 5] &= ~(1 << (p & 31));
        }
      }
      this.highest = index;
    }
    const pos = index % REPLAY_WINDOW;
    bits[pos >>> 5] |= 1 << (pos & 31);
  }
}
