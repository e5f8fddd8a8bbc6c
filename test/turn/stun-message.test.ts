import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import {
  crc32,
  decodeMessageType,
  decodeStun,
  encodeMessageType,
  encodeStun,
  getAttr,
  getAttrs,
  verifyFingerprint,
  verifyIntegrity,
} from '../../src/turn/stun-message.js';
import { Attr, MAGIC_COOKIE, StunClass, StunDecodeError, StunMethod } from '../../src/turn/stun-protocol.js';
import {
  bytesToIp,
  decodeErrorCode,
  decodeU32,
  decodeUnknownAttributes,
  decodeXorAddress,
  encodeErrorCode,
  encodeU32,
  encodeUnknownAttributes,
  encodeXorAddress,
  ipToBytes,
} from '../../src/turn/stun-attributes.js';
import { classifyPacket, decodeChannelData, encodeChannelData } from '../../src/turn/channel-data.js';
import { StreamFramer, StreamFramingError, frameLength } from '../../src/turn/stream-framer.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// RFC 5769 §2.1 sample request (short-term credential, password "VOkJxbRl1RmTxUk/WvJxBt").
const RFC5769_REQUEST = hex(`
  00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
  00 24 00 04 6e 00 01 ff
  80 29 00 08 93 2f f9 b1 51 26 3b 36
  00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
  00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
  80 28 00 04 e5 7a 3b cf`);

// RFC 5769 §2.2 sample IPv4 response (mapped address 192.0.2.1:32853).
const RFC5769_IPV4_RESPONSE = hex(`
  01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 08 00 01 a1 47 e1 12 a6 43
  00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
  80 28 00 04 c0 7d 4c 96`);

// RFC 5769 §2.3 sample IPv6 response (mapped address 2001:db8:1234:5678:11:2233:4455:6677 port 32853).
const RFC5769_IPV6_RESPONSE = hex(`
  01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
  00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
  80 28 00 04 c8 fb 0b 4c`);

// RFC 5769 §2.4 sample request with long-term authentication.
const RFC5769_LONG_TERM = hex(`
  00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
  00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
  00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
  00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
  00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66`);

const SHORT_TERM_KEY = Buffer.from('VOkJxbRl1RmTxUk/WvJxBt', 'utf8');

/** Independent MESSAGE-INTEGRITY: HMAC-SHA1 over a copy of the bytes before MI, length patched to end at MI. */
function independentIntegrity(raw: Buffer, miOffset: number, key: Buffer): Buffer {
  const copy = Buffer.from(raw.subarray(0, miOffset));
  copy.writeUInt16BE(miOffset + 24 - 20, 2);
  return createHmac('sha1', key).update(copy).digest();
}

/** Independent FINGERPRINT: zlib's CRC-32 over the bytes before FINGERPRINT, xor 0x5354554e. */
function independentFingerprint(raw: Buffer, fpOffset: number): number {
  return (zlibCrc32(raw.subarray(0, fpOffset)) ^ 0x5354554e) >>> 0;
}

describe('STUN message type', () => {
  it('interleaves method and class bits per RFC 5389 §6', () => {
    assert.equal(encodeMessageType(StunMethod.Binding, StunClass.Request), 0x0001);
    assert.equal(encodeMessageType(StunMethod.Binding, StunClass.SuccessResponse), 0x0101);
    assert.equal(encodeMessageType(StunMethod.Binding, StunClass.ErrorResponse), 0x0111);
    assert.equal(encodeMessageType(StunMethod.Allocate, StunClass.Request), 0x0003);
    assert.equal(encodeMessageType(StunMethod.Allocate, StunClass.ErrorResponse), 0x0113);
    assert.equal(encodeMessageType(StunMethod.Send, StunClass.Indication), 0x0016);
    assert.equal(encodeMessageType(StunMethod.Data, StunClass.Indication), 0x0017);
    assert.equal(encodeMessageType(StunMethod.ChannelBind, StunClass.SuccessResponse), 0x0109);
    for (const method of [0x001, 0x003, 0x009, 0x0ab, 0xfff]) {
      for (const cls of [0, 1, 2, 3] as const) {
        assert.deepEqual(decodeMessageType(encodeMessageType(method, cls)), { method, cls });
      }
    }
  });

  it('classifies packets by first byte per RFC 7983 (STUN 0-3, ChannelData 64-127, DTLS/RTP unknown)', () => {
    assert.equal(classifyPacket(0x00), 'stun');
    assert.equal(classifyPacket(0x01), 'stun');
    assert.equal(classifyPacket(0x03), 'stun');
    assert.equal(classifyPacket(0x04), 'unknown');
    assert.equal(classifyPacket(0x16), 'unknown'); // DTLS handshake record
    assert.equal(classifyPacket(0x3f), 'unknown');
    assert.equal(classifyPacket(0x40), 'channel-data');
    assert.equal(classifyPacket(0x7f), 'channel-data');
    assert.equal(classifyPacket(0x80), 'unknown'); // RTP
    assert.equal(classifyPacket(0xff), 'unknown');
    assert.equal(classifyPacket(undefined), 'unknown');
    // Every STUN method in use encodes to a first byte of 0-3.
    for (const m of Object.values(StunMethod)) for (const c of [0, 1, 2, 3] as const) assert.ok(encodeMessageType(m, c) >> 8 <= 3);
  });
});

describe('RFC 5769 test vectors', () => {
  it('decodes the sample request and verifies its MESSAGE-INTEGRITY and FINGERPRINT', () => {
    const msg = decodeStun(RFC5769_REQUEST);
    assert.equal(msg.method, StunMethod.Binding);
    assert.equal(msg.cls, StunClass.Request);
    assert.equal(msg.transactionId.toString('hex'), 'b7e7a701bc34d686fa87dfae');
    assert.equal(getAttr(msg, Attr.Software)!.toString(), 'STUN test client');
    assert.equal(getAttr(msg, Attr.Username)!.toString(), 'evtj:h6vY'); // padding bytes are 0x20, ignored
    assert.equal(decodeU32(getAttr(msg, Attr.Priority)!), 0x6e0001ff);
    assert.equal(getAttr(msg, Attr.IceControlled)!.toString('hex'), '932ff9b151263b36');
    assert.deepEqual(msg.attributes.map((a) => a.type), [Attr.Software, Attr.Priority, Attr.IceControlled, Attr.Username]);
    assert.equal(msg.integrityOffset, 108 - 8 - 24);
    assert.equal(msg.fingerprintOffset, 108 - 8);
    assert.equal(verifyIntegrity(msg, SHORT_TERM_KEY), true);
    assert.equal(verifyIntegrity(msg, Buffer.from('wrong')), false);
    assert.equal(verifyFingerprint(msg), true);
  });

  it('decodes the IPv4 and IPv6 sample responses (XOR-MAPPED-ADDRESS) and verifies them', () => {
    const v4 = decodeStun(RFC5769_IPV4_RESPONSE);
    assert.equal(v4.cls, StunClass.SuccessResponse);
    assert.deepEqual(decodeXorAddress(getAttr(v4, Attr.XorMappedAddress)!, v4.transactionId), {
      family: 4,
      address: '192.0.2.1',
      port: 32853,
    });
    assert.equal(getAttr(v4, Attr.Software)!.toString(), 'test vector');
    assert.equal(verifyIntegrity(v4, SHORT_TERM_KEY), true);
    assert.equal(verifyFingerprint(v4), true);

    const v6 = decodeStun(RFC5769_IPV6_RESPONSE);
    assert.deepEqual(decodeXorAddress(getAttr(v6, Attr.XorMappedAddress)!, v6.transactionId), {
      family: 6,
      address: '2001:db8:1234:5678:11:2233:4455:6677',
      port: 32853,
    });
    assert.equal(verifyIntegrity(v6, SHORT_TERM_KEY), true);
    assert.equal(verifyFingerprint(v6), true);
  });

  it('re-encodes the IPv4 sample response byte for byte', () => {
    const tid = hex('b7e7a701bc34d686fa87dfae');
    const encoded = encodeStun(
      {
        method: StunMethod.Binding,
        cls: StunClass.SuccessResponse,
        transactionId: tid,
        attributes: [
          // The vector pads SOFTWARE with 0x20; ours pads with zeros, so compare after patching that byte.
          { type: Attr.Software, value: Buffer.from('test vector') },
          { type: Attr.XorMappedAddress, value: encodeXorAddress({ address: '192.0.2.1', port: 32853 }, tid) },
        ],
      },
      { integrityKey: SHORT_TERM_KEY, fingerprint: true },
    );
    const expectedLayout = Buffer.from(RFC5769_IPV4_RESPONSE);
    expectedLayout[35] = 0x00;
    // MI and FINGERPRINT differ because the padding byte differs; check our own values independently.
    assert.equal(encoded.length, RFC5769_IPV4_RESPONSE.length);
    assert.deepEqual(encoded.subarray(0, 48), expectedLayout.subarray(0, 48));
    assert.deepEqual(encoded.subarray(48, 52), hex('00080014'));
    assert.deepEqual(encoded.subarray(52, 72), independentIntegrity(encoded, 48, SHORT_TERM_KEY));
    assert.deepEqual(encoded.subarray(72, 76), hex('80280004'));
    assert.equal(encoded.readUInt32BE(76), independentFingerprint(encoded, 72));
    // Sanity check of the independent helper itself: it reproduces the vector's MI.
    const patched = Buffer.from(RFC5769_IPV4_RESPONSE.subarray(0, 48));
    const mac = independentIntegrity(Buffer.concat([patched, Buffer.alloc(24)]), 48, SHORT_TERM_KEY);
    assert.deepEqual(mac, RFC5769_IPV4_RESPONSE.subarray(52, 72));
  });

  it('verifies the long-term-credential sample with key MD5(username:realm:SASLprep(password))', () => {
    const msg = decodeStun(RFC5769_LONG_TERM);
    const username = getAttr(msg, Attr.Username)!.toString('utf8');
    assert.equal(username, '\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9');
    assert.equal(getAttr(msg, Attr.Nonce)!.toString(), 'f//499k954d6OL34oL9FSTvy64sA');
    assert.equal(getAttr(msg, Attr.Realm)!.toString(), 'example.org');
    const key = createHash('md5').update(`${username}:example.org:TheMatrIX`, 'utf8').digest();
    assert.equal(msg.fingerprintOffset, -1);
    assert.equal(verifyIntegrity(msg, key), true);
    assert.equal(verifyFingerprint(msg), false);
  });
});

describe('STUN encode/decode round trips', () => {
  const tid = Buffer.from('0102030405060708090a0b0c', 'hex');

  it('round-trips attributes with odd lengths, zero padding, MESSAGE-INTEGRITY and FINGERPRINT', () => {
    const key = createHash('md5').update('1700000000:peer-1:turn.stun.localhost:secretpass').digest();
    const attributes = [
      { type: Attr.Username, value: Buffer.from('1700000000:peer-1') }, // 17 bytes → 3 padding
      { type: Attr.Realm, value: Buffer.from('turn.stun.localhost') },
      { type: Attr.Nonce, value: Buffer.from('abc') },
      { type: Attr.Lifetime, value: encodeU32(600) },
      { type: Attr.Data, value: Buffer.alloc(0) },
      { type: 0x7fff, value: Buffer.from([1, 2, 3, 4, 5]) },
    ];
    const buf = encodeStun({ method: StunMethod.Allocate, cls: StunClass.Request, transactionId: tid, attributes }, { integrityKey: key, fingerprint: true });
    assert.equal(buf.readUInt16BE(2), buf.length - 20);
    assert.equal(buf.readUInt32BE(4), MAGIC_COOKIE);
    assert.equal(buf.length % 4, 0);
    // Padding after USERNAME (20 + 4 + 17 .. 20 + 4 + 20) is zero.
    assert.deepEqual(buf.subarray(41, 44), Buffer.alloc(3));

    const msg = decodeStun(buf);
    assert.equal(msg.method, StunMethod.Allocate);
    assert.equal(msg.cls, StunClass.Request);
    assert.deepEqual(msg.transactionId, tid);
    assert.deepEqual(
      msg.attributes.map((a) => [a.type, a.value.toString('hex')]),
      attributes.map((a) => [a.type, a.value.toString('hex')]),
    );
    assert.equal(msg.integrityOffset, buf.length - 8 - 24);
    assert.equal(msg.fingerprintOffset, buf.length - 8);
    // Our verification agrees with independent computations…
    assert.deepEqual(buf.subarray(msg.integrityOffset + 4, msg.integrityOffset + 24), independentIntegrity(buf, msg.integrityOffset, key));
    assert.equal(buf.readUInt32BE(msg.fingerprintOffset + 4), independentFingerprint(buf, msg.fingerprintOffset));
    assert.equal(verifyIntegrity(msg, key), true);
    assert.equal(verifyFingerprint(msg), true);
    // …and detects tampering.
    const tampered = Buffer.from(buf);
    tampered[30] ^= 0x01;
    assert.equal(verifyIntegrity(decodeStun(tampered), key), false);
    assert.equal(verifyFingerprint(decodeStun(tampered)), false);
    assert.equal(verifyIntegrity(msg, Buffer.from('other key')), false);
  });

  it('encodes MESSAGE-INTEGRITY without FINGERPRINT, and FINGERPRINT without MESSAGE-INTEGRITY', () => {
    const key = Buffer.from('k');
    const onlyMi = encodeStun({ method: StunMethod.Refresh, cls: StunClass.Request, transactionId: tid, attributes: [] }, { integrityKey: key });
    assert.equal(onlyMi.length, 20 + 24);
    assert.deepEqual(onlyMi.subarray(24), independentIntegrity(onlyMi, 20, key));
    const m1 = decodeStun(onlyMi);
    assert.equal(verifyIntegrity(m1, key), true);
    assert.equal(m1.fingerprintOffset, -1);

    const onlyFp = encodeStun({ method: StunMethod.Binding, cls: StunClass.Request, transactionId: tid, attributes: [] }, { fingerprint: true });
    assert.equal(onlyFp.length, 28);
    assert.equal(onlyFp.readUInt32BE(24), independentFingerprint(onlyFp, 20));
    const m2 = decodeStun(onlyFp);
    assert.equal(verifyFingerprint(m2), true);
    assert.equal(verifyIntegrity(m2, key), false);
  });

  it('ignores attributes after MESSAGE-INTEGRITY except FINGERPRINT', () => {
    const key = Buffer.from('k');
    const base = encodeStun({ method: StunMethod.Binding, cls: StunClass.Request, transactionId: tid, attributes: [{ type: Attr.Username, value: Buffer.from('abcd') }] }, { integrityKey: key });
    const trailing = Buffer.concat([base, hex('80220004 74657374')]);
    trailing.writeUInt16BE(trailing.length - 20, 2);
    const msg = decodeStun(trailing);
    assert.deepEqual(msg.attributes.map((a) => a.type), [Attr.Username]);
    assert.equal(verifyIntegrity(msg, key), true); // MI covers only what precedes it, with its own length
  });

  it('round-trips XOR addresses (IPv4 and IPv6) and other attribute values', () => {
    for (const address of ['127.0.0.1', '0.0.0.0', '255.255.255.255', '10.1.2.3']) {
      for (const port of [0, 1, 3478, 65535]) {
        const v = encodeXorAddress({ address, port }, tid);
        assert.equal(v.length, 8);
        assert.deepEqual(decodeXorAddress(v, tid), { family: 4, address, port });
      }
    }
    for (const address of ['::1', '2001:db8::1', 'fe80::1:2:3:4', '2001:db8:1234:5678:11:2233:4455:6677', '::']) {
      const v = encodeXorAddress({ address, port: 5000 }, tid);
      assert.equal(v.length, 20);
      assert.deepEqual(decodeXorAddress(v, tid), { family: 6, address, port: 5000 });
    }
    // XOR-MAPPED-ADDRESS of 127.0.0.1:5000 computed by hand: port ^ 0x2112, address ^ 0x2112a442.
    assert.deepEqual(encodeXorAddress({ address: '127.0.0.1', port: 5000 }, tid), hex(`0001 ${(5000 ^ 0x2112).toString(16).padStart(4, '0')} 5e12a443`));
    assert.equal(bytesToIp(ipToBytes('::ffff:1.2.3.4')), '::ffff:102:304');
    assert.deepEqual(decodeErrorCode(encodeErrorCode(438, 'Stale Nonce')), { code: 438, reason: 'Stale Nonce' });
    assert.deepEqual(encodeErrorCode(401, 'Unauthorized').subarray(0, 4), hex('00000401'));
    assert.deepEqual(decodeUnknownAttributes(encodeUnknownAttributes([0x7777, 0x0018])), [0x7777, 0x0018]);
    assert.throws(() => decodeXorAddress(hex('0003 0000 00000000'), tid), StunDecodeError);
    assert.throws(() => decodeXorAddress(hex('0001 0000 000000'), tid), StunDecodeError);
    assert.throws(() => decodeU32(hex('000000')), StunDecodeError);
  });

  it('getAttrs returns every occurrence in order', () => {
    const buf = encodeStun({
      method: StunMethod.CreatePermission,
      cls: StunClass.Request,
      transactionId: tid,
      attributes: [
        { type: Attr.XorPeerAddress, value: encodeXorAddress({ address: '1.1.1.1', port: 1 }, tid) },
        { type: Attr.Lifetime, value: encodeU32(1) },
        { type: Attr.XorPeerAddress, value: encodeXorAddress({ address: '2.2.2.2', port: 2 }, tid) },
      ],
    });
    const msg = decodeStun(buf);
    assert.deepEqual(
      getAttrs(msg, Attr.XorPeerAddress).map((v) => decodeXorAddress(v, tid).address),
      ['1.1.1.1', '2.2.2.2'],
    );
  });

  it('our CRC-32 matches zlib', () => {
    for (const s of ['', 'a', '123456789', 'The quick brown fox jumps over the lazy dog']) {
      assert.equal(crc32(Buffer.from(s)), zlibCrc32(Buffer.from(s)));
    }
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  });
});

describe('STUN decoding rejects malformed messages', () => {
  const valid = encodeStun(
    { method: StunMethod.Binding, cls: StunClass.Request, transactionId: Buffer.alloc(12, 7), attributes: [{ type: Attr.Software, value: Buffer.from('x') }] },
    { fingerprint: true },
  );
  const cases: [string, Buffer, RegExp][] = [
    ['empty', Buffer.alloc(0), /truncated header/],
    ['truncated header', valid.subarray(0, 19), /truncated header/],
    ['first two bits set', Buffer.concat([Buffer.from([0xc0 | valid[0]!]), valid.subarray(1)]), /first two bits/],
    ['wrong magic cookie', (() => { const b = Buffer.from(valid); b.writeUInt32BE(0xdeadbeef, 4); return b; })(), /magic cookie/],
    ['length not a multiple of 4', (() => { const b = Buffer.from(valid); b.writeUInt16BE(b.length - 20 - 2, 2); return b; })(), /multiple of 4/],
    ['length longer than packet', (() => { const b = Buffer.from(valid); b.writeUInt16BE(b.length - 20 + 4, 2); return b; })(), /does not match/],
    ['length shorter than packet', (() => { const b = Buffer.from(valid); b.writeUInt16BE(b.length - 20 - 4, 2); return b; })(), /does not match/],
    ['attribute overflows message', (() => { const b = Buffer.from(valid); b.writeUInt16BE(200, 22); return b; })(), /overflows/],
    ['attribute after FINGERPRINT', (() => { const b = Buffer.concat([valid, hex('80220000')]); b.writeUInt16BE(b.length - 20, 2); return b; })(), /after FINGERPRINT/],
    ['bad MESSAGE-INTEGRITY length', (() => { const b = Buffer.concat([valid.subarray(0, 20), hex('00080004 00000000')]); b.writeUInt16BE(8, 2); return b; })(), /MESSAGE-INTEGRITY length/],
  ];
  for (const [name, buf, re] of cases) {
    it(name, () => {
      assert.throws(() => decodeStun(buf), (err: unknown) => err instanceof StunDecodeError && re.test(err.message));
    });
  }
  it('a message with a wrong FINGERPRINT decodes but fails verification', () => {
    const b = Buffer.from(valid);
    b[b.length - 1] ^= 0xff;
    assert.equal(verifyFingerprint(decodeStun(b)), false);
  });
});

describe('ChannelData', () => {
  it('encodes with and without TCP padding and decodes both', () => {
    const data = Buffer.from('hello'); // 5 bytes
    const udp = encodeChannelData(0x4001, data, false);
    assert.deepEqual(udp, hex('4001 0005 68656c6c6f'));
    const tcp = encodeChannelData(0x4001, data, true);
    assert.deepEqual(tcp, hex('4001 0005 68656c6c6f 000000'));
    assert.deepEqual(decodeChannelData(udp), { channel: 0x4001, data });
    assert.deepEqual(decodeChannelData(tcp), { channel: 0x4001, data });
    assert.equal(encodeChannelData(0x7fff, Buffer.alloc(8), true).length, 12);
    assert.deepEqual(decodeChannelData(hex('40000000')), { channel: 0x4000, data: Buffer.alloc(0) });
  });

  it('rejects truncated ChannelData and a length beyond the packet', () => {
    assert.throws(() => decodeChannelData(hex('4001 00')), /truncated/);
    assert.throws(() => decodeChannelData(hex('4001 0008 0102')), /exceeds/);
    assert.throws(() => decodeChannelData(hex('0001 0000')), /not a ChannelData/);
  });
});

describe('TCP stream framing', () => {
  const stun = encodeStun({ method: StunMethod.Binding, cls: StunClass.Request, transactionId: Buffer.alloc(12, 1), attributes: [{ type: Attr.Software, value: Buffer.from('abc') }] });
  const cd = encodeChannelData(0x4002, Buffer.from('xyzzy'), true);

  it('computes frame lengths including ChannelData padding', () => {
    assert.equal(frameLength(stun), stun.length);
    assert.equal(frameLength(cd), 12);
    assert.equal(frameLength(hex('40000004')), 8);
    assert.throws(() => frameLength(hex('ff000000')), StreamFramingError);
    assert.throws(() => frameLength(hex('16fefd00')), StreamFramingError); // DTLS is not TURN framing
    assert.throws(() => frameLength(hex('00010002')), StreamFramingError);
  });

  it('reassembles frames split across chunks and splits frames sharing a chunk', () => {
    const stream = Buffer.concat([stun, cd, stun, cd]);
    for (const chunkSize of [1, 3, 7, 16, stream.length]) {
      const framer = new StreamFramer();
      const frames: Buffer[] = [];
      for (let i = 0; i < stream.length; i += chunkSize) frames.push(...framer.push(stream.subarray(i, i + chunkSize)));
      assert.deepEqual(frames, [stun, cd, stun, cd], `chunk size ${chunkSize}`);
      assert.equal(framer.buffered, 0);
    }
    const framer = new StreamFramer();
    assert.deepEqual(framer.push(stun.subarray(0, 10)), []);
    assert.equal(framer.buffered, 10);
  });

  it('throws on an unframeable byte', () => {
    const framer = new StreamFramer();
    assert.throws(() => framer.push(Buffer.concat([stun, hex('ff ff ff ff')])), StreamFramingError);
  });
});
