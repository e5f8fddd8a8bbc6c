import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { REPLY_HEADROOM, TurnServer, type ClientRef, type VirtualEndpoint, type VirtualReply } from '../../src/turn/turn-server.js';
import { encodeStun, getAttr, verifyFingerprint, verifyIntegrity, type DecodedStun } from '../../src/turn/stun-message.js';
import { Attr, StunClass, StunMethod } from '../../src/turn/stun-protocol.js';
import {
  decodeU32,
  decodeUnknownAttributes,
  decodeXorAddress,
  encodeRequestedTransport,
  encodeXorAddress,
} from '../../src/turn/stun-attributes.js';
import { encodeChannelData } from '../../src/turn/channel-data.js';
import { longTermKey } from '../../src/turn/turn-credentials.js';
import { TestTurnClient, describeResponse, errorCode } from '../helpers/turn-client.js';
import { testTurnUdpSocket } from '../helpers/turn-plane.js';

const REALM = 'turn.stun.localhost';
const SECRET = 'turn-test-secret';
const REQUESTED_UDP = { type: Attr.RequestedTransport, value: encodeRequestedTransport(17) };

/** A VirtualEndpoint that records what it receives and (by default) echoes "echo:<data>" back. */
class RecordingEndpoint implements VirtualEndpoint {
  readonly received: { data: Buffer; from: ClientRef }[] = [];
  replies: VirtualReply[] = [];
  respond: ((data: Buffer) => Buffer | undefined) | undefined = (d) => Buffer.concat([Buffer.from('echo:'), d]);
  private waiters: (() => void)[] = [];

  receive(data: Buffer, from: ClientRef, reply: VirtualReply): void {
    this.received.push({ data: Buffer.from(data), from });
    this.replies.push(reply);
    const out = this.respond?.(data);
    if (out) reply(out);
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits (bounded) until `count` packets in total have been received. */
  async waitFor(count: number, timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`endpoint got ${this.received.length} packets, expected ${count}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

let server: TurnServer;
let udpPort: number;
let tcpPort: number;
const clients: TestTurnClient[] = [];

async function open(transport: 'udp' | 'tcp'): Promise<TestTurnClient> {
  const c = await TestTurnClient.open(transport, '127.0.0.1', transport === 'udp' ? udpPort : tcpPort);
  clients.push(c);
  return c;
}

async function allocated(transport: 'udp' | 'tcp', peerId = 'peer-1'): Promise<TestTurnClient> {
  const c = await open(transport);
  const creds = server.credentials(peerId, 3600);
  const { response } = await c.allocate(creds.username, creds.password);
  assert.equal(response.cls, StunClass.SuccessResponse, describeResponse(response));
  return c;
}

/** Sends `packet`, then a Binding request as a barrier (the server handles a client's packets in order). */
async function sendThenBarrier(c: TestTurnClient, packet: Buffer): Promise<void> {
  c.sendRaw(packet);
  await c.binding();
}

before(async () => {
  server = new TurnServer({
    listenIp: '127.0.0.1',
    udpPort: 0,
    tcpPort: 0,
    advertisedIp: '127.0.0.1',
    realm: REALM,
    secret: SECRET,
    log: pino({ level: 'silent' }),
    udpSocket: testTurnUdpSocket(),
  });
  const ports = await server.start();
  udpPort = ports.udpPort;
  tcpPort = ports.tcpPort!;
});

after(async () => {
  for (const c of clients) c.close();
  await server.stop();
  assert.equal(server.stats.allocations, 0);
});

describe('TurnServer: start and Binding', () => {
  it('listens on a random UDP and TCP port', () => {
    assert.ok(udpPort > 0);
    assert.ok(tcpPort > 0);
  });

  for (const transport of ['udp', 'tcp'] as const) {
    it(`${transport}: answers a Binding request with XOR-MAPPED-ADDRESS and a valid FINGERPRINT`, async () => {
      const c = await open(transport);
      const res = await c.binding();
      assert.equal(res.cls, StunClass.SuccessResponse);
      assert.equal(res.method, StunMethod.Binding);
      const mapped = decodeXorAddress(getAttr(res, Attr.XorMappedAddress)!, res.transactionId);
      assert.deepEqual({ address: mapped.address, port: mapped.port }, c.local);
      assert.equal(verifyFingerprint(res), true);
      assert.match(getAttr(res, Attr.Software)!.toString(), /^Shoal /);
    });
  }
});

describe('TurnServer: end to end through a virtual endpoint', () => {
  for (const transport of ['udp', 'tcp'] as const) {
    it(`${transport}: Allocate (401 then success), permission, Send ↔ Data indication, ChannelBind and ChannelData both ways, Refresh 0`, async () => {
      const endpoint = new RecordingEndpoint();
      const virt = server.registerVirtual(endpoint);
      assert.equal(virt.ip, '127.0.0.1');
      const peer = { address: virt.ip, port: virt.port };
      const allocationsBefore = server.stats.allocations;
      const statsBefore = { ...server.stats };

      const c = await open(transport);
      const creds = server.credentials(`peer-${transport}`, 3600);
      assert.match(creds.username, /^\d+:peer-/);

      // 1. Allocate: unauthenticated → 401 with REALM and NONCE, no MESSAGE-INTEGRITY.
      const { challenge, response } = await c.allocate(creds.username, creds.password);
      assert.equal(challenge.cls, StunClass.ErrorResponse);
      assert.equal(errorCode(challenge), 401);
      assert.equal(getAttr(challenge, Attr.Realm)!.toString(), REALM);
      assert.ok(getAttr(challenge, Attr.Nonce)!.length > 0);
      assert.equal(challenge.integrityOffset, -1);
      assert.equal(verifyFingerprint(challenge), true);

      // 2. Authenticated Allocate → success, signed with the long-term key.
      assert.equal(response.cls, StunClass.SuccessResponse, describeResponse(response));
      const key = longTermKey(creds.username, REALM, creds.password);
      assert.equal(verifyIntegrity(response, key), true);
      assert.equal(verifyFingerprint(response), true);
      const relayed = decodeXorAddress(getAttr(response, Attr.XorRelayedAddress)!, response.transactionId);
      assert.equal(relayed.address, '127.0.0.1');
      assert.ok(relayed.port >= 49152 && relayed.port !== virt.port && relayed.port !== udpPort && relayed.port !== tcpPort);
      const mapped = decodeXorAddress(getAttr(response, Attr.XorMappedAddress)!, response.transactionId);
      assert.deepEqual({ address: mapped.address, port: mapped.port }, c.local);
      assert.equal(decodeU32(getAttr(response, Attr.Lifetime)!), 600);
      assert.equal(server.stats.allocations, allocationsBefore + 1);

      // 3. Without a permission a Send indication is dropped.
      c.sendIndication(peer, Buffer.from('too early'));
      await c.binding();
      assert.equal(endpoint.received.length, 0);

      // 4. CreatePermission for the virtual address.
      const perm = await c.createPermission(peer);
      assert.equal(perm.cls, StunClass.SuccessResponse, describeResponse(perm));
      assert.equal(verifyIntegrity(perm, key), true);

      // 5. Send indication → endpoint; its reply → Data indication from the virtual address.
      c.sendIndication(peer, Buffer.from('ping-1'));
      await endpoint.waitFor(1);
      assert.deepEqual(endpoint.received[0]!.data, Buffer.from('ping-1'));
      const ref = endpoint.received[0]!.from;
      assert.equal(ref.username, creds.username);
      assert.equal(ref.transport, transport);
      assert.match(ref.allocationId, /\S/);
      assert.deepEqual(ref.relayed, { address: relayed.address, port: relayed.port });
      const dataInd = await c.nextData();
      assert.equal(dataInd.kind, 'data-indication');
      assert.deepEqual(dataInd.kind === 'data-indication' && dataInd.peer, peer);
      assert.deepEqual(dataInd.data, Buffer.from('echo:ping-1'));

      // 6. ChannelBind, then ChannelData both ways (odd length to exercise TCP padding).
      const bind = await c.channelBind(0x4001, peer);
      assert.equal(bind.cls, StunClass.SuccessResponse, describeResponse(bind));
      assert.equal(verifyIntegrity(bind, key), true);
      c.sendChannelData(0x4001, Buffer.from('ping2'));
      await endpoint.waitFor(2);
      assert.deepEqual(endpoint.received[1]!.data, Buffer.from('ping2'));
      assert.equal(endpoint.received[1]!.from, ref, 'same ClientRef object for the same allocation');
      const cd = await c.nextData();
      assert.equal(cd.kind, 'channel-data');
      assert.equal(cd.kind === 'channel-data' && cd.channel, 0x4001);
      assert.deepEqual(cd.data, Buffer.from('echo:ping2'));
      // "echo:ping2" is 10 bytes: UDP sends 14 bytes, TCP pads the frame to 16.
      assert.equal(cd.raw.length, transport === 'tcp' ? 16 : 14);

      // A Send indication still works while a channel is bound; the reply now uses the channel.
      c.sendIndication(peer, Buffer.from('ping-3'));
      await endpoint.waitFor(3);
      const viaChannel = await c.nextData();
      assert.equal(viaChannel.kind, 'channel-data');
      assert.deepEqual(viaChannel.data, Buffer.from('echo:ping-3'));

      // The endpoint may also push data later, unprompted, through a kept reply function.
      endpoint.replies[0]!(Buffer.from('server-push'));
      const pushed = await c.nextData();
      assert.deepEqual(pushed.data, Buffer.from('server-push'));

      // With headroom, only the bytes after it are sent; over UDP the header is written in place.
      for (const headroom of [REPLY_HEADROOM, 7]) {
        const framed = Buffer.concat([Buffer.alloc(headroom, 0xee), Buffer.from(`in-place-${headroom}`)]);
        endpoint.replies[0]!(framed, headroom);
        const got = await c.nextData();
        assert.equal(got.kind, 'channel-data');
        assert.deepEqual(got.data, Buffer.from(`in-place-${headroom}`));
        if (transport === 'udp') assert.equal(framed.readUInt16BE(headroom - 4), 0x4001, 'ChannelData header written in front of the data');
        else assert.equal(framed[0], 0xee, 'TCP (padded) frames are copied; the headroom is untouched');
      }

      // ChannelData on a channel that is not bound is dropped (not malformed).
      const malformedBefore = server.stats.malformed;
      await sendThenBarrier(c, encodeChannelData(0x4002, Buffer.from('nobody'), transport === 'tcp'));
      assert.equal(endpoint.received.length, 3);
      assert.equal(server.stats.malformed, malformedBefore);

      // 7. Refresh with a lifetime, then with 0 (delete).
      const refreshed = await c.refresh(1200);
      assert.equal(refreshed.cls, StunClass.SuccessResponse, describeResponse(refreshed));
      assert.equal(decodeU32(getAttr(refreshed, Attr.Lifetime)!), 1200);
      const deleted = await c.refresh(0);
      assert.equal(deleted.cls, StunClass.SuccessResponse, describeResponse(deleted));
      assert.equal(decodeU32(getAttr(deleted, Attr.Lifetime)!), 0);
      assert.equal(server.stats.allocations, allocationsBefore);

      // After deletion nothing is delivered, and further requests get 437.
      await sendThenBarrier(c, encodeChannelData(0x4001, Buffer.from('late'), transport === 'tcp'));
      assert.equal(endpoint.received.length, 3);
      const late = await c.createPermission(peer);
      assert.equal(errorCode(late), 437);
      endpoint.replies[0]!(Buffer.from('after delete'));
      await c.binding();
      assert.equal(c.queuedData, 0);

      assert.ok(server.stats.packetsIn > statsBefore.packetsIn);
      assert.ok(server.stats.packetsOut > statsBefore.packetsOut);
      virt.release();
    });
  }
});

describe('TurnServer: authentication', () => {
  it('refuses expired credentials with 401 (and creates nothing)', async () => {
    const c = await open('udp');
    const before = server.stats.allocations;
    const creds = server.credentials('peer-expired', -60);
    const { challenge, response } = await c.allocate(creds.username, creds.password);
    assert.equal(errorCode(challenge), 401);
    assert.equal(errorCode(response), 401, describeResponse(response));
    assert.equal(getAttr(response, Attr.Realm)!.toString(), REALM);
    assert.ok(getAttr(response, Attr.Nonce));
    assert.equal(server.stats.allocations, before);
  });

  it('refuses a wrong password and a malformed username with 401', async () => {
    const c = await open('udp');
    const creds = server.credentials('peer-x', 3600);
    assert.equal(errorCode((await c.allocate(creds.username, 'not-the-password')).response), 401);
    const c2 = await open('udp');
    assert.equal(errorCode((await c2.allocate('no-expiry-here', 'whatever')).response), 401);
  });

  it('answers an unknown nonce with 438 and a fresh nonce that then works', async () => {
    const c = await open('udp');
    const creds = server.credentials('peer-nonce', 3600);
    await c.allocate(creds.username, 'wrong'); // learns realm + a valid nonce
    c.key = longTermKey(creds.username, REALM, creds.password);
    c.nonce = 'f//499k954d6OL34oL9FSTvy64sA';
    const stale = await c.request(StunMethod.Allocate, [REQUESTED_UDP]);
    assert.equal(errorCode(stale), 438, describeResponse(stale));
    const fresh = getAttr(stale, Attr.Nonce)!.toString();
    assert.equal(getAttr(stale, Attr.Realm)!.toString(), REALM);
    c.nonce = fresh;
    const ok = await c.request(StunMethod.Allocate, [REQUESTED_UDP]);
    assert.equal(ok.cls, StunClass.SuccessResponse, describeResponse(ok));
  });

  it('a nonce issued to one client is stale for another', async () => {
    const a = await open('udp');
    const b = await open('udp');
    const creds = server.credentials('peer-n2', 3600);
    await a.allocate(creds.username, 'wrong');
    b.username = creds.username;
    b.realm = REALM;
    b.nonce = a.nonce;
    b.key = longTermKey(creds.username, REALM, creds.password);
    assert.equal(errorCode(await b.request(StunMethod.Allocate, [REQUESTED_UDP])), 438);
  });

  it('MESSAGE-INTEGRITY without USERNAME/REALM/NONCE → 400', async () => {
    const c = await open('udp');
    const before = server.stats.malformed;
    const tid = randomBytes(12);
    const buf = encodeStun(
      { method: StunMethod.Allocate, cls: StunClass.Request, transactionId: tid, attributes: [REQUESTED_UDP, { type: Attr.Username, value: Buffer.from('1:x') }] },
      { integrityKey: Buffer.alloc(16), fingerprint: true },
    );
    const res = await c.sendAndWait(tid, buf);
    assert.equal(errorCode(res), 400);
    assert.equal(server.stats.malformed, before + 1);
  });

  it('an allocation outlives its credentials: Refresh still works after expiry, a new Allocate does not', async () => {
    const creds = server.credentials('peer-short', 2);
    const expiresAtMs = Number(creds.username.split(':')[0]) * 1000;
    const c = await open('udp');
    const { response } = await c.allocate(creds.username, creds.password);
    assert.equal(response.cls, StunClass.SuccessResponse, describeResponse(response));
    // Wait (bounded) for the credentials to expire: time passing is what is under test.
    while (Date.now() < expiresAtMs + 50) await new Promise((r) => setTimeout(r, Math.min(200, expiresAtMs + 50 - Date.now())));
    const refreshed = await c.refresh(600);
    assert.equal(refreshed.cls, StunClass.SuccessResponse, describeResponse(refreshed));
    const c2 = await open('udp');
    assert.equal(errorCode((await c2.allocate(creds.username, creds.password)).response), 401);
    await c.refresh(0);
  });
});

describe('TurnServer: request errors', () => {
  it('Allocate: missing REQUESTED-TRANSPORT 400, TCP 442, IPv6 family 440, unknown attribute 420', async () => {
    const c = await open('udp');
    const creds = server.credentials('peer-errors', 3600);
    const missing = (await c.allocate(creds.username, creds.password, [])).response;
    assert.equal(errorCode(missing), 400);
    assert.equal(verifyIntegrity(missing, c.key!), true, 'errors to authenticated requests are signed');

    assert.equal(errorCode(await c.request(StunMethod.Allocate, [{ type: Attr.RequestedTransport, value: encodeRequestedTransport(6) }])), 442);
    assert.equal(
      errorCode(await c.request(StunMethod.Allocate, [REQUESTED_UDP, { type: Attr.RequestedAddressFamily, value: Buffer.from([0x02, 0, 0, 0]) }])),
      440,
    );
    const unknown = await c.request(StunMethod.Allocate, [REQUESTED_UDP, { type: 0x7777, value: Buffer.from('?') }, { type: 0xc001, value: Buffer.from('optional') }]);
    assert.equal(errorCode(unknown), 420);
    assert.deepEqual(decodeUnknownAttributes(getAttr(unknown, Attr.UnknownAttributes)!), [0x7777]);
    // None of these allocated anything, so a valid Allocate (with an unknown *optional* attribute) succeeds.
    const ok = await c.request(StunMethod.Allocate, [REQUESTED_UDP, { type: 0xc001, value: Buffer.from('optional') }]);
    assert.equal(ok.cls, StunClass.SuccessResponse, describeResponse(ok));
    await c.refresh(0);
  });

  it('second Allocate on the same 5-tuple: a retransmission gets the same answer, a new one 437', async () => {
    const c = await allocated('udp', 'peer-twice');
    assert.equal(errorCode(await c.request(StunMethod.Allocate, [REQUESTED_UDP])), 437);
    // A retransmission (same transaction id) of the Allocate that created the allocation.
    const c2 = await open('udp');
    const creds = server.credentials('peer-retx', 3600);
    await c2.allocate(creds.username, 'wrong'); // realm + nonce
    c2.key = longTermKey(creds.username, REALM, creds.password);
    const retxTid = randomBytes(12);
    const a = await c2.request(StunMethod.Allocate, [REQUESTED_UDP], { transactionId: retxTid });
    const b = await c2.request(StunMethod.Allocate, [REQUESTED_UDP], { transactionId: retxTid });
    assert.equal(a.cls, StunClass.SuccessResponse);
    assert.equal(b.cls, StunClass.SuccessResponse, describeResponse(b));
    const addr = (m: DecodedStun) => decodeXorAddress(getAttr(m, Attr.XorRelayedAddress)!, m.transactionId);
    assert.deepEqual(addr(a), addr(b));
    await c.refresh(0);
    await c2.refresh(0);
  });

  it('requests without an allocation get 437; by another user on the same 5-tuple 441', async () => {
    const c = await open('udp');
    const creds = server.credentials('peer-none', 3600);
    await c.allocate(creds.username, 'wrong');
    c.key = longTermKey(creds.username, REALM, creds.password);
    assert.equal(errorCode(await c.refresh(600)), 437);
    assert.equal(errorCode(await c.createPermission({ address: '127.0.0.1', port: 1 })), 437);
    assert.equal(errorCode(await c.channelBind(0x4000, { address: '127.0.0.1', port: 1 })), 437);

    const ok = await c.request(StunMethod.Allocate, [REQUESTED_UDP]);
    assert.equal(ok.cls, StunClass.SuccessResponse);
    const other = server.credentials('peer-other', 3600);
    c.username = other.username;
    c.key = longTermKey(other.username, REALM, other.password);
    assert.equal(errorCode(await c.refresh(600)), 441);
    assert.equal(errorCode(await c.createPermission({ address: '127.0.0.1', port: 1 })), 441);
    c.username = creds.username;
    c.key = longTermKey(creds.username, REALM, creds.password);
    await c.refresh(0);
  });

  it('CreatePermission without a peer 400, IPv6 peer 443; ChannelBind bad number 400, conflict 400', async () => {
    const c = await allocated('udp', 'peer-cb');
    assert.equal(errorCode(await c.request(StunMethod.CreatePermission, [])), 400);
    assert.equal(errorCode(await c.createPermission({ address: '::1', port: 5 })), 443);
    assert.equal(errorCode(await c.channelBind(0x3fff, { address: '127.0.0.1', port: 50000 })), 400);
    assert.equal(errorCode(await c.channelBind(0x8000, { address: '127.0.0.1', port: 50000 })), 400);
    assert.equal(errorCode(await c.request(StunMethod.ChannelBind, [])), 400);
    assert.equal((await c.channelBind(0x4000, { address: '127.0.0.1', port: 50000 })).cls, StunClass.SuccessResponse);
    assert.equal((await c.channelBind(0x4000, { address: '127.0.0.1', port: 50000 })).cls, StunClass.SuccessResponse, 'refresh');
    const conflict = await c.channelBind(0x4000, { address: '127.0.0.1', port: 50001 });
    assert.equal(errorCode(conflict), 400);
    assert.equal(getAttr(conflict, Attr.ErrorCode)!.subarray(4).toString(), 'Bad Request: channel bound to other peer');
    assert.equal(errorCode(await c.channelBind(0x4001, { address: '127.0.0.1', port: 50000 })), 400);
    await c.refresh(0);
  });

  it('an unsupported request method gets 400', async () => {
    const c = await open('udp');
    const before = server.stats.malformed;
    const res = await c.request(0x0ab, [], { auth: false });
    assert.equal(errorCode(res), 400);
    assert.equal(res.method, 0x0ab);
    assert.equal(server.stats.malformed, before + 1);
  });
});

describe('TurnServer: malformed input never crashes it', () => {
  const tid = Buffer.alloc(12, 9);
  const validBinding = encodeStun({ method: StunMethod.Binding, cls: StunClass.Request, transactionId: tid, attributes: [] }, { fingerprint: true });
  const patch = (buf: Buffer, fn: (b: Buffer) => void) => {
    const b = Buffer.from(buf);
    fn(b);
    return b;
  };
  const udpCases: [string, Buffer][] = [
    ['empty datagram', Buffer.alloc(0)],
    ['truncated header', validBinding.subarray(0, 12)],
    ['wrong magic cookie', patch(validBinding, (b) => b.writeUInt32BE(0x12345678, 4))],
    ['length field larger than datagram', patch(validBinding, (b) => b.writeUInt16BE(64, 2))],
    ['length not a multiple of 4', patch(validBinding, (b) => b.writeUInt16BE(6, 2))],
    ['attribute overflowing the message', patch(validBinding, (b) => b.writeUInt16BE(100, 22))],
    ['bad FINGERPRINT', patch(validBinding, (b) => (b[b.length - 1] ^= 0x55))],
    ['first byte 0xff', Buffer.from([0xff, 0, 0, 0, 1, 2, 3])],
    ['RTP-looking first byte 0x80', Buffer.from([0x80, 0x01, 0x02, 0x03])],
    ['DTLS record sent straight to the TURN port', Buffer.from('16fefd000000000000000000010100', 'hex')],
    ['truncated ChannelData header', Buffer.from([0x40, 0x01, 0x00])],
    ['ChannelData length beyond datagram', Buffer.from([0x40, 0x01, 0x00, 0x10, 1, 2])],
    ['Send indication without DATA', encodeStun({ method: StunMethod.Send, cls: StunClass.Indication, transactionId: tid, attributes: [{ type: Attr.XorPeerAddress, value: encodeXorAddress({ address: '127.0.0.1', port: 1 }, tid) }] })],
    ['Send indication with a bad XOR-PEER-ADDRESS', encodeStun({ method: StunMethod.Send, cls: StunClass.Indication, transactionId: tid, attributes: [{ type: Attr.XorPeerAddress, value: Buffer.from([0, 9, 0, 0]) }, { type: Attr.Data, value: Buffer.from('x') }] })],
    ['random bytes', Buffer.from('00017f3a9b', 'hex')],
  ];
  for (const [name, packet] of udpCases) {
    it(`udp: ${name} → dropped silently and counted`, async () => {
      const c = await open('udp');
      const before = server.stats.malformed;
      await sendThenBarrier(c, packet);
      assert.equal(server.stats.malformed, before + 1);
      assert.equal(c.unsolicited.length, 0, 'no response to a malformed packet');
    });
  }

  it('udp: a request with a malformed attribute value gets 400 and is counted', async () => {
    const c = await allocated('udp', 'peer-badattr');
    const before = server.stats.malformed;
    const res = await c.request(StunMethod.Refresh, [{ type: Attr.Lifetime, value: Buffer.from([1, 2]) }]);
    assert.equal(errorCode(res), 400);
    assert.equal(server.stats.malformed, before + 1);
    await c.refresh(0);
  });

  it('tcp: a badly formed but framed STUN message is dropped and the connection survives', async () => {
    const c = await open('tcp');
    const before = server.stats.malformed;
    await sendThenBarrier(c, patch(validBinding, (b) => b.writeUInt32BE(0x12345678, 4)));
    await sendThenBarrier(c, patch(validBinding, (b) => (b[b.length - 1] ^= 0x55)));
    assert.equal(server.stats.malformed, before + 2);
  });

  it('tcp: an unframeable byte closes the connection, counts as malformed and deletes its allocation', async () => {
    const c = await allocated('tcp', 'peer-tcp-garbage');
    const allocs = server.stats.allocations;
    const before = server.stats.malformed;
    c.sendRaw(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    await c.waitClosed();
    assert.equal(server.stats.malformed, before + 1);
    assert.equal(server.stats.allocations, allocs - 1);
  });

  it('tcp: closing the connection deletes its allocation', async () => {
    const c = await allocated('tcp', 'peer-tcp-close');
    const allocs = server.stats.allocations;
    c.close();
    const deadline = Date.now() + 2000;
    while (server.stats.allocations !== allocs - 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(server.stats.allocations, allocs - 1);
  });

  it('a throwing VirtualEndpoint does not take the server down', async () => {
    const virt = server.registerVirtual({
      receive() {
        throw new Error('endpoint bug');
      },
    });
    const c = await allocated('udp', 'peer-throw');
    const peer = { address: virt.ip, port: virt.port };
    await c.createPermission(peer);
    c.sendIndication(peer, Buffer.from('boom'));
    const res = await c.binding();
    assert.equal(res.cls, StunClass.SuccessResponse);
    virt.release();
    await c.refresh(0);
  });

  it('a released virtual port receives nothing and its reply() is inert', async () => {
    const endpoint = new RecordingEndpoint();
    endpoint.respond = undefined;
    const virt = server.registerVirtual(endpoint);
    const peer = { address: virt.ip, port: virt.port };
    const c = await allocated('udp', 'peer-release');
    await c.createPermission(peer);
    c.sendIndication(peer, Buffer.from('one'));
    await endpoint.waitFor(1);
    virt.release();
    virt.release(); // idempotent
    endpoint.replies[0]!(Buffer.from('ghost'));
    c.sendIndication(peer, Buffer.from('two'));
    await c.binding();
    assert.equal(endpoint.received.length, 1);
    assert.equal(c.queuedData, 0);
    // Data to an address that was never registered (or not the advertised IP) is dropped too.
    await c.createPermission({ address: '10.0.0.1', port: 9 });
    c.sendIndication({ address: '10.0.0.1', port: virt.port }, Buffer.from('elsewhere'));
    await c.binding();
    await c.refresh(0);
  });

  it('hands one allocation the same reply function for every packet to a virtual address, another allocation its own', async () => {
    const endpoint = new RecordingEndpoint();
    endpoint.respond = undefined;
    const virt = server.registerVirtual(endpoint);
    const peer = { address: virt.ip, port: virt.port };
    const c = await allocated('udp', 'peer-reuse');
    await c.createPermission(peer);
    c.sendIndication(peer, Buffer.from('one'));
    c.sendIndication(peer, Buffer.from('two'));
    await endpoint.waitFor(2);
    assert.equal((await c.channelBind(0x4003, peer)).cls, StunClass.SuccessResponse);
    c.sendChannelData(0x4003, Buffer.from('three'));
    await endpoint.waitFor(3);
    assert.equal(endpoint.replies[1], endpoint.replies[0], 'same reply for a second Send indication');
    assert.equal(endpoint.replies[2], endpoint.replies[0], 'same reply for ChannelData');

    const other = await allocated('udp', 'peer-reuse-other');
    await other.createPermission(peer);
    other.sendIndication(peer, Buffer.from('four'));
    await endpoint.waitFor(4);
    assert.notEqual(endpoint.replies[3], endpoint.replies[0], 'another allocation gets its own reply');

    // The reused functions still answer their own client.
    endpoint.replies[0]!(Buffer.from('to-first'));
    endpoint.replies[3]!(Buffer.from('to-other'));
    assert.deepEqual((await c.nextData()).data, Buffer.from('to-first'));
    assert.deepEqual((await other.nextData()).data, Buffer.from('to-other'));
    virt.release();
    await c.refresh(0);
    await other.refresh(0);
  });

  it('encodes a large reply as a Data indication intact', async () => {
    const endpoint = new RecordingEndpoint();
    const big = randomBytes(1200);
    endpoint.respond = () => big;
    const virt = server.registerVirtual(endpoint);
    const peer = { address: virt.ip, port: virt.port };
    const c = await allocated('udp', 'peer-big');
    await c.createPermission(peer);
    c.sendIndication(peer, randomBytes(1300));
    const d = await c.nextData();
    assert.deepEqual(d.data, big);
    virt.release();
    await c.refresh(0);
  });
});

describe('TurnServer: options', () => {
  it('rejects a non-IPv4 advertisedIp and an empty secret', () => {
    const log = pino({ level: 'silent' });
    const base = { listenIp: '127.0.0.1', udpPort: 0, advertisedIp: '127.0.0.1', realm: REALM, secret: 's', log };
    assert.throws(() => new TurnServer({ ...base, advertisedIp: 'example.com' }), /advertisedIp/);
    assert.throws(() => new TurnServer({ ...base, secret: '' }), /secret/);
  });

  it('runs without TCP when tcpPort is undefined, and stop() is idempotent', async () => {
    const s = new TurnServer({ listenIp: '127.0.0.1', udpPort: 0, advertisedIp: '127.0.0.1', realm: REALM, secret: 's', log: pino({ level: 'silent' }) });
    const ports = await s.start();
    assert.equal(ports.tcpPort, undefined);
    assert.ok(ports.udpPort > 0);
    await s.stop();
    await s.stop();
  });
});

