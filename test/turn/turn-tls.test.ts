// TURN over TLS (issue 10, item 6) on real sockets: a TurnServer with `tls: { port: 0, key, cert }` (a
// self-signed ECDSA certificate made in process by werift's helper) returns tlsPort from start(); over
// tls.connect it answers a Binding, does the long-term-credential Allocate, and relays both ways to a
// registered virtual endpoint (Send ↔ Data indication, ChannelData padded as over TCP). The TCP rules
// hold for TLS: a connection that never completes the handshake, and one that handshakes but never
// authenticates, are closed at the authentication deadline; the per-IP cap counts TCP and TLS together.
// A bad key fails start().
import { afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { pino } from 'pino';
import { CipherContext, HashAlgorithm, NamedCurveAlgorithm, SignatureAlgorithm } from 'werift';
import { TurnServer, type ClientRef, type TurnServerOptions, type VirtualReply } from '../../src/turn/turn-server.js';
import { StunClass, StunMethod } from '../../src/turn/stun-protocol.js';
import { describeResponse } from '../helpers/turn-client.js';
import { StreamTurnClient } from './stream-turn-client.js';

let identity: { key: string; cert: string };
before(async () => {
  const { certPem, keyPem } = await CipherContext.createSelfSignedCertificateWithKey(
    { signature: SignatureAlgorithm.ecdsa_3, hash: HashAlgorithm.sha256_4 },
    NamedCurveAlgorithm.secp256r1_23,
  );
  identity = { key: keyPem, cert: certPem };
});

const servers: TurnServer[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await s.stop();
});

async function started(extra: Partial<TurnServerOptions> = {}) {
  const server = new TurnServer({
    listenIp: '127.0.0.1',
    udpPort: 0,
    advertisedIp: '127.0.0.1',
    realm: 'turn.stun.localhost',
    secret: 'tls-secret',
    log: pino({ level: 'silent' }),
    tls: { port: 0, ...identity },
    ...extra,
  });
  servers.push(server);
  return { server, ports: await server.start() };
}

async function tlsClient(port: number): Promise<{ client: StreamTurnClient; sock: tls.TLSSocket }> {
  const sock = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
  sockets.push(sock);
  await new Promise<void>((resolve, reject) => {
    sock.once('secureConnect', () => resolve());
    sock.once('error', reject);
  });
  return { client: new StreamTurnClient(sock), sock };
}

const realDelay = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function eventually(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await realDelay(5);
  }
}

describe('TURN over TLS', () => {
  test('start() returns tlsPort; Binding, authenticated Allocate and relaying to a virtual endpoint over TLS', async () => {
    const { server, ports } = await started({ tcpPort: 0, tcpAuthTimeoutMs: 300 });
    assert.ok(ports.tlsPort! > 0);
    assert.ok(ports.tcpPort! > 0 && ports.tcpPort !== ports.tlsPort);

    const received: { data: Buffer; from: ClientRef }[] = [];
    const virt = server.registerVirtual({
      receive(data: Buffer, from: ClientRef, reply: VirtualReply) {
        received.push({ data: Buffer.from(data), from });
        reply(Buffer.concat([Buffer.from('echo:'), data]));
      },
    });
    const peer = { address: virt.ip, port: virt.port };

    const { client, sock } = await tlsClient(ports.tlsPort!);
    assert.equal(sock.getProtocol()?.startsWith('TLS'), true);
    assert.equal((await client.request(StunMethod.Binding, [], { auth: false })).cls, StunClass.SuccessResponse);
    const creds = server.credentials('peer-tls', 3600);
    const allocate = await client.allocate(creds.username, creds.password);
    assert.equal(allocate.cls, StunClass.SuccessResponse, describeResponse(allocate));
    assert.equal(server.stats.allocations, 1);
    assert.equal((await client.createPermission(peer)).cls, StunClass.SuccessResponse);

    client.sendIndication(peer, Buffer.from('over-tls'));
    const back = await client.next();
    assert.equal(back.kind, 'data-indication');
    assert.deepEqual(back.data, Buffer.from('echo:over-tls'));
    assert.deepEqual(received[0]!.data, Buffer.from('over-tls'));
    assert.equal(received[0]!.from.transport, 'tcp', 'TLS is a stream transport like TCP');
    assert.equal(received[0]!.from.username, creds.username);

    assert.equal((await client.channelBind(0x4001, peer)).cls, StunClass.SuccessResponse);
    client.sendChannelData(0x4001, Buffer.from('odd'));
    const cd = await client.next();
    assert.equal(cd.kind, 'channel-data');
    assert.deepEqual(cd.data, Buffer.from('echo:odd'));
    assert.equal(cd.raw.length, 12, 'padded to 4 bytes as over TCP');

    // Past the authentication deadline the allocated TLS connection stays.
    await realDelay(500);
    assert.equal(client.closed, false);
    assert.equal((await client.request(StunMethod.Binding, [], { auth: false })).cls, StunClass.SuccessResponse);
    sock.destroy();
    await eventually(() => server.stats.allocations === 0, 'closing the TLS connection deletes its allocation');
    virt.release();
  });

  test('the authentication deadline applies to TLS: no handshake, or a handshake and no Allocate, is closed', async () => {
    const { server, ports } = await started({ tcpAuthTimeoutMs: 300 });
    const raw = net.connect({ host: '127.0.0.1', port: ports.tlsPort! });
    sockets.push(raw);
    let rawClosed = false;
    raw.on('close', () => (rawClosed = true));
    raw.on('error', () => {});
    const { client } = await tlsClient(ports.tlsPort!);
    assert.equal((await client.request(StunMethod.Binding, [], { auth: false })).cls, StunClass.SuccessResponse);
    await realDelay(150);
    assert.equal(rawClosed || client.closed, false);
    await eventually(() => rawClosed && client.closed, 'both closed after 300 ms', 2000);
    assert.equal(server.stats.tcpUnauthenticatedClosed, 2);
    assert.equal(server.stats.tcpConnections, 0);
  });

  test('the per-IP cap counts TCP and TLS connections together', async () => {
    const { server, ports } = await started({ tcpPort: 0, tcpMaxPerIp: 2 });
    const tcp = net.connect({ host: '127.0.0.1', port: ports.tcpPort! });
    sockets.push(tcp);
    tcp.on('error', () => {});
    await new Promise((r) => tcp.once('connect', r));
    await tlsClient(ports.tlsPort!);
    const third = tls.connect({ host: '127.0.0.1', port: ports.tlsPort!, rejectUnauthorized: false });
    sockets.push(third);
    const outcome = await new Promise<string>((resolve) => {
      third.once('secureConnect', () => resolve('connected'));
      third.once('error', () => resolve('refused'));
      third.once('close', () => resolve('refused'));
    });
    assert.equal(outcome, 'refused');
    assert.equal(server.stats.tcpRefused, 1);
  });

  test('a bad key or certificate fails start()', async () => {
    const server = new TurnServer({
      listenIp: '127.0.0.1',
      udpPort: 0,
      advertisedIp: '127.0.0.1',
      realm: 'r',
      secret: 's',
      log: pino({ level: 'silent' }),
      tls: { port: 0, key: 'not a key', cert: identity.cert },
    });
    await assert.rejects(server.start());
    await server.stop();
  });
});

