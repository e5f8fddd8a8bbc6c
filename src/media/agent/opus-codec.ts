// Opus for agents, on libopus 1.4 in WebAssembly (opusscript): a mono PCM16 encoder and decoder at
// 16, 24 or 48 kHz (libopus resamples internally, so no resampler is needed), and the duration of an
// Opus packet read from its TOC byte (RFC 6716 §3.1). Each codec holds WebAssembly memory until free().
// What it must not do: throw on a bad packet out of decode (it returns undefined), or keep any packet.
import OpusScript from 'opusscript';

export type OpusRate = 16000 | 24000 | 48000;

/** Every Opus RTP stream runs on a 48 kHz clock (RFC 7587), whatever the encoder's input rate. */
export const OPUS_CLOCK_RATE = 48000;
/** The frame agents' PCM is cut into: 20 ms. */
export const FRAME_MS = 20;

export function isOpusRate(n: number): n is OpusRate {
  return n === 16000 || n === 24000 || n === 48000;
}

/** Samples (= 16-bit values, mono) in one FRAME_MS frame at `rate`. */
export function frameSamples(rate: OpusRate): number {
  return (rate * FRAME_MS) / 1000;
}

/** Encodes 20 ms frames of mono little-endian PCM16 at `rate` into Opus packets (VoIP mode, ~32 kbps). */
export class OpusPcmEncoder {
  private codec: OpusScript | undefined;

  constructor(readonly rate: OpusRate) {
    this.codec = new OpusScript(rate, 1, OpusScript.Application.VOIP);
    this.codec.setBitrate(32000);
  }

  /** `frame`: exactly frameSamples(rate) samples (2 bytes each). */
  encode(frame: Buffer): Buffer {
    if (!this.codec) throw new Error('Opus encoder is freed');
    return this.codec.encode(frame, frameSamples(this.rate));
  }

  free(): void {
    this.codec?.delete();
    this.codec = undefined;
  }
}

/** Decodes Opus packets (mono or stereo) into mono little-endian PCM16 at `rate`. */
export class OpusPcmDecoder {
  private codec: OpusScript | undefined;

  constructor(readonly rate: OpusRate) {
    this.codec = new OpusScript(rate, 1);
  }

  /** The packet's PCM, or undefined if libopus refuses it (or the decoder is freed). */
  decode(packet: Buffer): Buffer | undefined {
    if (!this.codec || packet.length === 0 || packet.length > OpusScript.MAX_PACKET_SIZE) return undefined;
    try {
      return this.codec.decode(packet);
    } catch {
      return undefined;
    }
  }

  free(): void {
    this.codec?.delete();
    this.codec = undefined;
  }
}

/** Frame duration in tenths of a millisecond per TOC configuration (SILK 0–11, hybrid 12–15, CELT 16–31). */
const CONFIG_TENTHS_MS = [
  100, 200, 400, 600, 100, 200, 400, 600, 100, 200, 400, 600, 100, 200, 100, 200, 25, 50, 100, 200, 25, 50, 100, 200, 25, 50, 100, 200, 25, 50, 100, 200,
];

/** Largest Opus packet duration (RFC 6716 §3.2.5: at most 120 ms of audio). */
export const MAX_OPUS_PACKET_MS = 120;

/** Duration of an Opus packet in milliseconds, or undefined when its TOC (and frame count byte) is not well formed. */
export function opusPacketMs(packet: Uint8Array): number | undefined {
  if (packet.length < 1) return undefined;
  const toc = packet[0]!;
  const tenths = CONFIG_TENTHS_MS[toc >> 3]!;
  let frames: number;
  switch (toc & 3) {
    case 0:
      frames = 1;
      break;
    case 1:
    case 2:
      frames = 2;
      break;
    default:
      if (packet.length < 2) return undefined;
      frames = packet[1]! & 0x3f;
  }
  const ms = (frames * tenths) / 10;
  return frames === 0 || ms > MAX_OPUS_PACKET_MS ? undefined : ms;
}
