// fast-check arbitraries of what a TURN client may send over UDP, for the native TURN framing tests
// (turn-framing.test.ts): valid ChannelData (padding after it) and Send indications (IPv4 and IPv6 peers,
// other attributes around them, MESSAGE-INTEGRITY, FINGERPRINT), other STUN messages, and each of those
// broken — truncated, lying length fields, bad cookie, attribute lengths past the end, bad address families
// and lengths, unknown comprehension-required attributes, bad FINGERPRINTs — plus plain random bytes.
// What it must not do: decide what the framing of a datagram is (the tests compare the two decoders).
import fc from 'fast-check';
import { crc32, encodeStun, type StunAttribute } from '../../src/turn/stun-message.js';
import { Attr, MAGIC_COOKIE, StunClass, StunMethod } from '../../src/turn/stun-protocol.js';

const bytes = (max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));

/** ChannelData with any channel of the range, up to 3 bytes after the announced length (padding). */
export const channelData: fc.Arbitrary<Buffer> = fc
  .tuple(fc.integer({ min: 0x4000, max: 0x7fff }), bytes(300), bytes(3))
  .map(([channel, data, padding]) => {
    const b = Buffer.alloc(4 + data.length + padding.length);
    b.writeUInt16BE(channel, 0);
    b.writeUInt16BE(data.length, 2);
    data.copy(b, 4);
    padding.copy(b, 4 + data.length);
    return b;
  });

/** An XOR-PEER-ADDRESS value: mostly a well-formed IPv4 or IPv6 one, sometimes a bad family or length. */
const peerValue: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.oneof({ weight: 4, arbitrary: fc.constant(1) }, { weight: 4, arbitrary: fc.constant(2) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
    fc.integer({ min: 0, max: 0xffff }),
    fc.oneof({ weight: 8, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 20 }) }),
    fc.uint8Array({ minLength: 20, maxLength: 20 }),
    fc.integer({ min: 0, max: 255 }),
  )
  .map(([family, port, size, addr, reserved]) => {
    const n = size >= 0 ? size : family === 2 ? 16 : 4;
    const v = Buffer.alloc(4 + n);
    v[0] = reserved;
    v[1] = family;
    v.writeUInt16BE(port, 2);
    Buffer.from(addr).copy(v, 4, 0, n);
    return v;
  });

/** Attributes that may sit around XOR-PEER-ADDRESS and DATA: understood, optional, unknown comprehension-required ones. */
const otherAttribute: fc.Arbitrary<StunAttribute> = fc
  .tuple(
    fc.constantFrom(Attr.Software, 0x8055, Attr.Username, Attr.Lifetime, Attr.DontFragment, Attr.EvenPort, 0x0030, 0x7fff, Attr.XorPeerAddress, Attr.Data),
    bytes(24),
  )
  .map(([type, value]) => ({ type, value }));

const tid = fc.uint8Array({ minLength: 12, maxLength: 12 }).map((a) => Buffer.from(a));

/** A STUN message with these attributes, with MESSAGE-INTEGRITY and/or FINGERPRINT. */
function stun(method: number, cls: number, attrs: fc.Arbitrary<StunAttribute[]>): fc.Arbitrary<Buffer> {
  return fc
    .record({ tid, attributes: attrs, integrity: fc.boolean(), fingerprint: fc.boolean(), after: fc.array(otherAttribute, { maxLength: 2 }) })
    .map(({ tid, attributes, integrity, fingerprint, after }) => {
      const msg = encodeStun(
        { method, cls: cls as StunClass, transactionId: tid, attributes },
        { integrityKey: integrity ? Buffer.from('key') : undefined, fingerprint },
      );
      if (!integrity || after.length === 0) return msg;
      // Attributes after MESSAGE-INTEGRITY (ignored by the decoder), then FINGERPRINT again if there was one.
      const extra = encodeStun({ method, cls: cls as StunClass, transactionId: tid, attributes: after }).subarray(20);
      const body = fingerprint ? msg.subarray(0, msg.length - 8) : msg;
      const out = Buffer.concat([body, extra, fingerprint ? Buffer.alloc(8) : Buffer.alloc(0)]);
      out.writeUInt16BE(out.length - 20, 2);
      if (fingerprint) refingerprint(out);
      return out;
    });
}

/** A Send indication: XOR-PEER-ADDRESS and DATA (either may be missing), other attributes around them, in any order. */
export const sendIndication: fc.Arbitrary<Buffer> = stun(
  StunMethod.Send,
  StunClass.Indication,
  fc
    .tuple(
      fc.option(peerValue, { freq: 8 }),
      fc.option(bytes(300), { freq: 8 }),
      fc.array(otherAttribute, { maxLength: 3 }),
      fc.nat(),
    )
    .map(([peer, data, others, order]) => {
      const attrs: StunAttribute[] = [...others];
      if (peer !== null) attrs.splice(order % (attrs.length + 1), 0, { type: Attr.XorPeerAddress, value: peer });
      if (data !== null) attrs.splice((order >> 4) % (attrs.length + 1), 0, { type: Attr.Data, value: data });
      return attrs;
    }),
);

/** STUN that is not a Send indication: requests, responses, other indications (Binding, Data). */
export const otherStun: fc.Arbitrary<Buffer> = fc
  .tuple(fc.constantFrom(StunMethod.Binding, StunMethod.Allocate, StunMethod.Send, StunMethod.Data, StunMethod.ChannelBind, 0xabc), fc.constantFrom(0, 1, 2, 3))
  .filter(([m, c]) => !(m === StunMethod.Send && c === StunClass.Indication))
  .chain(([m, c]) => stun(m, c, fc.array(otherAttribute, { maxLength: 3 })));

/** Recomputes a trailing FINGERPRINT (so that a mutated message still gets past that check). */
export function refingerprint(b: Buffer): void {
  if (b.length < 28 || b.readUInt16BE(b.length - 8) !== Attr.Fingerprint || b.readUInt16BE(b.length - 6) !== 4) return;
  b.writeUInt32BE((crc32(b.subarray(0, b.length - 8)) ^ 0x5354554e) >>> 0, b.length - 4);
}

/** Offsets of the attribute headers of a well-formed STUN message. */
function attributeOffsets(b: Buffer): number[] {
  const out: number[] = [];
  for (let off = 20; off + 4 <= b.length; off += 4 + ((b.readUInt16BE(off + 2) + 3) & ~3)) out.push(off);
  return out;
}

type Mutation = (b: Buffer, pick: number, value: number) => Buffer;

const MUTATIONS: Mutation[] = [
  (b, pick) => b.subarray(0, pick % (b.length + 1)), // truncated
  (b, pick, value) => (b.length >= 4 ? (b.writeUInt16BE(value, 2), b) : b), // a lying length field (ChannelData or STUN)
  (b, pick, value) => (b.length >= 8 ? (b.writeUInt32BE((MAGIC_COOKIE ^ (value | 1)) >>> 0, 4), b) : b), // bad cookie
  (b, pick, value) => {
    const attrs = attributeOffsets(b);
    if (attrs.length > 0) b.writeUInt16BE(value, attrs[pick % attrs.length]! + 2); // an attribute length past the end (or short)
    return b;
  },
  (b, pick, value) => {
    const attrs = attributeOffsets(b);
    if (attrs.length > 0) b.writeUInt16BE(value, attrs[pick % attrs.length]!); // another attribute type
    return b;
  },
  (b, pick, value) => (b.length > 0 ? ((b[pick % b.length] = value & 0xff), b) : b), // any byte
  (b, pick, value) => Buffer.concat([b, Buffer.alloc(1 + (pick % 8), value)]), // bytes after the message
  (b, pick, value) => (b.length > 0 ? ((b[0] = value & 0xff), b) : b), // first byte: another kind, or none
];

/** One of the valid datagrams above, mutated once or twice; with `fix`, a trailing FINGERPRINT is made right again. */
export const mutated: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.oneof(channelData, sendIndication, otherStun),
    fc.array(fc.tuple(fc.nat(MUTATIONS.length - 1), fc.nat(), fc.integer({ min: 0, max: 0xffff })), { minLength: 1, maxLength: 2 }),
    fc.boolean(),
  )
  .map(([valid, steps, fix]) => {
    let b = Buffer.from(valid);
    for (const [m, pick, value] of steps) b = Buffer.from(MUTATIONS[m]!(b, pick, value));
    if (fix) refingerprint(b);
    return b;
  });

/** Anything: random bytes, sometimes with a STUN-looking or ChannelData-looking first byte. */
export const randomDatagram: fc.Arbitrary<Buffer> = fc
  .tuple(bytes(80), fc.constantFrom(-1, 0, 1, 3, 0x40, 0x7f, 0x80, 22))
  .map(([b, first]) => {
    if (first >= 0 && b.length > 0) b[0] = first;
    return b;
  });

/** Every kind, weighted to the interesting ones. */
export const turnDatagram: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 2, arbitrary: channelData },
  { weight: 3, arbitrary: sendIndication },
  { weight: 1, arbitrary: otherStun },
  { weight: 5, arbitrary: mutated },
  { weight: 1, arbitrary: randomDatagram },
);
