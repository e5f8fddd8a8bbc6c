// An outbound track: one producer forwarded to one subscriber. Rewrites SSRC, payload type, sequence
// numbers and timestamps so the subscriber sees one continuous stream across simulcast variant switches
// (which happen only at keyframes), and answers the subscriber's NACKs from its retransmission buffer.
// Per forwarded packet it allocates nothing itself: it picks the numbers (sequence, timestamp, transport-wide)
// and hands the rewrite and send to `forward` (the transport's: rewritten in TypeScript or by the native
// plane, rtp-forward.ts), and the retransmission buffer keeps the frame sent (the encrypted packet, resent
// as it was: a NACKed packet keeps its SRTP index).
// It sends only through the functions it was given, never touches rooms or signaling, and is created
// (and fed by its producer) only through its room's Router. A subscriber that negotiated rtx gets
// retransmissions on its RTX stream (rtx.ts): then what is kept is the rewritten plaintext (on the
// TypeScript plane a copy, one allocation per packet for such subscribers; on the native plane the addon
// keeps it) and a resend is encrypted afresh. Quality (bytes sent, the subscriber's
// receiver reports, round-trip time) costs one addition per packet; the rest happens per report or scrape.
import type { Variant } from '../../room/track.js';
import type { ReportBlock } from '../wire/rtcp.js';
import { seqDelta, type RtpHeader } from '../wire/rtp.js';
import { BitrateMeter, compactNtp, LAYER_INDEX, sampleRetransmits, type QualityCollector } from './media-quality.js';
import { emptyMediaStats, type MediaStats } from './media-stats.js';
import type { Producer } from './producer.js';
import type { SendHistory } from './bwe/send-history.js';
import { RetransmitBuffer } from './retransmit-buffer.js';
import { RtxStream } from './rtx-stream.js';
import { VARIANT_BIT, type RtpSink } from './rtp-sink.js';
import type { StreamVariant } from './stream-variant.js';
import { newRtpForward, resendAsRtx, rewriteAndSend, type ForwardRtp, type ResendRtx } from '../transport/rtp-forward.js';
import type { RtpForward, SentFrame } from '../transport/srtp-session.js';

/**
 * Sent frames kept per consumer for NACKs: 5 s of a 100 packets/s stream, 1.3 s at 400 packets/s; a
 * receiver NACKs within a few round trips, so older frames would only hold memory.
 */
const RETRANSMIT_PACKETS = 512;

/**
 * The NACK budget: a packet is resent at most this often, not again within about one round trip (never
 * sooner than MIN_RESEND_INTERVAL_MS, 100 ms while no round trip is known), and not when older than
 * MAX_RESEND_AGE_MS (a receiver's jitter buffer has given up on it by then: it would only add load).
 */
const MAX_RESENDS = 3;
const MIN_RESEND_INTERVAL_MS = 20;
const UNKNOWN_RTT_MS = 100;
const MAX_RESEND_AGE_MS = 1000;

/** Where the RTX stream writes its padding packets (one thread; `send` consumes it before returning). */
const scratch = Buffer.allocUnsafe(65536);

export interface ConsumerParams {
  ssrc: number;
  payloadType: number;
  /** Subscriber's preferred simulcast variant. */
  targetVariant: Variant;
  /**
   * Sends the plaintext packet `packet[0, length)`; `packet` is scratch, valid only during the call.
   * Returns what to keep for retransmission (handed to `resend` when NACKed), or undefined if nothing was sent.
   */
  send: (packet: Buffer, length: number) => SentFrame | undefined;
  resend: (kept: SentFrame) => void;
  /**
   * Rewrites and sends a forwarded packet in one step (the transport's forwardRtp, which picks the data
   * plane's way); absent: rewriteRtpInto, then `send`.
   */
  forward?: ForwardRtp;
  /** Resends what a forward kept on the RTX stream (the transport's resendRtx); absent: writeRtxPacket, then `send`. */
  resendRtx?: ResendRtx;
  /** The subscriber negotiated NACK for this codec: keep sent frames to answer it (else keep none). */
  nack: boolean;
  /** The subscriber negotiated rtx for this codec (with NACK): resend NACKed packets on this RTX stream (RFC 4588). */
  rtx?: { ssrc: number; payloadType: number };
  /** Publisher extension id → this subscriber's id; ids not listed are dropped. */
  extensionMap?: Map<number, number>;
  /** Called when the forwarded simulcast variant changes (lowered: below the client's target, for bandwidth). */
  onVariantSwitched: (variant: Variant, lowered: boolean) => void;
  /** The subscriber's transport negotiated transport-cc: stamp each packet with its transport-wide sequence number (this m-line's extension id) and remember it. */
  transportCc?: {
    extId: number;
    history: SendHistory;
    /** The transport's downlink estimate (bps), undefined until its first feedback (quality only). */
    estimate?: () => number | undefined;
    /** Called after each forwarded packet, at its send time (the transport's probe padding is paced from it). */
    onSent?: (now: number) => void;
    /** Whether `bytes` of retransmission may go out at `now` (the transport's resend budget); absent: always. */
    mayResend?: (bytes: number, now: number) => boolean;
  };
  /** The counters of the thread's media plane (a consumer made outside a plane counts on its own). */
  stats?: MediaStats;
  /** The receiving peer (quality labels); empty if unknown. */
  subscriberId?: string;
}

/** What the subscriber's latest receiver report said about this stream. */
interface ReceivedReport {
  lossRatio: number;
  lost: number;
  jitterSeconds: number;
}

const VARIANT_RANK: Record<Variant, number> = { l: 0, m: 1, h: 2 };

export class Consumer implements RtpSink {
  /** Stream being forwarded now; undefined until the first keyframe of the target arrives. */
  currentVariant: StreamVariant | undefined;
  targetVariant: Variant;
  /**
   * The bandwidth allocator's choice: a variant (never above targetVariant when used), null = paused (a
   * video track that does not fit: nothing is forwarded), undefined = no choice (the target is used).
   */
  private allocated: Variant | null | undefined;
  private seqOffset = 0;
  private tsOffset = 0;
  private lastOutSeq = Math.floor(Math.random() * 0x8000);
  private lastOutTs = Math.floor(Math.random() * 0x7fffffff);
  private lastOutWall = 0;
  /** First (rewritten) sequence number of the stream switched to last (−1 before the first switch). */
  private switchSeq = -1;
  private started = false;
  /** Set by start(): until the subscriber's transport can receive, nothing is forwarded (a keyframe sent into the void would be lost). */
  private ready = false;
  private readonly rtx: RetransmitBuffer<SentFrame> | undefined;
  private closed = false;
  private packetsSent = 0;
  private octetsSent = 0;
  /** Whole RTP packets (header and payload) sent, for the outbound bitrate. */
  private bytesSent = 0;
  private readonly meter = new BitrateMeter();
  private report: ReceivedReport | undefined;
  /** Compact NTP and local send time of the last two sender reports sent (a report may answer the older). */
  private readonly srNtp = [-1, -1];
  private readonly srAt = [0, 0];
  private rttSeconds: number | undefined;
  private rttAt = 0;
  private readonly stats: MediaStats;
  /** Its RTX stream, when the subscriber negotiated rtx. */
  private readonly rtxOut: RtxStream | undefined;
  /** Bytes (whole RTP packets) retransmitted, for the allocator's retransmission budget. */
  retransmittedBytes = 0;
  /** What its stream is rewritten to, and the outcome of the last forward. */
  private readonly fwd: RtpForward;
  private readonly forwardRtp: ForwardRtp;

  /** Not fed until the producer adds it as a sink (Router.consume does both). */
  constructor(
    readonly producer: Producer,
    private readonly p: ConsumerParams,
  ) {
    this.targetVariant = p.targetVariant;
    this.rtx = p.nack ? new RetransmitBuffer<SentFrame>(RETRANSMIT_PACKETS) : undefined;
    this.stats = p.stats ?? emptyMediaStats();
    const send = p.send;
    const fwd = newRtpForward({ ssrc: p.ssrc, payloadType: p.payloadType, extensionMap: p.extensionMap, transportSeqExtId: p.transportCc?.extId, rtx: p.rtx });
    this.fwd = fwd;
    this.forwardRtp = p.forward ?? ((f, src, h, seq, ts, tseq) => rewriteAndSend(f, src, h, seq, ts, tseq, send));
    const resendRtx = p.resendRtx ?? ((f, kept, rtxSeq, tseq) => resendAsRtx(f, kept, rtxSeq, tseq, send));
    this.rtxOut = p.rtx && new RtxStream({ ...p.rtx, send, resendRtx: (kept, rtxSeq, tseq) => resendRtx(fwd, kept, rtxSeq, tseq), transportCc: p.transportCc, stats: this.stats }, scratch);
  }

  get ssrc(): number {
    return this.p.ssrc;
  }

  /** Stream this consumer wants from the producer now. */
  private wantedVariant(): StreamVariant {
    if (!this.producer.simulcast) return '';
    const a = this.allocated;
    return a === undefined || a === null || VARIANT_RANK[a] > VARIANT_RANK[this.targetVariant] ? this.targetVariant : a;
  }

  /** The allocator's choice now (see `allocated`). */
  get allocation(): Variant | null | undefined {
    return this.allocated;
  }

  /** True while the allocator has paused this track. */
  get paused(): boolean {
    return this.allocated === null;
  }

  /**
   * The allocator's choice: a variant (a simulcast track switches at its next keyframe), null pauses the
   * track, undefined returns it to the client's target. Resuming waits for a keyframe.
   */
  allocate(choice: Variant | null | undefined): void {
    if (choice === this.allocated) return;
    const wasPaused = this.allocated === null;
    this.allocated = choice;
    if (choice === null) {
      this.currentVariant = undefined;
      this.producer.layersChanged(this);
      return;
    }
    this.producer.layersChanged(this);
    const wanted = this.wantedVariant();
    if (wasPaused || this.currentVariant !== wanted) this.producer.requestKeyframe(this.producer.simulcast ? wanted : undefined);
  }

  setTargetVariant(variant: Variant): void {
    if (this.targetVariant === variant) return;
    this.targetVariant = variant;
    this.producer.layersChanged(this);
    const wanted = this.wantedVariant();
    if (this.allocated !== null && this.currentVariant !== wanted) this.producer.requestKeyframe(wanted);
  }

  /** Called once the subscriber's transport can receive: asks for a keyframe to start from. */
  start(): void {
    this.ready = true;
    this.producer.layersChanged(this);
    if (this.currentVariant !== undefined) return;
    if (this.allocated !== null) this.producer.requestKeyframe(this.producer.simulcast ? this.wantedVariant() : undefined);
  }

  /** The producer's variants it needs now: the one it forwards and the one it waits to switch to (none while paused or not started). */
  neededVariants(): number {
    if (this.closed || !this.ready || this.allocated === null) return 0;
    const current = this.currentVariant;
    return VARIANT_BIT[this.wantedVariant()] | (current === undefined ? 0 : VARIANT_BIT[current]);
  }

  forward(buf: Buffer, h: RtpHeader, variant: StreamVariant, keyframe: boolean): void {
    if (this.closed || !this.ready || this.allocated === null) return;
    const wanted = this.wantedVariant();
    if (variant !== this.currentVariant) {
      // Switch (or start) only at a keyframe of the wanted stream.
      if (variant !== wanted || !keyframe) {
        if (variant === wanted && this.producer.kind === 'video') this.producer.requestKeyframe(variant);
        return;
      }
      this.switchTo(h);
      this.currentVariant = variant;
      this.producer.layersChanged(this);
      if (this.producer.simulcast && variant !== '') this.p.onVariantSwitched(variant, VARIANT_RANK[variant] < VARIANT_RANK[this.targetVariant]);
    }
    const seq = (h.sequenceNumber + this.seqOffset) & 0xffff;
    const ts = (h.timestamp + this.tsOffset) >>> 0;
    const tcc = this.p.transportCc;
    const tseq = tcc === undefined ? 0 : tcc.history.nextSeq();
    const f = this.fwd;
    this.forwardRtp(f, buf, h, seq, ts, tseq);
    const length = f.length;
    if (length < 0) return;
    this.packetsSent++;
    this.octetsSent += h.payloadLength;
    this.bytesSent += length;
    this.lastOutSeq = seq;
    this.lastOutTs = ts;
    const now = performance.now();
    this.lastOutWall = now;
    this.stats.rtpForwarded++;
    const kept = f.sent;
    if (kept !== undefined && this.rtx) this.rtx.put(seq, kept, now);
    if (tcc !== undefined) {
      tcc.history.record(tseq, now, length);
      tcc.onSent?.(now);
    }
  }

  /** Re-bases sequence numbers and timestamps so the new stream continues the old one. */
  private switchTo(h: RtpHeader): void {
    const nextSeq = this.started ? (this.lastOutSeq + 1) & 0xffff : this.lastOutSeq;
    this.seqOffset = (nextSeq - h.sequenceNumber) & 0xffff;
    const elapsed = this.started ? Math.max(1, Math.round(((performance.now() - this.lastOutWall) * this.producer.codec.clockRate) / 1000)) : 0;
    this.tsOffset = (this.lastOutTs + elapsed - h.timestamp) >>> 0;
    this.started = true;
    this.switchSeq = nextSeq;
  }

  /** The subscriber asked for these (rewritten) sequence numbers again: resends those the NACK budget allows. */
  retransmit(seqs: number[]): void {
    if (!this.rtx) return;
    const now = performance.now();
    const rttMs = this.rttSeconds === undefined ? UNKNOWN_RTT_MS : this.rttSeconds * 1000;
    const budget = { maxResends: MAX_RESENDS, minIntervalMs: Math.max(MIN_RESEND_INTERVAL_MS, rttMs), maxAgeMs: MAX_RESEND_AGE_MS };
    for (const seq of seqs) {
      // Packets of a stream left behind at a switch are not resent: the receiver decodes on from the keyframe.
      const stale = this.switchSeq >= 0 && seqDelta(seq, this.switchSeq) < 0;
      const packet = stale ? undefined : this.rtx.takeForResend(seq, now, budget);
      if (!packet || this.p.transportCc?.mayResend?.(packet.length, now) === false) {
        this.stats.rtpRetransmitRefused++;
        continue;
      }
      this.stats.rtpRetransmitted++;
      // With an RTX stream what was kept is the plaintext (or the native plane's handle of it), resent on it afresh.
      if (this.rtxOut) this.retransmittedBytes += this.rtxOut.resend(packet, now);
      else {
        this.retransmittedBytes += packet.length;
        this.p.resend(packet);
      }
    }
  }

  /** The RTX stream this consumer resends on (undefined: it resends the original packets). */
  get rtxStream(): { ssrc: number; payloadType: number } | undefined {
    return this.p.rtx;
  }

  /** True when this consumer can carry probe padding (an RTX stream and transport-wide sequence numbers). */
  get canPad(): boolean {
    return this.rtxOut !== undefined && this.rtxOut.canPad && !this.closed && this.ready;
  }

  /** Sends about `bytes` of padding-only RTX packets at `now` (a bandwidth probe); returns the bytes sent. */
  sendPadding(bytes: number, now: number): number {
    return this.canPad ? this.rtxOut!.pad(bytes, this.lastOutTs, now) : 0;
  }

  /**
   * A sender report for the subscriber, derived from the publisher's latest report of the stream being
   * forwarded (its NTP↔RTP mapping moved into this stream's timestamp space), so receivers can sync
   * audio and video. Undefined before the first forwarded packet or the publisher's first report.
   */
  senderReport(): { ssrc: number; ntpSec: number; ntpFrac: number; rtpTimestamp: number; packetCount: number; octetCount: number } | undefined {
    if (!this.started || this.currentVariant === undefined) return undefined;
    const ssrc = this.producer.variantSsrcs.get(this.currentVariant);
    const sr = ssrc === undefined ? undefined : this.producer.senderReports.get(ssrc);
    if (!sr) return undefined;
    const elapsedMs = Date.now() - sr.receivedAt;
    const ntp = sr.ntpSec + sr.ntpFrac / 2 ** 32 + elapsedMs / 1000;
    const ntpSec = Math.floor(ntp);
    return {
      ssrc: this.p.ssrc,
      ntpSec: ntpSec >>> 0,
      ntpFrac: Math.floor((ntp - ntpSec) * 2 ** 32) >>> 0,
      rtpTimestamp: (sr.rtpTimestamp + Math.round((elapsedMs * this.producer.codec.clockRate) / 1000) + this.tsOffset) >>> 0,
      packetCount: this.packetsSent >>> 0,
      octetCount: this.octetsSent >>> 0,
    };
  }

  /** The session sent the sender report senderReport() made, at `at` (performance.now() ms). */
  senderReportSent(ntpSec: number, ntpFrac: number, at: number): void {
    this.srNtp[1] = this.srNtp[0]!;
    this.srAt[1] = this.srAt[0]!;
    this.srNtp[0] = compactNtp(ntpSec, ntpFrac);
    this.srAt[0] = at;
  }

  /**
   * The subscriber's report block about this stream, received at `at`: loss and jitter, and the round
   * trip from its LSR/DLSR when LSR names a sender report this consumer sent (RFC 3550 §6.4.1).
   */
  onReceiverReport(block: ReportBlock, at: number): void {
    this.report = {
      lossRatio: block.fractionLost / 256,
      lost: block.cumulativeLost,
      jitterSeconds: block.jitter / this.producer.codec.clockRate,
    };
    if (block.lsr === 0) return;
    const k = block.lsr === this.srNtp[0] ? 0 : block.lsr === this.srNtp[1] ? 1 : -1;
    if (k < 0) return;
    this.rttSeconds = Math.max(0, (at - this.srAt[k]!) / 1000 - block.dlsr / 65536);
    this.rttAt = at;
  }

  /** This stream's quality (labels: the subscriber and the producer's track: paused, layer), its round trip and its transport's estimate. */
  collectQuality(roomId: string, c: QualityCollector): void {
    const peerId = this.p.subscriberId ?? '';
    if (this.rttSeconds !== undefined) c.rtt(roomId, peerId, this.rttSeconds, this.rttAt);
    const estimate = this.p.transportCc?.estimate?.();
    if (estimate !== undefined) c.downlinkEstimate(roomId, peerId, estimate);
    if (this.paused) c.pausedTrack();
    if (!c.roomForTrack()) return;
    const simulcast = this.producer.simulcast;
    const v = this.currentVariant;
    c.track({
      roomId,
      peerId,
      trackId: this.producer.trackId,
      direction: 'out',
      bitrate: this.meter.sample(this.bytesSent, c.now),
      ...this.report,
      ...(this.producer.kind === 'video' ? { paused: this.paused } : {}),
      ...(simulcast && v !== undefined && v !== '' ? { layer: LAYER_INDEX[v] } : {}),
      ...(simulcast ? { targetLayer: LAYER_INDEX[this.targetVariant] } : {}),
      ...(this.rtx ? { retransmitBitrate: sampleRetransmits(this, this.retransmittedBytes, c.now) } : {}),
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.producer.removeSink(this);
    this.rtx?.clear();
  }
}
