// Synthetic VP8 for the Janus bench's publisher: the frames of bench/lib/synthetic-rtp.ts sent on one
// node-datachannel track, with a keyframe whenever a PLI/FIR arrives on it.
import type { Track } from 'node-datachannel';
import { isKeyframeRequest, paced, Vp8Source, type Vp8Options } from '../lib/synthetic-rtp.js';

export type SendOptions = Vp8Options;

/** Sends synthetic VP8 on one open sendonly track; reacts to PLI/FIR arriving on the same track. */
export class Vp8Sender {
  readonly sent = { rtp: 0, bytes: 0, keyframes: 0, pliReceived: 0 };
  readonly errors: string[] = [];
  private stopPacing: (() => void) | undefined;
  private source: Vp8Source | undefined;

  constructor(
    private readonly track: Track,
    readonly ssrc: number,
  ) {}

  /** Feed every message the track receives (sendonly tracks still get RTCP). */
  onRtcp(msg: Buffer): void {
    if (!isKeyframeRequest(msg)) return;
    this.sent.pliReceived++;
    this.source?.requestKeyframe();
  }

  start(o: SendOptions = {}): void {
    if (this.stopPacing) return;
    const source = (this.source = new Vp8Source(this.ssrc, o));
    this.stopPacing = paced(source.fps, Math.min(20, Math.floor(1000 / source.fps / 2)), () => {
      for (const pkt of source.nextFrame()) {
        try {
          if (this.track.isOpen() && this.track.sendMessageBinary(pkt)) {
            this.sent.rtp++;
            this.sent.bytes += pkt.length;
          }
        } catch (err) {
          this.errors.push(`send: ${(err as Error).message}`);
        }
      }
      this.sent.keyframes = source.keyframes;
    });
  }

  stop(): void {
    this.stopPacing?.();
    this.stopPacing = undefined;
  }
}
