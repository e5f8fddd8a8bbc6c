// An inbound track: what one publisher sends on one m-line (one or three simulcast layers). Knows
// its layers' SSRCs, fans each packet out to its consumers and throttles keyframe requests to the
// publisher. It never sends to subscribers itself (consumers do) and owns no transport.
import type { TrackKind, Variant } from '../room/track.js';
import type { Consumer } from './consumer.js';
import { mediaStats } from './media-stats.js';
import { isH264Keyframe, isVp8Keyframe, type RtpHeader } from './rtp.js';
import type { Codec } from './sdp.js';

/** '' is the single layer of a non-simulcast track. */
export type Layer = Variant | '';

export const KEYFRAME_REQUEST_INTERVAL_MS = 500;

export class Producer {
  readonly consumers = new Set<Consumer>();
  /** SSRC of each layer, learned from SDP or from the rid header extension. */
  readonly layerSsrcs = new Map<Layer, number>();
  /** Layers the publisher is currently sending (simulcast disable/enable). */
  readonly disabledLayers = new Set<Variant>();
  private lastKeyframeRequest = 0;
  private closed = false;

  constructor(
    readonly trackId: string,
    readonly peerId: string,
    readonly kind: TrackKind,
    readonly codec: Codec,
    /** Simulcast rids in offer order, empty for a single layer. */
    readonly rids: Variant[],
    /** Sends a PLI for `mediaSsrc` to the publisher. */
    private readonly sendPli: (mediaSsrc: number) => void,
  ) {}

  get simulcast(): boolean {
    return this.rids.length > 0;
  }

  isKeyframe(buf: Buffer, h: RtpHeader): boolean {
    if (this.kind !== 'video') return true;
    const payload = buf.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength);
    return this.codec.name.toUpperCase() === 'H264' ? isH264Keyframe(payload) : isVp8Keyframe(payload);
  }

  /** A packet of `layer` from the publisher (already decrypted). */
  onRtp(buf: Buffer, h: RtpHeader, layer: Layer): void {
    if (this.closed) return;
    mediaStats.rtpReceived++;
    const keyframe = this.isKeyframe(buf, h);
    for (const c of this.consumers) c.forward(buf, h, layer, keyframe);
  }

  /** Asks the publisher for a keyframe on `layer` (all layers when undefined), at most every 500 ms. */
  requestKeyframe(layer?: Layer): void {
    if (this.kind !== 'video' || this.closed) return;
    const now = Date.now();
    if (now - this.lastKeyframeRequest < KEYFRAME_REQUEST_INTERVAL_MS) return;
    this.lastKeyframeRequest = now;
    mediaStats.keyframeRequests++;
    const targets = layer === undefined ? [...this.layerSsrcs.values()] : [this.layerSsrcs.get(layer)].filter((s): s is number => s !== undefined);
    for (const ssrc of targets) this.sendPli(ssrc);
  }

  close(): void {
    this.closed = true;
    for (const c of [...this.consumers]) c.close();
    this.consumers.clear();
  }
}
