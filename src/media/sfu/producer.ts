// An inbound track: what one publisher sends on one m-line (one stream, or three simulcast variants).
// Knows its streams' SSRCs, fans each packet out to its sinks, asks the publisher for keyframes through
// a pacer and measures voice activity on audio, and counts the bytes it receives (one addition per
// packet; the bitrate is computed at scrape time). It never sends to subscribers itself (its sinks do),
// owns no transport, and is created and closed only by its room's Router.
// Variants no sink needs (a simulcast layer no subscriber receives or waits to switch to) are dropped after
// the counting, keyframe tracking and measuring sinks, before the per-sink loop: sinks report what they need
// (RtpSink.neededVariants) when it changes, and per-variant counts keep the check one mask test per packet.
// Decryption happens before, in the session, for every packet (the SRTP rollover counter needs them all).
import type { TrackKind, Variant } from '../../room/track.js';
import { getHeaderExtension, isH264Keyframe, isVp8Keyframe, parseAudioLevel, type RtpHeader } from '../wire/rtp.js';
import type { Codec, HeaderExtension } from '../wire/sdp.js';
import { KeyframePacer } from './keyframe-pacer.js';
import { BitrateMeter, type QualityCollector } from './media-quality.js';
import { emptyMediaStats, type MediaStats } from './media-stats.js';
import { ALL_VARIANTS, VARIANT_BIT, type RtpSink } from './rtp-sink.js';
import type { StreamVariant } from './stream-variant.js';
import { VoiceActivityDetector, type VoiceActivity } from './voice-activity.js';

/** A publisher's latest RTCP sender report for one SSRC, with the local time it arrived. */
export interface SenderReportInfo {
  ntpSec: number;
  ntpFrac: number;
  rtpTimestamp: number;
  receivedAt: number;
}

export interface ProducerOptions {
  /** Sends a PLI for `mediaSsrc` to the publisher. */
  sendPli(mediaSsrc: number): void;
  /** Header extension id of ssrc-audio-level in the publisher's packets (audio only). */
  audioLevelExtId?: number;
  /** Voice activity changed (audio tracks with the audio-level extension). */
  onVoiceActivity?(status: VoiceActivity): void;
  /** Header extensions the publisher sends (ids as negotiated with it). */
  extensions?: HeaderExtension[];
  /** The counters of the thread's media plane (a producer made outside a plane counts on its own). */
  stats?: MediaStats;
}

export class Producer {
  /** SSRC of each stream, learned from SDP or from the rid header extension. */
  readonly variantSsrcs = new Map<StreamVariant, number>();
  /** Header extensions the publisher sends (ids as negotiated with it). */
  readonly extensions: HeaderExtension[];
  /** Latest sender report per SSRC (for regenerated reports to subscribers). */
  readonly senderReports = new Map<number, SenderReportInfo>();
  /** Sinks fed the variants some sink needs, each with the mask it last reported. */
  private readonly sinks = new Map<RtpSink, number>();
  /** Sinks fed every packet (RtpSink.measuresOnly). */
  private readonly measuring = new Set<RtpSink>();
  /** How many sinks need each variant (indexed by bit position of VARIANT_BIT), and the mask of those above 0. */
  private readonly neededCounts = [0, 0, 0, 0];
  private neededMask = 0;
  private readonly pacer: KeyframePacer;
  private readonly vad: VoiceActivityDetector | undefined;
  private readonly stats: MediaStats;
  /** Whole RTP packets received (all variants), for the inbound bitrate. */
  private bytesReceived = 0;
  private readonly meter = new BitrateMeter();
  private closed = false;

  constructor(
    readonly trackId: string,
    readonly peerId: string,
    readonly kind: TrackKind,
    readonly codec: Codec,
    /** Simulcast rids in offer order, empty for a single stream. */
    readonly rids: Variant[],
    private readonly opts: ProducerOptions,
  ) {
    this.extensions = opts.extensions ?? [];
    this.stats = opts.stats ?? emptyMediaStats();
    this.pacer = new KeyframePacer((ssrc) => {
      this.stats.keyframeRequests++;
      opts.sendPli(ssrc);
    });
    const onVoice = opts.onVoiceActivity;
    this.vad = opts.audioLevelExtId !== undefined && onVoice ? new VoiceActivityDetector(onVoice) : undefined;
  }

  get simulcast(): boolean {
    return this.rids.length > 0;
  }

  /** How many sinks it feeds. */
  get sinkCount(): number {
    return this.sinks.size + this.measuring.size;
  }

  /** The sinks it feeds now. */
  *currentSinks(): IterableIterator<RtpSink> {
    yield* this.sinks.keys();
    yield* this.measuring;
  }

  /** The variants at least one sink needs now (a mask of VARIANT_BIT; packets of the others are dropped). */
  get neededVariants(): number {
    return this.neededMask;
  }

  /** The published track's inbound quality (labels: the publisher and the track). */
  collectQuality(roomId: string, c: QualityCollector): void {
    if (!c.roomForTrack()) return;
    c.track({ roomId, peerId: this.peerId, trackId: this.trackId, direction: 'in', bitrate: this.meter.sample(this.bytesReceived, c.now) });
  }

  addSink(sink: RtpSink): void {
    if (this.closed || this.sinks.has(sink) || this.measuring.has(sink)) return;
    if (sink.measuresOnly === true) {
      this.measuring.add(sink);
      return;
    }
    const mask = this.maskOf(sink);
    this.sinks.set(sink, mask);
    this.count(mask, 1);
  }

  removeSink(sink: RtpSink): void {
    if (this.measuring.delete(sink)) return;
    const mask = this.sinks.get(sink);
    if (mask === undefined) return;
    this.sinks.delete(sink);
    this.count(mask, -1);
  }

  /** `sink` needs other variants now (it switched, paused, resumed or started): recounts its mask. */
  layersChanged(sink: RtpSink): void {
    const old = this.sinks.get(sink);
    if (old === undefined) return;
    const mask = this.maskOf(sink);
    if (mask === old) return;
    this.sinks.set(sink, mask);
    this.count(old, -1);
    this.count(mask, 1);
  }

  /** A packet of `variant` from the publisher (already decrypted). */
  onRtp(buf: Buffer, h: RtpHeader, variant: StreamVariant): void {
    if (this.closed) return;
    this.stats.rtpReceived++;
    this.bytesReceived += buf.length;
    const keyframe = this.isKeyframe(buf, h);
    if (keyframe && this.kind === 'video') this.pacer.keyframeArrived(h.ssrc);
    if (this.measuring.size > 0) for (const sink of this.measuring) sink.forward(buf, h, variant, keyframe);
    if ((this.neededMask & VARIANT_BIT[variant]) !== 0) {
      for (const sink of this.sinks.keys()) sink.forward(buf, h, variant, keyframe);
    } else if (this.simulcast) this.stats.rtpDroppedUnusedLayer++;
    if (this.vad !== undefined && h.hasExtension) {
      const ext = getHeaderExtension(buf, h, this.opts.audioLevelExtId!);
      const level = ext ? parseAudioLevel(ext) : undefined;
      if (level) this.vad.level(level.level);
    }
  }

  onSenderReport(ssrc: number, sr: Omit<SenderReportInfo, 'receivedAt'>): void {
    this.senderReports.set(ssrc, { ...sr, receivedAt: Date.now() });
  }

  /** Asks the publisher for a keyframe on `variant` (on every stream when undefined), paced per stream. */
  requestKeyframe(variant?: StreamVariant): void {
    if (this.kind !== 'video' || this.closed) return;
    if (variant !== undefined) {
      const ssrc = this.variantSsrcs.get(variant);
      if (ssrc !== undefined) this.pacer.request(ssrc);
      return;
    }
    for (const ssrc of this.variantSsrcs.values()) this.pacer.request(ssrc);
  }

  /** Closes the producer and every sink it feeds (use Router.closeProducer, which also forgets it). */
  close(): void {
    this.closed = true;
    this.pacer.close();
    const sinks = [...this.currentSinks()];
    this.sinks.clear();
    this.measuring.clear();
    this.neededCounts.fill(0);
    this.neededMask = 0;
    for (const sink of sinks) sink.close();
  }

  private maskOf(sink: RtpSink): number {
    return sink.neededVariants === undefined ? ALL_VARIANTS : sink.neededVariants() & ALL_VARIANTS;
  }

  /** Adds `delta` to the count of every variant in `mask` and recomputes the needed mask (4 steps). */
  private count(mask: number, delta: number): void {
    let needed = 0;
    for (let i = 0; i < 4; i++) {
      if ((mask & (1 << i)) !== 0) this.neededCounts[i]! += delta;
      if (this.neededCounts[i]! > 0) needed |= 1 << i;
    }
    this.neededMask = needed;
  }

  private isKeyframe(buf: Buffer, h: RtpHeader): boolean {
    if (this.kind !== 'video') return true;
    const payload = buf.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength);
    return this.codec.name.toUpperCase() === 'H264' ? isH264Keyframe(payload) : isVp8Keyframe(payload);
  }
}
