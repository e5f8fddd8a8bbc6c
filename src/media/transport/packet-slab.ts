// Allocation of outgoing packet buffers from large shared slabs: each packet is a view into a 256 KiB
// ArrayBuffer, so the hot path creates one ArrayBuffer per ~200 packets instead of one 8 KiB pool per
// ~6 (Buffer.allocUnsafe's pool). A slab is freed by the GC once no view into it is alive.
// What it must not do: hand out the same bytes twice, zero memory (callers write every byte they send),
// or be used for buffers kept for long (one live view keeps its whole slab alive). One per media plane
// (each thread's plane hands its slab to its transports), never shared between threads.

const SLAB_BYTES = 256 * 1024;
/** Views start on 8-byte boundaries, so word-wise access (Int32Array over a payload) stays aligned. */
const ALIGN = 8;

export class PacketSlab {
  private slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
  private used = 0;

  /** A buffer of exactly `size` bytes (uninitialised). Sizes over a quarter slab get their own allocation. */
  alloc(size: number): Buffer {
    if (size > SLAB_BYTES >>> 2) return Buffer.allocUnsafeSlow(size);
    if (this.used + size > SLAB_BYTES) {
      this.slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.used = 0;
    }
    const start = this.used;
    this.used = (start + size + ALIGN - 1) & ~(ALIGN - 1);
    return this.slab.subarray(start, start + size);
  }
}
