// What a producer feeds: anything that takes its packets (a consumer, an agent's listener, the per-layer
// bitrate meter). The small interface that lets Producer know its sinks without importing Consumer, and the
// masks a sink uses to say which of the producer's variants it needs. What it must not do: hold state.
import type { RtpHeader } from '../wire/rtp.js';
import type { StreamVariant } from './stream-variant.js';

/** Bit of each stream variant in a needed-variants mask ('' is a single-stream producer's one stream). */
export const VARIANT_BIT: Readonly<Record<StreamVariant, number>> = { l: 1, m: 2, h: 4, '': 8 };
/** Every variant: what a sink that does not say otherwise needs. */
export const ALL_VARIANTS = 15;

export interface RtpSink {
  /** A decrypted packet of the producer's `variant`; `keyframe` is true where a video keyframe starts (always for audio). */
  forward(buf: Buffer, h: RtpHeader, variant: StreamVariant, keyframe: boolean): void;
  /** The producer is gone. */
  close(): void;
  /**
   * The variants this sink needs now, a mask of VARIANT_BIT. Absent: every variant (agents, recorders and
   * any sink that does not choose). The producer drops packets of a variant no sink needs before its
   * sink loop, so a sink whose answer changes must tell it at once with `producer.layersChanged(sink)`.
   */
  neededVariants?(): number;
  /**
   * True for a sink that only measures (the per-layer bitrate meter): it is fed every packet, before the
   * drop, and makes no variant needed by itself.
   */
  readonly measuresOnly?: boolean;
}
