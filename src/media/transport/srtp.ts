// SRTP/SRTCP (RFC 3711) for the two profiles Shoal negotiates in DTLS-SRTP: SRTP_AEAD_AES_128_GCM
// (profile 7, RFC 7714) and SRTP_AES128_CM_HMAC_SHA1_80 (profile 1). Session keys are derived once
// (RFC 3711 §4.3, AES-CM PRF, key derivation rate 0); the rollover counter is tracked per SSRC for
// sending and receiving (receive side: RFC 3711 Appendix A index estimation), and received packets pass
// a sliding replay window (duplicates and packets older than the window are rejected).
//
// Built for the forwarding hot path: per packet one output Buffer of the final size, cut from the shared
// packet slab with room in front for the caller's framing (header copied, the ciphertext and tag written
// into it), no Buffer.concat, no closures. AES-GCM needs one createCipheriv per packet (node:crypto has
// no other way to set a GCM nonce), with a precomputed KeyObject and a reused nonce buffer. AES-CM never
// creates a cipher per packet: one long-lived AES-ECB cipher per key turns a reused buffer of counter
// blocks into keystream, which is XORed in 32-bit words; HMAC-SHA1 uses one Hmac per packet on a
// precomputed KeyObject.
// It knows nothing about DTLS, sockets or RTP semantics beyond the header layout.
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, timingSafeEqual, type Cipher, type KeyObject } from 'node:crypto';
import { packetSlab } from './packet-slab.js';

export type SrtpProfile = 1 | 7;

export interface SrtpKeys {
  localMasterKey: Buffer;
  localMasterSalt: Buffer;
  remoteMasterKey: Buffer;
  remoteMasterSalt: Buffer;
}

export class SrtpError extends Error {
  override name = 'SrtpError';
}

/** SRTP_AES128_CM_HMAC_SHA1_80 */
export const PROFILE_AES128_CM_HMAC_SHA1_80 = 1;
/** SRTP_AEAD_AES_128_GCM */
export const PROFILE_AEAD_AES_128_GCM = 7;

// RFC 3711 §4.3.2 / RFC 7714 §11 key derivation labels.
const LABEL_RTP_ENCRYPTION = 0;
const LABEL_RTP_AUTH = 1;
const LABEL_RTP_SALT = 2;
const LABEL_RTCP_ENCRYPTION = 3;
const LABEL_RTCP_AUTH = 4;
const LABEL_RTCP_SALT = 5;

const GCM_TAG = 16;
const HMAC_TAG = 10;
const SRTCP_INDEX_SIZE = 4;
const MAX_SRTCP_INDEX = 0x7fffffff;
/** Replay window size in packets (a power of two, multiple of 32). */
export const REPLAY_WINDOW = 1024;

/**
 * RFC 3711 §4.3.1/§4.3.3 key derivation with kdr 0: `length` bytes of the AES-CM keystream under the
 * master key, starting at IV = (label·2^48 XOR master salt)·2^16. A 12-byte (GCM) master salt is
 * zero-padded on the right to 112 bits, as libsrtp does.
 */
export function deriveSessionKey(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  if (masterKey.length !== 16) throw new SrtpError(`master key must be 16 bytes, got ${masterKey.length}`);
  if (masterSalt.length !== 14 && masterSalt.length !== 12) throw new SrtpError(`master salt must be 12 or 14 bytes, got ${masterSalt.length}`);
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0);
  iv[7] ^= label;
  const cipher = createCipheriv('aes-128-ctr', masterKey, iv);
  return cipher.update(Buffer.alloc(length));
}

/** Estimated ROC of a packet with sequence number `seq`, given the highest ROC/seq so far (RFC 3711 Appendix A). */
function estimateRoc(roc: number, sl: number, seq: number): number {
  if (sl < 0x8000) return seq - sl > 0x8000 ? roc - 1 : roc;
  return sl - 0x8000 > seq ? roc + 1 : roc;
}

/** Bitmap of the REPLAY_WINDOW indices up to the highest one accepted; bit (index mod size) per index. */
class ReplayWindow {
  /** Highest accepted index; -1 before the first packet. */
  highest = -1;
  private readonly bits = new Uint32Array(REPLAY_WINDOW >>> 5);

  /** Throws for a duplicate or an index older than the window. */
  check(index: number): void {
    const h = this.highest;
    if (h < 0 || index > h) return;
    if (h - index >= REPLAY_WINDOW) throw new SrtpError('replayed packet (older than the replay window)');
    const pos = index % REPLAY_WINDOW;
    if ((this.bits[pos >>> 5] & (1 << (pos & 31))) !== 0) throw new SrtpError('replayed packet');
  }

  /** Marks an authenticated index as seen, sliding the window forward if it is the newest. */
  accept(index: number): void {
    const h = this.highest;
    const bits = this.bits;
    if (index > h) {
      if (h < 0 || index - h >= REPLAY_WINDOW) bits.fill(0);
      else {
        for (let i = h + 1; i < index; i++) {
          const p = i % REPLAY_WINDOW;
          bits[p >>> 5] &= ~(1 << (p & 31));
        }
      }
      this.highest = index;
    }
    const pos = index % REPLAY_WINDOW;
    bits[pos >>> 5] |= 1 << (pos & 31);
  }
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

/**
 * AES-CM (RFC 3711 §4.1.1) keystream generator for one session key: a long-lived AES-ECB cipher
 * encrypts a reused buffer of counter blocks. Bytes 14..15 of block j hold j (big-endian) permanently;
 * per packet only bytes 0..13 (the IV, whose low 16 bits are zero) are written, in native words.
 */
export class AesCm {
  private readonly ecb: Cipher;
  /** The IV of the next packet (16 bytes, the last two zero), written by the caller. */
  readonly ivBytes: Buffer;
  private readonly iv32: Uint32Array;
  private readonly iv16: Uint16Array;
  private blocks = 0;
  private ctr32 = new Uint32Array(0);
  private ctr16 = new Uint16Array(0);

  constructor(key: KeyObject) {
    this.ecb = createCipheriv('aes-128-ecb', key, null);
    this.ecb.setAutoPadding(false);
    this.iv32 = new Uint32Array(4);
    this.iv16 = new Uint16Array(this.iv32.buffer);
    this.ivBytes = Buffer.from(this.iv32.buffer);
  }

  private grow(blocks: number): void {
    let n = Math.max(this.blocks, 64);
    while (n < blocks) n *= 2;
    this.ctr32 = new Uint32Array(n * 4);
    this.ctr16 = new Uint16Array(this.ctr32.buffer);
    const bytes = new Uint8Array(this.ctr32.buffer);
    for (let j = 0; j < n; j++) {
      bytes[j * 16 + 14] = (j >>> 8) & 0xff;
      bytes[j * 16 + 15] = j & 0xff;
    }
    this.blocks = n;
  }

  /**
   * XORs the keystream for the current IV into `out[start, end)` (in place). `out` must already hold
   * the data to encrypt or decrypt there.
   */
  xor(out: Buffer, start: number, end: number): void {
    const len = end - start;
    if (len <= 0) return;
    const nBlocks = (len + 15) >>> 4;
    if (nBlocks > 0x10000) throw new SrtpError('packet too large for AES-CM');
    if (nBlocks > this.blocks) this.grow(nBlocks);
    const c32 = this.ctr32;
    const c16 = this.ctr16;
    const w0 = this.iv32[0];
    const w1 = this.iv32[1];
    const w2 = this.iv32[2];
    const h6 = this.iv16[6];
    for (let j = 0, k = 0; j < nBlocks; j++, k += 4) {
      c32[k] = w0;
      c32[k + 1] = w1;
      c32[k + 2] = w2;
      c16[k * 2 + 6] = h6;
    }
    const ks = this.ecb.update(Buffer.from(c32.buffer, 0, nBlocks << 4));
    let i = 0;
    const outOff = out.byteOffset + start;
    if ((outOff & 3) === 0 && (ks.byteOffset & 3) === 0) {
      const words = len >>> 2;
      const o32 = new Int32Array(out.buffer, outOff, words);
      const k32 = new Int32Array(ks.buffer, ks.byteOffset, words);
      for (let w = 0; w < words; w++) o32[w] ^= k32[w];
      i = words << 2;
    }
    for (; i < len; i++) out[start + i] ^= ks[i];
  }
}

/**
 * HMAC-SHA1 with a precomputed KeyObject: one Hmac per message. (Measured on Node 20: cheaper than
 * copying pre-keyed ipad/opad Hash states, which costs two Hash objects per message.)
 */
class HmacSha1 {
  private readonly key: KeyObject;

  constructor(key: Buffer) {
    this.key = createSecretKey(key);
  }

  /** HMAC over `a[aStart, aEnd)` followed by `b` (b may be undefined). Returns the 20-byte digest. */
  digest(a: Buffer, aStart: number, aEnd: number, b: Buffer | undefined): Buffer {
    const h = createHmac('sha1', this.key);
    h.update(aStart === 0 && aEnd === a.length ? a : a.subarray(aStart, aEnd));
    if (b !== undefined) h.update(b);
    return h.digest();
  }
}

/** The session keys of one direction (local = what we send, remote = what we receive). */
class DirectionKeys {
  readonly rtpKey: KeyObject;
  readonly rtcpKey: KeyObject;
  readonly rtpSalt: Buffer;
  readonly rtcpSalt: Buffer;
  /** AES-CM only. */
  readonly rtpCm: AesCm | undefined;
  readonly rtcpCm: AesCm | undefined;
  readonly rtpAuth: HmacSha1 | undefined;
  readonly rtcpAuth: HmacSha1 | undefined;

  constructor(gcm: boolean, masterKey: Buffer, masterSalt: Buffer) {
    const saltLen = gcm ? 12 : 14;
    if (masterSalt.length !== saltLen) throw new SrtpError(`master salt must be ${saltLen} bytes for this profile, got ${masterSalt.length}`);
    this.rtpKey = createSecretKey(deriveSessionKey(masterKey, masterSalt, LABEL_RTP_ENCRYPTION, 16));
    this.rtcpKey = createSecretKey(deriveSessionKey(masterKey, masterSalt, LABEL_RTCP_ENCRYPTION, 16));
    this.rtpSalt = deriveSessionKey(masterKey, masterSalt, LABEL_RTP_SALT, saltLen);
    this.rtcpSalt = deriveSessionKey(masterKey, masterSalt, LABEL_RTCP_SALT, saltLen);
    if (!gcm) {
      this.rtpCm = new AesCm(this.rtpKey);
      this.rtcpCm = new AesCm(this.rtcpKey);
      this.rtpAuth = new HmacSha1(deriveSessionKey(masterKey, masterSalt, LABEL_RTP_AUTH, 20));
      this.rtcpAuth = new HmacSha1(deriveSessionKey(masterKey, masterSalt, LABEL_RTCP_AUTH, 20));
    }
  }
}

/**
 * Writes the AES-CM IV (RFC 3711 §4.1.1): (salt·2^16) XOR (SSRC·2^64) XOR (index·2^16), with
 * index = ROC·2^16 + SEQ (for SRTCP, the 31-bit SRTCP index split the same way).
 */
function writeCmIv(iv: Buffer, salt: Buffer, ssrc: number, roc: number, seq: number): void {
  writeSaltedIndex(iv, salt, 4, ssrc, roc, seq);
  iv[14] = 0;
  iv[15] = 0;
}

/** Writes the 12-byte AES-GCM RTP IV (RFC 7714 §8.1): (00 00 | SSRC | ROC | SEQ) XOR session salt. */
function writeGcmRtpIv(iv: Buffer, salt: Buffer, ssrc: number, roc: number, seq: number): void {
  writeSaltedIndex(iv, salt, 2, ssrc, roc, seq);
}

/** iv[0, at) = salt; then SSRC (4 bytes), ROC (4) and SEQ (2), each XORed with the salt bytes at their place. */
function writeSaltedIndex(iv: Buffer, salt: Buffer, at: number, ssrc: number, roc: number, seq: number): void {
  for (let i = 0; i < at; i++) iv[i] = salt[i];
  iv[at] = salt[at] ^ (ssrc >>> 24);
  iv[at + 1] = salt[at + 1] ^ ((ssrc >>> 16) & 0xff);
  iv[at + 2] = salt[at + 2] ^ ((ssrc >>> 8) & 0xff);
  iv[at + 3] = salt[at + 3] ^ (ssrc & 0xff);
  iv[at + 4] = salt[at + 4] ^ (roc >>> 24);
  iv[at + 5] = salt[at + 5] ^ ((roc >>> 16) & 0xff);
  iv[at + 6] = salt[at + 6] ^ ((roc >>> 8) & 0xff);
  iv[at + 7] = salt[at + 7] ^ (roc & 0xff);
  iv[at + 8] = salt[at + 8] ^ (seq >>> 8);
  iv[at + 9] = salt[at + 9] ^ (seq & 0xff);
}

/** Writes the 12-byte AES-GCM RTCP IV (RFC 7714 §9.1): (00 00 | SSRC | 00 00 | 0 + 31-bit SRTCP index) XOR session salt. */
function writeGcmRtcpIv(iv: Buffer, salt: Buffer, ssrc: number, index: number): void {
  iv[0] = salt[0];
  iv[1] = salt[1];
  iv[2] = salt[2] ^ (ssrc >>> 24);
  iv[3] = salt[3] ^ ((ssrc >>> 16) & 0xff);
  iv[4] = salt[4] ^ ((ssrc >>> 8) & 0xff);
  iv[5] = salt[5] ^ (ssrc & 0xff);
  iv[6] = salt[6];
  iv[7] = salt[7];
  iv[8] = salt[8] ^ (index >>> 24);
  iv[9] = salt[9] ^ ((index >>> 16) & 0xff);
  iv[10] = salt[10] ^ ((index >>> 8) & 0xff);
  iv[11] = salt[11] ^ (index & 0xff);
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

  constructor(profile: SrtpProfile, keys: SrtpKeys) {
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
      const out = packetSlab.alloc(headroom + len + GCM_TAG);
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
    const out = packetSlab.alloc(headroom + len + HMAC_TAG);
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
    const index = this.txRtcp.get(ssrc) ?? 0;
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
