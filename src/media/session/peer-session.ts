// One peer's media session (ts-client 0.5.0 negotiation): answers the client's offers — its sendonly
// m-lines become producers in the room's Router, its recvonly m-lines carry the tracks it receives — and
// restarts ICE on every round after the first. Composes the session's parts: the transport, negotiation
// rounds, track announcements, the RTP listener (packets in), outbound tracks (consumers), the RTCP
// reporter and the data channels. The Room decides who receives what; this class carries it out and
// reports what the client publishes through its host. It runs in whichever thread hosts the room's media
// and never sees the Room.
// It must not throw out of handleOffer on any offer text (a bad offer gets an `error` event), nor let a
// client publish under a track id another peer of the room publishes (the Router's owner keeps it).
import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from '../../log/logger.js';
import type { ServerEndpointEvent, TurnServerInfo } from '../../room/endpoint-events.js';
import type { MediaSession, MediaSessionHost, MediaSessionOptions } from '../../room/media-port.js';
import type { TrackInfo, TrackKind, Variant } from '../../room/track.js';
import type { TurnServer } from '../../turn/turn-server.js';
import type { MediaStats } from '../sfu/media-stats.js';
import type { Router } from '../sfu/router.js';
import type { DtlsCertificate } from '../transport/dtls-certificate.js';
import type { PacketSlab } from '../transport/packet-slab.js';
import { WebRtcTransport } from '../transport/webrtc-transport.js';
import { buildPli, parseRtcp, type ReportBlock } from '../wire/rtcp.js';
import { buildAnswer, type AnswerMedia } from '../wire/sdp-answer.js';
import { EXT_AUDIO_LEVEL, EXT_TWCC, SdpError, chooseCodec, parseOffer, supportedExtensions, type Codec, type HeaderExtension, type OfferedMedia, type ParsedOffer } from '../wire/sdp.js';
import { IdleWatch } from './idle-watch.js';
import { NegotiationRounds } from './negotiation-rounds.js';
import { OutboundTracks, inactive } from './outbound-tracks.js';
import { RtcpReporter } from './rtcp-reporter.js';
import { RtpListener } from './rtp-listener.js';
import { SessionData } from './session-data.js';
import { TrackAnnouncements } from './track-announcements.js';
import type { SrtpSessionFactory } from '../transport/srtp-session.js';

/** Shared media services of the thread's media plane. */
export interface MediaContext {
  turn: TurnServer;
  certificate: DtlsCertificate;
  /** Where outgoing packets are allocated (one per plane). */
  slab: PacketSlab;
  turnServers(peerId: string): TurnServerInfo[];
  log: Logger;
  /** The plane's counters (RTCP feedback from subscribers is counted here). */
  stats: MediaStats;
  /** The data plane's SRTP sessions (native or TypeScript). */
  srtp: SrtpSessionFactory;
}

/** What one offer changes: the answer's m-lines and what the client starts and stops publishing. */
interface OfferOutcome {
  answerMedia: AnswerMedia[];
  answerMids: Record<string, string>;
  newTracks: TrackInfo[];
  removedTracks: string[];
  refusedPublish: boolean;
}

export class PeerSession implements MediaSession {
  readonly transport: WebRtcTransport;
  private readonly log: Logger;
  private readonly listener: RtpListener;
  private readonly outbound: OutboundTracks;
  private readonly announcements = new TrackAnnouncements();
  private readonly rounds: NegotiationRounds;
  private readonly reporter: RtcpReporter;
  private readonly data: SessionData;
  /** Livestream sessions (no socket): ends them when the client goes silent. */
  private readonly idle: IdleWatch | undefined;
  private remoteUfrag: string | undefined;
  private readonly rtcpSsrc = randomBytes(4).readUInt32BE(0) >>> 0;
  private readonly cname = randomUUID();
  private sessionVersion = 0;
  private readonly sessionId = String(Date.now());
  private closed = false;

  constructor(
    private readonly options: MediaSessionOptions,
    private readonly host: MediaSessionHost,
    private readonly ctx: MediaContext,
    private readonly router: Router,
  ) {
    this.log = ctx.log.child({ peerId: options.peerId });
    this.listener = new RtpListener({ rtcpSsrc: this.rtcpSsrc, stats: ctx.stats, sendRtcp: (p) => this.transport.sendRtcp(p) });
    const transport = new WebRtcTransport(ctx.turn, ctx.certificate, this.log, ctx.slab, ctx.srtp, ctx.stats);
    this.transport = transport;
    this.rounds = new NegotiationRounds(() => this.beginRound());
    this.outbound = new OutboundTracks({
      router,
      peerId: options.peerId,
      send: (packet, length) => transport.sendRtp(packet, length),
      resend: (frame) => transport.resendRtp(frame),
      forward: (f, src, h, seq, ts, tseq) => transport.forwardRtp(f, src, h, seq, ts, tseq),
      resendRtx: (f, kept, rtxSeq, tseq) => transport.resendRtx(f, kept, rtxSeq, tseq),
      cname: this.cname,
      variantSwitched: (endpointId, trackId, variant, lowered) => host.send({ type: 'encodingSwitched', endpointId, trackId, variant, reason: lowered ? 'low_bandwidth' : 'other' }),
      trackPaused: (endpointId, trackId, variant, paused) => host.send({ type: paused ? 'trackEncodingDisabled' : 'trackEncodingEnabled', endpointId, trackId, variant }),
      stats: ctx.stats,
    });
    this.reporter = new RtcpReporter({
      connected: () => transport.state === 'connected',
      sendRtcp: (packet) => transport.sendRtcp(packet),
      consumers: () => this.outbound.consumers(),
      publishedVideoSsrcs: () => this.listener.videoSsrcs(),
      rtcpSsrc: this.rtcpSsrc,
      cname: this.cname,
      feedback: (nowMs) => this.listener.feedback(nowMs),
    });
    const { idleTimeoutMs } = options;
    const idle = (this.idle = idleTimeoutMs ? new IdleWatch(idleTimeoutMs, () => host.failed('client went silent')) : undefined);
    transport.on('rtp', (b) => {
      idle?.packet();
      this.rounds.clientActive();
      this.listener.onRtp(b);
    });
    transport.on('rtcp', (b) => {
      idle?.packet();
      this.rounds.clientActive();
      this.onRtcp(b);
    });
    transport.on('connected', () => {
      this.outbound.startAll();
      this.rounds.transportConnected();
    });
    transport.on('iceRestarted', () => this.rounds.iceRestarted());
    this.data = new SessionData({
      transport,
      router,
      peerId: options.peerId,
      canPublishData: options.permissions.canPublishData,
      sendError: (message) => host.send({ type: 'error', message }),
      channelChanged: (label, change) => host.dataChannel?.(label, change),
      log: this.log,
    });
    router.join();
  }

  // ---- what the client receives (called by the room) ----

  subscribe(endpointId: string, tracks: TrackInfo[]): void {
    if (this.closed) return;
    const fresh = this.outbound.add(endpointId, tracks);
    if (fresh.length === 0) return;
    this.announcements.hold({ type: 'tracksAdded', endpointId, tracks: fresh });
    this.requestNegotiation();
  }

  unsubscribe(endpointId: string, trackIds: string[]): void {
    if (this.closed) return;
    const removed = this.outbound.remove(trackIds);
    if (removed.length === 0) return;
    this.announcements.hold({ type: 'tracksRemoved', endpointId, trackIds: removed });
    this.requestNegotiation();
  }

  trackEvent(_endpointId: string, track: TrackInfo, event: ServerEndpointEvent): void {
    if (!this.closed) this.announcements.trackEvent(track, event, (e) => this.host.send(e));
  }

  setTargetVariant(trackId: string, variant: Variant): void {
    this.outbound.setTargetVariant(trackId, variant);
  }

  // ---- negotiation ----

  requestNegotiation(): void {
    if (!this.closed) this.rounds.request();
  }

  /** A round starts: the held announcements, then offerData. */
  private beginRound(): void {
    this.announcements.flush((event) => this.host.send(event));
    const count = (kind: TrackKind) => this.outbound.count(kind);
    this.host.send({ type: 'offerData', tracksTypes: { audio: count('audio'), video: count('video') }, turnServers: this.ctx.turnServers(this.options.peerId) });
  }

  /** The client's offer (answering offerData, or on its own). Errors go to the client as an `error` event. */
  handleOffer(sdp: string, trackIdToMetadata: Record<string, unknown>, midToTrackId: Record<string, string>): void {
    if (this.closed) return;
    let offer: ParsedOffer;
    try {
      offer = parseOffer(sdp);
    } catch (err) {
      return this.refuseOffer(err);
    }
    this.rounds.offerArrived();
    const restart = this.remoteUfrag !== undefined && offer.iceUfrag !== this.remoteUfrag;
    if (restart) this.transport.restartIce();
    this.remoteUfrag = offer.iceUfrag;
    if (offer.fingerprint) this.transport.setRemoteFingerprint(offer.fingerprint.value);

    const outcome = this.answerMedia(offer, trackIdToMetadata, midToTrackId);
    this.sessionVersion++;
    let answer: string;
    try {
      answer = buildAnswer({
        iceUfrag: this.transport.ice.local.ufrag,
        icePwd: this.transport.ice.local.pwd,
        fingerprint: { algorithm: 'sha-256', value: this.ctx.certificate.fingerprint },
        sessionId: this.sessionId,
        sessionVersion: this.sessionVersion,
        media: outcome.answerMedia,
      });
    } catch (err) {
      // Undo this round's new inbound tracks: nothing was announced yet.
      for (const t of outcome.newTracks) for (const line of [...this.listener.all()]) if (line.trackId === t.id) this.dropInbound(line.mid);
      return this.refuseOffer(err, 'cannot answer SDP offer');
    }
    this.host.send({ type: 'sdpAnswer', sdp: answer, midToTrackId: outcome.answerMids });
    const c = this.transport.candidate;
    this.host.send({ type: 'candidate', candidate: `candidate:1 1 UDP 2015363327 ${c.ip} ${c.port} typ host`, sdpMLineIndex: 0, sdpMid: offer.media[0]?.mid ?? '0' });
    if (outcome.refusedPublish) this.host.send({ type: 'error', message: 'Publishing is not allowed for this peer' });
    if (outcome.removedTracks.length > 0) this.host.unpublished(outcome.removedTracks);
    if (outcome.newTracks.length > 0) this.host.published(outcome.newTracks);
    const connected = this.transport.state === 'connected';
    if (connected) this.outbound.startAll();
    // ts-client 0.25 never restarts ICE: then nothing needs re-connecting and the round ends at once.
    this.rounds.answerSent(!restart && connected);
  }

  /** Tells the client its offer was refused. An error other than SdpError is a bug: logged with its stack. */
  private refuseOffer(err: unknown, logText = 'invalid SDP offer'): void {
    if (err instanceof SdpError) this.log.warn({ err: err.message }, logText);
    else this.log.error({ err }, `${logText} (unexpected error)`);
    const reason = err instanceof SdpError ? err.message : 'it could not be processed';
    this.host.send({ type: 'error', message: `Invalid SDP offer: ${reason}` });
    this.rounds.failed();
  }

  /** Each offered m-line's answer; publishing lines start or stop producers. */
  private answerMedia(offer: ParsedOffer, trackIdToMetadata: Record<string, unknown>, midToTrackId: Record<string, string>): OfferOutcome {
    const out: OfferOutcome = { answerMedia: [], answerMids: {}, newTracks: [], removedTracks: [], refusedPublish: false };
    for (const m of offer.media) {
      if (m.kind === 'application') {
        out.answerMedia.push(this.data.answer(m));
      } else if (m.direction === 'sendonly' || m.direction === 'sendrecv') {
        out.answerMedia.push(this.answerPublishing(m, midToTrackId[m.mid], trackIdToMetadata, out));
      } else if (m.direction === 'inactive') {
        if (this.listener.line(m.mid)) out.removedTracks.push(this.dropInbound(m.mid));
        out.answerMedia.push(inactive(m));
      } else {
        out.answerMedia.push(this.outbound.answerRecvonly(m, out.answerMids));
      }
    }
    return out;
  }

  /**
   * A sendonly (or sendrecv, refused) m-line: the track the client publishes on it. An m-line keeps the
   * track id it was first published with (a later offer cannot rename it to another track's id).
   */
  private answerPublishing(m: OfferedMedia, offeredId: string | undefined, trackIdToMetadata: Record<string, unknown>, out: OfferOutcome): AnswerMedia {
    const existing = this.listener.line(m.mid);
    const trackId = offeredId === undefined ? undefined : (existing?.trackId ?? offeredId);
    if (trackId === undefined || m.direction === 'sendrecv') {
      if (existing) out.removedTracks.push(this.dropInbound(m.mid));
      return inactive(m);
    }
    if (!this.options.permissions.canPublish) {
      out.refusedPublish = true;
      return inactive(m);
    }
    if (!existing && !this.ownsTrackId(trackId, m.mid)) {
      this.host.send({ type: 'error', message: `Track id ${trackId} is already in use` });
      return inactive(m);
    }
    const codec = existing?.producer.codec ?? chooseCodec(m, this.options.roomCodec);
    if (!codec) {
      this.host.send({ type: 'error', message: `No supported ${m.kind} codec offered for track ${trackId}` });
      return inactive(m);
    }
    const kind = m.kind as TrackKind;
    const rids = (this.options.enableSimulcast ? m.rids : []).filter((r): r is Variant => r === 'l' || r === 'm' || r === 'h');
    if (!existing) {
      const audioLevelExtId = kind === 'audio' ? m.extensions.find((e) => e.uri === EXT_AUDIO_LEVEL)?.id : undefined;
      const producer = this.router.produce(
        { trackId, peerId: this.options.peerId, kind, codec, rids },
        {
          sendPli: (mediaSsrc) => this.transport.sendRtcp(buildPli(this.rtcpSsrc, mediaSsrc)),
          audioLevelExtId,
          onVoiceActivity: (status) => this.host.voiceActivity(trackId, status),
          extensions: supportedExtensions(m),
        },
      );
      this.listener.add(m, trackId, producer);
      this.reporter.startFeedback();
      out.newTracks.push(trackInfo(trackId, kind, trackIdToMetadata[trackId], rids));
    } else if (trackId in trackIdToMetadata) {
      this.host.trackMetadataChanged(trackId, trackIdToMetadata[trackId] ?? null);
    }
    out.answerMids[m.mid] = trackId;
    return { mid: m.mid, kind, direction: 'recvonly', codec: publisherCodec(codec, kind, m), extensions: publisherExtensions(m), simulcastRids: rids.length > 0 ? rids : undefined, offered: m };
  }

  /** False if `trackId` is published by another peer of the room, or by this client on another m-line. */
  private ownsTrackId(trackId: string, mid: string): boolean {
    const owner = this.router.ownerOf(trackId);
    if (owner !== undefined && owner !== this.options.peerId) return false;
    for (const line of this.listener.all()) if (line.trackId === trackId && line.mid !== mid) return false;
    return true;
  }

  /** Stops the publishing m-line `mid` and closes its producer; returns its track id. */
  private dropInbound(mid: string): string {
    const line = this.listener.remove(mid)!;
    this.router.closeProducer(line.producer);
    return line.trackId;
  }

  // ---- RTCP from the client ----

  private onRtcp(buf: Buffer): void {
    const stats = this.ctx.stats;
    this.outbound.onRtcp(buf, performance.now());
    for (const p of parseRtcp(buf)) {
      switch (p.type) {
        case 'pli':
        case 'fir': {
          if (p.type === 'pli') stats.plisReceived++;
          else stats.firsReceived++;
          const ssrcs = p.type === 'pli' ? [p.mediaSsrc] : p.entries.map((e) => e.ssrc);
          for (const ssrc of ssrcs) {
            const consumer = this.outbound.consumer(ssrc);
            consumer?.producer.requestKeyframe(consumer.currentVariant ?? undefined);
          }
          break;
        }
        case 'nack':
          stats.nacksReceived++;
          this.outbound.consumer(p.mediaSsrc)?.retransmit(p.lost);
          break;
        case 'sr':
          this.listener.producerOf(p.ssrc)?.onSenderReport(p.ssrc, p);
          this.onReportBlocks(p.reports);
          break;
        case 'rr':
          this.onReportBlocks(p.reports);
          break;
        default:
          break;
      }
    }
  }

  /** The client's reception reports (in its RRs, or its SRs when it also sends) about the streams it receives. */
  private onReportBlocks(reports: ReportBlock[]): void {
    if (reports.length === 0) return;
    const now = performance.now();
    for (const block of reports) {
      const consumer = this.outbound.consumer(block.ssrc);
      if (!consumer) continue;
      this.ctx.stats.receiverReports++;
      consumer.onReceiverReport(block, now);
    }
  }

  close(): void {
    this.rounds.close();
    if (this.closed) return;
    this.closed = true;
    this.idle?.close();
    this.reporter.close();
    this.outbound.close();
    for (const line of [...this.listener.all()]) this.dropInbound(line.mid);
    this.data.close();
    this.transport.close();
    this.router.leave();
  }
}

/**
 * Extensions negotiated with a publisher: all Shoal supports, transport-cc included (Shoal answers it
 * with transport-wide feedback, so the browser's own send-side estimator runs; see RtpListener.feedback).
 */
function publisherExtensions(m: OfferedMedia): HeaderExtension[] {
  return supportedExtensions(m);
}

/**
 * The codec as answered to a publisher: video that negotiated transport-cc gets x-google-start-bitrate, so
 * Chromium's send-side estimate starts at 2.5 Mbit/s instead of 300 kbit/s. Its first probes (3× and 6× the
 * start) then find a clean link's capacity at once; from 300 kbit/s a 640×480 camera's estimate stayed at
 * the 1.8 Mbit/s probe (app-limited, measured 1.63 Mbit/s); from 1 Mbit/s it held 2.4–3.5 Mbit/s but failed
 * the ≥ 2 Mbit/s test once on the busy machine; from 2.5 Mbit/s it held 5.6 Mbit/s. A weaker uplink is found
 * by the estimator within a second or two (test/net/upstream-bwe.test.ts: 500 kbit/s in ≤ 2 s).
 */
export const PUBLISHER_START_BITRATE_KBPS = 2500;

function publisherCodec(codec: Codec, kind: TrackKind, m: OfferedMedia): Codec {
  if (kind !== 'video' || !supportedExtensions(m).some((e) => e.uri === EXT_TWCC) || !codec.rtcpFb.includes('transport-cc')) return codec;
  return { ...codec, fmtp: [codec.fmtp, `x-google-start-bitrate=${PUBLISHER_START_BITRATE_KBPS}`].filter(Boolean).join(';') };
}

function trackInfo(id: string, kind: TrackKind, metadata: unknown, rids: Variant[]): TrackInfo {
  return {
    id,
    type: kind,
    metadata: metadata ?? null,
    simulcast: rids.length > 0 ? { enabled: true, active: rids, disabled: [] } : { enabled: false, active: ['h'], disabled: [] },
  };
}
