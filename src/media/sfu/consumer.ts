// An outbound track: one producer forwarded to one subscriber. Rewrites SSRC, payload type, sequence
// numbers and timestamps so the subscriber sees one continuous stream across simulcast variant switches
// (which happen only at keyframes), and answers the subscriber's NACKs from its retransmission buffer.
// Per forwarded packet it allocates nothing itself: the rewritten packet is written into a shared scratch
// buffer that `send` must consume at once (it encrypts a copy), and the retransmission buffer keeps the
// frame `send` returns (the encrypted packet, resent as it was: a NACKed packet keeps its SRTP index).
// It sends only through the functions it was given, never touches rooms or signaling, and is created
// (and fed by its producer) only through its room's Router.
import type { Variant } from '../../room/track.js';
import { rewriteRtpInto, type RtpHeader } from '../wire/rtp.js';
import { emptyMediaStats, type MediaStats } from './media-stats.js';
import type { Producer } from './producer.js';
import { RetransmitBuffer } from './retransmit-buffer.js';
import type { RtpSink } from './rtp-sink.js';
import type { StreamVariant } from './stream-variant.js';

/**
 * Sent frames kept per consumer for NACKs: 5 s of a 100 packets/s stream, 1.3 s at 400 packets/s; a
 * receiver NACKs within a few round trips, so older frames would only hold memory.
 */
const RETRANSMIT_PACKETS = 512;

/** Where forward() writes each rewritten packet (one thread; `send` consumes it before returning). */
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
  send: (packet: Buffer, length: number) => Buffer | undefined;
  resend: (kept: Buffer) => void;
  /** The subscriber negotiated NACK for this codec: keep sent frames to answer it (else keep none). */
  nack: boolean;
  /** Publisher extension id → this subscriber's id; ids not listed are dropped. */
  extensionMap?: Map<number, number>;
  /** Called when the forwarded simulcast variant changes. */
  onVariantSwitched: (variant: Variant) => void;
  /** The counters of the thread's media plane (a consumer made outside a plane counts on its own). */
  stats?: MediaStats;
}

export class Consumer implements RtpSink {
  /** Stream being forwarded now; undefined until the first keyframe of the target arrives. */
  currentVariant: StreamVariant | undefined;
  targetVariant: Variant;
  private seqOffset = 0;
  private tsOffset = 0;
  private lastOutSeq = Math.floor(Math.random() * 0x8000);
  private lastOutTs = Math.floor(Math.random() * 0x7fffffff);
  private lastOutWall = 0;
  private started = false;
  /** Set by start(): until the subscriber's transport can receive, nothing is forwarded (a keyframe sent into the void would be lost). */
  private ready = false;
  private readonly rtx: RetransmitBuffer | undefined;
  private closed = false;
  private packetsSent = 0;
  private octetsSent = 0;
  private readonly stats: MediaStats;

  /** Not fed until the producer adds it as a sink (Router.consume does both). */
  constructor(
    readonly producer: Producer,
    private readonly p: ConsumerParams,
  ) {
    this.targetVariant = p.targetVariant;
    this.rtx = p.nack ? new RetransmitBuffer(RETRANSMIT_PACKETS) : undefined;
    this.stats = p.stats ?? emptyMediaStats();
  }

  get ssrc(): number {
    return this.p.ssrc;
  }

  /** Stream this consumer wants from the producer now. */
  private wantedVariant(): StreamVariant {
    return this.producer.simulcast ? this.targetVariant : '';
  }

  setTargetVariant(variant: Variant): void {
    if (this.targetVariant === variant) return;
    this.targetVariant = variant;
    if (this.currentVariant !== variant) this.producer.requestKeyframe(variant);
  }

  /** Called once the subscriber's transport can receive: asks for a keyframe to start from. */
  start(): void {
    this.ready = true;
    if (this.currentVariant !== undefined) return;
    this.producer.requestKeyframe(this.producer.simulcast ? this.targetVariant : undefined);
  }

  forward(buf: Buffer, h: RtpHeader, variant: StreamVariant, keyframe: boolean): void {
    if (this.closed || !this.ready) return;
    const wanted = this.wantedVariant();
    if (variant !== this.currentVariant) {
      // Switch (or start) only at a keyframe of the wanted stream.
      if (variant !== wanted || !keyframe) {
        if (variant === wanted && this.producer.kind === 'video') this.producer.requestKeyframe(variant);
        return;
      }
      this.switchTo(h);
      this.currentVariant = variant;
      if (this.producer.simulcast && variant !== '') this.p.onVariantSwitched(variant);
    }
    const seq = (h.sequenceNumber + this.seqOffset) & 0xffff;
    const ts = (h.timestamp + this.tsOffset) >>> 0;
    const length = rewriteRtpInto(buf, h, { ssrc: this.p.ssrc, payloadType: this.p.payloadType, sequenceNumber: seq, timestamp: ts, extensionMap: this.p.extensionMap }, scratch);
    if (length < 0) return;
    this.packetsSent++;
    this.octetsSent += h.payloadLength;
    this.lastOutSeq = seq;
    this.lastOutTs = ts;
    this.lastOutWall = Date.now();
    this.stats.rtpForwarded++;
    const kept = this.p.send(scratch, length);
    if (kept !== undefined) this.rtx?.put(seq, kept);
  }

  /** Re-bases sequence numbers and timestamps so the new stream continues the old one. */
  private switchTo(h: RtpHeader): void {
    const nextSeq = this.started ? (this.lastOutSeq + 1) & 0xffff : this.lastOutSeq;
    this.seqOffset = (nextSeq - h.sequenceNumber) & 0xffff;
    const elapsed = this.started ? Math.max(1, Math.round(((Date.now() - this.lastOutWall) * this.producer.codec.clockRate) / 1000)) : 0;
    this.tsOffset = (this.lastOutTs + elapsed - h.timestamp) >>> 0;
    this.started = true;
  }

  /** The subscriber asked for these (rewritten) sequence numbers again. */
  retransmit(seqs: number[]): void {
    for (const seq of seqs) {
      const packet = this.rtx?.get(seq);
      if (!packet) continue;
      this.stats.rtpRetransmitted++;
      this.p.resend(packet);
    }
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

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.producer.removeSink(this);
    this.rtx?.clear();
  }
}
