// The native TURN framing (native/src/turn_framing.cc, written into a UdpPort's meta entries and handed over
// by NativeUdpSocket as a PreFramed) against its TypeScript twin (src/turn/turn-framing.ts frameTurnDatagram:
// channel-data.ts decodeChannelData, stun-message.ts decodeStun + FINGERPRINT, the Send indication's checks):
// for random valid and broken datagrams sent through a real socket, the same kind, the same channel, peer and
// inner bytes (a view into the datagram), the same malformed reason; a table of one datagram per reason.
// The TURN server on the native plane end to end: turn-framing-e2e.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type dgram from 'node:dgram';
import fc from 'fast-check';
import pino from 'pino';
import { TURN_FRAMING_REASONS, loadNativeAddon } from '../../src/dataplane/native-addon.js';
import { NativeUdpSocket } from '../../src/dataplane/native-udp.js';
import { frameTurnDatagram, type TurnFraming } from '../../src/turn/turn-framing.js';
import { bytesToIp, encodeXorAddress } from '../../src/turn/stun-attributes.js';
import { encodeStun, type StunAttribute } from '../../src/turn/stun-message.js';
import { Attr, StunClass, StunMethod } from '../../src/turn/stun-protocol.js';
import type { PreFramed } from '../../src/turn/udp-socket.js';
import { BIG_BUFFER, dgramPeer, within } from './udp-test-helpers.js';
import { turnDatagram } from './turn-datagrams.js';

const load = loadNativeAddon();

/** A framing as plain comparable data (bytes as hex). */
function described(f: PreFramed | TurnFraming | undefined): Record<string, unknown> {
  if (f === undefined) return { kind: 'not framed' };
  switch (f.kind) {
    case 'channel-data':
      return { kind: f.kind, channel: f.channel, data: f.data.toString('hex') };
    case 'send-indication': {
      const peer = 'peer' in f ? f.peer : { address: bytesToIp(f.peerIp), port: f.peerPort };
      return { kind: f.kind, address: peer.address, port: peer.port, data: f.data.toString('hex') };
    }
    case 'stun':
      return { kind: f.kind };
    default:
      return { kind: f.kind, reason: f.reason };
  }
}

/** A NativeUdpSocket on the loopback that keeps every datagram with its framing, and a dgram client sending to it. */
class FramingReceiver {
  readonly got: { msg: Buffer; framing: PreFramed | undefined }[] = [];
  private waiter: { n: number; resolve: () => void } | undefined;
  socket!: NativeUdpSocket;
  client!: dgram.Socket;
  port = 0;

  async open(): Promise<void> {
    assert.ok(load.addon, `the native addon did not load from ${load.path}: ${'reason' in load ? load.reason : ''}`);
    this.socket = new NativeUdpSocket(load.addon, (msg, _from, framing) => this.take(msg, framing), pino({ level: 'silent' }));
    this.port = await this.socket.bind(0, '127.0.0.1', BIG_BUFFER);
    this.client = await dgramPeer('udp4', '127.0.0.1');
  }

  private take(msg: Buffer, framing: PreFramed | undefined): void {
    this.got.push({ msg: Buffer.from(msg), framing: framing && copied(framing, msg) });
    if (this.waiter && this.got.length >= this.waiter.n) this.waiter.resolve();
  }

  /** Sends `datagrams` in order and resolves with what arrived for them (each with its framing). */
  async roundTrip(datagrams: Buffer[]): Promise<{ msg: Buffer; framing: PreFramed | undefined }[]> {
    const start = this.got.length;
    const arrived = new Promise<void>((resolve) => (this.waiter = { n: start + datagrams.length, resolve }));
    for (const d of datagrams) this.client.send(d, this.port, '127.0.0.1');
    await within(5000, `${datagrams.length} datagrams at the native socket`, this.got.length >= start + datagrams.length ? Promise.resolve() : arrived);
    return this.got.slice(start, start + datagrams.length);
  }

  async close(): Promise<void> {
    this.client?.close();
    await this.socket?.close();
  }
}

/** The framing with its views checked to lie in `msg` and then copied (the arena is not ours to keep). */
function copied(f: PreFramed, msg: Buffer): PreFramed {
  if (f.kind !== 'channel-data' && f.kind !== 'send-indication') return f;
  const inside = f.data.buffer === msg.buffer && f.data.byteOffset >= msg.byteOffset && f.data.byteOffset + f.data.length <= msg.byteOffset + msg.length;
  assert.ok(inside, 'the inner data is a view into the datagram');
  return { ...f, data: Buffer.from(f.data) };
}

function agree(got: { msg: Buffer; framing: PreFramed | undefined }, sent: Buffer): void {
  assert.deepEqual(got.msg, sent, 'the datagram arrived as sent');
  assert.deepEqual(described(got.framing), described(frameTurnDatagram(sent)), `native and TypeScript framing of ${sent.toString('hex')}`);
}

describe('native TURN framing agrees with the TypeScript decode', () => {
  const rx = new FramingReceiver();
  before(() => rx.open());
  after(() => rx.close());

  it('for random valid and malformed datagrams (fast-check), batch by batch', async () => {
    const kinds = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.array(turnDatagram, { minLength: 1, maxLength: 12 }), async (datagrams) => {
        const got = await rx.roundTrip(datagrams);
        datagrams.forEach((d, i) => {
          agree(got[i]!, d);
          const f = described(got[i]!.framing);
          const key = f.kind === 'malformed' ? `malformed: ${String(f.reason)}` : String(f.kind);
          kinds.set(key, (kinds.get(key) ?? 0) + 1);
        });
      }),
      { numRuns: 400 },
    );
    // The generators reach every kind and the common reasons (a property that never sees them proves little).
    for (const k of ['channel-data', 'send-indication', 'stun', 'malformed: bad magic cookie', 'malformed: ChannelData length exceeds packet', 'malformed: attribute overflows message', 'malformed: bad FINGERPRINT', 'malformed: unknown address family', 'malformed: bad address length', 'malformed: Send indication with unknown comprehension-required attribute', 'malformed: Send indication without XOR-PEER-ADDRESS or DATA']) {
      assert.ok((kinds.get(k) ?? 0) > 0, `no "${k}" among ${JSON.stringify([...kinds])}`);
    }
  });

  it('for one datagram per reason, and the valid kinds (IPv4 and IPv6 peers, padding, other STUN)', async () => {
    const tid = Buffer.alloc(12, 7);
    const send = (attributes: StunAttribute[], fingerprint = false): Buffer =>
      encodeStun({ method: StunMethod.Send, cls: StunClass.Indication, transactionId: tid, attributes }, { fingerprint });
    const peer4 = { type: Attr.XorPeerAddress, value: encodeXorAddress({ address: '203.0.113.9', port: 3478 }, tid) };
    const peer6 = { type: Attr.XorPeerAddress, value: encodeXorAddress({ address: '2001:db8::1:0:0:5', port: 65535 }, tid) };
    const data = { type: Attr.Data, value: Buffer.from('inner bytes') };
    const withLength = (b: Buffer, at: number, value: number): Buffer => (b.writeUInt16BE(value, at), b);
    const binding = encodeStun({ method: StunMethod.Binding, cls: StunClass.Request, transactionId: tid, attributes: [] });
    const fpThenMore = Buffer.concat([send([data], true), Buffer.from([0x80, 0x22, 0, 0])]);
    const badFp = send([peer4, data], true);
    badFp[badFp.length - 1]! ^= 1;
    const cases: [Buffer, string][] = [
      [Buffer.alloc(0), 'neither STUN nor ChannelData'],
      [Buffer.from([0x80, 0x60, 0, 1]), 'neither STUN nor ChannelData'],
      [Buffer.from([0x40, 0x01]), 'truncated ChannelData header'],
      [Buffer.from([0x7f, 0xff, 0, 9, 1, 2]), 'ChannelData length exceeds packet'],
      [binding.subarray(0, 19), 'truncated header'],
      [Buffer.concat([binding.subarray(0, 4), Buffer.from([0x21, 0x12, 0xa4, 0x43]), binding.subarray(8)]), 'bad magic cookie'],
      [withLength(Buffer.from(binding), 2, 2), 'length not a multiple of 4'],
      [withLength(Buffer.from(binding), 2, 4), 'length does not match message size'],
      [withLength(fpThenMore, 2, fpThenMore.length - 20), 'attribute after FINGERPRINT'],
      [withLength(send([peer4, data]), 22, 200), 'attribute overflows message'],
      [send([{ type: Attr.Fingerprint, value: Buffer.alloc(8) }]), 'bad FINGERPRINT length'],
      [send([{ type: Attr.MessageIntegrity, value: Buffer.alloc(4) }]), 'bad MESSAGE-INTEGRITY length'],
      [badFp, 'bad FINGERPRINT'],
      [send([peer4, { type: 0x0030, value: Buffer.alloc(4) }, data]), 'Send indication with unknown comprehension-required attribute'],
      [send([peer4]), 'Send indication without XOR-PEER-ADDRESS or DATA'],
      [send([data]), 'Send indication without XOR-PEER-ADDRESS or DATA'],
      [send([{ type: Attr.XorPeerAddress, value: Buffer.from([0, 1, 0]) }, data]), 'bad address length'],
      [send([{ type: Attr.XorPeerAddress, value: Buffer.from([0, 1, 0, 0, 1, 2]) }, data]), 'bad address length'],
      [send([{ type: Attr.XorPeerAddress, value: Buffer.alloc(8, 3) }, data]), 'unknown address family'],
    ];
    const valid: [Buffer, Record<string, unknown>][] = [
      [Buffer.from([0x40, 0x01, 0, 3, 9, 8, 7, 0xee]), { kind: 'channel-data', channel: 0x4001, data: '090807' }],
      [send([peer4, data], true), { kind: 'send-indication', address: '203.0.113.9', port: 3478, data: data.value.toString('hex') }],
      [send([{ type: Attr.Software, value: Buffer.from('x') }, peer6, data, peer4]), { kind: 'send-indication', address: '2001:db8::1:0:0:5', port: 65535, data: data.value.toString('hex') }],
      [binding, { kind: 'stun' }],
      [encodeStun({ method: StunMethod.Send, cls: StunClass.Request, transactionId: tid, attributes: [peer4, data] }), { kind: 'stun' }],
      [encodeStun({ method: StunMethod.Binding, cls: StunClass.Indication, transactionId: tid, attributes: [] }, { fingerprint: true }), { kind: 'stun' }],
    ];
    const datagrams = [...cases.map(([d]) => d), ...valid.map(([d]) => d)];
    const got = await rx.roundTrip(datagrams);
    cases.forEach(([d, reason], i) => {
      agree(got[i]!, d);
      assert.deepEqual(described(got[i]!.framing), { kind: 'malformed', reason }, `case ${i}: ${d.toString('hex')}`);
    });
    valid.forEach(([d, want], i) => {
      agree(got[cases.length + i]!, d);
      assert.deepEqual(described(got[cases.length + i]!.framing), want);
    });
    // Every reason the native side can give has its text; the two it cannot reach here are impossible for a
    // datagram whose first byte is 0-3 (two top bits) or whose length is a multiple of 4 (attribute header).
    const seen = new Set(cases.map(([, r]) => r));
    assert.deepEqual(TURN_FRAMING_REASONS.filter((r) => r !== '' && !seen.has(r)), ['first two bits not zero', 'truncated attribute header']);
  });

  it('a datagram of 65507 bytes: ChannelData and a Send indication with their data intact', async () => {
    const big = Buffer.alloc(65507 - 4, 0x5a);
    const cd = Buffer.concat([Buffer.from([0x40, 0x00, 0, 0]), big]);
    cd.writeUInt16BE(big.length, 2);
    const tid = Buffer.alloc(12, 1);
    const si = encodeStun({
      method: StunMethod.Send,
      cls: StunClass.Indication,
      transactionId: tid,
      attributes: [
        { type: Attr.XorPeerAddress, value: encodeXorAddress({ address: '127.0.0.1', port: 5000 }, tid) },
        { type: Attr.Data, value: big.subarray(0, 65460) }, // 65504 bytes in all
      ],
    }, { fingerprint: true });
    const got = await rx.roundTrip([cd, si]);
    agree(got[0]!, cd);
    agree(got[1]!, si);
    assert.equal(got[1]!.framing?.kind, 'send-indication');
  });
});
