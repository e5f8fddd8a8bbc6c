// SDP for Shoal's SFU side of a JSEP exchange: parse a client's offer (Chromium / ts-client 0.5.0: sendonly
// lines for published tracks, possibly rid-simulcast l/m/h; recvonly lines for tracks Shoal sends; inactive
// lines for removed tracks), pick codecs and header extensions, and write the answer of an ICE-lite,
// DTLS-passive, BUNDLE + rtcp-mux server (peer-protocol.md §3.5/§3.6).
// It must not do I/O, hold or read room/peer state, pick SSRCs or ids, or decide which track goes on which
// m-line: these are pure functions of their arguments; the caller decides and passes everything in.
import { parse as parseSdp, type MediaDescription, type SessionDescription } from 'sdp-transform';

export type MediaKind = 'audio' | 'video';
export type Direction = 'sendonly' | 'recvonly' | 'sendrecv' | 'inactive';

export interface Codec {
  payloadType: number;
  /** As in rtpmap, e.g. 'VP8', 'H264', 'opus'. */
  name: string;
  clockRate: number;
  channels?: number;
  fmtp?: string;
  /** e.g. ['nack', 'nack pli', 'ccm fir', 'goog-remb', 'transport-cc'] */
  rtcpFb: string[];
  rtxPayloadType?: number;
}

export interface HeaderExtension {
  id: number;
  uri: string;
}

export interface OfferedMedia {
  index: number;
  mid: string;
  kind: MediaKind | 'application';
  direction: Direction;
  port: number;
  /** m-line transport protocol, e.g. 'UDP/TLS/RTP/SAVPF' or 'UDP/DTLS/SCTP'. */
  protocol: string;
  /** m-line format list as offered, e.g. '96 97 102' or 'webrtc-datachannel'. */
  payloads: string;
  /** In offer order; rtx folded into rtxPayloadType of its apt codec (and not listed itself); red/ulpfec/flexfec listed as normal codecs. */
  codecs: Codec[];
  extensions: HeaderExtension[];
  /** Send rids, e.g. ['l','m','h'] ([] if none). */
  rids: string[];
  /** a=ssrc values (media and rtx) if present. */
  ssrcs: number[];
  ssrcGroups: { semantics: string; ssrcs: number[] }[];
  msid?: { streamId: string; trackId: string };
  /** m-level or session-level. */
  iceUfrag: string;
  icePwd: string;
}

export interface ParsedOffer {
  media: OfferedMedia[];
  iceUfrag: string;
  icePwd: string;
  fingerprint: { algorithm: string; value: string } | undefined;
  setup?: string;
}

export class SdpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SdpError';
  }
}

export const EXT_MID = 'urn:ietf:params:rtp-hdrext:sdes:mid';
export const EXT_RID = 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id';
export const EXT_REPAIRED_RID = 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id';
export const EXT_AUDIO_LEVEL = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
export const EXT_TWCC = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
export const EXT_ABS_SEND_TIME = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';

const KEPT_EXTENSIONS = new Set([EXT_MID, EXT_RID, EXT_REPAIRED_RID, EXT_AUDIO_LEVEL, EXT_TWCC, EXT_ABS_SEND_TIME]);
const KEPT_RTCP_FB = new Set(['nack', 'nack pli', 'ccm fir', 'goog-remb', 'transport-cc']);
const DIRECTIONS: readonly string[] = ['sendonly', 'recvonly', 'sendrecv', 'inactive'];

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

/**
 * Throws SdpError with a clear message for unparsable/invalid offers (no m-lines, missing ice-ufrag/pwd,
 * missing fingerprint, m-line without a=mid, duplicate mids, media other than audio/video/application).
 * sendrecv m-lines are allowed through for the caller to refuse.
 */
export function parseOffer(sdp: string): ParsedOffer {
  if (typeof sdp !== 'string' || sdp.trim() === '') throw new SdpError('SDP offer is empty');
  if (!/^v=0\r?$/m.test(sdp.trimStart().split('\n', 1)[0]!)) {
    throw new SdpError('SDP offer must start with "v=0"');
  }
  let session: SessionDescription;
  try {
    session = parseSdp(sdp);
  } catch (err) {
    throw new SdpError(`SDP offer is unparsable: ${(err as Error).message}`);
  }
  const lines = session.media ?? [];
  if (lines.length === 0) throw new SdpError('SDP offer has no m-lines');

  // sdp-transform turns all-digit tokens into numbers (a=mid:0 → 0, a=ice-ufrag:1234 → 1234): str() undoes it.
  // Offer-level ICE credentials: session level, else the first m-line that has them.
  const iceUfrag = str(session.iceUfrag ?? lines.find((m) => m.iceUfrag)?.iceUfrag);
  const icePwd = str(session.icePwd ?? lines.find((m) => m.icePwd)?.icePwd);
  if (!iceUfrag) throw new SdpError('SDP offer has no a=ice-ufrag');
  if (!icePwd) throw new SdpError('SDP offer has no a=ice-pwd');
  const fp = session.fingerprint ?? lines.find((m) => m.fingerprint)?.fingerprint;
  if (!fp || !fp.type || !fp.hash) throw new SdpError('SDP offer has no a=fingerprint');
  const setup = str(session.setup ?? lines.find((m) => m.setup)?.setup);

  const seenMids = new Set<string>();
  const media = lines.map((m, index): OfferedMedia => {
    const where = `m-line ${index}`;
    if (m.type !== 'audio' && m.type !== 'video' && m.type !== 'application') {
      throw new SdpError(`${where} has unsupported media type "${m.type}"`);
    }
    const mid = str(m.mid);
    if (!mid) throw new SdpError(`${where} has no a=mid`);
    if (seenMids.has(mid)) throw new SdpError(`${where} repeats mid "${mid}"`);
    seenMids.add(mid);

    const rejected = m.port === 0;
    const ufrag = str(m.iceUfrag ?? session.iceUfrag) ?? (rejected ? iceUfrag : undefined);
    const pwd = str(m.icePwd ?? session.icePwd) ?? (rejected ? icePwd : undefined);
    if (!ufrag) throw new SdpError(`${where} (mid ${mid}) has no a=ice-ufrag`);
    if (!pwd) throw new SdpError(`${where} (mid ${mid}) has no a=ice-pwd`);

    const direction = str(m.direction ?? session.direction) ?? 'sendrecv';
    if (!DIRECTIONS.includes(direction)) throw new SdpError(`${where} has invalid direction "${direction}"`);

    const msid = m.msid?.[0];
    return {
      index,
      mid,
      kind: m.type,
      direction: direction as Direction,
      port: m.port,
      protocol: m.protocol,
      payloads: String(m.payloads ?? ''),
      codecs: m.type === 'application' ? [] : parseCodecs(m),
      extensions: (m.ext ?? []).map((e) => ({ id: Number(e.value), uri: String(e.uri) })),
      rids: (m.rids ?? []).filter((r) => r.direction === 'send').map((r) => String(r.id)),
      ssrcs: [...new Set((m.ssrcs ?? []).map((s) => Number(s.id)))],
      ssrcGroups: (m.ssrcGroups ?? []).map((g) => ({
        semantics: String(g.semantics),
        ssrcs: g.ssrcs.trim().split(/\s+/).map(Number),
      })),
      ...(msid ? { msid: { streamId: String(msid.id), trackId: str(msid.appdata) ?? '' } } : {}),
      iceUfrag: ufrag,
      icePwd: pwd,
    };
  });

  return {
    media,
    iceUfrag,
    icePwd,
    fingerprint: { algorithm: String(fp.type), value: String(fp.hash) },
    ...(setup ? { setup } : {}),
  };
}

function parseCodecs(m: MediaDescription): Codec[] {
  const fmtp = new Map<number, string>();
  for (const f of m.fmtp ?? []) if (!fmtp.has(Number(f.payload))) fmtp.set(Number(f.payload), String(f.config));
  const fbAll: string[] = [];
  const fb = new Map<number, string[]>();
  for (const f of m.rtcpFb ?? []) {
    const text = f.subtype ? `${f.type} ${f.subtype}` : String(f.type);
    if (f.payload === '*') fbAll.push(text);
    else {
      const pt = Number(f.payload);
      fb.set(pt, [...(fb.get(pt) ?? []), text]);
    }
  }
  const rtpmap = new Map((m.rtp ?? []).map((r) => [Number(r.payload), r]));
  const order = String(m.payloads ?? '')
    .trim()
    .split(/\s+/)
    .filter((p) => /^\d+$/.test(p))
    .map(Number);

  const codecs: Codec[] = [];
  const rtx: { pt: number; apt: number }[] = [];
  for (const pt of order) {
    const r = rtpmap.get(pt);
    if (!r) continue; // no rtpmap: nothing Shoal could use
    const config = fmtp.get(pt);
    const name = String(r.codec);
    if (name.toLowerCase() === 'rtx') {
      const apt = Number(fmtpParams(config).get('apt'));
      if (Number.isInteger(apt)) rtx.push({ pt, apt });
      continue;
    }
    codecs.push({
      payloadType: pt,
      name,
      clockRate: Number(r.rate ?? 0),
      ...(r.encoding !== undefined ? { channels: Number(r.encoding) } : {}),
      ...(config !== undefined ? { fmtp: config } : {}),
      rtcpFb: [...(fb.get(pt) ?? []), ...fbAll.filter((t) => !fb.get(pt)?.includes(t))],
    });
  }
  for (const { pt, apt } of rtx) {
    const target = codecs.find((c) => c.payloadType === apt);
    if (target && target.rtxPayloadType === undefined) target.rtxPayloadType = pt;
  }
  return codecs;
}

/** Values sdp-transform may have turned into numbers, back to text; undefined/empty stays undefined. */
function str(v: unknown): string | undefined {
  return v === undefined || v === null || v === '' ? undefined : String(v);
}

/** fmtp "a=b;c=d" → lower-cased keys, raw string values (no numeric coercion: 42e01f stays a string). */
function fmtpParams(fmtp: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (fmtp ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    out.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return out;
}

// ---------------------------------------------------------------------------
// Codec and extension choice
// ---------------------------------------------------------------------------

const isNamed = (c: Codec, name: string) => c.name.toLowerCase() === name.toLowerCase();

/** RFC 6184 defaults: packetization-mode 0, profile-level-id 42000a. */
function h264Params(c: Codec): { mode: string; profile: string } {
  const p = fmtpParams(c.fmtp);
  return {
    mode: p.get('packetization-mode') ?? '0',
    profile: (p.get('profile-level-id') ?? '42000a').toLowerCase().slice(0, 4),
  };
}

/** H264, packetization-mode=1, profile-level-id starting 42e0 or 4200 (constrained baseline / baseline). */
function isConstrainedBaselineH264(c: Codec): boolean {
  if (!isNamed(c, 'H264')) return false;
  const { mode, profile } = h264Params(c);
  return mode === '1' && (profile === '42e0' || profile === '4200');
}

/**
 * Picks the codec to receive from a publisher's offer: audio → first opus; video → roomCodec 'vp8' → VP8,
 * 'h264' → first H264 with packetization-mode=1 and profile-level-id starting 42e0 or 4200 (constrained
 * baseline), null → first VP8 or H264 (constrained baseline) in offer order. Undefined if none.
 */
export function chooseCodec(media: OfferedMedia, roomCodec: 'vp8' | 'h264' | null): Codec | undefined {
  if (media.kind === 'audio') return media.codecs.find((c) => isNamed(c, 'opus'));
  if (media.kind !== 'video') return undefined;
  const vp8 = (c: Codec) => isNamed(c, 'VP8');
  if (roomCodec === 'vp8') return media.codecs.find(vp8);
  if (roomCodec === 'h264') return media.codecs.find(isConstrainedBaselineH264);
  return media.codecs.find((c) => vp8(c) || isConstrainedBaselineH264(c));
}

/**
 * Picks, from a receiver's recvonly m-line, the first codec matching `like` by name (case-insensitive) and
 * clock rate, and for H264 also the same packetization-mode and the same first 4 hex chars of
 * profile-level-id (profile + constraint flags, e.g. 42e0 = constrained baseline). The result carries the
 * receiver's payload type and rtx payload type.
 */
export function matchCodec(media: OfferedMedia, like: Codec): Codec | undefined {
  const want = isNamed(like, 'H264') ? h264Params(like) : undefined;
  return media.codecs.find((c) => {
    if (!isNamed(c, like.name) || c.clockRate !== like.clockRate) return false;
    if (!want) return true;
    const got = h264Params(c);
    return got.mode === want.mode && got.profile === want.profile;
  });
}

/**
 * Header extensions Shoal keeps (intersection with the offer, same ids, offer order): sdes:mid,
 * sdes:rtp-stream-id, sdes:repaired-rtp-stream-id, ssrc-audio-level (audio only), transport-wide-cc
 * draft-holmer-01, abs-send-time.
 */
export function supportedExtensions(media: OfferedMedia): HeaderExtension[] {
  if (media.kind === 'application') return [];
  return media.extensions
    .filter((e) => KEPT_EXTENSIONS.has(e.uri) && (e.uri !== EXT_AUDIO_LEVEL || media.kind === 'audio'))
    .map((e) => ({ id: e.id, uri: e.uri }));
}

// ---------------------------------------------------------------------------
// Answer
// ---------------------------------------------------------------------------

export interface AnswerMedia {
  mid: string;
  kind: MediaKind | 'application';
  /**
   * 'recvonly' for a publisher's sendonly line, 'sendonly' when Shoal sends on a recvonly line, 'inactive'
   * otherwise; application lines are always rejected (port 0), as are lines the offerer rejected (port 0).
   */
  direction: Direction;
  /** The chosen codec (with its rtxPayloadType if rtx is to be used); if omitted, the first offered codec. */
  codec?: Codec;
  extensions: HeaderExtension[];
  /** Publisher simulcast (only written on receiving lines): a=rid:<r> recv for each + a=simulcast:recv r1;r2;r3 */
  simulcastRids?: string[];
  /**
   * Shoal → client (only written on sending lines): a=msid:<streamId> <trackId>, a=ssrc:<ssrc> cname/msid,
   * and an FID group with rtxSsrc when the codec has an rtxPayloadType.
   */
  send?: { ssrc: number; rtxSsrc?: number; cname: string; streamId: string; trackId: string };
  /**
   * The offered m-line this answers. Needed for lines without `codec` (its first codec is written), for
   * application lines (its protocol/format are echoed) and to reject lines the offerer rejected (port 0).
   */
  offered?: OfferedMedia;
}

export interface AnswerParams {
  iceUfrag: string;
  icePwd: string;
  fingerprint: { algorithm: string; value: string };
  /** Numeric string (JSEP: up to 63-bit decimal). */
  sessionId: string;
  sessionVersion: number;
  media: AnswerMedia[];
}

function isRejected(m: AnswerMedia): boolean {
  return m.kind === 'application' || m.offered?.port === 0;
}

/**
 * A complete JSEP answer. Session: v=0, o=, s=-, t=0 0, a=group:BUNDLE (non-rejected mids in order),
 * a=extmap-allow-mixed, a=ice-lite, a=msid-semantic: WMS *. Each accepted m-section, in this order:
 * m=<kind> 9 UDP/TLS/RTP/SAVPF <pt> [<rtx pt>], c=, a=rtcp:9, a=ice-ufrag, a=ice-pwd,
 * a=ice-options:trickle (Shoal's candidate follows the answer as a trickled candidate event, §3.4),
 * a=fingerprint, a=setup:passive, a=mid, a=extmap…, direction, a=msid (sending), a=rtcp-mux,
 * a=rtcp-rsize (video), a=rtpmap, a=fmtp, a=rtcp-fb…, rtx a=rtpmap + a=fmtp apt=, a=rid… + a=simulcast
 * (receiving simulcast), a=ssrc-group:FID + a=ssrc… (sending).
 * rtcp-fb is limited to nack, nack pli, ccm fir, goog-remb, transport-cc among those offered, transport-cc
 * only when the transport-cc extension is kept. Rejected sections (application, or port 0 in the offer):
 * m=<kind> 0 <proto> <fmt>, c=, a=mid, a=inactive.
 */
export function buildAnswer(p: AnswerParams): string {
  if (!/^\d{1,19}$/.test(p.sessionId)) throw new SdpError(`answer sessionId must be decimal digits, got "${p.sessionId}"`);
  if (p.media.length === 0) throw new SdpError('answer needs at least one m-line');
  const out: string[] = [
    'v=0',
    `o=- ${p.sessionId} ${p.sessionVersion} IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
  ];
  const bundle = p.media.filter((m) => !isRejected(m)).map((m) => m.mid);
  if (bundle.length > 0) out.push(`a=group:BUNDLE ${bundle.join(' ')}`);
  out.push('a=extmap-allow-mixed', 'a=ice-lite', 'a=msid-semantic: WMS *');
  for (const m of p.media) out.push(...(isRejected(m) ? rejectedSection(m) : mediaSection(p, m)));
  return out.join('\r\n') + '\r\n';
}

function rejectedSection(m: AnswerMedia): string[] {
  if (m.kind === 'application') {
    const protocol = m.offered?.protocol ?? 'UDP/DTLS/SCTP';
    const payloads = m.offered?.payloads || 'webrtc-datachannel';
    return [`m=application 0 ${protocol} ${payloads}`, 'c=IN IP4 0.0.0.0', `a=mid:${m.mid}`];
  }
  const codec = m.codec ?? m.offered?.codecs[0];
  const protocol = m.offered?.protocol ?? 'UDP/TLS/RTP/SAVPF';
  const pt = codec?.payloadType ?? m.offered?.payloads.trim().split(/\s+/)[0];
  if (pt === undefined || pt === '') throw new SdpError(`answer m-line mid ${m.mid}: no codec and no offered payload type`);
  return [`m=${m.kind} 0 ${protocol} ${pt}`, 'c=IN IP4 0.0.0.0', `a=mid:${m.mid}`, 'a=inactive'];
}

function mediaSection(p: AnswerParams, m: AnswerMedia): string[] {
  const codec = m.codec ?? m.offered?.codecs[0];
  if (!codec) throw new SdpError(`answer m-line mid ${m.mid}: no codec given and no offered codec to fall back on`);
  const rtxPt = codec.rtxPayloadType;
  const sending = m.direction === 'sendonly' || m.direction === 'sendrecv';
  const receiving = m.direction === 'recvonly' || m.direction === 'sendrecv';
  const send = sending ? m.send : undefined;
  const rids = receiving ? (m.simulcastRids ?? []) : [];

  const pts = rtxPt === undefined ? `${codec.payloadType}` : `${codec.payloadType} ${rtxPt}`;
  const lines = [
    `m=${m.kind} 9 UDP/TLS/RTP/SAVPF ${pts}`,
    'c=IN IP4 0.0.0.0',
    'a=rtcp:9 IN IP4 0.0.0.0',
    `a=ice-ufrag:${p.iceUfrag}`,
    `a=ice-pwd:${p.icePwd}`,
    'a=ice-options:trickle',
    `a=fingerprint:${p.fingerprint.algorithm} ${p.fingerprint.value}`,
    'a=setup:passive',
    `a=mid:${m.mid}`,
    ...m.extensions.map((e) => `a=extmap:${e.id} ${e.uri}`),
    `a=${m.direction}`,
  ];
  if (send) lines.push(`a=msid:${send.streamId} ${send.trackId}`);
  lines.push('a=rtcp-mux');
  if (m.kind === 'video') lines.push('a=rtcp-rsize');

  const rtpmap = `${codec.name}/${codec.clockRate}${codec.channels !== undefined ? `/${codec.channels}` : ''}`;
  lines.push(`a=rtpmap:${codec.payloadType} ${rtpmap}`);
  if (codec.fmtp !== undefined && codec.fmtp !== '') lines.push(`a=fmtp:${codec.payloadType} ${codec.fmtp}`);
  const twcc = m.extensions.some((e) => e.uri === EXT_TWCC);
  for (const fb of codec.rtcpFb) {
    if (KEPT_RTCP_FB.has(fb) && (fb !== 'transport-cc' || twcc)) lines.push(`a=rtcp-fb:${codec.payloadType} ${fb}`);
  }
  if (rtxPt !== undefined) {
    lines.push(`a=rtpmap:${rtxPt} rtx/${codec.clockRate}`, `a=fmtp:${rtxPt} apt=${codec.payloadType}`);
  }

  if (rids.length > 0) {
    for (const rid of rids) lines.push(`a=rid:${rid} recv`);
    lines.push(`a=simulcast:recv ${rids.join(';')}`);
  }

  if (send) {
    const ssrcs = [send.ssrc];
    if (send.rtxSsrc !== undefined && rtxPt !== undefined) {
      ssrcs.push(send.rtxSsrc);
      lines.push(`a=ssrc-group:FID ${send.ssrc} ${send.rtxSsrc}`);
    }
    for (const ssrc of ssrcs) {
      lines.push(`a=ssrc:${ssrc} cname:${send.cname}`, `a=ssrc:${ssrc} msid:${send.streamId} ${send.trackId}`);
    }
  }
  return lines;
}
