// STUN/TURN attribute value codecs (RFC 5389 §15, RFC 5766 §14): 32-bit values (LIFETIME),
// REQUESTED-TRANSPORT, CHANNEL-NUMBER, ERROR-CODE, UNKNOWN-ATTRIBUTES and the XOR-obfuscated addresses
// (XOR-MAPPED-, XOR-PEER-, XOR-RELAYED-ADDRESS), with the IP literal <-> bytes conversion they need.
// What it must not do: know about message headers, integrity or fingerprints (stun-message.ts), hold
// state, or accept a malformed value: decoders throw StunDecodeError.
import { isIPv4, isIPv6 } from 'node:net';
import { MAGIC_COOKIE, StunDecodeError, type TransportAddress } from './stun-protocol.js';

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
