// SRTP/SRTCP (RFC 3711) for the two profiles Shoal negotiates in DTLS-SRTP: SRTP_AEAD_AES_128_GCM
// (profile 7, RFC 7714) and SRTP_AES128_CM_HMAC_SHA1_80 (profile 1). SrtpContext is one session: it
// protects what we send and unprotects what we receive, tracking the rollover counter per SSRC for
// sending and receiving (receive side: RFC 3711 Appendix A index estimation) and passing received packets
// through a sliding replay window (srtp-replay.ts). Session keys are derived once (srtp-kdf.ts); the
// per-packet IVs (srtp-iv.ts), the AES-CM keystream (srtp-aes-cm.ts) and HMAC-SHA1 (srtp-hmac.ts) live
// in their own modules.
//
// Built for the forwarding hot path: per packet one output Buffer of the final size, cut from the shared
// packet slab with room in front for the caller's framing (header copied, the ciphertext and tag written
// into it), no Buffer.concat, no closures. AES-GCM needs one createCipheriv per packet (node:crypto has
// no other way to set a GCM nonce), with a precomputed KeyObject and a reused nonce buffer. AES-CM never
// creates a cipher per packet (see srtp-aes-cm.ts); HMAC-SHA1 uses one Hmac per packet on a precomputed
// KeyObject.
// What it must not do: know about DTLS, sockets or RTP semantics beyond the header layout, or allocate
// per packet beyond the output buffer and what node:crypto needs.
import { createCipheriv, createDecipheriv, timingSafeEqual } from 'node:crypto';
import { PacketSlab } from './packet-slab.js';
import { writeCmIv, writeGcmRtcpIv, writeGcmRtpIv } from './srtp-iv.js';
import { DirectionKeys } from './srtp-kdf.js';
import { ReplayWindow } from './srtp-replay.js';
import { SrtpError } from './srtp-error.js';

export { SrtpError };

export type SrtpProfile = 1 | 7;

export interface SrtpKeys {
  localMasterKey: Buffer;
  localMasterSalt: Buffer;
  remoteMasterKey: Buffer;
  remoteMasterSalt: Buffer;
}

/** SRTP_AES128_CM_HMAC_SHA1_80 */
export const PROFILE_AES128_CM_HMAC_SHA1_80 = 1;
/** SRTP_AEAD_AES_128_GCM */
export const PROFILE_AEAD_AES_128_GCM = 7;

const GCM_TAG = 16;
const HMAC_TAG = 10;
const SRTCP_INDEX_SIZE = 4;
const MAX_SRTCP_INDEX = 0x7fffffff;
/** SSRCs tracked per direction and kind (as native/src/srtp.h kMaxStreams): a new one beyond this is malformed. */
export const MAX_SRTP_STREAMS = 1024;
const TOO_MANY_STREAMS = 'too many SRTP streams in one session';

/** Estimated ROC of a packet with sequence number `seq`, given the highest ROC/seq so far (RFC 3711 Appendix A). */
function estimateRoc(roc: number, sl: number, seq: number): number {
  if (sl < 0x8000) return seq - sl > 0x8000 ? roc - 1 : roc;
  return sl - 0x8000 > seq ? roc + 1 : roc;
}

/** Send-side state of one SSRC: the highest packet index sent. */
interface TxStream {
  roc: number;
  seq: number;
}

/** Bytes before the payload of the RTP packet in `p[0, end)`; throws for a malformed header. */
function rtpHeaderLength(p: Buffer, end: number): number {
  if (end < 12) throw new SrtpError('RTP packet too short');
  const b0 = p[0];
  if ((b0 & 0xc0) !== 0x80) throw new SrtpError('not an RTP version 2 packet');
  let off = 12 + ((b0 & 0x0f) << 2);
  if ((b0 & 0x10) !== 0) {
    if (off + 4 > end) throw new SrtpError('RTP header extension truncated');
    off += 4 + (((p[off + 2] << 8) | p[off + 3]) << 2);
  }
  if (off > end) throw new SrtpError('RTP header truncated');
  return off;
}

/** Copies n bytes with a plain loop (for headers and tags: cheaper than Buffer#copy's view objects). */
function copyBytes(src: Buffer, srcStart: number, dst: Buffer, dstStart: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dstStart + i] = src[srcStart + i];
}

function readU32(p: Buffer, off: number): number {
  return ((p[off] << 24) | (p[off + 1] << 16) | (p[off + 2] << 8) | p[off + 3]) >>> 0;
}

function writeU32(p: Buffer, off: number, v: number): void {
  p[off] = v >>> 24;
  p[off + 1] = (v >>> 16) & 0xff;
  p[off + 2] = (v >>> 8) & 0xff;
  p[off + 3] = v & 0xff;
}

/** One DTLS-SRTP session: protects what we send with the local keys, unprotects what we receive with the remote keys. */
export class SrtpContext {
  readonly profile: SrtpProfile;
  private readonly gcm: boolean;
  private readonly tx: DirectionKeys;
  private readonly rx: DirectionKeys;
  /** Reused nonce (GCM, 12 bytes) — createCipheriv copies it. */
  private readonly gcmIv = Buffer.alloc(12);
  /** ROC bytes appended to the authenticated portion (AES-CM RTP). */
  private readonly rocBuf = Buffer.alloc(4);
  private readonly txRtp = new Map<number, TxStream>();
  private readonly rxRtp = new Map<number, ReplayWindow>();
  private readonly txRtcp = new Map<number, number>();
  private readonly rxRtcp = new Map<number, ReplayWindow>();

  /** Where protected packets are allocated: the media plane's slab (a context made without one gets its own). */
  private readonly slab: PacketSlab;

  constructor(profile: SrtpProfile, keys: SrtpKeys, slab?: PacketSlab) {
    this.slab = slab ?? new PacketSlab();
    if (profile !== PROFILE_AEAD_AES_128_GCM && profile !== PROFILE_AES128_CM_HMAC_SHA1_80) {
      throw new SrtpError(`unsupported SRTP profile ${String(profile)}`);
    }
    this.profile = profile;
    this.gcm = profile === PROFILE_AEAD_AES_128_GCM;
    this.tx = new DirectionKeys(this.gcm, keys.localMasterKey, keys.localMasterSalt);
    this.rx = new DirectionKeys(this.gcm, keys.remoteMasterKey, keys.remoteMasterSalt);
  }

  /**
   * Encrypts the plaintext RTP packet `packet[0, len)` (header and extensions stay in the clear). Returns a
   * new Buffer (from the packet slab) holding `headroom` unwritten bytes for the caller (e.g. a TURN
   * ChannelData header) followed by the SRTP packet.
   */
  protectRtp(packet: Buffer, headroom = 0, len = packet.length): Buffer {
    const hl = rtpHeaderLength(packet, len);
    const seq = (packet[2] << 8) | packet[3];
    const ssrc = readU32(packet, 8);
    // ROC: estimated against the highest index sent so far (retransmissions of older packets keep theirs).
    let roc: number;
    const s = this.txRtp.get(ssrc);
    if (s === undefined) {
      if (this.txRtp.size >= MAX_SRTP_STREAMS) throw new SrtpError(TOO_MANY_STREAMS);
      roc = 0;
      this.txRtp.set(ssrc, { roc: 0, seq });
    } else {
      roc = estimateRoc(s.roc, s.seq, seq);
      if (roc < 0) throw new SrtpError('RTP sequence number before the start of the stream');
      if (roc > s.roc || (roc === s.roc && seq > s.seq)) {
        s.roc = roc;
        s.seq = seq;
      }
    }
    roc >>>= 0;
    const keys = this.tx;
    if (this.gcm) {
      const out = this.slab.alloc(headroom + len + GCM_TAG);
      copyBytes(packet, 0, out, headroom, hl);
      writeGcmRtpIv(this.gcmIv, keys.rtpSalt, ssrc, roc, seq);
      const c = createCipheriv('aes-128-gcm', keys.rtpKey, this.gcmIv);
      c.setAAD(packet.subarray(0, hl));
      const enc = c.update(packet.subarray(hl, len));
      out.set(enc, headroom + hl);
      c.final();
      copyBytes(c.getAuthTag(), 0, out, headroom + len, GCM_TAG);
      return out;
    }
    const out = this.slab.alloc(headroom + len + HMAC_TAG);
    packet.copy(out, headroom, 0, len);
    const cm = keys.rtpCm!;
    writeCmIv(cm.ivBytes, keys.rtpSalt, ssrc, roc, seq);
    cm.xor(out, headroom + hl, headroom + len);
    writeU32(this.rocBuf, 0, roc);
    copyBytes(keys.rtpAuth!.digest(out, headroom, headroom + len, this.rocBuf), 0, out, headroom + len, HMAC_TAG);
    return out;
  }

  /** Decrypts and authenticates an SRTP packet; throws SrtpError on auth failure, replay or malformed input. */
  unprotectRtp(packet: Buffer): Buffer {
    const tagLen = this.gcm ? GCM_TAG : HMAC_TAG;
    const len = packet.length;
    const end = len - tagLen;
    if (end < 12) throw new SrtpError('SRTP packet too short');
    const hl = rtpHeaderLength(packet, end);
    const seq = (packet[2] << 8) | packet[3];
    const ssrc = readU32(packet, 8);
    let w = this.rxRtp.get(ssrc);
    if (w === undefined && this.rxRtp.size >= MAX_SRTP_STREAMS) throw new SrtpError(TOO_MANY_STREAMS);
    let roc = 0;
    if (w !== undefined) {
      const h = w.highest;
      roc = estimateRoc(Math.floor(h / 0x10000), h % 0x10000, seq);
      if (roc < 0) throw new SrtpError('replayed packet (before the start of the stream)');
    }
    const index = roc * 0x10000 + seq;
    w?.check(index);
    roc >>>= 0;
    const keys = this.rx;
    let out: Buffer;
    if (this.gcm) {
      writeGcmRtpIv(this.gcmIv, keys.rtpSalt, ssrc, roc, seq);
      const d = createDecipheriv('aes-128-gcm', keys.rtpKey, this.gcmIv, { authTagLength: GCM_TAG });
      d.setAuthTag(packet.subarray(end));
      d.setAAD(packet.subarray(0, hl));
      const dec = d.update(packet.subarray(hl, end));
      try {
        d.final();
      } catch {
        throw new SrtpError('SRTP authentication failed');
      }
      out = Buffer.allocUnsafe(end);
      copyBytes(packet, 0, out, 0, hl);
      out.set(dec, hl);
    } else {
      writeU32(this.rocBuf, 0, roc);
      const tag = keys.rtpAuth!.digest(packet, 0, end, this.rocBuf);
      if (!timingSafeEqual(tag.subarray(0, HMAC_TAG), packet.subarray(end))) throw new SrtpError('SRTP authentication failed');
      out = Buffer.allocUnsafe(end);
      out.set(packet.subarray(0, end), 0);
      const cm = keys.rtpCm!;
      writeCmIv(cm.ivBytes, keys.rtpSalt, ssrc, roc, seq);
      cm.xor(out, hl, end);
    }
    if (w === undefined) {
      w = new ReplayWindow();
      this.rxRtp.set(ssrc, w);
    }
    w.accept(index);
    return out;
  }

  /** Encrypts an RTCP (compound) packet: E bit set, SRTCP index per sender SSRC (RFC 3711 §3.4, RFC 7714 §9). */
  protectRtcp(packet: Buffer): Buffer {
    const len = packet.length;
    if (len < 8) throw new SrtpError('RTCP packet too short');
    if ((packet[0] & 0xc0) !== 0x80) throw new SrtpError('not an RTCP version 2 packet');
    const ssrc = readU32(packet, 4);
    const next = this.txRtcp.get(ssrc);
    if (next === undefined && this.txRtcp.size >= MAX_SRTP_STREAMS) throw new SrtpError(TOO_MANY_STREAMS);
    const index = next ?? 0;
    this.txRtcp.set(ssrc, index >= MAX_SRTCP_INDEX ? 0 : index + 1);
    const keys = this.tx;
    if (this.gcm) {
      // header(8) | ciphertext | tag(16) | E+index(4); AAD = header(8) | E+index(4)
      const out = Buffer.allocUnsafe(len + GCM_TAG + SRTCP_INDEX_SIZE);
      copyBytes(packet, 0, out, 0, 8);
      const idxOff = len + GCM_TAG;
      writeU32(out, idxOff, (index | 0x80000000) >>> 0);
      writeGcmRtcpIv(this.gcmIv, keys.rtcpSalt, ssrc, index);
      const c = createCipheriv('aes-128-gcm', keys.rtcpKey, this.gcmIv);
      // The AAD is the 8-byte header followed by the E+index word: two setAAD calls feed GHASH in order.
      c.setAAD(out.subarray(0, 8));
      c.setAAD(out.subarray(idxOff));
      const enc = c.update(packet.subarray(8));
      out.set(enc, 8);
      c.final();
      out.set(c.getAuthTag(), len);
      return out;
    }
    // header(8) | ciphertext | E+index(4) | tag(10); the tag covers everything before it
    const out = Buffer.allocUnsafe(len + SRTCP_INDEX_SIZE + HMAC_TAG);
    out.set(packet, 0);
    const cm = keys.rtcpCm!;
    writeCmIv(cm.ivBytes, keys.rtcpSalt, ssrc, index >>> 16, index & 0xffff);
    cm.xor(out, 8, len);
    writeU32(out, len, (index | 0x80000000) >>> 0);
    copyBytes(keys.rtcpAuth!.digest(out, 0, len + SRTCP_INDEX_SIZE, undefined), 0, out, len + SRTCP_INDEX_SIZE, HMAC_TAG);
    return out;
  }

  /** Decrypts and authenticates an SRTCP packet (encrypted or E = 0); throws SrtpError on auth failure, replay or malformed input. */
  unprotectRtcp(packet: Buffer): Buffer {
    const len = packet.length;
    const tagLen = this.gcm ? GCM_TAG : HMAC_TAG;
    if (len < 8 + tagLen + SRTCP_INDEX_SIZE) throw new SrtpError('SRTCP packet too short');
    if ((packet[0] & 0xc0) !== 0x80) throw new SrtpError('not an RTCP version 2 packet');
    const ssrc = readU32(packet, 4);
    // GCM: ... | tag | E+index ; CM: ... | E+index | tag
    const idxOff = this.gcm ? len - SRTCP_INDEX_SIZE : len - HMAC_TAG - SRTCP_INDEX_SIZE;
    const word = readU32(packet, idxOff);
    const encrypted = word >>> 31 === 1;
    const index = word & MAX_SRTCP_INDEX;
    let w = this.rxRtcp.get(ssrc);
    if (w === undefined && this.rxRtcp.size >= MAX_SRTP_STREAMS) throw new SrtpError(TOO_MANY_STREAMS);
    w?.check(index);
    const keys = this.rx;
    let out: Buffer;
    if (this.gcm) {
      const tagOff = idxOff - GCM_TAG;
      writeGcmRtcpIv(this.gcmIv, keys.rtcpSalt, ssrc, index);
      const d = createDecipheriv('aes-128-gcm', keys.rtcpKey, this.gcmIv, { authTagLength: GCM_TAG });
      d.setAuthTag(packet.subarray(tagOff, idxOff));
      out = Buffer.allocUnsafe(tagOff);
      copyBytes(packet, 0, out, 0, 8);
      if (encrypted) {
        d.setAAD(packet.subarray(0, 8));
        d.setAAD(packet.subarray(idxOff));
        out.set(d.update(packet.subarray(8, tagOff)), 8);
      } else {
        d.setAAD(packet.subarray(0, tagOff));
        d.setAAD(packet.subarray(idxOff));
        out.set(packet.subarray(8, tagOff), 8);
      }
      try {
        d.final();
      } catch {
        throw new SrtpError('SRTCP authentication failed');
      }
    } else {
      const tagOff = idxOff + SRTCP_INDEX_SIZE;
      const tag = keys.rtcpAuth!.digest(packet, 0, tagOff, undefined);
      if (!timingSafeEqual(tag.subarray(0, HMAC_TAG), packet.subarray(tagOff))) throw new SrtpError('SRTCP authentication failed');
      out = Buffer.allocUnsafe(idxOff);
      out.set(packet.subarray(0, idxOff), 0);
      if (encrypted) {
        const cm = keys.rtcpCm!;
        writeCmIv(cm.ivBytes, keys.rtcpSalt, ssrc, index >>> 16, index & 0xffff);
        cm.xor(out, 8, idxOff);
      }
    }
    if (w === undefined) {
      w = new ReplayWindow();
      this.rxRtcp.set(ssrc, w);
    }
    w.accept(index);
    return out;
  }
}
