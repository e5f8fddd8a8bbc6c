// RTX packetization (RFC 4588 §4) for retransmissions to subscribers that negotiated rtx: a stored
// plaintext packet is rewritten onto the RTX stream — RTX SSRC and payload type, the RTX stream's own
// sequence number, the original sequence number (OSN) as the first two payload bytes, the original
// timestamp, marker and header extensions — with a fresh transport-wide sequence number written into its
// transport-cc element, so the sender's estimate sees the retransmission as the packet it is.
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
