// The native plane's SrtpSession: the same contract as the TypeScript SrtpContext (srtp-session.ts),
// carried out by the addon's SrtpSession (native/src/srtp*.cc). Session keys are derived here, once, in
// TypeScript (srtp-kdf.ts) and handed over; each packet is one call into the addon, protected into a
// buffer cut from the plane's packet slab, unprotected in place; a forwarded packet is rewritten for its
// subscriber and protected in the same call (forwardDirect, with the consumer's RtpRewriter).
// What it must not do: touch packet bytes itself, or keep anything per packet.
import { FORWARD_REFUSED, SRTP_AUTH_FAILED, SRTP_MALFORMED, SRTP_NO_ROOM, SRTP_REPLAYED, type NativeAddon, type NativeRtpRewriter, type NativeSrtpSession } from './native-addon.js';
import { nativeRewriter } from './native-rewriter.js';
import type { PacketSlab } from '../media/transport/packet-slab.js';
import { SrtpError } from '../media/transport/srtp-error.js';
import { deriveSessionKeys } from '../media/transport/srtp-kdf.js';
import { PROFILE_AEAD_AES_128_GCM, PROFILE_AES128_CM_HMAC_SHA1_80, type SrtpKeys, type SrtpProfile } from '../media/transport/srtp.js';
import type { DirectFrame, RtpForward, SrtpSession, SrtpSessionFactory } from '../media/transport/srtp-session.js';
import type { UdpRoute } from '../turn/udp-route.js';
import type { NativeUdpTarget } from './native-udp.js';

/** Bytes an SRTCP packet grows by at most: the E+index word and a GCM tag. */
const RTCP_GROWTH = 4 + 16;

/** The twin's wording per code, so SrtpError.reason and the logs read the same on both planes. */
function failure(code: number, what: 'SRTP' | 'SRTCP'): SrtpError {
  if (code === SRTP_AUTH_FAILED) return new SrtpError(`${what} authentication failed`);
  if (code === SRTP_REPLAYED) return new SrtpError('replayed packet');
  if (code === SRTP_NO_ROOM) return new SrtpError(`${what} output buffer too small`);
  return new SrtpError(code === SRTP_MALFORMED ? `malformed ${what} packet` : `${what} error ${code}`);
}

export class NativeSrtp implements SrtpSession {
  private readonly session: NativeSrtpSession;
  private readonly tag: number;

  constructor(
    private readonly addon: NativeAddon,
    readonly profile: SrtpProfile,
    keys: SrtpKeys,
    private readonly slab: PacketSlab,
  ) {
    if (profile !== PROFILE_AEAD_AES_128_GCM && profile !== PROFILE_AES128_CM_HMAC_SHA1_80) throw new SrtpError(`unsupported SRTP profile ${String(profile)}`);
    const gcm = profile === PROFILE_AEAD_AES_128_GCM;
    this.tag = gcm ? 16 : 10;
    this.session = new addon.SrtpSession(profile, deriveSessionKeys(gcm, keys.localMasterKey, keys.localMasterSalt), deriveSessionKeys(gcm, keys.remoteMasterKey, keys.remoteMasterSalt));
  }

  protectRtp(packet: Buffer, headroom = 0, len = packet.length): Buffer {
    const out = this.slab.alloc(headroom + len + this.tag);
    const n = this.session.protectRtp(packet, len, out, headroom);
    if (n < 0) throw failure(n, 'SRTP');
    return n === len + this.tag ? out : out.subarray(0, headroom + n);
  }

  unprotectRtp(packet: Buffer): Buffer {
    const n = this.session.unprotectRtp(packet, packet.length);
    if (n < 0) throw failure(n, 'SRTP');
    return packet.subarray(0, n);
  }

  protectRtcp(packet: Buffer): Buffer {
    const out = Buffer.allocUnsafe(packet.length + RTCP_GROWTH);
    const n = this.session.protectRtcp(packet, packet.length, out, 0);
    if (n < 0) throw failure(n, 'SRTCP');
    return out.subarray(0, n);
  }

  sendDirect(route: UdpRoute, packet: Buffer, len: number): DirectFrame | undefined {
    const t = route.target as NativeUdpTarget;
    const n = this.session.sendRtp(t.port, packet, len, t.ip4, t.destPort, route.channel);
    if (n < 0) return undefined;
    route.stats.packetsOut++;
    route.stats.bytesOut += n + 4;
    t.socket.queuedDirect();
    return { length: n, ssrc: ((packet[8]! << 24) | (packet[9]! << 16) | (packet[10]! << 8) | packet[11]!) >>> 0, seq: (packet[2]! << 8) | packet[3]! };
  }

  forwardDirect(route: UdpRoute, f: RtpForward, src: Buffer, seq: number, ts: number, tseq: number): void {
    const t = route.target as NativeUdpTarget;
    const rewriter = (f.planeForm ??= nativeRewriter(this.addon, f)) as NativeRtpRewriter;
    const n = this.session.forwardRtp(t.port, rewriter, src, seq, ts, tseq, t.ip4, t.destPort, route.channel);
    if (n === FORWARD_REFUSED) {
      f.length = -1;
      f.sent = undefined;
      return;
    }
    if (n < 0) {
      f.length = -2 - n;
      f.sent = undefined;
      return;
    }
    const length = n + this.tag;
    route.stats.packetsOut++;
    route.stats.bytesOut += length + 4;
    t.socket.queuedDirect();
    f.length = n;
    f.sent = { length, ssrc: f.ssrc, seq };
  }

  resendRtxDirect(route: UdpRoute, f: RtpForward, frame: DirectFrame, rtxSeq: number, tseq: number): number {
    const rewriter = f.planeForm as NativeRtpRewriter | undefined;
    if (rewriter === undefined || f.rtx === undefined) return -1;
    const t = route.target as NativeUdpTarget;
    const n = this.session.resendRtx(t.port, rewriter, frame.seq, rtxSeq, tseq, t.ip4, t.destPort, route.channel);
    if (n < 0) return -1;
    route.stats.packetsOut++;
    route.stats.bytesOut += n + this.tag + 4;
    t.socket.queuedDirect();
    return n;
  }

  resendDirect(route: UdpRoute, frame: DirectFrame): boolean {
    const t = route.target as NativeUdpTarget;
    const n = this.session.resendRtp(t.port, frame.ssrc, frame.seq, t.ip4, t.destPort, route.channel);
    if (n < 0) return false;
    route.stats.packetsOut++;
    route.stats.bytesOut += n + 4;
    t.socket.queuedDirect();
    return true;
  }

  unprotectRtcp(packet: Buffer): Buffer {
    const n = this.session.unprotectRtcp(packet, packet.length);
    if (n < 0) throw failure(n, 'SRTCP');
    return packet.subarray(0, n);
  }
}

export function nativeSrtpFactory(addon: NativeAddon): SrtpSessionFactory {
  return (profile, keys, slab) => new NativeSrtp(addon, profile, keys, slab);
}
