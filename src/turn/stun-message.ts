// STUN/TURN wire codec (RFC 5389 / 5766 / 8656): message header (type = method + class, length, magic
// cookie, transaction id), the attribute TLVs a TURN server needs (XOR addresses, LIFETIME, ERROR-CODE,
// DATA, CHANNEL-NUMBER, ...), MESSAGE-INTEGRITY (HMAC-SHA1 over the message with the length field
// adjusted), FINGERPRINT (CRC-32 xor 0x5354554e), ChannelData framing and first-byte demultiplexing.
// What it must not do: hold state, do I/O, know about allocations or credentials policy (it takes a
// ready-made HMAC key), or accept a structurally invalid message: decodeStun throws StunDecodeError
// for anything malformed and never returns a half-parsed message.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

export const MAGIC_COOKIE = 0x2112a442;
export const HEADER_LENGTH = 20;
const FINGERPRINT_XOR = 0x5354554e;
const INTEGRITY_ATTR_LENGTH = 24; // 4 header + 20 HMAC-SHA1
const FINGERPRINT_ATTR_LENGTH = 8; // 4 header + 4 CRC

export const StunClass = { Request: 0, Indication: 1, SuccessResponse: 2, ErrorResponse: 3 } as const;
export type StunClass = (typeof StunClass)[keyof typeof StunClass];

export const StunMethod = {
  Binding: 0x001,
  Allocate: 0x003,
  Refresh: 0x004,
  Send: 0x006,
  Data: 0x007,
  CreatePermission: 0x008,
  ChannelBind: 0x009,
} as const;

export const Attr = {
  MappedAddress: 0x0001,
  Username: 0x0006,
  MessageIntegrity: 0x0008,
  ErrorCode: 0x0009,
  UnknownAttributes: 0x000a,
  ChannelNumber: 0x000c,
  Lifetime: 0x000d,
  XorPeerAddress: 0x0012,
  Data: 0x0013,
  Realm: 0x0014,
  Nonce: 0x0015,
  XorRelayedAddress: 0x0016,
  RequestedAddressFamily: 0x0017,
  EvenPort: 0x0018,
  RequestedTransport: 0x0019,
  DontFragment: 0x001a,
  MessageIntegritySha256: 0x001c,
  PasswordAlgorithm: 0x001d,
  Userhash: 0x001e,
  XorMappedAddress: 0x0020,
  ReservationToken: 0x0022,
  Priority: 0x0024,
  UseCandidate: 0x0025,
  Software: 0x8022,
  AlternateServer: 0x8023,
  Fingerprint: 0x8028,
  IceControlled: 0x8029,
  IceControlling: 0x802a,
} as const;

/** Attribute types below 0x8000 must be understood by the receiver (RFC 5389 §15). */
export function isComprehensionRequired(type: number): boolean {
  return type < 0x8000;
}

export interface StunAttribute {
  type: number;
  value: Buffer;
}

export interface StunMessage {
  method: number;
  cls: StunClass;
  /** 12 bytes. */
  transactionId: Buffer;
  /** In wire order; MESSAGE-INTEGRITY and FINGERPRINT are not listed here (see DecodedStun offsets). */
  attributes: StunAttribute[];
}

export interface DecodedStun extends StunMessage {
  /** The exact bytes the message was decoded from. */
  raw: Buffer;
  /** Offset in `raw` of the MESSAGE-INTEGRITY attribute header, or -1. */
  integrityOffset: number;
  /** Offset in `raw` of the FINGERPRINT attribute header, or -1. */
  fingerprintOffset: number;
}

export class StunDecodeError extends Error {
  override readonly name = 'StunDecodeError';
}

export interface TransportAddress {
  address: string;
  port: number;
}

// ---------------------------------------------------------------------------------------------------
// Demultiplexing and message type
// ---------------------------------------------------------------------------------------------------

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

/** Interleaves the 12-bit method and the 2-bit class into the 14-bit message type. */
export function encodeMessageType(method: number, cls: StunClass): number {
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | ((cls & 1) << 4) | ((cls & 2) << 7);
}

export function decodeMessageType(type: number): { method: number; cls: StunClass } {
  const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  const cls = (((type >> 4) & 1) | ((type >> 7) & 2)) as StunClass;
  return { method, cls };
}

// ---------------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------------

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * Decodes one complete STUN message (`buf` must hold exactly the message: 20 + length bytes).
 * Attributes after MESSAGE-INTEGRITY other than FINGERPRINT are ignored (RFC 5389 §15.4); anything
 * after FINGERPRINT is an error. Throws StunDecodeError on any structural problem.
 */
export function decodeStun(buf: Buffer): DecodedStun {
  if (buf.length < HEADER_LENGTH) throw new StunDecodeError('truncated header');
  const type = buf.readUInt16BE(0);
  if (type & 0xc000) throw new StunDecodeError('first two bits not zero');
  const length = buf.readUInt16BE(2);
  if (buf.readUInt32BE(4) !== MAGIC_COOKIE) throw new StunDecodeError('bad magic cookie');
  if (length % 4 !== 0) throw new StunDecodeError('length not a multiple of 4');
  if (HEADER_LENGTH + length !== buf.length) throw new StunDecodeError('length does not match message size');

  const { method, cls } = decodeMessageType(type);
  const attributes: StunAttribute[] = [];
  let integrityOffset = -1;
  let fingerprintOffset = -1;
  let off = HEADER_LENGTH;
  while (off < buf.length) {
    if (fingerprintOffset >= 0) throw new StunDecodeError('attribute after FINGERPRINT');
    if (off + 4 > buf.length) throw new StunDecodeError('truncated attribute header');
    const attrType = buf.readUInt16BE(off);
    const attrLen = buf.readUInt16BE(off + 2);
    const next = off + 4 + pad4(attrLen);
    if (next > buf.length) throw new StunDecodeError('attribute overflows message');
    if (attrType === Attr.Fingerprint) {
      if (attrLen !== 4) throw new StunDecodeError('bad FINGERPRINT length');
      fingerprintOffset = off;
    } else if (integrityOffset >= 0) {
      // ignored: follows MESSAGE-INTEGRITY
    } else if (attrType === Attr.MessageIntegrity) {
      if (attrLen !== 20) throw new StunDecodeError('bad MESSAGE-INTEGRITY length');
      integrityOffset = off;
    } else {
      attributes.push({ type: attrType, value: buf.subarray(off + 4, off + 4 + attrLen) });
    }
    off = next;
  }
  return {
    method,
    cls,
    transactionId: buf.subarray(8, 20),
    attributes,
    raw: buf,
    integrityOffset,
    fingerprintOffset,
  };
}

/** First attribute of `type`, if any. */
export function getAttr(msg: StunMessage, type: number): Buffer | undefined {
  for (const a of msg.attributes) if (a.type === type) return a.value;
  return undefined;
}

/** All attributes of `type`, in order. */
export function getAttrs(msg: StunMessage, type: number): Buffer[] {
  return msg.attributes.filter((a) => a.type === type).map((a) => a.value);
}

// ---------------------------------------------------------------------------------------------------
// Integrity and fingerprint
// ---------------------------------------------------------------------------------------------------

/** HMAC-SHA1 over `raw[0, end)` with the header length field replaced by `lengthField`. */
function hmacWithLength(raw: Buffer, end: number, lengthField: number, key: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(lengthField, 0);
  return createHmac('sha1', key).update(raw.subarray(0, 2)).update(len).update(raw.subarray(4, end)).digest();
}

/** Checks MESSAGE-INTEGRITY with `key`; false when absent or wrong. */
export function verifyIntegrity(msg: DecodedStun, key: Buffer): boolean {
  const off = msg.integrityOffset;
  if (off < 0) return false;
  const expected = hmacWithLength(msg.raw, off, off + INTEGRITY_ATTR_LENGTH - HEADER_LENGTH, key);
  return timingSafeEqual(expected, msg.raw.subarray(off + 4, off + INTEGRITY_ATTR_LENGTH));
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO-HDLC, as used by zlib) of `data`. */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Checks FINGERPRINT; false when absent or wrong. FINGERPRINT is always last, so no length patching. */
export function verifyFingerprint(msg: DecodedStun): boolean {
  const off = msg.fingerprintOffset;
  if (off < 0) return false;
  const expected = (crc32(msg.raw.subarray(0, off)) ^ FINGERPRINT_XOR) >>> 0;
  return msg.raw.readUInt32BE(off + 4) === expected;
}

// ---------------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------------

export interface EncodeOptions {
  /** Appends MESSAGE-INTEGRITY computed with this HMAC-SHA1 key. */
  integrityKey?: Buffer;
  /** Appends FINGERPRINT (after MESSAGE-INTEGRITY). */
  fingerprint?: boolean;
}

/** Encodes `msg`; MESSAGE-INTEGRITY / FINGERPRINT are added per `opts`, never taken from `attributes`. */
export function encodeStun(msg: StunMessage, opts: EncodeOptions = {}): Buffer {
  if (msg.transactionId.length !== 12) throw new RangeError('transaction id must be 12 bytes');
  let attrsLen = 0;
  for (const a of msg.attributes) {
    if (a.value.length > 0xffff) throw new RangeError(`attribute 0x${a.type.toString(16)} too long`);
    attrsLen += 4 + pad4(a.value.length);
  }
  const miLen = opts.integrityKey ? INTEGRITY_ATTR_LENGTH : 0;
  const fpLen = opts.fingerprint ? FINGERPRINT_ATTR_LENGTH : 0;
  const total = HEADER_LENGTH + attrsLen + miLen + fpLen;
  if (total - HEADER_LENGTH > 0xffff) throw new RangeError('STUN message too long');

  const buf = Buffer.alloc(total); // zero padding
  buf.writeUInt16BE(encodeMessageType(msg.method, msg.cls), 0);
  buf.writeUInt16BE(total - HEADER_LENGTH, 2);
  buf.writeUInt32BE(MAGIC_COOKIE, 4);
  msg.transactionId.copy(buf, 8);
  let off = HEADER_LENGTH;
  for (const a of msg.attributes) {
    buf.writeUInt16BE(a.type, off);
    buf.writeUInt16BE(a.value.length, off + 2);
    a.value.copy(buf, off + 4);
    off += 4 + pad4(a.value.length);
  }
  if (opts.integrityKey) {
    const mac = hmacWithLength(buf, off, off + INTEGRITY_ATTR_LENGTH - HEADER_LENGTH, opts.integrityKey);
    buf.writeUInt16BE(Attr.MessageIntegrity, off);
    buf.writeUInt16BE(20, off + 2);
    mac.copy(buf, off + 4);
    off += INTEGRITY_ATTR_LENGTH;
  }
  if (opts.fingerprint) {
    buf.writeUInt16BE(Attr.Fingerprint, off);
    buf.writeUInt16BE(4, off + 2);
    buf.writeUInt32BE((crc32(buf.subarray(0, off)) ^ FINGERPRINT_XOR) >>> 0, off + 4);
  }
  return buf;
}

// ---------------------------------------------------------------------------------------------------
// Attribute values
// ---------------------------------------------------------------------------------------------------

export function encodeU32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

export function decodeU32(value: Buffer): number {
  if (value.length !== 4) throw new StunDecodeError('expected a 4-byte value');
  return value.readUInt32BE(0);
}

/** REQUESTED-TRANSPORT: protocol number + 3 RFFU bytes. */
export function encodeRequestedTransport(protocol: number): Buffer {
  return Buffer.from([protocol, 0, 0, 0]);
}

export function decodeRequestedTransport(value: Buffer): number {
  if (value.length !== 4) throw new StunDecodeError('bad REQUESTED-TRANSPORT length');
  return value[0]!;
}

/** CHANNEL-NUMBER: 16-bit number + 2 RFFU bytes. */
export function encodeChannelNumber(channel: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(channel, 0);
  return b;
}

export function decodeChannelNumber(value: Buffer): number {
  if (value.length !== 4) throw new StunDecodeError('bad CHANNEL-NUMBER length');
  return value.readUInt16BE(0);
}

/** ERROR-CODE: class (hundreds) and number, then a UTF-8 reason phrase. */
export function encodeErrorCode(code: number, reason: string): Buffer {
  const text = Buffer.from(reason, 'utf8');
  const b = Buffer.alloc(4 + text.length);
  b[2] = Math.floor(code / 100) & 0x07;
  b[3] = code % 100;
  text.copy(b, 4);
  return b;
}

export function decodeErrorCode(value: Buffer): { code: number; reason: string } {
  if (value.length < 4) throw new StunDecodeError('bad ERROR-CODE length');
  return { code: (value[2]! & 0x07) * 100 + value[3]!, reason: value.subarray(4).toString('utf8') };
}

export function encodeUnknownAttributes(types: number[]): Buffer {
  const b = Buffer.alloc(types.length * 2);
  types.forEach((t, i) => b.writeUInt16BE(t, i * 2));
  return b;
}

export function decodeUnknownAttributes(value: Buffer): number[] {
  if (value.length % 2 !== 0) throw new StunDecodeError('bad UNKNOWN-ATTRIBUTES length');
  const out: number[] = [];
  for (let i = 0; i < value.length; i += 2) out.push(value.readUInt16BE(i));
  return out;
}

/** Parses an IPv4 or IPv6 literal to its 4 or 16 bytes; throws RangeError otherwise. */
export function ipToBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map((p) => Number(p)));
  if (!isIPv6(ip)) throw new RangeError(`not an IP address: ${ip}`);
  let text = ip.split('%')[0]!;
  const out = Buffer.alloc(16);
  let tailV4: Buffer | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    tailV4 = ipToBytes(text.slice(lastColon + 1));
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? headGroups
      : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  if (tailV4) tailV4.copy(out, 12);
  return out;
}

/** Formats 4 or 16 address bytes as an IPv4 dotted quad or a compressed IPv6 literal. */
export function bytesToIp(bytes: Buffer): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  // Longest run (>= 2) of zero groups becomes "::".
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** XOR-MAPPED-ADDRESS / XOR-PEER-ADDRESS / XOR-RELAYED-ADDRESS value. */
export function encodeXorAddress(addr: TransportAddress, transactionId: Buffer): Buffer {
  const ip = ipToBytes(addr.address);
  const b = Buffer.alloc(4 + ip.length);
  b[1] = ip.length === 4 ? 0x01 : 0x02;
  b.writeUInt16BE((addr.port ^ (MAGIC_COOKIE >>> 16)) & 0xffff, 2);
  const mask = Buffer.alloc(16);
  mask.writeUInt32BE(MAGIC_COOKIE, 0);
  transactionId.copy(mask, 4);
  for (let i = 0; i < ip.length; i++) b[4 + i] = ip[i]! ^ mask[i]!;
  return b;
}

export function decodeXorAddress(value: Buffer, transactionId: Buffer): TransportAddress & { family: 4 | 6 } {
  if (value.length < 4) throw new StunDecodeError('bad address length');
  const family = value[1];
  const size = family === 0x01 ? 4 : family === 0x02 ? 16 : 0;
  if (size === 0) throw new StunDecodeError('unknown address family');
  if (value.length !== 4 + size) throw new StunDecodeError('bad address length');
  const mask = Buffer.alloc(16);
  mask.writeUInt32BE(MAGIC_COOKIE, 0);
  transactionId.copy(mask, 4);
  const ip = Buffer.alloc(size);
  for (let i = 0; i < size; i++) ip[i] = value[4 + i]! ^ mask[i]!;
  return {
    family: size === 4 ? 4 : 6,
    address: bytesToIp(ip),
    port: (value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16)) & 0xffff,
  };
}

// ---------------------------------------------------------------------------------------------------
// ChannelData
// ---------------------------------------------------------------------------------------------------

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
