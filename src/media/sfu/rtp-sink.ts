// What a producer feeds: anything that takes its packets (a consumer today; a pipe to another thread or
// a recorder later). The small interface that lets Producer know its sinks without importing Consumer.
import type { RtpHeader } from '../wire/rtp.js';
import type { StreamVariant } from './stream-variant.js';

export interface RtpSink {
  /** A decrypted packet of the producer's `variant`; `keyframe` is true where a video keyframe starts (always for audio). */
  forward(buf: Buffer, h: RtpHeader, variant: StreamVariant, keyframe: boolean): void;
  /** The producer is gone. */
  close(): void;
}
