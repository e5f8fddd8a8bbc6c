// Synthetic VP8 RTP for the Janus bench: the same generator and receive counters as bench/clients/c5-peer.ts
// (copied here, minimal, because c5-peer.ts keeps them private to its C5Peer class and bench/ is being
// reorganised in parallel). Same wire shape: VP8 payload descriptor with S=1/PID=0 on a frame's first packet,
// a keyframe (P=0 + start code) every `keyframeInterval` frames and right after a PLI/FIR, marker bit on a
// frame's last packet; default 25 fps × 4 packets × 1200 B ≈ 0.96 Mbit/s (100 packets/s).
import { randomBytes } from 'node:crypto';
import type { Track } from 'node-datachannel';

export const VP8_PT = 96;

export interface SendOptions {
  fps?: number;
  packetsPerFrame?: number;
  packetSize?: number;
  keyframeInterval?: number;
}

/** Sends synthetic VP8 on one open sendonly track; reacts to PLI/FIR arriving on the same track. */
export class Vp8Sender {
  readonly sent = { rtp: 0, bytes: 0, keyframes: 0, pliReceived: 0 };
  readonly errors: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private keyframeWanted = true;

  constructor(
    private readonly track: Track,
    readonly ssrc: number,
    private readonly payloadType = VP8_PT,
  ) {}

  /** Feed every message the track receives (sendonly tracks still get RTCP). */
  onRtcp(msg: Buffer): void {
    let i = 0;
    while (i + 4 <= msg.length) {
      const fmt = msg[i]! & 0x1f;
      const pt = msg[i + 1]!;
      const len = (msg.readUInt16BE(i + 2) + 1) * 4;
      if (pt < 192 || pt > 223) return;
      if (pt === 206 && (fmt === 1 || fmt === 4)) {
        this.sent.pliReceived++;
        this.keyframeWanted = true;
      }
      i += len;
    }
  }

  start(o: SendOptions = {}): void {
    if (this.timer) return;
    const fps = o.fps ?? 25;
    const perFrame = o.packetsPerFrame ?? 4;
    const size = o.packetSize ?? 1200;
    const keyEvery = o.keyframeInterval ?? 50;
    const body = randomBytes(size);
    let seq = randomBytes(2).readUInt16BE(0);
    let ts = randomBytes(4).readUInt32BE(0);
    let frames = 0;
    const start = performance.now();
    const sendFrame = () => {
      const key = this.keyframeWanted || frames % keyEvery === 0;
      if (key) {
        this.keyframeWanted = false;
        this.sent.keyframes++;
      }
      for (let p = 0; p < perFrame; p++) {
        const pkt = Buffer.allocUnsafe(size);
        body.copy(pkt, 0, 0, size);
        pkt[0] = 0x80;
        pkt[1] = (p === perFrame - 1 ? 0x80 : 0) | this.payloadType;
        pkt.writeUInt16BE(seq, 2);
        pkt.writeUInt32BE(ts, 4);
        pkt.writeUInt32BE(this.ssrc, 8);
        pkt[12] = p === 0 ? 0x10 : 0x00;
        if (p === 0) {
          pkt[13] = key ? 0x10 : 0x11;
          if (key) {
            pkt[16] = 0x9d;
            pkt[17] = 0x01;
            pkt[18] = 0x2a;
          }
        }
        seq = (seq + 1) & 0xffff;
        try {
          if (this.track.isOpen() && this.track.sendMessageBinary(pkt)) {
            this.sent.rtp++;
            this.sent.bytes += size;
          }
        } catch (err) {
          this.errors.push(`send: ${(err as Error).message}`);
        }
      }
      ts = (ts + Math.round(90000 / fps)) >>> 0;
      frames++;
    };
    const tick = () => {
      const elapsed = performance.now() - start;
      while (frames <= (elapsed * fps) / 1000) sendFrame();
    };
    tick();
    this.timer = setInterval(tick, Math.min(20, Math.floor(1000 / fps / 2)));
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** RTP received on one m-line (same fields as c5-peer.ts's ReceiveCounter). */
export interface ReceiveCounter {
  mid: string;
  packets: number;
  bytes: number;
  rtcp: number;
  highestSeq: number | undefined;
  firstSeq: number | undefined;
  late: number;
}

export function newCounter(mid: string): ReceiveCounter {
  return { mid, packets: 0, bytes: 0, rtcp: 0, highestSeq: undefined, firstSeq: undefined, late: 0 };
}

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
    return;
  }
  const hi = c.highestSeq;
  let ext = (hi & ~0xffff) + seq;
  if (ext < hi - 0x8000) ext += 0x10000;
  else if (ext > hi + 0x8000) ext -= 0x10000;
  if (ext > hi) c.highestSeq = ext;
  else c.late++;
}
