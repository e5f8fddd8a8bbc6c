// Routes one session's incoming RTP to the producers of the tracks its client publishes: by SSRC once
// known, else by the mid and rid header extensions (the way simulcast streams make themselves known),
// and only packets of the negotiated codec; RTX retransmissions (the codec's rtx payload type, on the SSRC
// of the line's FID group or carrying repaired-rid) are unwrapped into their original stream first, and
// padding probes and FEC are not forwarded. Every packet's transport-wide sequence number goes to the
// transport-cc responder, and each video stream's gaps to its NACK requester; `feedback` turns both into
// RTCP for the caller to send. It owns the mapping from m-lines and SSRCs to producers, not the producers
// (the room's Router does), and never sends anything itself.
import { getHeaderExtension, parseRtpHeader, type RtpHeader } from '../wire/rtp.js';
import { buildNack } from '../wire/rtcp.js';
import { EXT_MID, EXT_REPAIRED_RID, EXT_RID, EXT_TWCC, type OfferedMedia } from '../wire/sdp.js';
import type { Producer } from '../sfu/producer.js';
import { emptyMediaStats, type MediaStats } from '../sfu/media-stats.js';
import type { StreamVariant } from '../sfu/stream-variant.js';
import { NackRequester } from './nack-requester.js';
import { TwccResponder } from './twcc-responder.js';
import { datagramArrivalMs } from '../../turn/udp-socket.js';

/** One publishing m-line of the client. */
export interface InboundLine {
  mid: string;
  trackId: string;
  producer: Producer;
  midExtId?: number;
  ridExtId?: number;
  rridExtId?: number;
  /** transport-cc was negotiated on this line (the publisher estimates its own rate: no REMB for it). */
  twcc: boolean;
  /** NACKs may be sent for this line's streams (the codec offered `nack`). */
  nack: boolean;
  /** The line's RTX SSRCs by their media SSRC (from a=ssrc-group:FID). */
  fid: Map<number, number>;
}

interface SsrcRoute {
  line: InboundLine;
  variant: StreamVariant;
  ssrc: number;
  /** Loss detection for this stream (video lines that negotiated nack). */
  nacks?: NackRequester;
}

/** Wait between two NACKs of one packet until the stream's NACK → repair time is measured (a typical WAN round trip). */
export const NACK_RETRY_MS = 100;
/** transport-cc feedback goes out on every second feedback tick. */
const TWCC_EVERY = 2;

export interface RtpListenerOptions {
  /** The session's RTCP sender SSRC. */
  rtcpSsrc: number;
  stats?: MediaStats;
  /** Sends RTCP to the client at once (a new gap is NACKed when seen; retries wait for `feedback`). */
  sendRtcp?(packet: Buffer): void;
}

export class RtpListener {
  private readonly lines = new Map<string, InboundLine>(); // by mid
  private readonly routes = new Map<number, SsrcRoute>();
  /** RTX SSRC → the route of the stream it repairs. */
  private readonly rtxRoutes = new Map<number, SsrcRoute>();
  /** Parsed header of the packet being routed (one at a time, reused). */
  private readonly header = {} as RtpHeader;
  /** Transport-wide sequence number extension id (the same on every BUNDLEd line), if negotiated. */
  private twccExtId: number | undefined;
  /** Made with the first line that negotiates transport-cc (sessions that only receive never need one). */
  private twcc: TwccResponder | undefined;
  private readonly stats: MediaStats;
  private ticks = 0;

  constructor(private readonly opts: RtpListenerOptions = { rtcpSsrc: 0 }) {
    this.stats = opts.stats ?? emptyMediaStats();
  }

  line(mid: string): InboundLine | undefined {
    return this.lines.get(mid);
  }

  /** The client's publishing m-lines. */
  all(): IterableIterator<InboundLine> {
    return this.lines.values();
  }

  /** Routes m-line `m` to `producer`; a single-stream line's media SSRC is known from the SDP at once. */
  add(m: OfferedMedia, trackId: string, producer: Producer): InboundLine {
    const ext = (uri: string) => m.extensions.find((e) => e.uri === uri)?.id;
    const twccExtId = ext(EXT_TWCC);
    const line: InboundLine = {
      mid: m.mid, trackId, producer, midExtId: ext(EXT_MID), ridExtId: ext(EXT_RID), rridExtId: ext(EXT_REPAIRED_RID),
      twcc: twccExtId !== undefined && producer.codec.rtcpFb.includes('transport-cc'),
      nack: producer.kind === 'video' && producer.codec.rtcpFb.includes('nack'),
      fid: new Map(),
    };
    if (line.twcc) {
      this.twccExtId ??= twccExtId;
      this.twcc ??= new TwccResponder(this.opts.rtcpSsrc);
    }
    this.lines.set(m.mid, line);
    // Groups and SSRCs that are not well formed are ignored here (parseOffer refuses them; this must not throw either).
    const rtx = new Set<number>();
    for (const g of m.ssrcGroups) {
      if (g.semantics !== 'FID' || g.ssrcs.length < 2 || !isSsrc(g.ssrcs[0]) || !isSsrc(g.ssrcs[1])) continue;
      rtx.add(g.ssrcs[1]!);
      line.fid.set(g.ssrcs[0]!, g.ssrcs[1]!);
    }
    if (!producer.simulcast) {
      // The first SSRC of the m-line that is not an RTX (FID) SSRC is the media SSRC.
      const media = m.ssrcs.find((s) => isSsrc(s) && !rtx.has(s));
      if (media !== undefined) this.bind(media, line, '');
    }
    return line;
  }

  /** Stops routing m-line `mid`; returns it (its producer is the caller's to close). */
  remove(mid: string): InboundLine | undefined {
    const line = this.lines.get(mid);
    if (!line) return undefined;
    this.lines.delete(mid);
    for (const [ssrc, route] of this.routes) if (route.line === line) this.routes.delete(ssrc);
    for (const [ssrc, route] of this.rtxRoutes) if (route.line === line) this.rtxRoutes.delete(ssrc);
    return line;
  }

  /** A decrypted RTP packet from the client. */
  onRtp(buf: Buffer): void {
    const h = parseRtpHeader(buf, this.header);
    if (!h) return;
    const now = performance.now();
    if (this.twccExtId !== undefined && h.hasExtension) {
      const ext = getHeaderExtension(buf, h, this.twccExtId);
      // The kernel's receive time where the data plane has it: time spent waiting for this thread is not path delay.
      if (ext !== undefined && ext.length >= 2) this.twcc!.record((ext[0] << 8) | ext[1], datagramArrivalMs() * 1000);
    }
    const route = this.routes.get(h.ssrc) ?? (this.rtxRoutes.has(h.ssrc) ? undefined : this.learn(buf, h));
    if (!route) {
      const rtx = this.rtxRoutes.get(h.ssrc) ?? this.learnRtx(buf, h);
      if (rtx) this.onRtx(buf, h, rtx, now);
      return;
    }
    if (h.payloadType !== route.line.producer.codec.payloadType) return; // RTX must use its own SSRC (RFC 4588 §4); RED/FEC are not negotiated
    if (route.nacks?.onPacket(h.sequenceNumber, now) && this.opts.sendRtcp) this.nackNow(route, now, this.opts.sendRtcp);
    route.line.producer.onRtp(buf, h, route.variant);
  }

  /** NACKs what `route` misses now (a gap just opened). */
  private nackNow(route: SsrcRoute, now: number, send: (packet: Buffer) => void): void {
    const lost = route.nacks!.due(now, NACK_RETRY_MS);
    if (lost.length === 0) return;
    for (let i = 0; i < lost.length; i += 64) {
      send(buildNack(this.opts.rtcpSsrc, route.ssrc, lost.slice(i, i + 64)));
      this.stats.nacksSent++;
    }
  }

  /**
   * RTCP to send now: generic NACKs for the streams' due lost packets (every tick) and transport-cc
   * feedback (every second tick). The caller ticks every ~25 ms.
   */
  feedback(nowMs: number): Buffer[] {
    const out: Buffer[] = [];
    for (const route of this.routes.values()) {
      if (!route.nacks || route.nacks.pending === 0) continue;
      const lost = route.nacks.due(nowMs, NACK_RETRY_MS);
      if (lost.length === 0) continue;
      for (let i = 0; i < lost.length; i += 64) {
        out.push(buildNack(this.opts.rtcpSsrc, route.ssrc, lost.slice(i, i + 64)));
        this.stats.nacksSent++;
      }
    }
    if (++this.ticks % TWCC_EVERY === 0 && this.twcc !== undefined) {
      const first = this.routes.keys().next();
      for (const p of this.twcc.flush(first.done ? 0 : first.value)) {
        out.push(p);
        this.stats.twccFeedbackSent++;
      }
    }
    return out;
  }

  /** An RTX packet repairing `route`'s stream: its payload starts with the original sequence number. */
  private onRtx(buf: Buffer, h: RtpHeader, route: SsrcRoute, now: number): void {
    if (h.payloadLength < 2) return; // padding only: a bandwidth probe
    const mediaSsrc = route.ssrc;
    const codec = route.line.producer.codec;
    const headerLen = h.payloadOffset;
    const out = Buffer.allocUnsafe(headerLen + h.payloadLength - 2);
    buf.copy(out, 0, 0, headerLen);
    buf.copy(out, headerLen, headerLen + 2, headerLen + h.payloadLength);
    out[0] &= ~0x20; // no padding in the unwrapped packet
    out[1] = (out[1] & 0x80) | codec.payloadType;
    out[2] = buf[headerLen];
    out[3] = buf[headerLen + 1];
    out.writeUInt32BE(mediaSsrc, 8);
    const oh = parseRtpHeader(out, this.header);
    if (!oh) return;
    this.stats.rtxReceived++;
    route.nacks?.onPacket(oh.sequenceNumber, now);
    route.line.producer.onRtp(out, oh, route.variant);
  }

  /** Binds an unknown SSRC sending the rtx payload type: by the line's FID group, or by mid + repaired-rid. */
  private learnRtx(buf: Buffer, h: RtpHeader): SsrcRoute | undefined {
    for (const line of this.lines.values()) {
      if (h.payloadType !== line.producer.codec.rtxPayloadType) continue;
      for (const [media, rtx] of line.fid) {
        const route = rtx === h.ssrc ? this.routes.get(media) : undefined;
        if (route) { this.rtxRoutes.set(h.ssrc, route); return route; }
      }
      if (line.midExtId === undefined || line.rridExtId === undefined) continue;
      const mid = getHeaderExtension(buf, h, line.midExtId)?.toString('utf8');
      if (mid !== line.mid) continue;
      const rrid = getHeaderExtension(buf, h, line.rridExtId)?.toString('utf8');
      const variant: StreamVariant | undefined = !line.producer.simulcast ? '' : rrid === 'l' || rrid === 'm' || rrid === 'h' ? rrid : undefined;
      if (variant === undefined) return undefined;
      const media = line.producer.variantSsrcs.get(variant);
      const route = media === undefined ? undefined : this.routes.get(media);
      if (route) this.rtxRoutes.set(h.ssrc, route);
      return route;
    }
    return undefined;
  }

  /** The producer that receives `ssrc` (for the client's sender reports). */
  producerOf(ssrc: number): Producer | undefined {
    return this.routes.get(ssrc)?.line.producer;
  }

  /** SSRCs of every video stream the client publishes on a line without transport-cc (for REMB). */
  videoSsrcs(): number[] {
    const out: number[] = [];
    for (const [ssrc, route] of this.routes) if (route.line.producer.kind === 'video' && !route.line.twcc) out.push(ssrc);
    return out;
  }

  /** Binds an unknown SSRC to a line by its mid / rid header extensions (simulcast). */
  private learn(buf: Buffer, h: RtpHeader): SsrcRoute | undefined {
    for (const line of this.lines.values()) {
      if (line.midExtId === undefined) continue;
      const mid = getHeaderExtension(buf, h, line.midExtId)?.toString('utf8');
      if (mid !== line.mid || h.payloadType !== line.producer.codec.payloadType) continue;
      if (line.rridExtId !== undefined && getHeaderExtension(buf, h, line.rridExtId)) return undefined; // RTX: learnRtx
      let variant: StreamVariant = '';
      if (line.producer.simulcast) {
        const rid = line.ridExtId === undefined ? undefined : getHeaderExtension(buf, h, line.ridExtId)?.toString('utf8');
        if (rid !== 'l' && rid !== 'm' && rid !== 'h') return undefined;
        variant = rid;
      }
      return this.bind(h.ssrc, line, variant);
    }
    return undefined;
  }

  private bind(ssrc: number, line: InboundLine, variant: StreamVariant): SsrcRoute {
    const route: SsrcRoute = { line, variant, ssrc, nacks: line.nack ? new NackRequester() : undefined };
    this.routes.set(ssrc, route);
    line.producer.variantSsrcs.set(variant, ssrc);
    return route;
  }
}

function isSsrc(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}
