// An inbound track: what one publisher sends on one m-line (one stream, or three simulcast variants).
// Knows its streams' SSRCs, fans each packet out to its sinks, asks the publisher for keyframes through
// a pacer and measures voice activity on audio, and counts the bytes it receives (one addition per
// packet; the bitrate is computed at scrape time). It never sends to subscribers itself (its sinks do),
// owns no transport, and is created and closed only by its room's Router.
import type { TrackKind, Variant } from '../../room/track.js';
import { getHeaderExtension, isH264Keyframe, isVp8Keyframe, parseAudioLevel, type RtpHeader } from '../wire/rtp.js';
import type { Codec, HeaderExtension } from '../wire/sdp.js';
import { KeyframePacer } from './keyframe-pacer.js';
import { BitrateMeter, type QualityCollector } from './media-quality.js';
import { emptyMediaStats, type MediaStats } from './media-stats.js';
import type { RtpSink } from './rtp-sink.js';
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
  private readonly sinks = new Set<RtpSink>();
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
    return this.sinks.size;
  }

  /** The sinks it feeds now. */
  currentSinks(): IterableIterator<RtpSink> {
    return this.sinks.values();
  }

  /** The published track's inbound quality (labels: the publisher and the track). */
  collectQuality(roomId: string, c: QualityCollector): void {
    if (!c.roomForTrack()) return;
    c.track({ roomId, peerId: this.peerId, trackId: this.trackId, direction: 'in', bitrate: this.meter.sample(this.bytesReceived, c.now) });
  }

  addSink(sink: RtpSink): void {
    if (!this.closed) this.sinks.add(sink);
  }

  removeSink(sink: RtpSink): void {
    this.sinks.delete(sink);
  }

  /** A packet of `variant` from the publisher (already decrypted). */
  onRtp(buf: Buffer, h: RtpHeader, variant: StreamVariant): void {
    if (this.closed) return;
    this.stats.rtpReceived++;
    this.bytesReceived += buf.length;
    const keyframe = this.isKeyframe(buf, h);
    if (keyframe && this.kind === 'video') this.pacer.keyframeArrived(h.ssrc);
    for (const sink of this.sinks) sink.forward(buf, h, variant, keyframe);
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
    const sinks = [...this.sinks];
    this.sinks.clear();
    for (const sink of sinks) sink.close();
  }

  private isKeyframe(buf: Buffer, h: RtpHeader): boolean {
    if (this.kind !== 'video') return true;
    const payload = buf.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength);
    return this.codec.name.toUpperCase() === 'H264' ? isH264Keyframe(payload) : isVp8Keyframe(payload);
  }
}
