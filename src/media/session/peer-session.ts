// One peer's media session (ts-client 0.5.0 negotiation): serialises negotiations
// (offerData → sdpOffer → sdpAnswer + candidate), maps the client's m-lines to published tracks
// (producers, registered in its room's producer map) and to the tracks it receives (consumers, found in
// that map by track id), restarts ICE on every round after the first, and routes RTP/RTCP between its
// transport and producers/consumers. The Room decides who subscribes to what; this class only carries
// it out and reports what the client publishes through its host. It runs in whichever thread hosts the
// room's media (see media-plane.ts) and never sees the Room itself.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from '../../log/logger.js';
import type { ServerEndpointEvent, TurnServerInfo } from '../../room/endpoint-events.js';
import type { TrackInfo, TrackKind, Variant } from '../../room/track.js';
import type { TurnServer } from '../../turn/turn-server.js';
import { Consumer } from '../sfu/consumer.js';
import type { DtlsCertificate } from '../transport/dtls-certificate.js';
import { Producer, type Layer } from '../sfu/producer.js';
import { buildPli, buildRemb, buildSdesCname, buildSr, compound, parseRtcp } from '../wire/rtcp.js';
import { getHeaderExtension, parseRtpHeader, type RtpHeader } from '../wire/rtp.js';
import {
  EXT_AUDIO_LEVEL,
  EXT_MID,
  EXT_REPAIRED_RID,
  EXT_TWCC,
  EXT_RID,
  SdpError,
  buildAnswer,
  chooseCodec,
  matchCodec,
  parseOffer,
  supportedExtensions,
  type AnswerMedia,
  type HeaderExtension,
  type OfferedMedia,
  type ParsedOffer,
} from '../wire/sdp.js';
import type { MediaSession, MediaSessionHost, MediaSessionOptions } from '../plane/media-plane.js';
import { WebRtcTransport } from '../transport/webrtc-transport.js';

/** Shared media services of one Shoal instance. */
export interface MediaContext {
  turn: TurnServer;
  certificate: DtlsCertificate;
  turnServers(peerId: string): TurnServerInfo[];
  log: Logger;
}

/** What the sessions of one room share in the thread that hosts it. */
export interface RoomMedia {
  /** Every published track's producer, by track id. */
  readonly producers: Map<string, Producer>;
  /** Called once when a session of the room closes. */
  leave(): void;
}

/** A track this peer receives, from announcement to removal. Slots are never reused. */
interface OutboundSlot {
  trackId: string;
  endpointId: string;
  kind: TrackKind;
  producer: Producer;
  mid?: string;
  consumer?: Consumer;
  removed: boolean;
}

interface InboundLine {
  mid: string;
  trackId: string;
  producer: Producer;
  midExtId?: number;
  ridExtId?: number;
  rridExtId?: number;
}

const NEGOTIATION_SETTLE_TIMEOUT_MS = 5000;
/** How long after DTLS a round waits for the client's first media packet before it ends anyway. */
const CLIENT_CONNECTED_GRACE_MS = 500;
/** How long an offerData may stay unanswered before the next round can start. */
const OFFER_TIMEOUT_MS = 10_000;
const RTCP_INTERVAL_MS = 1000;
const REMB_BITRATE = 5_000_000;

export class PeerMedia implements MediaSession {
  readonly transport: WebRtcTransport;
  private readonly log: Logger;
  private readonly inbound = new Map<string, InboundLine>(); // by mid
  private readonly ssrcRoutes = new Map<number, { line: InboundLine; layer: Layer }>();
  private readonly outbound: OutboundSlot[] = [];
  private readonly consumersBySsrc = new Map<number, Consumer>();
  private negotiating = false;
  private pending = false;
  private rounds = 0;
  private remoteUfrag: string | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  /** tracksAdded/tracksRemoved held until the next round starts (sent right before its offerData). */
  private readonly announcements: ServerEndpointEvent[] = [];
  /** Tracks the client has been told about (tracksAdded sent, no tracksRemoved since). */
  private readonly announced = new Set<string>();
  /** After DTLS: waiting for the client's first SRTP/SRTCP packet (or CLIENT_CONNECTED_GRACE_MS) to end the round. */
  private clientConnectedTimer: NodeJS.Timeout | undefined;
  private readonly rtcpTimer: NodeJS.Timeout;
  private readonly rtcpSsrc = randomBytes(4).readUInt32BE(0) >>> 0;
  private readonly cname = randomUUID();
  private sessionVersion = 0;
  private readonly sessionId = String(Date.now());
  private closed = false;

  constructor(
    private readonly options: MediaSessionOptions,
    private readonly host: MediaSessionHost,
    private readonly ctx: MediaContext,
    private readonly room: RoomMedia,
  ) {
    this.log = ctx.log.child({ peerId: options.peerId });
    this.transport = new WebRtcTransport(ctx.turn, ctx.certificate, this.log);
    this.transport.on('rtp', (b) => {
      if (this.clientConnectedTimer !== undefined) this.clientConnected();
      this.onRtp(b);
    });
    this.transport.on('rtcp', (b) => {
      if (this.clientConnectedTimer !== undefined) this.clientConnected();
      this.onRtcp(b);
    });
    this.transport.on('connected', () => {
      for (const slot of this.outbound) slot.consumer?.start();
      // Our side of DTLS is done one flight before the client's. ts-client 0.5.0 resolves addTrack only on
      // its PeerConnection's "connected" event, and not if another round (tracksAdded) has begun by then, so
      // the next round waits until the client shows it is connected: its first SRTP/SRTCP packet, or a grace.
      this.clientConnectedTimer = setTimeout(() => this.clientConnected(), CLIENT_CONNECTED_GRACE_MS);
      this.clientConnectedTimer.unref();
    });
    this.transport.on('iceRestarted', () => this.settle());
    this.rtcpTimer = setInterval(() => this.onRtcpTimer(), RTCP_INTERVAL_MS);
    this.rtcpTimer.unref();
  }

  // ---- subscriptions (called by the room) ----

  /** Announces tracks of `endpointId` to the client and schedules the negotiation that delivers them. */
  subscribe(endpointId: string, tracks: TrackInfo[]): void {
    if (this.closed) return;
    const fresh: TrackInfo[] = [];
    for (const info of tracks) {
      const producer = this.room.producers.get(info.id);
      if (!producer || this.outbound.some((s) => s.trackId === info.id && !s.removed)) continue;
      this.outbound.push({ trackId: info.id, endpointId, kind: info.type, producer, removed: false });
      fresh.push(info);
    }
    if (fresh.length === 0) return;
    this.announcements.push({ type: 'tracksAdded', endpointId, tracks: fresh });
    this.requestNegotiation();
  }

  /** Stops sending these tracks; tells the client (which then needs a negotiation round). */
  unsubscribe(endpointId: string, trackIds: string[]): void {
    if (this.closed) return;
    const removed: string[] = [];
    for (const slot of this.outbound) {
      if (slot.removed || !trackIds.includes(slot.trackId)) continue;
      slot.removed = true;
      if (slot.consumer) {
        this.consumersBySsrc.delete(slot.consumer.ssrc);
        slot.consumer.close();
        slot.consumer = undefined;
      }
      removed.push(slot.trackId);
    }
    if (removed.length === 0) return;
    this.announcements.push({ type: 'tracksRemoved', endpointId, trackIds: removed });
    this.requestNegotiation();
  }

  /** Has the client been told about this remote track yet? (Events about a track must not precede it.) */
  knowsTrack(trackId: string): boolean {
    return this.announced.has(trackId);
  }

  setTargetLayer(trackId: string, layer: Variant): void {
    for (const slot of this.outbound) if (slot.trackId === trackId && !slot.removed) slot.consumer?.setTargetLayer(layer);
  }

  // ---- negotiation ----

  requestNegotiation(): void {
    if (this.closed) return;
    if (this.negotiating) {
      this.pending = true;
      return;
    }
    this.negotiating = true;
    this.pending = false;
    // Announcements go out only when a round starts: one arriving while the client is still connecting
    // would make ts-client 0.5.0 wait for a "connected" event that has already passed.
    for (const event of this.announcements.splice(0)) {
      if (event.type === 'tracksAdded') for (const t of event.tracks) this.announced.add(t.id);
      if (event.type === 'tracksRemoved') for (const id of event.trackIds) this.announced.delete(id);
      this.host.send(event);
    }
    const count = (kind: TrackKind) => this.outbound.filter((s) => s.kind === kind).length;
    this.host.send({
      type: 'offerData',
      tracksTypes: { audio: count('audio'), video: count('video') },
      turnServers: this.ctx.turnServers(this.options.peerId),
    });
    // A client that never answers must not block every later round.
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => this.finishRound(), OFFER_TIMEOUT_MS);
    this.settleTimer.unref();
  }

  /** The client's answer to offerData. Errors go to the client as an `error` event. */
  handleOffer(sdp: string, trackIdToMetadata: Record<string, unknown>, midToTrackId: Record<string, string>): void {
    if (this.closed) return;
    let offer: ParsedOffer;
    try {
      offer = parseOffer(sdp);
    } catch (err) {
      if (!(err instanceof SdpError)) throw err;
      this.log.warn({ err: err.message }, 'invalid SDP offer');
      this.host.send({ type: 'error', message: `Invalid SDP offer: ${err.message}` });
      this.finishRound();
      return;
    }
    this.negotiating = true;
    const restart = this.remoteUfrag !== undefined && offer.iceUfrag !== this.remoteUfrag;
    if (restart) this.transport.restartIce();
    this.remoteUfrag = offer.iceUfrag;
    if (offer.fingerprint) this.transport.setRemoteFingerprint(offer.fingerprint.value);

    const answerMedia: AnswerMedia[] = [];
    const answerMids: Record<string, string> = {};
    const newTracks: TrackInfo[] = [];
    const removedTracks: string[] = [];
    let refusedPublish = false;

    for (const m of offer.media) {
      if (m.kind === 'application') {
        answerMedia.push({ mid: m.mid, kind: 'application', direction: 'inactive', extensions: [], offered: m });
        continue;
      }
      if (m.direction === 'sendonly' || m.direction === 'sendrecv') {
        const trackId = midToTrackId[m.mid];
        const existing = this.inbound.get(m.mid);
        if (trackId === undefined || m.direction === 'sendrecv') {
          if (existing) removedTracks.push(this.dropInbound(m.mid));
          answerMedia.push(inactive(m));
          continue;
        }
        if (!this.options.permissions.canPublish) {
          refusedPublish = true;
          answerMedia.push(inactive(m));
          continue;
        }
        const codec = existing?.producer.codec ?? chooseCodec(m, this.options.roomCodec);
        if (!codec) {
          this.host.send({ type: 'error', message: `No supported ${m.kind} codec offered for track ${trackId}` });
          answerMedia.push(inactive(m));
          continue;
        }
        const rids = (this.options.enableSimulcast ? m.rids : []).filter((r): r is Variant => r === 'l' || r === 'm' || r === 'h');
        if (!existing) {
          this.addInbound(m, trackId, codec, rids);
          newTracks.push(trackInfo(trackId, m.kind, trackIdToMetadata[trackId], rids));
        } else if (trackId in trackIdToMetadata) {
          this.host.trackMetadataChanged(trackId, trackIdToMetadata[trackId] ?? null);
        }
        answerMids[m.mid] = trackId;
        answerMedia.push({
          mid: m.mid,
          kind: m.kind,
          direction: 'recvonly',
          codec,
          extensions: publisherExtensions(m),
          simulcastRids: rids.length > 0 ? rids : undefined,
          offered: m,
        });
        continue;
      }
      if (m.direction === 'inactive') {
        if (this.inbound.has(m.mid)) removedTracks.push(this.dropInbound(m.mid));
        answerMedia.push(inactive(m));
        continue;
      }
      // recvonly: a slot for a track this peer receives
      answerMedia.push(this.answerRecvonly(m, answerMids));
    }

    this.sessionVersion++;
    let answer: string;
    try {
      answer = buildAnswer({
        iceUfrag: this.transport.ice.local.ufrag,
        icePwd: this.transport.ice.local.pwd,
        fingerprint: { algorithm: 'sha-256', value: this.ctx.certificate.fingerprint },
        sessionId: this.sessionId,
        sessionVersion: this.sessionVersion,
        media: answerMedia,
      });
    } catch (err) {
      if (!(err instanceof SdpError)) throw err;
      // Undo this round's new inbound tracks: nothing was announced yet.
      for (const t of newTracks) for (const [mid, line] of this.inbound) if (line.trackId === t.id) this.dropInbound(mid);
      this.log.warn({ err: err.message }, 'cannot answer SDP offer');
      this.host.send({ type: 'error', message: `Invalid SDP offer: ${err.message}` });
      this.finishRound();
      return;
    }
    this.host.send({ type: 'sdpAnswer', sdp: answer, midToTrackId: answerMids });
    const c = this.transport.candidate;
    this.host.send({
      type: 'candidate',
      candidate: `candidate:1 1 UDP 2015363327 ${c.ip} ${c.port} typ host`,
      sdpMLineIndex: 0,
      sdpMid: offer.media[0]?.mid ?? '0',
    });
    if (refusedPublish) this.host.send({ type: 'error', message: 'Publishing is not allowed for this peer' });
    this.rounds++;
    if (removedTracks.length > 0) this.host.unpublished(removedTracks);
    if (newTracks.length > 0) this.host.published(newTracks);
    if (this.transport.state === 'connected') for (const slot of this.outbound) if (slot.consumer && !slot.removed) slot.consumer.start();
    // The round ends when the transport is (again) connected: at once when nothing needs re-connecting
    // (ts-client 0.25 never restarts ICE), else on DTLS connected / the first check with new credentials.
    clearTimeout(this.settleTimer);
    if (!restart && this.transport.state === 'connected') return this.finishRound();
    this.settleTimer = setTimeout(() => this.settle(), NEGOTIATION_SETTLE_TIMEOUT_MS);
    this.settleTimer.unref();
  }

  private answerRecvonly(m: OfferedMedia, answerMids: Record<string, string>): AnswerMedia {
    let slot = this.outbound.find((s) => s.mid === m.mid);
    if (!slot) {
      slot = this.outbound.find((s) => s.mid === undefined && !s.removed && s.kind === m.kind);
      if (slot) slot.mid = m.mid;
    }
    if (!slot || slot.removed) return inactive(m);
    const codec = matchCodec(m, slot.producer.codec);
    if (!codec) return inactive(m);
    const extensions = forwardedExtensions(slot.producer, m);
    if (!slot.consumer) {
      const ssrc = randomBytes(4).readUInt32BE(0) >>> 0;
      slot.consumer = new Consumer(slot.producer, {
        ssrc,
        payloadType: codec.payloadType,
        extensionMap: new Map(extensions.map((e) => [e.from, e.to])),
        targetLayer: 'm',
        send: (packet, length) => this.transport.sendRtp(packet, length),
        resend: (frame) => this.transport.resendRtp(frame),
        nack: codec.rtcpFb.includes('nack'),
        onLayerSwitched: (layer) =>
          this.host.send({ type: 'encodingSwitched', endpointId: slot!.endpointId, trackId: slot!.trackId, encoding: layer, reason: 'other' }),
      });
      this.consumersBySsrc.set(ssrc, slot.consumer);
    }
    answerMids[m.mid] = slot.trackId;
    return {
      mid: m.mid,
      kind: m.kind as TrackKind,
      direction: 'sendonly',
      codec: { ...codec, rtxPayloadType: undefined },
      extensions: extensions.map((e) => ({ id: e.to, uri: e.uri })),
      send: { ssrc: slot.consumer.ssrc, cname: this.cname, streamId: slot.endpointId, trackId: slot.trackId },
      offered: m,
    };
  }

  private clientConnected(): void {
    clearTimeout(this.clientConnectedTimer);
    this.clientConnectedTimer = undefined;
    this.settle();
  }

  /** Negotiation round finished: start the next one if something changed meanwhile. */
  private settle(): void {
    if (!this.negotiating || this.rounds === 0) return;
    this.finishRound();
  }

  private finishRound(): void {
    clearTimeout(this.settleTimer);
    this.negotiating = false;
    if (this.pending) this.requestNegotiation();
  }

  private addInbound(m: OfferedMedia, trackId: string, codec: Producer['codec'], rids: Variant[]): InboundLine {
    const ext = (uri: string) => m.extensions.find((e) => e.uri === uri)?.id;
    const producer = new Producer(trackId, this.options.peerId, m.kind as TrackKind, codec, rids, {
      sendPli: (mediaSsrc) => this.transport.sendRtcp(buildPli(this.rtcpSsrc, mediaSsrc)),
      audioLevelExtId: m.kind === 'audio' ? ext(EXT_AUDIO_LEVEL) : undefined,
      onVoiceActivity: (status) => this.host.voiceActivity(trackId, status),
    });
    producer.extensions = supportedExtensions(m);
    this.room.producers.set(trackId, producer);
    const line: InboundLine = { mid: m.mid, trackId, producer, midExtId: ext(EXT_MID), ridExtId: ext(EXT_RID), rridExtId: ext(EXT_REPAIRED_RID) };
    this.inbound.set(m.mid, line);
    if (rids.length === 0) {
      // Non-simulcast: the first SSRC of the m-line that is not an RTX (FID) SSRC is the media SSRC.
      const rtx = new Set(m.ssrcGroups.filter((g) => g.semantics === 'FID').map((g) => g.ssrcs[1]));
      const media = m.ssrcs.find((s) => !rtx.has(s));
      if (media !== undefined) {
        producer.layerSsrcs.set('', media);
        this.ssrcRoutes.set(media, { line, layer: '' });
      }
    }
    return line;
  }

  private dropInbound(mid: string): string {
    const line = this.inbound.get(mid)!;
    this.inbound.delete(mid);
    for (const [ssrc, route] of this.ssrcRoutes) if (route.line === line) this.ssrcRoutes.delete(ssrc);
    this.unregister(line);
    return line.trackId;
  }

  private unregister(line: InboundLine): void {
    if (this.room.producers.get(line.trackId) === line.producer) this.room.producers.delete(line.trackId);
    line.producer.close();
  }

  // ---- media routing ----

  private readonly header = {} as RtpHeader;

  private onRtp(buf: Buffer): void {
    const h = parseRtpHeader(buf, this.header);
    if (!h) return;
    let route = this.ssrcRoutes.get(h.ssrc);
    if (!route) route = this.learnSsrc(buf, h);
    // Only the negotiated codec is forwarded: RTX (retransmissions, bandwidth probes) and FEC are not.
    if (!route || h.payloadType !== route.line.producer.codec.payloadType) return;
    route.line.producer.onRtp(buf, h, route.layer);
  }

  /** Binds an unknown SSRC to an inbound line by its mid / rid header extensions (simulcast). */
  private learnSsrc(buf: Buffer, h: RtpHeader): { line: InboundLine; layer: Layer } | undefined {
    for (const line of this.inbound.values()) {
      if (line.midExtId === undefined) continue;
      const mid = getHeaderExtension(buf, h, line.midExtId)?.toString('utf8');
      if (mid !== line.mid || h.payloadType !== line.producer.codec.payloadType) continue;
      if (line.rridExtId !== undefined && getHeaderExtension(buf, h, line.rridExtId)) return undefined; // RTX: not used yet
      let layer: Layer = '';
      if (line.producer.simulcast) {
        const rid = line.ridExtId === undefined ? undefined : getHeaderExtension(buf, h, line.ridExtId)?.toString('utf8');
        if (rid !== 'l' && rid !== 'm' && rid !== 'h') return undefined;
        layer = rid;
      }
      const route = { line, layer };
      this.ssrcRoutes.set(h.ssrc, route);
      line.producer.layerSsrcs.set(layer, h.ssrc);
      return route;
    }
    return undefined;
  }

  private onRtcp(buf: Buffer): void {
    for (const p of parseRtcp(buf)) {
      switch (p.type) {
        case 'pli':
        case 'fir': {
          const ssrcs = p.type === 'pli' ? [p.mediaSsrc] : p.entries.map((e) => e.ssrc);
          for (const ssrc of ssrcs) {
            const consumer = this.consumersBySsrc.get(ssrc);
            consumer?.producer.requestKeyframe(consumer.currentLayer ?? undefined);
          }
          break;
        }
        case 'nack':
          this.consumersBySsrc.get(p.mediaSsrc)?.retransmit(p.lost);
          break;
        case 'sr':
          this.ssrcRoutes.get(p.ssrc)?.line.producer.onSenderReport(p.ssrc, p);
          break;
        default:
          break;
      }
    }
  }

  private onRtcpTimer(): void {
    this.sendSenderReports();
    this.sendRemb();
  }

  /** Tells publishers they may send at full rate (their estimate otherwise stays at its start value). */
  private sendRemb(): void {
    if (this.transport.state !== 'connected' || this.ssrcRoutes.size === 0) return;
    const video = [...this.ssrcRoutes.entries()].filter(([, r]) => r.line.producer.kind === 'video').map(([s]) => s);
    if (video.length > 0) this.transport.sendRtcp(buildRemb(this.rtcpSsrc, REMB_BITRATE, video));
  }

  /** Regenerated sender reports for everything this peer receives (A/V sync in the browser). */
  private sendSenderReports(): void {
    if (this.transport.state !== 'connected') return;
    const reports: Buffer[] = [];
    let firstSsrc: number | undefined;
    for (const consumer of this.consumersBySsrc.values()) {
      const sr = consumer.senderReport();
      if (!sr) continue;
      firstSsrc ??= sr.ssrc;
      reports.push(buildSr(sr));
    }
    if (firstSsrc !== undefined) this.transport.sendRtcp(compound([...reports, buildSdesCname(firstSsrc, this.cname)]));
  }

  close(): void {
    clearTimeout(this.clientConnectedTimer);
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.settleTimer);
    clearInterval(this.rtcpTimer);
    for (const slot of this.outbound) slot.consumer?.close();
    for (const line of this.inbound.values()) this.unregister(line);
    this.inbound.clear();
    this.transport.close();
    this.room.leave();
  }
}

/**
 * Extensions negotiated with a publisher. transport-cc is left out: Shoal sends no transport-wide
 * feedback, and a browser that negotiated it but hears none lets its bandwidth estimate collapse
 * (measured: 5 Mbps → 0.1 Mbps in 20 s). Without it the browser follows Shoal's REMB.
 */
function publisherExtensions(m: OfferedMedia): HeaderExtension[] {
  return supportedExtensions(m).filter((e) => e.uri !== EXT_TWCC);
}

/** Extensions forwarded to a subscriber: audio level, when both sides negotiated it, with each side's id. */
function forwardedExtensions(producer: Producer, m: OfferedMedia): { from: number; to: number; uri: string }[] {
  const out: { from: number; to: number; uri: string }[] = [];
  for (const e of producer.extensions) {
    if (e.uri !== EXT_AUDIO_LEVEL) continue;
    const theirs = m.extensions.find((x) => x.uri === e.uri);
    if (theirs) out.push({ from: e.id, to: theirs.id, uri: e.uri });
  }
  return out;
}

function inactive(m: OfferedMedia): AnswerMedia {
  return { mid: m.mid, kind: m.kind, direction: 'inactive', extensions: [], offered: m };
}

function trackInfo(id: string, kind: TrackKind, metadata: unknown, rids: Variant[]): TrackInfo {
  return {
    id,
    type: kind,
    metadata: metadata ?? null,
    simulcast: rids.length > 0 ? { enabled: true, active: rids, disabled: [] } : { enabled: false, active: ['h'], disabled: [] },
  };
}
