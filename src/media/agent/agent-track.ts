// One track an agent publishes: the audio it sent and that has not been played yet (PCM16 at the track's
// rate, or Opus packets), played into the track's Producer in the room's Router as RTP, one 20 ms frame
// (or one Opus packet) at a time in real time by a FramePacer. PCM is encoded to Opus as it is played,
// so a long chunk costs no burst of CPU and an interrupt drops it unencoded. Bounded: each chunk and the
// queue (MAX_AGENT_QUEUED_MS); a chunk past a bound is refused with a message, the queue kept as it was.
// PCM frames carry their level (ssrc-audio-level, RFC 6464) and drive the track's voice activity, which
// falls back to silence when the audio stops or is interrupted. A new track's first audio waits (at most
// FIRST_LISTENER_WAIT_MS) until someone receives the track, so the peers negotiating it when the agent
// starts speaking hear it from its start; after that, the track plays in real time whoever listens.
// What it must not do: send faster than real time, grow without bound, or touch other tracks.
import { randomBytes } from 'node:crypto';
import type { Producer } from '../sfu/producer.js';
import { VoiceActivityDetector, type VoiceActivity } from '../sfu/voice-activity.js';
import { parseRtpHeader } from '../wire/rtp.js';
import { MAX_AGENT_CHUNK_BYTES, MAX_AGENT_OPUS_PACKET, MAX_AGENT_QUEUED_MS } from './agent-limits.js';
import { FramePacer, type PacerClock } from './frame-pacer.js';
import { FRAME_MS, OPUS_CLOCK_RATE, OpusPcmEncoder, frameSamples, opusPacketMs, type OpusRate } from './opus-codec.js';

export type AgentTrackEncoding = { encoding: 'pcm16'; sampleRate: OpusRate } | { encoding: 'opus' };

/** The payload type of the Producer's codec (consumers rewrite it to each subscriber's). */
export const AGENT_OPUS_PT = 111;
/** The id of the ssrc-audio-level extension in an agent track's packets (consumers map it to each subscriber's). */
export const AGENT_AUDIO_LEVEL_EXT_ID = 1;
/** Silent levels that surely turn voice activity back to silence (two detector windows: one may be partly loud). */
const SILENT_LEVELS = 50;
/** A sender report is noted for subscribers every this many packets (about once a second). */
const SR_EVERY = 50;
const NTP_EPOCH_OFFSET = 2208988800;
/** Longest a new track's first audio waits for its first receiver (a peer's negotiation of it takes ~0.1–0.5 s). */
export const FIRST_LISTENER_WAIT_MS = 1000;
/** How often a waiting track looks for its first receiver. */
const LISTENER_POLL_MS = 20;

export class AgentTrack {
  private readonly pacer: FramePacer;
  private readonly encoder: OpusPcmEncoder | undefined;
  /** PCM chunks (pcm16) or whole packets (opus) waiting, the read offset into the first, and the queued duration. */
  private readonly queue: Buffer[] = [];
  private queueDurations: number[] = [];
  private headOffset = 0;
  private queuedBytes = 0;
  private queuedMs = 0;
  private held = false;
  private readonly ssrc = randomBytes(4).readUInt32BE(0) >>> 0;
  private seq = randomBytes(2).readUInt16BE(0);
  private ts = randomBytes(4).readUInt32BE(0) >>> 0;
  private lastEnd: number | undefined;
  private resumed = true;
  private packets = 0;
  private closed = false;
  /** Set once the track first played (it had a receiver, or waited long enough). */
  private started = false;
  private readonly createdAt: number;
  private startPoll: unknown;
  private readonly vad: VoiceActivityDetector | undefined;
  private speaking = false;

  constructor(
    readonly trackId: string,
    readonly format: AgentTrackEncoding,
    private readonly producer: Producer,
    private readonly clock: PacerClock,
    /** Voice activity of the track changed (PCM tracks only: Opus packets are not decoded). */
    onVoiceActivity?: (status: VoiceActivity) => void,
  ) {
    this.encoder = format.encoding === 'pcm16' ? new OpusPcmEncoder(format.sampleRate) : undefined;
    this.vad =
      this.encoder && onVoiceActivity
        ? new VoiceActivityDetector((status) => {
            this.speaking = status === 'speech';
            onVoiceActivity(status);
          })
        : undefined;
    this.pacer = new FramePacer(clock, () => {
      const ms = this.playNext();
      if (ms === 0) this.quiet();
      return ms;
    });
    producer.variantSsrcs.set('', this.ssrc);
    this.createdAt = clock.now();
  }

  /** Milliseconds of audio waiting to be played. */
  get queued(): number {
    return this.queuedMs;
  }

  /** Is audio being played now? */
  get playing(): boolean {
    return this.pacer.active;
  }

  /** Queues a chunk of the agent's audio; returns why it was refused, if it was. */
  push(data: Uint8Array): string | undefined {
    if (this.closed) return `Track ${this.trackId} is closed`;
    if (data.length === 0) return undefined;
    if (data.length > MAX_AGENT_CHUNK_BYTES) return `Track ${this.trackId}: a chunk may be at most ${MAX_AGENT_CHUNK_BYTES} bytes`;
    let ms: number;
    if (this.format.encoding === 'opus') {
      if (data.length > MAX_AGENT_OPUS_PACKET) return `Track ${this.trackId}: an Opus packet may be at most ${MAX_AGENT_OPUS_PACKET} bytes`;
      const packetMs = opusPacketMs(data);
      if (packetMs === undefined) return `Track ${this.trackId}: not an Opus packet (each sendData must carry one)`;
      ms = packetMs;
    } else {
      ms = (data.length / 2 / this.format.sampleRate) * 1000;
    }
    if (this.queuedMs + ms > MAX_AGENT_QUEUED_MS) {
      return `Track ${this.trackId}: queue full (at most ${MAX_AGENT_QUEUED_MS} ms of audio may wait to be played; ${Math.round(this.queuedMs)} ms wait)`;
    }
    this.queue.push(Buffer.from(data.buffer, data.byteOffset, data.length));
    this.queueDurations.push(ms);
    this.queuedBytes += data.length;
    this.queuedMs += ms;
    if (!this.pacer.active) {
      this.resumed = true;
      this.held = false;
    }
    this.play();
    return undefined;
  }

  /** Starts the pacer, unless the track has never played and nobody receives it yet (then looks again soon). */
  private play(): void {
    if (!this.started && this.producer.sinkCount === 0 && this.clock.now() - this.createdAt < FIRST_LISTENER_WAIT_MS) {
      this.startPoll ??= this.clock.setTimeout(() => {
        this.startPoll = undefined;
        if (!this.closed && this.queue.length > 0) this.play();
      }, LISTENER_POLL_MS);
      return;
    }
    this.started = true;
    this.pacer.wake();
  }

  /** Drops everything queued and not yet played; audio sent afterwards plays normally. */
  interrupt(): void {
    this.pacer.stop();
    this.clearQueue();
    this.quiet();
  }

  /** Nothing is played any more: voice activity returns to silence. */
  private quiet(): void {
    if (this.speaking) for (let i = 0; i < SILENT_LEVELS; i++) this.vad?.level(127);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pacer.stop();
    if (this.startPoll !== undefined) this.clock.clearTimeout(this.startPoll);
    this.startPoll = undefined;
    this.clearQueue();
    this.encoder?.free();
  }

  private clearQueue(): void {
    this.queue.length = 0;
    this.queueDurations = [];
    this.headOffset = 0;
    this.queuedBytes = 0;
    this.queuedMs = 0;
    this.held = false;
  }

  /** The pacer's step: sends the next frame; returns its duration (0: nothing left). */
  private playNext(): number {
    if (this.closed || this.queue.length === 0) return 0;
    if (this.format.encoding === 'opus') {
      const packet = this.queue.shift()!;
      const ms = this.queueDurations.shift()!;
      this.queuedBytes -= packet.length;
      this.queuedMs = Math.max(0, this.queuedMs - ms);
      this.sendPacket(packet, ms);
      return ms;
    }
    const frameBytes = frameSamples(this.format.sampleRate) * 2;
    if (this.queuedBytes < frameBytes && !this.held) {
      // A partial frame: give the agent one frame's time to send the rest, then pad it with silence.
      this.held = true;
      this.advance(FRAME_MS);
      return FRAME_MS;
    }
    this.held = false;
    const frame = this.takePcm(frameBytes);
    const level = audioLevel(frame);
    this.vad?.level(level);
    this.sendPacket(this.encoder!.encode(frame), FRAME_MS, level);
    return FRAME_MS;
  }

  /** The next `bytes` of queued PCM (zero-padded when fewer are queued); an odd trailing byte is dropped with it. */
  private takePcm(bytes: number): Buffer {
    const frame = Buffer.alloc(bytes);
    let filled = 0;
    while (filled < bytes && this.queue.length > 0) {
      const head = this.queue[0]!;
      const n = Math.min(bytes - filled, head.length - this.headOffset);
      head.copy(frame, filled, this.headOffset, this.headOffset + n);
      filled += n;
      this.headOffset += n;
      if (this.headOffset >= head.length) {
        this.queue.shift();
        this.queueDurations.shift();
        this.headOffset = 0;
      }
    }
    if (filled % 2 === 1 && this.queue.length === 0) frame[filled - 1] = 0;
    this.queuedBytes = Math.max(0, this.queuedBytes - filled);
    this.queuedMs = this.format.encoding === 'pcm16' ? (this.queuedBytes / 2 / this.format.sampleRate) * 1000 : this.queuedMs;
    return frame;
  }

  /** Moves the RTP clock over `ms` of media with no packet (a held slot). */
  private advance(ms: number): void {
    this.ts = (this.ts + (ms * OPUS_CLOCK_RATE) / 1000) >>> 0;
    this.lastEnd = this.clock.now() + ms;
  }

  /** Sends one packet; `level` (dBov) goes into an ssrc-audio-level extension when given. */
  private sendPacket(payload: Buffer, ms: number, level?: number): void {
    const now = this.clock.now();
    let marker = false;
    if (this.resumed) {
      // After silence, the timestamp jumps by the time that passed, and the marker starts the talkspurt.
      if (this.lastEnd !== undefined && now > this.lastEnd) this.ts = (this.ts + Math.round(((now - this.lastEnd) * OPUS_CLOCK_RATE) / 1000)) >>> 0;
      marker = true;
      this.resumed = false;
    }
    const ext = level === undefined ? 0 : 8;
    const buf = Buffer.allocUnsafe(12 + ext + payload.length);
    buf[0] = ext > 0 ? 0x90 : 0x80;
    buf[1] = (marker ? 0x80 : 0) | AGENT_OPUS_PT;
    buf.writeUInt16BE(this.seq, 2);
    buf.writeUInt32BE(this.ts, 4);
    buf.writeUInt32BE(this.ssrc, 8);
    if (level !== undefined) {
      // One-byte header extension (RFC 8285): one element of one byte — voice flag and level.
      buf.writeUInt16BE(0xbede, 12);
      buf.writeUInt16BE(1, 14);
      buf[16] = AGENT_AUDIO_LEVEL_EXT_ID << 4;
      buf[17] = (level < 127 ? 0x80 : 0) | level;
      buf[18] = 0;
      buf[19] = 0;
    }
    payload.copy(buf, 12 + ext);
    const h = parseRtpHeader(buf)!;
    if (this.packets % SR_EVERY === 0) {
      const wall = Date.now() / 1000 + NTP_EPOCH_OFFSET;
      const ntpSec = Math.floor(wall);
      this.producer.onSenderReport(this.ssrc, { ntpSec, ntpFrac: Math.floor((wall - ntpSec) * 2 ** 32) >>> 0, rtpTimestamp: this.ts });
    }
    this.packets++;
    this.producer.onRtp(buf, h, '');
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + (ms * OPUS_CLOCK_RATE) / 1000) >>> 0;
    this.lastEnd = now + ms;
  }
}

/** The level of a PCM16 frame in -dBov (0 loudest, 127 silent), as ssrc-audio-level carries it. */
export function audioLevel(frame: Buffer): number {
  let sum = 0;
  const n = frame.length >> 1;
  for (let i = 0; i < n; i++) {
    const v = frame.readInt16LE(i * 2) / 32768;
    sum += v * v;
  }
  const rms = n === 0 ? 0 : Math.sqrt(sum / n);
  if (rms === 0) return 127;
  return Math.max(0, Math.min(127, Math.round(-20 * Math.log10(rms))));
}
