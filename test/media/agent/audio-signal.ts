// Test helper: audio signals for the agent tests — a sine tone as mono PCM16 (and as a WAV file for
// Chromium's fake microphone), and a Goertzel filter that measures the energy of PCM16 at one frequency.
import { writeFileSync } from 'node:fs';

/** `ms` of a `freq` Hz sine at `rate`, amplitude `amp` (of 32767), as little-endian PCM16. */
export function sinePcm16(freq: number, rate: number, ms: number, amp = 12000, phaseSamples = 0): Buffer {
  const n = Math.round((rate * ms) / 1000);
  const out = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) out.writeInt16LE(Math.round(amp * Math.sin((2 * Math.PI * freq * (i + phaseSamples)) / rate)), i * 2);
  return out;
}

/** Writes a mono 16-bit WAV of a sine (Chromium plays it as the fake microphone, in a loop). */
export function writeSineWav(path: string, freq: number, rate = 48000, seconds = 10): void {
  const pcm = sinePcm16(freq, rate, seconds * 1000, 16000);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + pcm.length, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(pcm.length, 40);
  writeFileSync(path, Buffer.concat([header, pcm]));
}

/** The samples of little-endian PCM16 bytes. */
export function samples(pcm: Uint8Array): Int16Array {
  const copy = Buffer.from(pcm);
  return new Int16Array(copy.buffer, copy.byteOffset, Math.floor(copy.length / 2));
}

/** Goertzel power of `x` at `freq` Hz (sample rate `rate`), normalised by the length. */
export function goertzel(x: Int16Array, freq: number, rate: number): number {
  const k = (2 * Math.cos((2 * Math.PI * freq) / rate));
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < x.length; i++) {
    const s0 = x[i]! / 32768 + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (s1 * s1 + s2 * s2 - k * s1 * s2) / (x.length * x.length);
}

/** Root mean square of PCM16 samples, 0..1. */
export function rms(x: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += (x[i]! / 32768) ** 2;
  return x.length === 0 ? 0 : Math.sqrt(sum / x.length);
}
