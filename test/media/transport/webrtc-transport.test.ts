// WebRtcTransport's media path (issue 10, item 2), behind a fake TURN server: packets arrive as from two
// allocations A (the real client, which knows the ICE credentials) and B (any other allocation that can
// reach the virtual port). Only a STUN Binding request that passed the ICE credential check sets or moves
// the path; DTLS/SRTP from an allocation without one is dropped, before and after ICE completes. The DTLS
// client is werift's, driven in process; the handshake runs over allocation A.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { DtlsClient } from 'werift';
import { WebRtcTransport } from '../../../src/media/transport/webrtc-transport.js';
import { dtlsCertificate, type DtlsCertificate } from '../../../src/media/transport/dtls-certificate.js';
import { PacketSlab } from '../../../src/media/transport/packet-slab.js';
import { Attr, StunClass, StunMethod, decodeStun, encodeStun, type StunAttribute } from '../../../src/turn/stun-message.js';
import type { ClientRef } from '../../../src/turn/turn-server.js';
import { fakeTurn } from '../session/session-harness.js';

const log = pino({ level: 'silent' });

/** An allocation as the transport sees it: its ClientRef and a recording reply function. */
function allocation(name: string, port: number) {
  const sent: Buffer[] = [];
  const ref: ClientRef = { allocationId: `turn-${name}`, username: `1:${name}`, transport: 'udp', relayed: { address: '127.0.0.1', port } };
  const reply = (data: Buffer, headroom = 0) => void sent.push(Buffer.from(data.subarray(headroom)));
  return { ref, reply, sent, nonStun: () => sent.filter((b) => b[0]! > 3) };
}

/** A Binding request to the transport, signed with `pwd` (the transport's local ICE password). */
function binding(t: WebRtcTransport, opts: { pwd?: string; nominate?: boolean } = {}): Buffer {
  const attrs: StunAttribute[] = [{ type: Attr.Username, value: Buffer.from(`${t.ice.local.ufrag}:remote`) }];
  if (opts.nominate) attrs.push({ type: Attr.UseCandidate, value: Buffer.alloc(0) });
  return encodeStun(
    { method: StunMethod.Binding, cls: StunClass.Request, transactionId: randomBytes(12), attributes: attrs },
    { integrityKey: Buffer.from(opts.pwd ?? t.ice.local.pwd), fingerprint: true },
  );
}

const settle = () => new Promise((r) => setTimeout(r, 30));

/** A werift DTLS client whose flights are handed to `deliver`; `receive` feeds it the server's. */
function dtlsClient(cert: DtlsCertificate, deliver: (packet: Buffer) => void) {
  const pipe = {
    type: 'udp',
    address: { address: '127.0.0.1', port: 1, family: 'IPv4' },
    closed: false,
    onData: (_data: Buffer) => {},
    send: async (data: Buffer) => deliver(Buffer.from(data)),
    close: async () => {},
  };
  const client = new DtlsClient({
    transport: pipe as never,
    cert: cert.certPem,
    key: cert.keyPem,
    signatureHash: cert.signatureHash,
    srtpProfiles: [7, 1],
    extendedMasterSecret: true,
  });
  return { client, receive: (data: Buffer) => pipe.onData(data) };
}

/** The first flight (ClientHello) of a fresh DTLS client. */
async function clientHello(cert: DtlsCertificate): Promise<Buffer> {
  let hello: Buffer | undefined;
  const { client } = dtlsClient(cert, (p) => (hello ??= p));
  void client.connect().catch(() => {});
  for (let i = 0; i < 50 && !hello; i++) await settle();
  client.close();
  assert.ok(hello && hello[0] === 22, 'a DTLS handshake record');
  return hello;
}

let cert: DtlsCertificate;
const open: WebRtcTransport[] = [];
function transport(): WebRtcTransport {
  const t = new WebRtcTransport(fakeTurn().turn, cert, log, new PacketSlab());
  open.push(t);
  return t;
}

before(async () => {
  cert = await dtlsCertificate();
});
after(() => {
  for (const t of open) t.close();
});

describe('WebRtcTransport: only an ICE-checked Binding request picks the path', () => {
  test('a DTLS ClientHello from allocation B before any checked binding is dropped: no answer, no path', async () => {
    const t = transport();
    const b = allocation('B', 60002);
    t.receive(await clientHello(cert), b.ref, b.reply);
    t.receive(Buffer.from([0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2]), b.ref, b.reply); // RTP-looking
    await settle();
    assert.deepEqual(b.sent, [], 'nothing is sent to B');
    // No path yet: RTCP has nowhere to go (and no SRTP context either).
    assert.equal(t.sendRtp(Buffer.alloc(20, 0x80)), undefined);
    // A Binding request with the wrong password is answered 401 but picks no path either.
    t.receive(binding(t, { pwd: 'not-the-password-at-all' }), b.ref, b.reply);
    assert.equal(b.sent.length, 1);
    assert.equal(decodeStun(b.sent[0]!).cls, StunClass.ErrorResponse);
    t.receive(await clientHello(cert), b.ref, b.reply);
    await settle();
    assert.equal(b.nonStun().length, 0, 'still no DTLS answer to B');
  });

  test('after A passes the ICE check, the handshake runs over A; B can neither join it nor move the path', async () => {
    const t = transport();
    const a = allocation('A', 60001);
    const b = allocation('B', 60002);

    // B's ClientHello arrives first; it must not be answered (to anyone) nor start a handshake.
    t.receive(await clientHello(cert), b.ref, b.reply);
    await settle();

    t.receive(binding(t), a.ref, a.reply);
    assert.equal(decodeStun(a.sent[0]!).cls, StunClass.SuccessResponse);
    assert.equal(t.state, 'connecting');

    // B's packets after A's check but before DTLS completes: still dropped, never answered on A's path.
    t.receive(await clientHello(cert), b.ref, b.reply);
    await settle();
    assert.equal(a.nonStun().length, 0, "B's ClientHello got no answer, not even on A's path");
    assert.deepEqual(b.sent, []);

    // The real client's handshake over A.
    const connected = new Promise<void>((resolve) => t.once('connected', () => resolve()));
    let fromServer = 0;
    const client = dtlsClient(cert, (p) => t.receive(p, a.ref, a.reply));
    const origReply = a.reply;
    a.reply = (data, headroom = 0) => {
      origReply(data, headroom);
      // Only DTLS records (first byte 20–63, RFC 7983) go to the DTLS client: werift throws on the RTP sent below.
      const first = data[headroom]!;
      if (first >= 20 && first <= 63) {
        fromServer++;
        client.receive(Buffer.from(data.subarray(headroom)));
      }
    };
    // Re-register A's reply with the transport (the TURN server hands the same function every time).
    t.receive(binding(t, { nominate: true }), a.ref, a.reply);
    void client.client.connect();
    await Promise.race([connected, new Promise((_, reject) => setTimeout(() => reject(new Error('DTLS did not connect')), 5000))]);
    assert.ok(fromServer > 0);
    assert.equal(t.state, 'connected');

    // After ICE and DTLS: B's DTLS and SRTP-looking packets change nothing; media goes to A.
    const bBefore = b.sent.length;
    t.receive(await clientHello(cert), b.ref, b.reply);
    t.receive(Buffer.from([0x80, 0xc8, 0, 6, ...randomBytes(24)]), b.ref, b.reply);
    await settle();
    assert.equal(b.sent.length, bBefore);
    const aBefore = a.sent.length;
    const rtp = Buffer.alloc(12 + 20);
    rtp[0] = 0x80;
    rtp[1] = 96;
    assert.ok(t.sendRtp(rtp));
    assert.equal(a.sent.length, aBefore + 1, 'RTP goes out on A');
    assert.equal(b.sent.length, bBefore, 'not on B');
    client.client.close();
  });
});
