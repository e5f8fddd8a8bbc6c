// RTP wire helpers for the forwarding hot path: RTP/RTCP demux, fixed-header parsing into a reusable
// plain object, header-extension lookup (RFC 8285 one-byte and two-byte forms), rewriting a packet for
// a subscriber (SSRC, payload type, sequence number, timestamp, extension ids), keyframe detection for
// VP8 (RFC 7741) and H264 (RFC 6184), the audio-level element (RFC 6464) and 16-bit sequence arithmetic.
// What it must not do: allocate per packet beyond what its API returns (parseRtpHeader with `out` and
// the keyframe/seq helpers allocate nothing; getHeaderExtension allocates one view, parseAudioLevel one
// small object, rewriteRtpInto none: the caller gives the output buffer), modify an input buffer, throw on
// malformed input (parsers return undefined/false instead), keep any state between calls (module scratch
// is reset per call), or know about peers, tracks, sockets or SRTP.

export interface RtpHeader {
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  /** Bytes before the payload: 12 + 4·CSRC count + (4 + extension data) when X is set. */
  headerLength: number;
  payloadOffset: number;
  /** Payload bytes, excluding RTP padding. */
  payloadLength: number;
  hasExtension: boolean;
  /** Offset of the extension data, i.e. just after the 4-byte profile/length word (0 when absent). */
  extOffset: number;
  /** Extension data length in bytes (4 · the length field; 0 when absent). */
  extLength: number;
  /** The 16-bit "defined by profile" field: 0xBEDE one-byte form, 0x100x two-byte form (0 when absent). */
  extProfile: number;
}

/** First byte 128..191 (version 2): RTP or RTCP rather than STUN (0..3), DTLS (20..63) or TURN channel data (64..79). */
export function isRtpOrRtcp(buf: Buffer): boolean {
  return buf.length > 0 && buf[0] >= 128 && buf[0] <= 191;
}

/** RTP/RTCP demultiplexing per RFC 5761 §4: the second byte with the marker bit masked off is 64..95 (RTCP PT 192..223). */
export function isRtcp(buf: Buffer): boolean {
  if (buf.length < 2 || buf[0] < 128 || buf[0] > 191) return false;
  const pt = buf[1] & 0x7f;
  return pt >= 64 && pt <= 95;
}

/**
 * Parses the fixed header (validates version 2, lengths, padding); returns undefined for malformed packets.
 * Reuses `out` if given (no allocation).
 */
export function parseRtpHeader(buf: Buffer, out?: RtpHeader): RtpHeader | undefined {
  const len = buf.length;
  if (len < 12) return undefined;
  const b0 = buf[0];
  if ((b0 & 0xc0) !== 0x80) return undefined;
  let off = 12 + ((b0 & 0x0f) << 2);
  if (off > len) return undefined;
  let hasExtension = false;
  let extOffset = 0;
  let extLength = 0;
  let extProfile = 0;
  if ((b0 & 0x10) !== 0) {
    if (off + 4 > len) return undefined;
    extProfile = (buf[off] << 8) | buf[off + 1];
    extLength = ((buf[off + 2] << 8) | buf[off + 3]) << 2;
    extOffset = off + 4;
    off = extOffset + extLength;
    if (off > len) return undefined;
    hasExtension = true;
  }
  let padding = 0;
  if ((b0 & 0x20) !== 0) {
    padding = buf[len - 1];
    if (padding === 0 || off + padding > len) return undefined;
  }
  const b1 = buf[1];
  const h: RtpHeader = out ?? {
    marker: false, payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0, headerLength: 0, payloadOffset: 0,
    payloadLength: 0, hasExtension: false, extOffset: 0, extLength: 0, extProfile: 0,
  };
  h.marker = (b1 & 0x80) !== 0;
  h.payloadType = b1 & 0x7f;
  h.sequenceNumber = (buf[2] << 8) | buf[3];
  h.timestamp = ((buf[4] << 24) | (buf[5] << 16) | (buf[6] << 8) | buf[7]) >>> 0;
  h.ssrc = ((buf[8] << 24) | (buf[9] << 16) | (buf[10] << 8) | buf[11]) >>> 0;
  h.headerLength = off;
  h.payloadOffset = off;
  h.payloadLength = len - off - padding;
  h.hasExtension = hasExtension;
  h.extOffset = extOffset;
  h.extLength = extLength;
  h.extProfile = extProfile;
  return h;
}

const ONE_BYTE_PROFILE = 0xbede;
const TWO_BYTE_PROFILE = 0x1000;

/** 1 = one-byte form, 2 = two-byte form (any app bits), 0 = a profile whose elements we cannot read. */
function extForm(profile: number): number {
  if (profile === ONE_BYTE_PROFILE) return 1;
  if ((profile & 0xfff0) === TWO_BYTE_PROFILE) return 2;
  return 0;
}

/** Reads a one-byte (0xBEDE) or two-byte (0x100x) header extension element by id; returns a subarray view or undefined. */
export function getHeaderExtension(buf: Buffer, h: RtpHeader, id: number): Buffer | undefined {
  if (!h.hasExtension) return undefined;
  const form = extForm(h.extProfile);
  let pos = h.extOffset;
  const end = pos + h.extLength;
  if (end > buf.length) return undefined;
  if (form === 1) {
    if (id < 1 || id > 14) return undefined;
    while (pos < end) {
      const b = buf[pos];
      const eid = b >> 4;
      if (eid === 0) { pos++; continue; } // padding
      if (eid === 15) return undefined; // reserved: stop processing
      const d = pos + 1;
      const l = (b & 0x0f) + 1;
      if (d + l > end) return undefined;
      if (eid === id) return buf.subarray(d, d + l);
      pos = d + l;
    }
  } else if (form === 2) {
    if (id < 1 || id > 255) return undefined;
    while (pos < end) {
      const eid = buf[pos];
      if (eid === 0) { pos++; continue; } // padding
      if (pos + 2 > end) return undefined;
      const d = pos + 2;
      const l = buf[pos + 1];
      if (d + l > end) return undefined;
      if (eid === id) return buf.subarray(d, d + l);
      pos = d + l;
    }
  }
  return undefined;
}

export interface RewriteParams {
  ssrc: number;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  /** map publisher ext id → subscriber ext id; elements whose id is not in the map are dropped; undefined map = drop the whole extension block */
  extensionMap?: Map<number, number>;
  /** Write a transport-wide sequence number element (2 bytes) first, with this subscriber id (1..255); 0/undefined = none. */
  transportSeqExtId?: number;
  /** The transport-wide sequence number written with transportSeqExtId. */
  transportSeq?: number;
}

// Results of the counting pass of walkExtensions (module scratch, so the pass allocates nothing).
let scanKept = 0;
let scanBytes = 0;
let scanOneByteOk = true;

/**
 * Walks the source extension elements in order and, for every element whose id maps to 1..255:
 * with `out` null counts it into the scan* variables; otherwise writes it to `out` at `pos` in the
 * one-byte (`oneByte`) or two-byte form. Stops at the first malformed element (both passes alike).
 * Returns the write position after the last element written.
 */
function walkExtensions(
  src: Buffer, start: number, end: number, srcForm: number, map: Map<number, number>,
  out: Buffer | null, pos: number, oneByte: boolean,
): number {
  let i = start;
  while (i < end) {
    let eid: number;
    let d: number;
    let l: number;
    if (srcForm === 1) {
      const b = src[i];
      eid = b >> 4;
      if (eid === 0) { i++; continue; }
      if (eid === 15) break;
      d = i + 1;
      l = (b & 0x0f) + 1;
    } else {
      eid = src[i];
      if (eid === 0) { i++; continue; }
      if (i + 2 > end) break;
      d = i + 2;
      l = src[i + 1];
    }
    if (d + l > end) break;
    i = d + l;
    const nid = map.get(eid);
    if (nid === undefined || !(nid >= 1 && nid <= 255)) continue;
    if (out === null) {
      scanKept++;
      scanBytes += l;
      if (nid > 14 || l < 1 || l > 16) scanOneByteOk = false;
    } else {
      if (oneByte) {
        out[pos++] = (nid << 4) | (l - 1);
      } else {
        out[pos++] = nid;
        out[pos++] = l;
      }
      src.copy(out, pos, d, d + l);
      pos += l;
    }
  }
  return pos;
}

// Result of planRewrite (module scratch, so planning allocates nothing).
let planKept = 0;
let planOneByte = true;
let planExtBlock = 0;
let planTseqId = 0;

/** Counts what rewriting keeps of the extension block; returns the rewritten packet's length. */
function planRewrite(src: Buffer, h: RtpHeader, map: Map<number, number> | undefined, tseqId: number): number {
  const fixedLen = 12 + ((src[0] & 0x0f) << 2);
  const srcForm = map !== undefined && h.hasExtension ? extForm(h.extProfile) : 0;
  planKept = 0;
  planOneByte = true;
  planExtBlock = 0;
  let bytes = 0;
  planTseqId = tseqId;
  if (srcForm !== 0) {
    scanKept = 0;
    scanBytes = 0;
    scanOneByteOk = true;
    walkExtensions(src, h.extOffset, h.extOffset + h.extLength, srcForm, map!, null, 0, true);
    planKept = scanKept;
    planOneByte = scanOneByteOk;
    bytes = scanBytes;
  }
  if (tseqId > 0) {
    planKept++;
    bytes += 2;
    if (tseqId > 14) planOneByte = false;
  }
  if (planKept > 0) planExtBlock = 4 + ((bytes + planKept * (planOneByte ? 1 : 2) + 3) & ~3);
  return fixedLen + planExtBlock + (src.length - h.headerLength);
}

/** Writes the rewritten packet planned by the last planRewrite call into `out` at 0. */
function writeRewrite(src: Buffer, h: RtpHeader, p: RewriteParams, out: Buffer): void {
  const fixedLen = 12 + ((src[0] & 0x0f) << 2);
  const kept = planKept;
  out[0] = (src[0] & 0xef) | (kept > 0 ? 0x10 : 0);
  out[1] = (src[1] & 0x80) | (p.payloadType & 0x7f);
  const seq = p.sequenceNumber;
  out[2] = (seq >>> 8) & 0xff;
  out[3] = seq & 0xff;
  const ts = p.timestamp;
  out[4] = (ts >>> 24) & 0xff;
  out[5] = (ts >>> 16) & 0xff;
  out[6] = (ts >>> 8) & 0xff;
  out[7] = ts & 0xff;
  const ssrc = p.ssrc;
  out[8] = (ssrc >>> 24) & 0xff;
  out[9] = (ssrc >>> 16) & 0xff;
  out[10] = (ssrc >>> 8) & 0xff;
  out[11] = ssrc & 0xff;
  if (fixedLen > 12) src.copy(out, 12, 12, fixedLen);
  let pos = fixedLen;
  if (kept > 0) {
    const oneByte = planOneByte;
    const profile = oneByte ? ONE_BYTE_PROFILE : TWO_BYTE_PROFILE;
    const words = (planExtBlock - 4) >>> 2;
    out[pos] = profile >>> 8;
    out[pos + 1] = profile & 0xff;
    out[pos + 2] = words >>> 8;
    out[pos + 3] = words & 0xff;
    pos += 4;
    const tseqId = planTseqId;
    if (tseqId > 0) {
      if (oneByte) {
        out[pos++] = (tseqId << 4) | 1;
      } else {
        out[pos++] = tseqId;
        out[pos++] = 2;
      }
      const tseq = p.transportSeq ?? 0;
      out[pos++] = (tseq >>> 8) & 0xff;
      out[pos++] = tseq & 0xff;
    }
    const srcForm = p.extensionMap !== undefined && h.hasExtension ? extForm(h.extProfile) : 0;
    if (srcForm !== 0) pos = walkExtensions(src, h.extOffset, h.extOffset + h.extLength, srcForm, p.extensionMap!, out, pos, oneByte);
    const blockEnd = fixedLen + planExtBlock;
    while (pos < blockEnd) out[pos++] = 0;
  }
  src.copy(out, pos, h.headerLength);
}

/**
 * Writes the packet with rewritten header fields and extensions (re-encoded as one-byte 0xBEDE form when
 * all kept ids ≤ 14 and lengths ≤ 16, else two-byte), payload and padding bytes copied, into `out` from
 * offset 0; returns the rewritten length, or −1 (nothing written) if `out` is too short. Must not modify
 * `src`. The marker bit, padding bit and CSRC list are kept. Elements of an extension block in a profile
 * other than 0xBEDE/0x100x cannot be read and are dropped; an empty result drops the block (X = 0).
 */
export function rewriteRtpInto(src: Buffer, h: RtpHeader, p: RewriteParams, out: Buffer): number {
  const n = planRewrite(src, h, p.extensionMap, p.transportSeqExtId !== undefined && p.transportSeqExtId >= 1 && p.transportSeqExtId <= 255 ? p.transportSeqExtId : 0);
  if (n > out.length) return -1;
  writeRewrite(src, h, p, out);
  return n;
}

/**
 * VP8: true if the payload starts a keyframe (S bit + partition index 0 in the payload descriptor, then P bit 0
 * in the VP8 payload header). Handles X/I/L/T/K extensions of the descriptor.
 */
export function isVp8Keyframe(payload: Buffer): boolean {
  const n = payload.length;
  if (n < 1) return false;
  const b0 = payload[0];
  if ((b0 & 0x10) === 0 || (b0 & 0x07) !== 0) return false;
  let i = 1;
  if ((b0 & 0x80) !== 0) {
    if (i >= n) return false;
    const x = payload[i++];
    if ((x & 0x80) !== 0) {
      if (i >= n) return false;
      i += (payload[i] & 0x80) !== 0 ? 2 : 1; // M bit: 15-bit picture id
    }
    if ((x & 0x40) !== 0) i++; // L: TL0PICIDX
    if ((x & 0x30) !== 0) i++; // T or K: TID/Y/KEYIDX byte
  }
  if (i >= n) return false;
  return (payload[i] & 0x01) === 0;
}

function isH264KeyNal(type: number): boolean {
  return type === 5 || type === 7;
}

/**
 * H264 (RFC 6184): true if the payload carries an IDR slice (type 5) or SPS (type 7), also inside STAP-A (24)
 * and in the first fragment of FU-A (28).
 */
export function isH264Keyframe(payload: Buffer): boolean {
  const n = payload.length;
  if (n < 1) return false;
  const type = payload[0] & 0x1f;
  if (isH264KeyNal(type)) return true;
  if (type === 24) {
    let i = 1;
    while (i + 2 < n) {
      const size = (payload[i] << 8) | payload[i + 1];
      i += 2;
      if (size === 0 || i + size > n) return false;
      if (isH264KeyNal(payload[i] & 0x1f)) return true;
      i += size;
    }
    return false;
  }
  if (type === 28) {
    if (n < 2) return false;
    const fu = payload[1];
    return (fu & 0x80) !== 0 && isH264KeyNal(fu & 0x1f);
  }
  return false;
}

/** Audio level from the ssrc-audio-level extension element (RFC 6464): { voice: boolean, level: 0..127 (dBov, 127 = silence) }. */
export function parseAudioLevel(ext: Buffer): { voice: boolean; level: number } | undefined {
  if (ext.length < 1) return undefined;
  const b = ext[0];
  return { voice: (b & 0x80) !== 0, level: b & 0x7f };
}

/** Signed distance a − b on the 16-bit circle, in −32768..32767 (how far a is ahead of b). */
export function seqDelta(a: number, b: number): number {
  return ((((a - b) & 0xffff) + 0x8000) & 0xffff) - 0x8000;
}

/** True if a is after b on the 16-bit circle; exactly half a circle apart, the larger number counts as newer. */
export function isNewerSeq(a: number, b: number): boolean {
  const d = seqDelta(a, b);
  return d > 0 || (d === -0x8000 && (a & 0xffff) > (b & 0xffff));
}
