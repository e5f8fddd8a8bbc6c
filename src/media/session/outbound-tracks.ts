// The tracks one session's client receives, from announcement to removal (slots are never reused): which
// of the client's m-lines carries each and the consumer that feeds it. Answers the client's recvonly
// m-lines, and finds consumers by SSRC for the client's RTCP. Consumers are made through the room's
// Router; it announces nothing and sends no packet itself. Its Downlink estimates the client's bandwidth
// from transport-cc feedback and fits the consumers into it (layers, pauses). A video line that offers
// rtx for the codec (and NACK) is answered with it and an RTX SSRC (FID group): its consumer resends on it.
import type { SentFrame } from '../transport/srtp-session.js';
import type { ForwardRtp, ResendRtx } from '../transport/rtp-forward.js';
import { randomBytes } from 'node:crypto';
import type { TrackInfo, TrackKind, Variant } from '../../room/track.js';
import { Downlink } from '../sfu/bwe/downlink.js';
import type { Consumer } from '../sfu/consumer.js';
import { emptyMediaStats, type MediaStats } from '../sfu/media-stats.js';
import type { Producer } from '../sfu/producer.js';
import type { Router } from '../sfu/router.js';
import type { AnswerMedia } from '../wire/sdp-answer.js';
import { EXT_AUDIO_LEVEL, EXT_TWCC, matchCodec, type OfferedMedia } from '../wire/sdp.js';

interface OutboundSlot {
  trackId: string;
  endpointId: string;
  kind: TrackKind;
  producer: Producer;
  mid?: string;
  consumer?: Consumer;
  removed: boolean;
}

export interface OutboundDeps {
  router: Router;
  /** The receiving peer (its consumers' quality labels). */
  peerId: string;
  /** The session's RTP send path (see ConsumerParams.send / resend). */
  send(packet: Buffer, length: number): SentFrame | undefined;
  resend(frame: SentFrame): void;
  /** The session's forwarding step (see ConsumerParams.forward). */
  forward?: ForwardRtp;
  resendRtx?: ResendRtx;
  /** The CNAME of every stream this session sends. */
  cname: string;
  /** A consumer switched simulcast variant (the client is told with encodingSwitched; lowered = for bandwidth). */
  variantSwitched(endpointId: string, trackId: string, variant: Variant, lowered: boolean): void;
  /** The bandwidth allocator paused (or resumed) a video track for this client (the client is told). */
  trackPaused?(endpointId: string, trackId: string, variant: Variant, paused: boolean): void;
  /** The plane's counters (a session made outside a plane counts on its own). */
  stats?: MediaStats;
}

/** Answer subscribers' offered rtx on video (off: every retransmission is the original packet resent). */
const SUBSCRIBER_RTX = true;

/** The variant a consumer starts on (ts-client 0.5.0 and Fishjam start receivers on the middle one). */
const START_VARIANT: Variant = 'm';

export class OutboundTracks {
  private readonly slots: OutboundSlot[] = [];
  private readonly bySsrc = new Map<number, Consumer>();
  private readonly downlink: Downlink;

  constructor(private readonly deps: OutboundDeps) {
    this.downlink = new Downlink({
      consumers: () => this.bySsrc.values(),
      stats: deps.stats ?? emptyMediaStats(),
      pausedChanged: (consumer, paused) => {
        const slot = this.slots.find((s) => s.consumer === consumer);
        const variant = consumer.producer.simulcast ? consumer.targetVariant : 'h';
        if (slot) deps.trackPaused?.(slot.endpointId, slot.trackId, variant, paused);
      },
    });
  }

  /** The client's RTCP (decrypted compound), received at `now` (performance.now() ms): its transport-cc feedback. */
  onRtcp(buf: Buffer, now: number): void {
    this.downlink.onRtcp(buf, now);
  }

  /** The client's downlink estimate (bps). */
  get estimate(): number {
    return this.downlink.estimate;
  }

  /** Takes the tracks of `endpointId` that are published here and not already received; returns them. */
  add(endpointId: string, tracks: TrackInfo[]): TrackInfo[] {
    const fresh: TrackInfo[] = [];
    for (const info of tracks) {
      const producer = this.deps.router.producer(info.id);
      if (!producer || this.slots.some((s) => s.trackId === info.id && !s.removed)) continue;
      this.slots.push({ trackId: info.id, endpointId, kind: info.type, producer, removed: false });
      fresh.push(info);
    }
    return fresh;
  }

  /** Stops these tracks (their consumers close); returns the ids that were received. */
  remove(trackIds: string[]): string[] {
    const removed: string[] = [];
    for (const slot of this.slots) {
      if (slot.removed || !trackIds.includes(slot.trackId)) continue;
      slot.removed = true;
      if (slot.consumer) {
        this.bySsrc.delete(slot.consumer.ssrc);
        slot.consumer.close();
        slot.consumer = undefined;
      }
      removed.push(slot.trackId);
    }
    return removed;
  }

  /** Slots of `kind` ever announced (offerData's tracksTypes: the client keeps an m-line per slot). */
  count(kind: TrackKind): number {
    return this.slots.filter((s) => s.kind === kind).length;
  }

  setTargetVariant(trackId: string, variant: Variant): void {
    for (const slot of this.slots) if (slot.trackId === trackId && !slot.removed) slot.consumer?.setTargetVariant(variant);
  }

  /** The transport can carry media: every consumer asks for its first keyframe. */
  startAll(): void {
    for (const slot of this.slots) if (slot.consumer && !slot.removed) slot.consumer.start();
  }

  consumer(ssrc: number): Consumer | undefined {
    return this.bySsrc.get(ssrc);
  }

  consumers(): IterableIterator<Consumer> {
    return this.bySsrc.values();
  }

  /** The answer to one of the client's recvonly m-lines: the slot it carries (a new one takes the first free slot of its kind). */
  answerRecvonly(m: OfferedMedia, answerMids: Record<string, string>): AnswerMedia {
    let slot = this.slots.find((s) => s.mid === m.mid);
    if (!slot) {
      slot = this.slots.find((s) => s.mid === undefined && !s.removed && s.kind === m.kind);
      if (slot) slot.mid = m.mid;
    }
    if (!slot || slot.removed) return inactive(m);
    const codec = matchCodec(m, slot.producer.codec);
    if (!codec) return inactive(m);
    const extensions = forwardedExtensions(slot.producer, m);
    const twcc = m.extensions.find((e) => e.uri === EXT_TWCC && e.id >= 1 && e.id <= 255);
    const nack = codec.rtcpFb.includes('nack');
    const rtxPt = SUBSCRIBER_RTX && m.kind === 'video' && nack ? codec.rtxPayloadType : undefined;
    const consumer = (slot.consumer ??= this.consume(slot, codec.payloadType, nack, extensions, twcc?.id, rtxPt));
    // A consumer keeps the RTX stream it was made with: answered while the offer still has that rtx payload type.
    const rtx = consumer.rtxStream !== undefined && consumer.rtxStream.payloadType === codec.rtxPayloadType ? consumer.rtxStream : undefined;
    answerMids[m.mid] = slot.trackId;
    const answered = extensions.map((e) => ({ id: e.to, uri: e.uri }));
    if (twcc) answered.push({ id: twcc.id, uri: twcc.uri });
    return {
      mid: m.mid,
      kind: m.kind as TrackKind,
      direction: 'sendonly',
      codec: { ...codec, rtxPayloadType: rtx?.payloadType },
      extensions: answered,
      send: { ssrc: consumer.ssrc, ...(rtx ? { rtxSsrc: rtx.ssrc } : {}), cname: this.deps.cname, streamId: slot.endpointId, trackId: slot.trackId },
      offered: m,
    };
  }

  close(): void {
    for (const slot of this.slots) slot.consumer?.close();
  }

  private consume(slot: OutboundSlot, payloadType: number, nack: boolean, extensions: ForwardedExtension[], twccExtId: number | undefined, rtxPt: number | undefined): Consumer {
    const ssrc = randomBytes(4).readUInt32BE(0) >>> 0;
    const rtxSsrc = rtxPt === undefined ? undefined : randomBytes(4).readUInt32BE(0) >>> 0;
    const consumer = this.deps.router.consume(slot.producer, {
      ssrc,
      payloadType,
      extensionMap: new Map(extensions.map((e) => [e.from, e.to])),
      targetVariant: START_VARIANT,
      send: this.deps.send,
      resend: this.deps.resend,
      forward: this.deps.forward,
      resendRtx: this.deps.resendRtx,
      nack,
      rtx: rtxPt === undefined || rtxSsrc === undefined || rtxSsrc === ssrc ? undefined : { ssrc: rtxSsrc, payloadType: rtxPt },
      subscriberId: this.deps.peerId,
      onVariantSwitched: (variant, lowered) => this.deps.variantSwitched(slot.endpointId, slot.trackId, variant, lowered),
      transportCc:
        twccExtId === undefined
          ? undefined
          : {
              extId: twccExtId,
              history: this.downlink.history,
              estimate: () => this.downlink.measuredEstimate,
              onSent: (now) => this.downlink.pace(now),
              mayResend: (bytes, now) => this.downlink.mayResend(bytes, now),
            },
    });
    this.bySsrc.set(ssrc, consumer);
    return consumer;
  }
}

interface ForwardedExtension {
  from: number;
  to: number;
  uri: string;
}

/** Extensions forwarded to a subscriber: audio level, when both sides negotiated it, with each side's id. */
function forwardedExtensions(producer: Producer, m: OfferedMedia): ForwardedExtension[] {
  const out: ForwardedExtension[] = [];
  for (const e of producer.extensions) {
    if (e.uri !== EXT_AUDIO_LEVEL) continue;
    const theirs = m.extensions.find((x) => x.uri === e.uri);
    if (theirs) out.push({ from: e.id, to: theirs.id, uri: e.uri });
  }
  return out;
}

/** An m-line answered inactive (nothing flows on it). */
export function inactive(m: OfferedMedia): AnswerMedia {
  return { mid: m.mid, kind: m.kind, direction: 'inactive', extensions: [], offered: m };
}
