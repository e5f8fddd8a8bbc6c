// The TURN server on the native plane's UDP socket (NativeUdpSocket, its datagrams framed natively in the
// recvmmsg batch): a TURN client's ChannelData and Send indications reach the virtual endpoint with the right
// bytes (and were handed over pre-framed, not parsed again), datagrams for nobody are dropped without being
// malformed, and malformed ones are dropped and counted in stats.malformed, one each, with the server still
// serving. The framing itself against its TypeScript twin: turn-framing.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { loadNativeAddon } from '../../src/dataplane/native-addon.js';
import { nativeUdpSocketFactory } from '../../src/dataplane/native-udp.js';
import { TurnServer, type VirtualRegistration } from '../../src/turn/turn-server.js';
import { encodeChannelData } from '../../src/turn/channel-data.js';
import { encodeXorAddress } from '../../src/turn/stun-attributes.js';
import { encodeStun } from '../../src/turn/stun-message.js';
import { Attr, StunClass, StunMethod } from '../../src/turn/stun-protocol.js';
import type { PreFramed, UdpSocketFactory } from '../../src/turn/udp-socket.js';
import { TestTurnClient, describeResponse } from '../helpers/turn-client.js';
import { within } from './udp-test-helpers.js';

const load = loadNativeAddon();

describe('TURN server on the native UdpPort: natively framed ChannelData and Send indications', () => {
  let server: TurnServer;
  let udpPort: number;
  let virt: VirtualRegistration;
  let client: TestTurnClient;
  /** The framing kind of every datagram the socket handed to the server, in order ('none' when it gave none). */
  const framings: string[] = [];
  const received: Buffer[] = [];
  let waiter: { n: number; resolve: () => void } | undefined;

  function delivered(n: number): Promise<void> {
    if (received.length >= n) return Promise.resolve();
    return within(3000, `${n} datagrams at the endpoint (have ${received.length})`, new Promise<void>((resolve) => (waiter = { n, resolve })));
  }

  before(async () => {
    assert.ok(load.addon, `the native addon did not load from ${load.path}: ${'reason' in load ? load.reason : ''}`);
    const native = nativeUdpSocketFactory(load.addon);
    const recording: UdpSocketFactory = (onMessage, log) =>
      native((msg, from, framing?: PreFramed) => {
        framings.push(framing?.kind ?? 'none');
        onMessage(msg, from, framing);
      }, log);
    server = new TurnServer({ listenIp: '127.0.0.1', udpPort: 0, advertisedIp: '127.0.0.1', realm: 'r', secret: 'framing', log: pino({ level: 'silent' }), udpSocket: recording });
    udpPort = (await server.start()).udpPort;
    virt = server.registerVirtual({
      receive: (data) => {
        received.push(Buffer.from(data));
        if (waiter && received.length >= waiter.n) waiter.resolve();
      },
    });
    client = await TestTurnClient.open('udp', '127.0.0.1', udpPort);
    const creds = server.credentials('framing-peer', 600);
    const { response } = await client.allocate(creds.username, creds.password);
    assert.equal(response.cls, StunClass.SuccessResponse, describeResponse(response));
    const perm = await client.createPermission({ address: virt.ip, port: virt.port });
    assert.equal(perm.cls, StunClass.SuccessResponse, describeResponse(perm));
    const bind = await client.channelBind(0x4321, { address: virt.ip, port: virt.port });
    assert.equal(bind.cls, StunClass.SuccessResponse, describeResponse(bind));
  });

  after(async () => {
    client?.close();
    virt?.release();
    await server?.stop();
  });

  it('ChannelData (padded or not, up to 60000 bytes) and Send indications reach the endpoint with their bytes', async () => {
    const peer = { address: virt.ip, port: virt.port };
    const payloads = [Buffer.from('a'), Buffer.alloc(1200, 0x81), Buffer.alloc(60000, 0x42), Buffer.from('hello, send')];
    const before = framings.length;
    client.sendChannelData(0x4321, payloads[0]!);
    client.sendRaw(encodeChannelData(0x4321, payloads[1]!, true)); // padded to 4 over UDP too: the padding is not data
    client.sendChannelData(0x4321, payloads[2]!);
    client.sendIndication(peer, payloads[3]!);
    await delivered(4);
    assert.deepEqual(received, payloads);
    assert.deepEqual(framings.slice(before), ['channel-data', 'channel-data', 'channel-data', 'send-indication'], 'handed over pre-framed');
    assert.equal(server.stats.malformed, 0);
  });

  it('ChannelData on an unbound channel and Send indications to a peer without permission are dropped, not malformed', async () => {
    const start = received.length;
    const malformed = server.stats.malformed;
    client.sendChannelData(0x4322, Buffer.from('unbound'));
    client.sendIndication({ address: '2001:db8::7', port: 9 }, Buffer.from('v6 peer'));
    client.sendIndication({ address: '10.1.2.3', port: virt.port }, Buffer.from('no permission'));
    assert.equal((await client.binding()).cls, StunClass.SuccessResponse, 'the server still answers (a barrier: it handles datagrams in order)');
    assert.equal(received.length, start);
    assert.equal(server.stats.malformed, malformed);
  });

  it('malformed datagrams are dropped and each is counted once; the server keeps relaying', async () => {
    const tid = Buffer.alloc(12, 9);
    const peerAttr = { type: Attr.XorPeerAddress, value: encodeXorAddress({ address: virt.ip, port: virt.port }, tid) };
    const send = (attributes: { type: number; value: Buffer }[], fingerprint = false): Buffer =>
      encodeStun({ method: StunMethod.Send, cls: StunClass.Indication, transactionId: tid, attributes }, { fingerprint });
    const lying = encodeChannelData(0x4321, Buffer.from('lies'), false);
    lying.writeUInt16BE(100, 2);
    const badCookie = send([peerAttr, { type: Attr.Data, value: Buffer.from('x') }]);
    badCookie[4] ^= 0xff;
    const badFp = send([peerAttr, { type: Attr.Data, value: Buffer.from('x') }], true);
    badFp[badFp.length - 2] ^= 0x10;
    const overflow = send([peerAttr, { type: Attr.Data, value: Buffer.from('x') }]);
    overflow.writeUInt16BE(0xfff0, 20 + 2 + peerAttr.value.length + 4);
    const bad = [
      lying,
      Buffer.from([0x41]),
      Buffer.alloc(0),
      Buffer.from([0xc0, 1, 2, 3]),
      badCookie,
      badFp,
      overflow,
      send([peerAttr]),
      send([{ type: Attr.XorPeerAddress, value: Buffer.from([0, 9, 0, 0, 1, 2, 3, 4]) }, { type: Attr.Data, value: Buffer.from('x') }]),
      send([peerAttr, { type: 0x0031, value: Buffer.alloc(4) }, { type: Attr.Data, value: Buffer.from('x') }]),
    ];
    const start = received.length;
    const malformed = server.stats.malformed;
    const before = framings.length;
    for (const b of bad) client.sendRaw(b);
    assert.equal((await client.binding()).cls, StunClass.SuccessResponse);
    assert.equal(server.stats.malformed - malformed, bad.length, 'each counted once');
    assert.equal(received.length, start, 'none delivered');
    assert.deepEqual(framings.slice(before, before + bad.length), bad.map(() => 'malformed'), 'framed as malformed natively');
    client.sendChannelData(0x4321, Buffer.from('still relaying'));
    await delivered(start + 1);
    assert.deepEqual(received[start], Buffer.from('still relaying'));
  });
});
