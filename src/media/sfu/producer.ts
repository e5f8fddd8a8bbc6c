// An inbound track: what one publisher sends on one m-line (one or three simulcast layers). Knows
// its layers' SSRCs, fans each packet out to its consumers and paces keyframe requests to the
// publisher (per layer: at most one PLI per interval; a request inside the interval is deferred to its
// end, not dropped, and a keyframe arriving meanwhile makes it unnecessary). It never sends to
// subscribers itself (consumers do) and owns no transport.
import type { TrackKind, Variant } from '../../room/track.js';
import type { Consumer } from './consumer.js';
import { mediaStats } from './media-stats.js';
import { getHeaderExtension, isH264Keyframe, isVp8Keyframe, parseAudioLevel, type RtpHeader } from '../wire/rtp.js';
import type { Codec, HeaderExtension } from '../wire/sdp.js';

/** '' is the single layer of a non-simulcast track. */
export type Layer = Variant | '';

/** WebRTC senders ignore keyframe requests closer than 300 ms to the last one they served (kMinKeyframeSendIntervalMs). */
export const KEYFRAME_REQUEST_INTERVAL_MS = 300;

/** Keyframe-request pacing of one layer SSRC. */
interface PliPacing {
  lastSent: number;
  deferred: NodeJS.Timeout | undefined;
}

/** A publisher's latest RTCP sender report for one SSRC, with the local time it arrived. */
export interface SenderReportInfo {
  ntpSec: number;
  ntpFrac: number;
  rtpTimestamp: number;
  receivedAt: number;
}

export type VoiceActivity = 'speech' | 'silence';

/** Audio louder than this (dBov, 0 = loudest, 127 = silence) counts as speech. */
const VAD_SPEECH_LEVEL = 50;
/** Packets in one VAD decision (20 ms each): 500 ms. */
const VAD_WINDOW = 25;
/** Loud packets a window needs to count as speech (100 ms of voice). */
const VAD_MIN_LOUD = 5;

export interface ProducerOptions {
  /** Sends a PLI for `mediaSsrc` to the publisher. */
  sendPli(mediaSsrc: number): void;
  /** Header extension id of ssrc-audio-level in the publisher's packets (audio only). */
  audioLevelExtId?: number;
  /** Voice activity changed (audio tracks with the audio-level extension). */
  onVoiceActivity?(status: VoiceActivity): void;
}

export class Producer {
  readonly consumers = new Set<Consumer>();
  /** SSRC of each layer, learned from SDP or from the rid header extension. */
  readonly layerSsrcs = new Map<Layer, number>();
  /** Layers the publisher is currently sending (simulcast disable/enable). */
  readonly disabledLayers = new Set<Variant>();
  private readonly pli = new Map<number, PliPacing>();
  private closed = false;

  constructor(
    readonly trackId: string,
    readonly peerId: string,
    readonly kind: TrackKind,
    readonly codec: Codec,
    /** Simulcast rids in offer order, empty for a single layer. */
    readonly rids: Variant[],
    private readonly opts: ProducerOptions,
  ) {}

  /** Header extensions the publisher sends (ids as negotiated with it). */
  extensions: HeaderExtension[] = [];
  /** Latest sender report per SSRC (for regenerated reports to subscribers). */
  readonly senderReports = new Map<number, SenderReportInfo>();
  private vadLoud = 0;
  private vadCount = 0;
  private voice: VoiceActivity = 'silence';

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
    if (keyframe && this.kind === 'video') this.keyframeArrived(h.ssrc);
    for (const c of this.consumers) c.forward(buf, h, layer, keyframe);
    if (this.opts.audioLevelExtId !== undefined && h.hasExtension) this.measureVoice(buf, h);
  }

  /** Counts loud packets per 500 ms window and reports speech/silence changes. */
  private measureVoice(buf: Buffer, h: RtpHeader): void {
    const ext = getHeaderExtension(buf, h, this.opts.audioLevelExtId!);
    const level = ext ? parseAudioLevel(ext) : undefined;
    if (!level) return;
    if (level.level <= VAD_SPEECH_LEVEL) this.vadLoud++;
    if (++this.vadCount < VAD_WINDOW) return;
    const status: VoiceActivity = this.vadLoud >= VAD_MIN_LOUD ? 'speech' : 'silence';
    this.vadLoud = 0;
    this.vadCount = 0;
    if (status === this.voice) return;
    this.voice = status;
    this.opts.onVoiceActivity?.(status);
  }

  onSenderReport(ssrc: number, sr: Omit<SenderReportInfo, 'receivedAt'>): void {
    this.senderReports.set(ssrc, { ...sr, receivedAt: Date.now() });
  }

  /**
   * Asks the publisher for a keyframe on `layer` (all layers when undefined): a PLI now, or, within
   * KEYFRAME_REQUEST_INTERVAL_MS of the last one on that layer, one PLI at the end of the interval
   * unless a keyframe arrives first.
   */
  requestKeyframe(layer?: Layer): void {
    if (this.kind !== 'video' || this.closed) return;
    if (layer !== undefined) {
      const ssrc = this.layerSsrcs.get(layer);
      if (ssrc !== undefined) this.requestKeyframeOn(ssrc);
      return;
    }
    for (const ssrc of this.layerSsrcs.values()) this.requestKeyframeOn(ssrc);
  }

  private requestKeyframeOn(ssrc: number): void {
    let p = this.pli.get(ssrc);
    if (p === undefined) {
      p = { lastSent: -Infinity, deferred: undefined };
      this.pli.set(ssrc, p);
    }
    if (p.deferred !== undefined) return;
    const wait = p.lastSent + KEYFRAME_REQUEST_INTERVAL_MS - Date.now();
    if (wait <= 0) return this.sendPli(ssrc, p);
    const pacing = p;
    p.deferred = setTimeout(() => {
      pacing.deferred = undefined;
      if (!this.closed) this.sendPli(ssrc, pacing);
    }, wait);
  }

  private sendPli(ssrc: number, p: PliPacing): void {
    p.lastSent = Date.now();
    mediaStats.keyframeRequests++;
    this.opts.sendPli(ssrc);
  }

  /** A keyframe began on `ssrc`: whoever waits for one takes it, so a deferred request is dropped. */
  private keyframeArrived(ssrc: number): void {
    const p = this.pli.get(ssrc);
    if (p?.deferred === undefined) return;
    clearTimeout(p.deferred);
    p.deferred = undefined;
  }

  close(): void {
    this.closed = true;
    for (const p of this.pli.values()) clearTimeout(p.deferred);
    for (const c of [...this.consumers]) c.close();
    this.consumers.clear();
  }
}
