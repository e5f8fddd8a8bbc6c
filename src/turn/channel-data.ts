// ChannelData (RFC 5766 §11.4–11.5) and first-byte demultiplexing of STUN vs. ChannelData vs. anything
// else (RFC 7983 / RFC 8656 §12): the 4-byte channel + length header, padded to 4 bytes over TCP.
// What it must not do: know about channel bindings or allocations (allocation.ts), hold state, or do I/O.
import { StunDecodeError, pad4 } from './stun-protocol.js';

export type PacketKind = 'stun' | 'channel-data' | 'unknown';

/**
 * Classifies a packet by its first byte per RFC 7983 / RFC 8656 §12: 0–3 STUN, 64–127 ChannelData
 * (RFC 5766 channel range 0x4000–0x7FFF). Everything else, including DTLS (20–63) and RTP/RTCP
 * (128–191), is 'unknown' — so the same function is a safe first step of a media-plane demux.
 */
export function classifyPacket(firstByte: number | undefined): PacketKind {
  if (firstByte === undefined) return 'unknown';
  if (firstByte <= 3) return 'stun';
  if (firstByte >= 0x40 && firstByte <= 0x7f) return 'channel-data';
  return 'unknown';
}

/** ChannelData message; over TCP (`padTo4`) the frame is padded to a multiple of 4 (RFC 5766 §11.5). */
export function encodeChannelData(channel: number, data: Buffer, padTo4: boolean): Buffer {
  if (data.length > 0xffff) throw new RangeError('ChannelData payload too long');
  const size = 4 + (padTo4 ? pad4(data.length) : data.length);
  const b = Buffer.allocUnsafe(size);
  b.writeUInt16BE(channel, 0);
  b.writeUInt16BE(data.length, 2);
  data.copy(b, 4);
  b.fill(0, 4 + data.length);
  return b;
}

/** Decodes a ChannelData message; bytes past the announced length (padding) are ignored. */
export function decodeChannelData(buf: Buffer): { channel: number; data: Buffer } {
  if (buf.length < 4) throw new StunDecodeError('truncated ChannelData header');
  const channel = buf.readUInt16BE(0);
  if (classifyPacket(buf[0]) !== 'channel-data') throw new StunDecodeError('not a ChannelData message');
  const len = buf.readUInt16BE(2);
  if (4 + len > buf.length) throw new StunDecodeError('ChannelData length exceeds packet');
  return { channel, data: buf.subarray(4, 4 + len) };
}
