// CPU cost of one agent audio stream, in ms of CPU per second of audio (and so streams per core):
// decoding the room's Opus for an agent (src/media/agent/opus-codec.ts, libopus 1.4 in WebAssembly via
// opusscript) into PCM16 at 16, 24 and 48 kHz, and encoding an agent's PCM16 at each rate into 20 ms Opus
// frames; plus the whole outgoing path (AgentTrack: queue, encode, RTP, Producer) on a hand-driven clock.
// The signal is speech-like (a few harmonics with a moving pitch plus noise), so the codec does real work.
// Each case: a warm-up, then ROUNDS rounds of SECONDS of audio; the best round's process CPU time
// (user+system) is printed. Run: node --import tsx bench/agent-opus.bench.ts [--seconds 10]
import { AgentTrack } from '../src/media/agent/agent-track.js';
import type { PacerClock } from '../src/media/agent/frame-pacer.js';
import { OpusPcmDecoder, OpusPcmEncoder, frameSamples, type OpusRate } from '../src/media/agent/opus-codec.js';
import { Producer } from '../src/media/sfu/producer.js';

const args = process.argv.slice(2);
const SECONDS = args[0] === '--seconds' ? Number(args[1]) : 10;
const ROUNDS = 5;
const FRAMES = SECONDS * 50;
const RATES: OpusRate[] = [16000, 24000, 48000];

/** `frames` 20 ms frames of speech-like PCM16 at `rate`. */
function speech(rate: OpusRate, frames: number): Buffer[] {
  const n = frameSamples(rate);
  const out: Buffer[] = [];
  let phase = 0;
  let seed = 1;
  for (let f = 0; f < frames; f++) {
    const buf = Buffer.alloc(n * 2);
    const pitch = 120 + 60 * Math.sin(f / 15);
    for (let i = 0; i < n; i++) {
      phase += (2 * Math.PI * pitch) / rate;
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const noise = (seed / 0x7fffffff - 0.5) * 0.1;
      const v = 0.3 * Math.sin(phase) + 0.15 * Math.sin(2 * phase) + 0.08 * Math.sin(3 * phase) + noise;
      buf.writeInt16LE(Math.round(v * 20000 * (0.6 + 0.4 * Math.sin(f / 7))), i * 2);
    }
    out.push(buf);
  }
  return out;
}

function cpuMs(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

function best(fn: () => void): number {
  fn(); // warm-up
  let min = Infinity;
  for (let r = 0; r < ROUNDS; r++) min = Math.min(min, cpuMs(fn));
  return min / SECONDS;
}

const manualClock: PacerClock & { t: number; timers: (() => void)[] } = {
  t: 0,
  timers: [],
  now: () => manualClock.t,
  setTimeout: (fn) => manualClock.timers.push(fn),
  clearTimeout: () => {},
};

const rows: { what: string; ms: number }[] = [];
// What a browser sends: 48 kHz Opus (encoded here at 32 kbps, 20 ms).
const browserEncoder = new OpusPcmEncoder(48000);
const opus48 = speech(48000, FRAMES).map((f) => browserEncoder.encode(f));
browserEncoder.free();

for (const rate of RATES) {
  rows.push({
    what: `decode Opus → pcm16 ${rate / 1000} kHz (agent hears a track)`,
    ms: best(() => {
      const dec = new OpusPcmDecoder(rate);
      for (const p of opus48) dec.decode(p);
      dec.free();
    }),
  });
}
for (const rate of RATES) {
  const pcm = speech(rate, FRAMES);
  rows.push({
    what: `encode pcm16 ${rate / 1000} kHz → Opus (agent's track)`,
    ms: best(() => {
      const enc = new OpusPcmEncoder(rate);
      for (const f of pcm) enc.encode(f);
      enc.free();
    }),
  });
}
for (const rate of RATES) {
  const chunk = Buffer.concat(speech(rate, FRAMES));
  rows.push({
    what: `AgentTrack pcm16 ${rate / 1000} kHz: queue, encode, RTP, Producer`,
    ms: best(() => {
      const producer = new Producer('t', 'agent', 'audio', { payloadType: 111, name: 'opus', clockRate: 48000, channels: 2, rtcpFb: [] }, [], { sendPli: () => {} });
      const track = new AgentTrack('t', { encoding: 'pcm16', sampleRate: rate }, producer, manualClock);
      track.push(chunk);
      // Fire the pacer's timers with the clock 20 ms on each time, until the queue is played.
      while (manualClock.timers.length > 0) {
        manualClock.t += 20;
        manualClock.timers.shift()!();
      }
      track.close();
    }),
  });
}

console.log(`agent audio CPU per stream (best of ${ROUNDS} rounds of ${SECONDS} s of audio, process CPU time, node ${process.version})`);
console.log('| path | ms CPU per s of audio | streams per core |');
console.log('|---|---:|---:|');
for (const r of rows) console.log(`| ${r.what} | ${r.ms.toFixed(2)} | ${Math.floor(1000 / r.ms)} |`);
