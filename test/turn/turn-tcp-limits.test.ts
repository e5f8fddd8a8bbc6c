// TURN over TCP keeps no connection it should not (issue 10, item 3), on real sockets:
// - with node:test mock timers (setInterval, setTimeout, Date): a connection that never sends, and one
//   that keeps sending unauthenticated Binding requests, are closed 10 s after connecting; an allocated
//   one stays while it talks (a Binding every 20 s for a minute) and is closed after 60 s of silence,
//   which deletes its allocation;
// - with real timers: 200 connections from one IP ("slowloris"), 64 are kept and 136 refused at once;
//   a freed slot is reusable, and another source IP (127.0.0.2) has its own 64; tcpMaxPerIp overrides it.
import { after, afterEach, before, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { pino } from 'pino';
import { TurnServer, type TurnServerOptions } from '../../src/turn/turn-server.js';
import { StunClass } from '../../src/turn/stun-protocol.js';
import { TestTurnClient, describeResponse } from '../helpers/turn-client.js';

/** Real timers, kept before any test mocks them. */
const realSetTimeout = globalThis.setTimeout;
const realDelay = (ms: number) => new Promise<void>((resolve) => realSetTimeout(resolve, ms));

/** Polls (on real time) until `cond` holds; fails after `ms`. */
async function eventually(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await realDelay(5);
  }
}

/** Advances mocked time a second at a time (a single tick runs every due timer at the end time). */
function advance(ms: number): void {
  for (let left = ms; left > 0; left -= 1000) mock.timers.tick(Math.min(1000, left));
}

const base = (extra: Partial<TurnServerOptions> = {}): TurnServerOptions => ({
  listenIp: '127.0.0.1',
  udpPort: 0,
  tcpPort: 0,
  advertisedIp: '127.0.0.1',
  realm: 'turn.stun.localhost',
  secret: 'tcp-limits-secret',
  log: pino({ level: 'silent' }),
  ...extra,
});

/** A raw TCP connection; `closed` turns true when the server drops it. */
async function rawConnect(port: number, localAddress = '127.0.0.1'): Promise<{ sock: net.Socket; closed: () => boolean }> {
  const sock = net.connect({ host: '127.0.0.1', port, localAddress });
  let closed = false;
  sock.on('close', () => (closed = true));
  sock.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', () => resolve());
    sock.once('error', reject);
  });
  return { sock, closed: () => closed };
}

describe('TURN TCP: authentication deadline and idle timeout (mock timers)', () => {
  let server: TurnServer;
  let tcpPort: number;
  const clients: TestTurnClient[] = [];
  before(async () => {
    mock.timers.enable({ apis: ['setInterval', 'setTimeout', 'Date'], now: Date.now() });
    server = new TurnServer(base());
    tcpPort = (await server.start()).tcpPort!;
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.stop();
    mock.timers.reset();
  });

  test('unauthenticated connections go after 10 s; an allocated one after 60 s of silence', async () => {
    const silent = await rawConnect(tcpPort);
    const talker = await TestTurnClient.open('tcp', '127.0.0.1', tcpPort);
    const allocated = await TestTurnClient.open('tcp', '127.0.0.1', tcpPort);
    clients.push(talker, allocated);
    let talkerClosed = false;
    let allocatedClosed = false;
    void talker.waitClosed(1e9).then(() => (talkerClosed = true));
    void allocated.waitClosed(1e9).then(() => (allocatedClosed = true));
    const creds = server.credentials('peer-tcp', 3600);
    const { response } = await allocated.allocate(creds.username, creds.password);
    assert.equal(response.cls, StunClass.SuccessResponse, describeResponse(response));
    await realDelay(20); // the server has accepted the silent connection too

    for (let t = 0; t < 9; t++) {
      mock.timers.tick(1000);
      assert.equal((await talker.binding()).cls, StunClass.SuccessResponse, 'unauthenticated Bindings are answered');
    }
    await realDelay(20);
    assert.equal(silent.closed() || talkerClosed || allocatedClosed, false, 'nothing closed before 10 s');

    mock.timers.tick(1000);
    await eventually(() => silent.closed() && talkerClosed, 'both unauthenticated connections closed');
    assert.equal(server.stats.tcpUnauthenticatedClosed, 2);
    assert.equal(server.stats.tcpConnections, 1);
    assert.equal(allocatedClosed, false);

    for (let i = 0; i < 3; i++) {
      advance(20_000);
      assert.equal((await allocated.binding()).cls, StunClass.SuccessResponse);
    }
    await realDelay(20);
    assert.equal(allocatedClosed, false, 'a talking allocated connection stays');
    assert.equal(server.stats.allocations, 1);

    advance(59_000);
    await realDelay(20);
    assert.equal(allocatedClosed, false, 'not yet 60 s of silence');
    advance(2000);
    await eventually(() => allocatedClosed, 'the idle connection closed');
    assert.equal(server.stats.tcpIdleClosed, 1);
    await eventually(() => server.stats.allocations === 0, 'its allocation deleted');
    assert.equal(server.stats.tcpConnections, 0);
  });
});

describe('TURN TCP: connections per IP (real sockets)', () => {
  const servers: TurnServer[] = [];
  const socks: net.Socket[] = [];
  afterEach(async () => {
    for (const s of socks.splice(0)) s.destroy();
    for (const s of servers.splice(0)) await s.stop();
  });
  async function started(extra: Partial<TurnServerOptions> = {}) {
    const server = new TurnServer(base(extra));
    servers.push(server);
    return { server, tcpPort: (await server.start()).tcpPort! };
  }

  test('200 connections from one IP: 64 kept, 136 refused; a freed slot and another IP are served', async () => {
    const { server, tcpPort } = await started();
    const conns = await Promise.all(Array.from({ length: 200 }, () => rawConnect(tcpPort)));
    socks.push(...conns.map((c) => c.sock));
    await realDelay(200);
    assert.equal(conns.filter((c) => c.closed()).length, 136, '136 refused');
    assert.equal(conns.filter((c) => !c.closed()).length, 64);
    assert.equal(server.stats.tcpRefused, 136);
    assert.equal(server.stats.tcpConnections, 64);

    // Another source IP has its own allowance.
    const other = await rawConnect(tcpPort, '127.0.0.2');
    socks.push(other.sock);
    await realDelay(50);
    assert.equal(other.closed(), false);
    assert.equal(server.stats.tcpConnections, 65);

    // Closing one frees its slot: a TURN client from the first IP is served again.
    conns.find((c) => !c.closed())!.sock.destroy();
    await eventually(() => server.stats.tcpConnections === 64, 'slot released');
    const c = await TestTurnClient.open('tcp', '127.0.0.1', tcpPort);
    try {
      assert.equal((await c.binding()).cls, StunClass.SuccessResponse);
    } finally {
      c.close();
    }
  });

  test('tcpMaxPerIp overrides the cap', async () => {
    const { server, tcpPort } = await started({ tcpMaxPerIp: 2 });
    const conns = await Promise.all([0, 1, 2].map(() => rawConnect(tcpPort)));
    socks.push(...conns.map((c) => c.sock));
    await realDelay(100);
    assert.equal(conns.filter((c) => c.closed()).length, 1, 'one refused');
    assert.equal(server.stats.tcpRefused, 1);
  });
});
