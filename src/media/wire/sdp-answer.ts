// The answer side of Shoal's SDP (JSEP, peer-protocol.md §3.5/§3.6): writes the complete answer of an
// ICE-lite, DTLS-passive, BUNDLE + rtcp-mux server from what the caller decided per m-line (direction,
// codec, header extensions, simulcast rids, the SSRCs and msid Shoal sends with). The offer side (parsing,
// codec and extension choice, the shared types) is sdp.ts.
// What it must not do: parse SDP, choose codecs or extensions, do I/O, hold or read room/peer state, pick
// SSRCs or ids, or decide which track goes on which m-line: buildAnswer is a pure function of its
// arguments; the caller decides and passes everything in.
import type { TrackKind } from '../../room/track.js';
import { EXT_TWCC, SdpError, type Codec, type Direction, type HeaderExtension, type OfferedMedia } from './sdp.js';

const KEPT_RTCP_FB = new Set(['nack', 'nack pli', 'ccm fir', 'goog-remb', 'transport-cc']);

export interface AnswerMedia {
  mid: string;
  kind: TrackKind | 'application';
  /**
   * 'recvonly' for a publisher's sendonly line, 'sendonly' when Shoal sends on a recvonly line, 'inactive'
   * otherwise (an 'inactive' application line is rejected, any other is accepted: data channels); lines
   * the offerer rejected (port 0) are rejected.
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
  return (m.kind === 'application' && m.direction === 'inactive') || m.offered?.port === 0;
}

/** Shoal's SCTP port and the largest message it takes (a=max-message-size). */
export const SCTP_PORT = 5000;
export const MAX_MESSAGE_SIZE = 65536;

/**
 * A complete JSEP answer. Session: v=0, o=, s=-, t=0 0, a=group:BUNDLE (non-rejected mids in order),
 * a=extmap-allow-mixed, a=ice-lite, a=msid-semantic: WMS *. Each accepted m-section, in this order:
 * m=<kind> 9 UDP/TLS/RTP/SAVPF <pt> [<rtx pt>], c=, a=rtcp:9, a=ice-ufrag, a=ice-pwd,
 * a=ice-options:trickle (Shoal's candidate follows the answer as a trickled candidate event, §3.4),
 * a=fingerprint, a=setup:passive, a=mid, a=extmap…, direction, a=msid (sending), a=rtcp-mux,
 * a=rtcp-rsize (video), a=rtpmap, a=fmtp, a=rtcp-fb…, rtx a=rtpmap + a=fmtp apt=, a=rid… + a=simulcast
 * (receiving simulcast), a=ssrc-group:FID + a=ssrc… (sending).
 * rtcp-fb is limited to nack, nack pli, ccm fir, goog-remb, transport-cc among those offered, transport-cc
 * only when the transport-cc extension is kept. Accepted application sections: m=application 9 UDP/DTLS/SCTP webrtc-datachannel, ICE/DTLS as above, a=sctp-port, a=max-message-size. Rejected sections (inactive application, or port 0 in the offer):
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

/** The lines every accepted section carries: the one ICE-lite/DTLS transport (BUNDLE) and its mid. */
function transportLines(p: AnswerParams, mid: string): string[] {
  return [
    `a=ice-ufrag:${p.iceUfrag}`,
    `a=ice-pwd:${p.icePwd}`,
    'a=ice-options:trickle',
    `a=fingerprint:${p.fingerprint.algorithm} ${p.fingerprint.value}`,
    'a=setup:passive',
    `a=mid:${mid}`,
  ];
}

function applicationSection(p: AnswerParams, m: AnswerMedia): string[] {
  return [
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0',
    ...transportLines(p, m.mid),
    `a=sctp-port:${SCTP_PORT}`,
    `a=max-message-size:${MAX_MESSAGE_SIZE}`,
  ];
}

function mediaSection(p: AnswerParams, m: AnswerMedia): string[] {
  if (m.kind === 'application') return applicationSection(p, m);
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
    ...transportLines(p, m.mid),
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
