// Relayed garbage that makes an endpoint throw (issue 10, item 4): a real WebRtcTransport behind the
// TURN server, reached in process (no sockets) by a client that passed its ICE check, is sent DTLS
// records too short for werift to parse (werift's record parser throws a RangeError). Each one is
// counted in TurnStats.endpointErrors; the relay logs at most one error line per second, the next one
// carrying how many were suppressed. Date is mocked, so "a second later" is exact.
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { TurnServer } from '../../src/turn/turn-server.js';
import { Attr, StunClass, StunMethod, encodeStun } from '../../src/turn/stun-message.js';
import { WebRtcTransport } from '../../src/media/transport/webrtc-transport.js';
import { dtlsCertificate } from '../../src/media/transport/dtls-certificate.js';
import { PacketSlab } from '../../src/media/transport/packet-slab.js';
import { InProcessClient, logRecorder } from './in-process-client.js';

const REALM = 'turn.stun.localhost';
/** A DTLS handshake record header cut short: werift reads its length field past the end and throws. */
const SHORT_DTLS = Buffer.from([0x16, 0xfe, 0xfd, 0x00, 0x00]);

let server: TurnServer;
let logs: ReturnType<typeof logRecorder>;

beforeEach(() => {
  mock.timers.enable({ apis: ['Date'], now: Date.parse('2030-01-01T00:00:00Z') });
  logs = logRecorder();
  server = new TurnServer({
    listenIp: '127.0.0.1',
    udpPort: 0,
    advertisedIp: '127.0.0.1',
    realm: REALM,
    secret: 'relay-errors-secret',
    log: pino({ level: 'trace' }, logs.stream),
  });
});
afterEach(async () => {
  await server.stop();
  mock.timers.reset();
});

const endpointErrorLogs = () => logs.at(50).filter((r) => String(r.msg).includes('endpoint threw'));

describe('TURN relay: endpoints that throw on relayed garbage', () => {
  test('werift throwing on short DTLS records: each counted, logged at most once a second with the suppressed count', async () => {
    const transport = new WebRtcTransport(server, await dtlsCertificate(), pino({ level: 'silent' }), new PacketSlab());
    const peer = transport.candidate;
    const c = new InProcessClient(server);
    const creds = server.credentials('peer-garbage', 3600);
    assert.equal(c.allocate(creds.username, creds.password).cls, StunClass.SuccessResponse);
    assert.equal(c.createPermission({ address: peer.ip, port: peer.port }).cls, StunClass.SuccessResponse);
    // Pass the transport's ICE check, so its DTLS stack hears this allocation.
    const check = encodeStun(
      { method: StunMethod.Binding, cls: StunClass.Request, transactionId: randomBytes(12), attributes: [{ type: Attr.Username, value: Buffer.from(`${transport.ice.local.ufrag}:x`) }] },
      { integrityKey: Buffer.from(transport.ice.local.pwd), fingerprint: true },
    );
    c.sendIndication({ address: peer.ip, port: peer.port }, check);
    assert.equal(transport.state, 'connecting');

    for (let i = 0; i < 100; i++) c.sendIndication({ address: peer.ip, port: peer.port }, SHORT_DTLS);
    assert.equal(server.stats.endpointErrors, 100);
    assert.equal(endpointErrorLogs().length, 1, 'one error line for 100 packets');
    assert.equal(endpointErrorLogs()[0]!.suppressed, 0);

    mock.timers.tick(999);
    c.sendIndication({ address: peer.ip, port: peer.port }, SHORT_DTLS);
    assert.equal(endpointErrorLogs().length, 1, 'still within the second');
    mock.timers.tick(1);
    c.sendIndication({ address: peer.ip, port: peer.port }, SHORT_DTLS);
    assert.equal(endpointErrorLogs().length, 2);
    assert.equal(endpointErrorLogs()[1]!.suppressed, 100, 'the 99 + 1 dropped since the last line');
    assert.equal(server.stats.endpointErrors, 102);

    // The server and the transport keep working.
    assert.equal(c.request(StunMethod.Binding, [], { auth: false }).cls, StunClass.SuccessResponse);
    assert.equal(transport.state, 'connecting');
    transport.close();
  });

  test('any throwing endpoint is counted the same way', () => {
    const virt = server.registerVirtual({
      receive() {
        throw new Error('endpoint bug');
      },
    });
    const c = new InProcessClient(server, 'tcp');
    const creds = server.credentials('peer-bug', 3600);
    c.allocate(creds.username, creds.password);
    c.createPermission({ address: virt.ip, port: virt.port });
    for (let i = 0; i < 5; i++) c.sendIndication({ address: virt.ip, port: virt.port }, Buffer.from('x'));
    assert.equal(server.stats.endpointErrors, 5);
    assert.equal(endpointErrorLogs().length, 1);
    assert.ok((endpointErrorLogs()[0]!.err as { stack?: string }).stack, 'the logged line has the stack');
    virt.release();
  });
});
