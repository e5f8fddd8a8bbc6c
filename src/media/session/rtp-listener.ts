// Routes one session's incoming RTP to the producers of the tracks its client publishes: by SSRC once
// known, else by the mid and rid header extensions (the way simulcast streams make themselves known),
// and only packets of the negotiated codec (RTX retransmissions, bandwidth probes and FEC are not
// forwarded). It owns the mapping from m-lines and SSRCs to producers, not the producers (the room's
// Router does), and never sends anything.
import { getHeaderExtension, parseRtpHeader, type RtpHeader } from '../wire/rtp.js';
import { EXT_MID, EXT_REPAIRED_RID, EXT_RID, type OfferedMedia } from '../wire/sdp.js';
import type { Producer } from '../sfu/producer.js';
import type { StreamVariant } from '../sfu/stream-variant.js';

/** One publishing m-line of the client. */
export interface InboundLine {
  mid: string;
  trackId: string;
  producer: Producer;
  midExtId?: number;
  ridExtId?: number;
  rridExtId?: number;
}

interface SsrcRoute {
  line: InboundLine;
  variant: StreamVariant;
}

export class RtpListener {
  private readonly lines = new Map<string, InboundLine>(); // by mid
  private readonly routes = new Map<number, SsrcRoute>();
  /** Parsed header of the packet being routed (one at a time, reused). */
  private readonly header = {} as RtpHeader;

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
    const line: InboundLine = { mid: m.mid, trackId, producer, midExtId: ext(EXT_MID), ridExtId: ext(EXT_RID), rridExtId: ext(EXT_REPAIRED_RID) };
    this.lines.set(m.mid, line);
    if (!producer.simulcast) {
      // The first SSRC of the m-line that is not an RTX (FID) SSRC is the media SSRC. Groups and SSRCs
      // that are not well formed are ignored here (parseOffer refuses them; this must not throw either).
      const rtx = new Set<number>();
      for (const g of m.ssrcGroups) if (g.semantics === 'FID' && g.ssrcs.length >= 2) rtx.add(g.ssrcs[1]!);
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
    return line;
  }

  /** A decrypted RTP packet from the client. */
  onRtp(buf: Buffer): void {
    const h = parseRtpHeader(buf, this.header);
    if (!h) return;
    const route = this.routes.get(h.ssrc) ?? this.learn(buf, h);
    if (!route || h.payloadType !== route.line.producer.codec.payloadType) return;
    route.line.producer.onRtp(buf, h, route.variant);
  }

  /** The producer that receives `ssrc` (for the client's sender reports). */
  producerOf(ssrc: number): Producer | undefined {
    return this.routes.get(ssrc)?.line.producer;
  }

  /** SSRCs of every video stream the client publishes (for REMB). */
  videoSsrcs(): number[] {
    const out: number[] = [];
    for (const [ssrc, route] of this.routes) if (route.line.producer.kind === 'video') out.push(ssrc);
    return out;
  }

  /** Binds an unknown SSRC to a line by its mid / rid header extensions (simulcast). */
  private learn(buf: Buffer, h: RtpHeader): SsrcRoute | undefined {
    for (const line of this.lines.values()) {
      if (line.midExtId === undefined) continue;
      const mid = getHeaderExtension(buf, h, line.midExtId)?.toString('utf8');
      if (mid !== line.mid || h.payloadType !== line.producer.codec.payloadType) continue;
      if (line.rridExtId !== undefined && getHeaderExtension(buf, h, line.rridExtId)) return undefined; // RTX: not used yet
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
    const route = { line, variant };
    this.routes.set(ssrc, route);
    line.producer.variantSsrcs.set(variant, ssrc);
    return route;
  }
}

function isSsrc(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}
