// Measures the bitrate of each simulcast variant of one producer (what the allocator needs to know what
// fits): a sink of the producer that adds each packet's size to its variant's counter (one addition per
// packet per producer, shared by all its subscribers) and turns the counters into bitrates when sampled,
// at most once per SAMPLE_MS, smoothed. One meter per video producer (layerMeterFor), made when its first
// subscriber's allocator asks. What it must not do: forward, keep packets, or be made for audio.
import type { Producer } from '../producer.js';
import type { RtpSink } from '../rtp-sink.js';
import type { StreamVariant } from '../stream-variant.js';
import type { RtpHeader } from '../../wire/rtp.js';

const SAMPLE_MS = 500;
const SMOOTHING = 0.6;
const INDEX: Record<StreamVariant, number> = { l: 0, m: 1, h: 2, '': 3 };

export class LayerMeter implements RtpSink {
  /** Fed every layer's packets, also those the producer drops because no subscriber needs them. */
  readonly measuresOnly = true;
  private readonly bytes = [0, 0, 0, 0];
  private readonly rates = [0, 0, 0, 0];
  private sampledAt = -1;

  forward(buf: Buffer, _h: RtpHeader, variant: StreamVariant): void {
    const i = INDEX[variant];
    if (i !== undefined) this.bytes[i] = this.bytes[i]! + buf.length;
  }

  /** Smoothed bitrate (bps) of `variant` at `now` (ms); 0 while unknown or not sent. */
  bitrate(variant: StreamVariant, now: number): number {
    this.sample(now);
    return this.rates[INDEX[variant]]!;
  }

  private sample(now: number): void {
    if (this.sampledAt < 0) {
      this.sampledAt = now;
      return;
    }
    const dt = now - this.sampledAt;
    if (dt < SAMPLE_MS) return;
    for (let i = 0; i < 4; i++) {
      const bps = (this.bytes[i]! * 8 * 1000) / dt;
      this.rates[i] = this.rates[i] === 0 ? bps : SMOOTHING * this.rates[i]! + (1 - SMOOTHING) * bps;
      this.bytes[i] = 0;
    }
    this.sampledAt = now;
  }

  close(): void {}
}

const meters = new WeakMap<Producer, LayerMeter>();

/** The meter of a video producer (made and added as its sink on first use). */
export function layerMeterFor(producer: Producer): LayerMeter {
  let m = meters.get(producer);
  if (!m) {
    m = new LayerMeter();
    meters.set(producer, m);
    producer.addSink(m);
  }
  return m;
}
