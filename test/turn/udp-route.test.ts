// The relay's UDP fast-path routes (turn-relay.ts routeFor, udp-route.ts): a reply function offers a
// route only for a UDP allocation with a live channel binding to the virtual address and a socket that
// has a direct target; the route names the client's source, the channel and a bounded validity, and it
// dies with the allocation (deleted) or the virtual address (released). Date is mocked.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { pino } from 'pino';
import { TurnServer, type VirtualReply } from '../../src/turn/turn-server.js';
import { StunClass } from '../../src/turn/stun-message.js';
import { routeUsable } from '../../src/turn/udp-route.js';
import type { UdpSocket, UdpSource } from '../../src/turn/udp-socket.js';
import { InProcessClient } from './in-process-client.js';

const NOW = Date.parse('2030-01-01T00:00:00Z');
let server: TurnServer;

beforeEach(() => {
  mock.timers.enable({ apis: ['Date'], now: NOW });
  server = new TurnServer({ listenIp: '127.0.0.1', udpPort: 0, advertisedIp: '127.0.0.1', realm: 'r', secret: 'route-secret', log: pino({ level: 'silent' }) });
});
afterEach(async () => {
  await server.stop();
  mock.timers.reset();
});

/** A UDP socket stand-in whose direct target is a marker (the native plane's would be its port handle). */
function fakeSocket(target: unknown): UdpSocket {
  return { bind: async () => 0, send: () => {}, close: async () => {}, directTarget: () => target };
}

/** A UDP client on `socket`, allocated, and a virtual endpoint that keeps the last reply function it got. */
function setup(socket: UdpSocket, channel?: number) {
  let reply: VirtualReply | undefined;
  const virt = server.registerVirtual({ receive: (_d, _f, r) => (reply = r) });
  const c = new InProcessClient(server, 'udp');
  const source: UdpSource = { key: c.conn.key, address: c.conn.remote.address, port: c.conn.remote.port };
  c.conn.udp = { socket, source };
  const creds = server.credentials('peer-route', 3600);
  assert.equal(c.allocate(creds.username, creds.password).cls, StunClass.SuccessResponse);
  const peer = { address: virt.ip, port: virt.port };
  if (channel !== undefined) assert.equal(c.channelBind(channel, peer).cls, StunClass.SuccessResponse);
  else assert.equal(c.createPermission(peer).cls, StunClass.SuccessResponse);
  if (channel !== undefined) c.sendChannelData(channel, Buffer.from('x'));
  else c.sendIndication(peer, Buffer.from('x'));
  assert.ok(reply, 'the endpoint got a reply function');
  return { c, virt, reply, source };
}

describe('UDP fast-path routes', () => {
  test('with a channel bound: the route names the socket, the source, the channel and lasts at most a second', () => {
    const socket = fakeSocket('target');
    const { reply, source } = setup(socket, 0x4001);
    const route = reply.route!()!;
    assert.equal(route.socket, socket);
    assert.deepEqual(route.to, source);
    assert.equal(route.channel, 0x4001);
    assert.equal(route.target, 'target');
    assert.equal(route.until, NOW + 1000);
    assert.equal(reply.route!(), route, 'the same route while it is usable');
    mock.timers.tick(1000);
    assert.equal(routeUsable(route, Date.now()), false);
    const next = reply.route!()!;
    assert.notEqual(next, route, 'a fresh one after it lapsed');
    assert.equal(next.until, Date.now() + 1000);
  });

  test('no route without a channel binding (Send/Data indications), or without a direct target', () => {
    assert.equal(setup(fakeSocket('target')).reply.route!(), undefined);
    assert.equal(setup(fakeSocket(undefined), 0x4002).reply.route!(), undefined);
  });

  test('the route dies when the allocation is deleted', () => {
    const { c, reply } = setup(fakeSocket('t'), 0x4003);
    const route = reply.route!()!;
    assert.equal(c.refresh(0).cls, StunClass.SuccessResponse);
    assert.equal(route.dead, true);
    assert.equal(routeUsable(route, Date.now()), false);
    assert.equal(reply.route!(), undefined);
  });

  test('the route dies when the virtual address is released', () => {
    const { virt, reply } = setup(fakeSocket('t'), 0x4004);
    const route = reply.route!()!;
    virt.release();
    assert.equal(route.dead, true);
    assert.equal(reply.route!(), undefined);
  });
});
