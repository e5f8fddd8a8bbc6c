// Synthetic media for the load generator's browserless peers (Shoal's and Janus's alike), and the
// receive-side counters: VP8 frames whose payload descriptors mark keyframes the way a real encoder's do
// (S=1/PID=0 on a frame's first packet, P=0 + start code for a keyframe, marker on its last packet), opus
// packets, a keyframe-request (PLI/FIR) detector, and a time-driven pacer.
// What it must not do: touch sockets or peer connections (callers hand packets to their track).
import { randomBytes } from 'node:crypto';

export const VP8_PT = 96;
export const OPUS_PT = 111;

export interface Vp8Options {
  /** Frames per second (default 25). */
  fps?: number;
  /** RTP packets per frame (default 4). */
  packetsPerFrame?: number;
  /** Total RTP packet size in bytes: header + VP8 descriptor + payload (default 1200). */
  packetSize?: number;
  /** A keyframe every this many frames, besides the requested ones (default 50). */
  keyframeInterval?: number;
}

/** VP8 frames for one SSRC: 25 × 4 × 1200 B by default, ~0.96 Mbit/s and 100 packets/s. */
export class Vp8Source {
  readonly fps: number;
  keyframes = 0;
  private readonly perFrame: number;
  private readonly size: number;
  private readonly keyEvery: number;
  private readonly body: Buffer;
  private seq = randomBytes(2).readUInt16BE(0);
  private ts = randomBytes(4).readUInt32BE(0);
  private frames = 0;
  private keyframeWanted = true;

  constructor(
    readonly ssrc: number,
    o: Vp8Options = {},
    private readonly payloadType = VP8_PT,
  ) {
    this.fps = o.fps ?? 25;
    this.perFrame = o.packetsPerFrame ?? 4;
    this.size = o.packetSize ?? 1200;
    this.keyEvery = o.keyframeInterval ?? 50;
    this.body = randomBytes(this.size);
  }

  /** The next frame is a keyframe (a PLI or FIR arrived). */
  requestKeyframe(): void {
    this.keyframeWanted = true;
  }

  /** The packets of the next frame, in order. */
  nextFrame(): Buffer[] {
    const key = this.keyframeWanted || this.frames % this.keyEvery === 0;
    if (key) {
      this.keyframeWanted = false;
      this.keyframes++;
    }
    const out: Buffer[] = [];
    for (let p = 0; p < this.perFrame; p++) {
      const pkt = Buffer.allocUnsafe(this.size);
      this.body.copy(pkt, 0, 0, this.size);
      pkt[0] = 0x80;
      pkt[1] = (p === this.perFrame - 1 ? 0x80 : 0) | this.payloadType;
      pkt.writeUInt16BE(this.seq, 2);
      pkt.writeUInt32BE(this.ts, 4);
      pkt.writeUInt32BE(this.ssrc, 8);
      // VP8 payload descriptor (RFC 7741): X=0, N=0, S=1 on the frame's first packet, PID=0.
      pkt[12] = p === 0 ? 0x10 : 0x00;
      if (p === 0) {
        // VP8 payload header: bit 0 is P (0 = keyframe), show_frame = 1; a keyframe carries the start code.
        pkt[13] = key ? 0x10 : 0x11;
        if (key) {
          pkt[16] = 0x9d;
          pkt[17] = 0x01;
          pkt[18] = 0x2a;
        }
      }
      this.seq = (this.seq + 1) & 0xffff;
      out.push(pkt);
    }
    this.ts = (this.ts + Math.round(90000 / this.fps)) >>> 0;
    this.frames++;
    return out;
  }
}

/** Opus-shaped RTP for one SSRC: 20 ms frames of `size` bytes (50 packets/s). */
export class OpusSource {
  private seq = randomBytes(2).readUInt16BE(0);
  private ts = randomBytes(4).readUInt32BE(0);
  private readonly body: Buffer;

  constructor(
    readonly ssrc: number,
    private readonly size = 100,
  ) {
    this.body = randomBytes(size);
  }

  nextPacket(): Buffer {
    const pkt = Buffer.allocUnsafe(this.size);
    this.body.copy(pkt, 0, 0, this.size);
    pkt[0] = 0x80;
    pkt[1] = OPUS_PT;
    pkt.writeUInt16BE(this.seq, 2);
    pkt.writeUInt32BE(this.ts, 4);
    pkt.writeUInt32BE(this.ssrc, 8);
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + 960) >>> 0;
    return pkt;
  }
}

/** True if the (compound) RTCP message holds a PLI or FIR (PSFB 206, FMT 1 or 4). */
export function isKeyframeRequest(msg: Buffer): boolean {
  let i = 0;
  while (i + 4 <= msg.length) {
    const fmt = msg[i]! & 0x1f;
    const pt = msg[i + 1]!;
    if (pt < 192 || pt > 223) return false; // not RTCP
    if (pt === 206 && (fmt === 1 || fmt === 4)) return true;
    i += (msg.readUInt16BE(i + 2) + 1) * 4;
  }
  return false;
}

/**
 * Calls `step(k)` for every event due at `rate` per second since now (k counts from 0), checking every
 * `checkMs`. Driven by elapsed time, so timer jitter does not change the average rate. Returns a stop function.
 */
export function paced(rate: number, checkMs: number, step: (k: number) => void): () => void {
  const start = performance.now();
  let done = 0;
  const tick = () => {
    const due = ((performance.now() - start) * rate) / 1000;
    while (done <= due) step(done++);
  };
  tick();
  const timer = setInterval(tick, checkMs);
  return () => clearInterval(timer);
}

/** RTP received on one m-line. */
export interface ReceiveCounter {
  mid: string;
  kind: 'audio' | 'video';
  packets: number;
  bytes: number;
  rtcp: number;
  /** Extended (wrap-aware) highest sequence number seen, undefined before the first packet. */
  highestSeq: number | undefined;
  firstSeq: number | undefined;
  /** Packets that arrived with a sequence number not above the highest seen (reordered or duplicated). */
  late: number;
  /** performance.now() when the first RTP packet arrived, undefined before it. */
  firstPacketAt?: number;
}

export function newReceiveCounter(mid: string, kind: 'audio' | 'video'): ReceiveCounter {
  return { mid, kind, packets: 0, bytes: 0, rtcp: 0, highestSeq: undefined, firstSeq: undefined, late: 0 };
}

/** Packets missing from the sequence so far: expected (first..highest) minus received. */
export function lostOf(c: ReceiveCounter): number {
  if (c.highestSeq === undefined || c.firstSeq === undefined) return 0;
  return Math.max(0, c.highestSeq - c.firstSeq + 1 - c.packets);
}

/** Counts one message a receiving track delivered (RTCP is counted apart). */
export function countRtp(c: ReceiveCounter, msg: Buffer): void {
  if (msg.length < 12) return;
  const b1 = msg[1]!;
  if (b1 >= 192 && b1 <= 223) {
    c.rtcp++;
    return;
  }
  const seq = msg.readUInt16BE(2);
  c.packets++;
  c.bytes += msg.length;
  if (c.highestSeq === undefined) {
    c.highestSeq = seq;
    c.firstSeq = seq;
    c.firstPacketAt = performance.now();
    return;
  }
  // Extend to the nearest value of the 16-bit sequence to the highest seen.
  const hi = c.highestSeq;
  let ext = (hi & ~0xffff) + seq;
  if (ext < hi - 0x8000) ext += 0x10000;
  else if (ext > hi + 0x8000) ext -= 0x10000;
  if (ext > hi) c.highestSeq = ext;
  else c.late++;
}
