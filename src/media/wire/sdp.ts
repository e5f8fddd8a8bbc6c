// The offer side of Shoal's SDP for the SFU end of a JSEP exchange: parse a client's offer (Chromium /
// ts-client 0.5.0: sendonly lines for published tracks, possibly rid-simulcast l/m/h; recvonly lines for
// tracks Shoal sends; inactive lines for removed tracks) and pick codecs and header extensions from it
// (peer-protocol.md §3.5/§3.6); also the types and URIs both sides share. The answer is written by
// sdp-answer.ts.
// It must not do I/O, hold or read room/peer state, pick SSRCs or ids, decide which track goes on which
// m-line, or write SDP: these are pure functions of their arguments; the caller decides and passes
// everything in.
import { parse as parseSdp, type MediaDescription, type SessionDescription } from 'sdp-transform';
import type { TrackKind } from '../../room/track.js';

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
  kind: TrackKind | 'application';
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
  /** Application lines: the offerer's a=sctp-port (5000 if absent). */
  sctpPort?: number;
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
const DIRECTIONS: readonly string[] = ['sendonly', 'recvonly', 'sendrecv', 'inactive'];

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

/**
 * Throws SdpError with a clear message for unparsable/invalid offers (no m-lines, missing ice-ufrag/pwd,
 * missing fingerprint, m-line without a=mid, duplicate mids, media other than audio/video/application,
 * an invalid port, a=extmap id, a=ssrc id or a=ssrc-group). Whatever the text, it returns or throws
 * SdpError, never anything else (sdp-transform's output is not trusted to have the types it declares).
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

    const port = Number(m.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new SdpError(`${where} has an invalid port "${m.port}"`);
    const msid = m.msid?.[0];
    return {
      index,
      mid,
      kind: m.type,
      direction: direction as Direction,
      port,
      protocol: String(m.protocol ?? ''),
      payloads: String(m.payloads ?? ''),
      codecs: m.type === 'application' ? [] : parseCodecs(m),
      extensions: (m.ext ?? []).map((e) => ({ id: extensionId(e.value, where), uri: String(e.uri) })),
      rids: (m.rids ?? []).filter((r) => r.direction === 'send').map((r) => String(r.id)),
      ssrcs: [...new Set((m.ssrcs ?? []).map((s) => ssrcOf(s.id, `${where} has an invalid a=ssrc id "${s.id}"`)))],
      ssrcGroups: (m.ssrcGroups ?? []).map((g) => ssrcGroup(g, where)),
      ...(msid ? { msid: { streamId: String(msid.id), trackId: str(msid.appdata) ?? '' } } : {}),
      ...(m.type === 'application' ? { sctpPort: Number((m as { sctpPort?: number }).sctpPort ?? 5000) || 5000 } : {}),
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
    .filter((p) => /^\d{1,3}$/.test(p))
    .map(Number)
    .filter((pt) => pt <= 127);

  const codecs: Codec[] = [];
  const rtx: { pt: number; apt: number }[] = [];
  for (const pt of order) {
    const r = rtpmap.get(pt);
    if (!r) continue; // no rtpmap: nothing Shoal could use
    const config = fmtp.get(pt);
    const name = String(r.codec ?? '');
    const channels = /^\d{1,2}$/.test(String(r.encoding ?? '')) ? Number(r.encoding) : undefined;
    if (name.toLowerCase() === 'rtx') {
      const apt = Number(fmtpParams(config).get('apt'));
      if (Number.isInteger(apt)) rtx.push({ pt, apt });
      continue;
    }
    codecs.push({
      payloadType: pt,
      name,
      clockRate: Number(r.rate) || 0,
      ...(channels !== undefined ? { channels } : {}),
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

/** Semantics whose group names a media SSRC and the SSRC repairing it (RFC 4588 §8.7, RFC 5956). */
const PAIR_GROUPS: readonly string[] = ['FID', 'FEC-FR', 'FEC'];

/** An SSRC as written in SDP: decimal, 0..2^32-1; else throws SdpError with `message`. */
function ssrcOf(value: unknown, message: string): number {
  const text = String(value ?? '');
  const n = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(n <= 0xffffffff)) throw new SdpError(message);
  return n;
}

/**
 * One a=ssrc-group. sdp-transform hands `ssrcs` over as a number when the line has a single SSRC
 * (a=ssrc-group:FID 1), so it is read as text; every SSRC must be valid, and FID / FEC groups need two.
 */
function ssrcGroup(g: { semantics?: unknown; ssrcs?: unknown }, where: string): { semantics: string; ssrcs: number[] } {
  const semantics = String(g.semantics ?? '');
  const tokens = String(g.ssrcs ?? '').trim().split(/\s+/).filter((t) => t !== '');
  const message = `${where} has an invalid a=ssrc-group "${semantics} ${tokens.join(' ')}"`.slice(0, 200);
  if (tokens.length === 0 || (PAIR_GROUPS.includes(semantics) && tokens.length < 2)) throw new SdpError(message);
  return { semantics, ssrcs: tokens.map((t) => ssrcOf(t, message)) };
}

/** An a=extmap id (RFC 8285: 1..255); else throws SdpError. */
function extensionId(value: unknown, where: string): number {
  const id = Number(value);
  if (!Number.isInteger(id) || id < 1 || id > 255) throw new SdpError(`${where} has an invalid a=extmap id "${String(value).slice(0, 20)}"`);
  return id;
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
