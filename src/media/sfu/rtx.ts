// RTX packetization (RFC 4588 §4) for retransmissions to subscribers that negotiated rtx: a stored
// plaintext packet is rewritten onto the RTX stream — RTX SSRC and payload type, the RTX stream's own
// sequence number, the original sequence number (OSN) as the first two payload bytes, the original
// timestamp, marker and header extensions — with a fresh transport-wide sequence number written into its
// transport-cc element, so the sender's estimate sees the retransmission as the packet it is.
// Also padding-only RTX packets, the probes of the bandwidth estimate (bwe/prober.ts).
// What it must not do: allocate (the caller gives the output buffer), modify the stored packet, keep state,
// or encrypt/send (the caller does).
import { getHeaderExtension, parseRtpHeader, type RtpHeader } from '../wire/rtp.js';

export interface RtxParams {
  ssrc: number;
  payloadType: number;
  /** The RTX stream's sequence number for this packet. */
  sequenceNumber: number;
  /** Id of the transport-wide sequence number element in the stored packet, and the value to write there. */
  transportSeqExtId?: number;
  transportSeq?: number;
}

const header: RtpHeader = {
  marker: false, payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0,
  headerLength: 0, payloadOffset: 0, payloadLength: 0, hasExtension: false, extOffset: 0, extLength: 0, extProfile: 0,
};

/**
 * Writes the RTX form of the plaintext RTP packet `original` into `out`; returns its length, or −1 if
 * `original` is not RTP or does not fit. Padding of the original is not carried (P bit cleared).
 */
export function writeRtxPacket(original: Buffer, p: RtxParams, out: Buffer): number {
  const h = parseRtpHeader(original, header);
  if (!h) return -1;
  const n = h.payloadOffset + 2 + h.payloadLength;
  if (n > out.length) return -1;
  original.copy(out, 0, 0, h.payloadOffset);
  out[0] = out[0]! & ~0x20;
  out[1] = (out[1]! & 0x80) | (p.payloadType & 0x7f);
  out.writeUInt16BE(p.sequenceNumber & 0xffff, 2);
  out.writeUInt32BE(p.ssrc >>> 0, 8);
  out.writeUInt16BE(h.sequenceNumber, h.payloadOffset);
  original.copy(out, h.payloadOffset + 2, h.payloadOffset, h.payloadOffset + h.payloadLength);
  if (p.transportSeqExtId !== undefined && p.transportSeq !== undefined) {
    const el = getHeaderExtension(out, h, p.transportSeqExtId);
    if (el && el.length === 2) el.writeUInt16BE(p.transportSeq & 0xffff, 0);
  }
  return n;
}

/** Largest padding one packet carries (RFC 3550 §5.1: the count is one byte). */
export const MAX_PADDING_BYTES = 255;

export interface RtxPaddingParams extends RtxParams {
  /** RTP timestamp to carry (the stream's latest). */
  timestamp: number;
}

/**
 * Writes a padding-only packet on the RTX stream into `out` (a probe: the receiver drops it, its
 * transport-cc feedback still reports it): header, the transport-wide sequence number in a one-byte
 * header extension when `transportSeqExtId` is 1..14, then `padding` (1..255) bytes whose last byte is
 * their count (P bit set). Returns its length, or −1 if the parameters or `out` do not allow it.
 */
export function writeRtxPadding(p: RtxPaddingParams, padding: number, out: Buffer): number {
  if (!Number.isInteger(padding) || padding < 1 || padding > MAX_PADDING_BYTES) return -1;
  const ext = p.transportSeqExtId !== undefined && p.transportSeq !== undefined;
  if (ext && (p.transportSeqExtId! < 1 || p.transportSeqExtId! > 14)) return -1;
  const headerLength = 12 + (ext ? 8 : 0);
  const n = headerLength + padding;
  if (n > out.length) return -1;
  out[0] = 0x80 | 0x20 | (ext ? 0x10 : 0);
  out[1] = p.payloadType & 0x7f;
  out.writeUInt16BE(p.sequenceNumber & 0xffff, 2);
  out.writeUInt32BE(p.timestamp >>> 0, 4);
  out.writeUInt32BE(p.ssrc >>> 0, 8);
  if (ext) {
    out.writeUInt16BE(0xbede, 12);
    out.writeUInt16BE(1, 14);
    out[16] = (p.transportSeqExtId! << 4) | 1;
    out.writeUInt16BE(p.transportSeq! & 0xffff, 17);
    out[19] = 0;
  }
  out.fill(0, headerLength, n - 1);
  out[n - 1] = padding;
  return n;
}
