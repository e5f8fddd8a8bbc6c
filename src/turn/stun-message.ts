// STUN message codec (RFC 5389): message header (type = method + class, length, magic cookie,
// transaction id), the attribute TLV list, MESSAGE-INTEGRITY (HMAC-SHA1 over the message with the length
// field adjusted) and FINGERPRINT (CRC-32 xor 0x5354554e). Also the public entry of the whole STUN/TURN
// wire codec: it re-exports the protocol vocabulary, attribute value codecs and ChannelData framing, so
// code outside src/turn imports every codec name from here.
// What it must not do: hold state, do I/O, know about allocations or credentials policy (it takes a
// ready-made HMAC key), or accept a structurally invalid message: decodeStun throws StunDecodeError
// for anything malformed and never returns a half-parsed message.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Attr, HEADER_LENGTH, MAGIC_COOKIE, StunDecodeError, pad4, type StunClass } from './stun-protocol.js';

export * from './stun-protocol.js';
export * from './stun-attributes.js';
export * from './channel-data.js';

const FINGERPRINT_XOR = 0x5354554e;
const INTEGRITY_ATTR_LENGTH = 24; // 4 header + 20 HMAC-SHA1
const FINGERPRINT_ATTR_LENGTH = 8; // 4 header + 4 CRC

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

// ---------------------------------------------------------------------------------------------------
// Message type
// ---------------------------------------------------------------------------------------------------

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
