// The tracks one session's client receives, from announcement to removal (slots are never reused): which
// of the client's m-lines carries each and the consumer that feeds it. Answers the client's recvonly
// m-lines, and finds consumers by SSRC for the client's RTCP. Consumers are made through the room's
// Router; it announces nothing and sends no packet itself.
import { randomBytes } from 'node:crypto';
import type { TrackInfo, TrackKind, Variant } from '../../room/track.js';
import type { Consumer } from '../sfu/consumer.js';
import type { Producer } from '../sfu/producer.js';
import type { Router } from '../sfu/router.js';
import type { AnswerMedia } from '../wire/sdp-answer.js';
import { EXT_AUDIO_LEVEL, matchCodec, type OfferedMedia } from '../wire/sdp.js';

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
  send(packet: Buffer, length: number): Buffer | undefined;
  resend(frame: Buffer): void;
  /** The CNAME of every stream this session sends. */
  cname: string;
  /** A consumer switched simulcast variant (the client is told with encodingSwitched). */
  variantSwitched(endpointId: string, trackId: string, variant: Variant): void;
}

/** The variant a consumer starts on (ts-client 0.5.0 and Fishjam start receivers on the middle one). */
const START_VARIANT: Variant = 'm';

export class OutboundTracks {
  private readonly slots: OutboundSlot[] = [];
  private readonly bySsrc = new Map<number, Consumer>();

  constructor(private readonly deps: OutboundDeps) {}

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
    const consumer = (slot.consumer ??= this.consume(slot, codec.payloadType, codec.rtcpFb.includes('nack'), extensions));
    answerMids[m.mid] = slot.trackId;
    return {
      mid: m.mid,
      kind: m.kind as TrackKind,
      direction: 'sendonly',
      codec: { ...codec, rtxPayloadType: undefined },
      extensions: extensions.map((e) => ({ id: e.to, uri: e.uri })),
      send: { ssrc: consumer.ssrc, cname: this.deps.cname, streamId: slot.endpointId, trackId: slot.trackId },
      offered: m,
    };
  }

  close(): void {
    for (const slot of this.slots) slot.consumer?.close();
  }

  private consume(slot: OutboundSlot, payloadType: number, nack: boolean, extensions: ForwardedExtension[]): Consumer {
    const ssrc = randomBytes(4).readUInt32BE(0) >>> 0;
    const consumer = this.deps.router.consume(slot.producer, {
      ssrc,
      payloadType,
      extensionMap: new Map(extensions.map((e) => [e.from, e.to])),
      targetVariant: START_VARIANT,
      send: this.deps.send,
      resend: this.deps.resend,
      nack,
      subscriberId: this.deps.peerId,
      onVariantSwitched: (variant) => this.deps.variantSwitched(slot.endpointId, slot.trackId, variant),
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
