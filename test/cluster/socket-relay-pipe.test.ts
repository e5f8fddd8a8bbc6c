// The socket relay as a pipe, between plain ws servers (no Shoal, no Redis): frames go both ways unchanged
// and in order (binary and text kept, the frames handed over before the owner answered first), the owner's
// socket carries RELAYED_HEADER, close codes and reasons pass through both ways, an owner that vanishes
// gives 1011, a node that is not live gives 'room not found', an unreachable cluster store a clear 1011,
// a client that does not read stalls the owner's sends (backpressure, not an unbounded queue), and too
// many frames waiting for the owner close the client (1008).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { MAX_PENDING_FRAMES, RELAYED_HEADER, SocketRelay, type RelayNode } from '../../src/cluster/socket-relay.js';
import { createLogger } from '../../src/log/logger.js';

const WAIT_MS = 5000;
const PATH = '/socket/peer/websocket';

interface Frame {
  text: string;
  isBinary: boolean;
}

/** Resolves with the next value `on` delivers, bounded. */
function next<T>(on: (cb: (v: T) => void) => void, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
    on((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('socket relay pipe', () => {
  // The owner: records what each relayed socket received and how it was opened.
  const ownerHttp = createServer();
  const owner = new WebSocketServer({ server: ownerHttp });
  let ownerPort = 0;
  // The relaying node: every accepted socket is handed to the relay with one frame already "received".
  const edgeHttp = createServer();
  const edge = new WebSocketServer({ server: edgeHttp });
  let edgePort = 0;
  let nodes: () => Promise<readonly RelayNode[]> = async () => [];
  const relay = new SocketRelay({ selfId: 'edge', liveNodes: () => nodes(), maxFrameBytes: 1 << 20, connectTimeoutMs: 1000, log: createLogger('silent', false) });

  before(async () => {
    ownerPort = await listen(ownerHttp);
    edgePort = await listen(edgeHttp);
    edge.on('connection', (ws) => {
      const relayed = relay.start(ws, { nodeId: 'owner', roomId: 'room-1', path: PATH });
      relayed.forward(Buffer.from('auth'), true);
      ws.on('message', (data, isBinary) => relayed.forward(data, isBinary));
    });
  });
  after(async () => {
    relay.closeAll(1001, 'test over');
    for (const c of owner.clients) c.terminate();
    for (const c of edge.clients) c.terminate();
    await new Promise((r) => ownerHttp.close(r));
    await new Promise((r) => edgeHttp.close(r));
  });

  const ownerNode = () => nodes = async () => [{ id: 'owner', apiUrl: `http://127.0.0.1:${ownerPort}` }];

  /** A client of the edge, with what it receives and how it closes. */
  function client() {
    const ws = new WebSocket(`ws://127.0.0.1:${edgePort}${PATH}`);
    ws.on('error', () => {});
    const frames: Frame[] = [];
    ws.on('message', (d, isBinary) => frames.push({ text: d.toString(), isBinary }));
    const closed = next<{ code: number; reason: string }>((cb) => ws.once('close', (code, r) => cb({ code, reason: r.toString() })), 'client close');
    return { ws, frames, closed, opened: next<void>((cb) => ws.once('open', () => cb()), 'client open') };
  }

  /** The owner's side of the next relayed socket. */
  function ownerSide() {
    return next<{ ws: WebSocket; req: IncomingMessage; frames: Frame[] }>(
      (cb) =>
        owner.once('connection', (ws, req) => {
          const frames: Frame[] = [];
          ws.on('message', (d, isBinary) => frames.push({ text: d.toString(), isBinary }));
          cb({ ws, req, frames });
        }),
      'owner connection',
    );
  }

  async function until(check: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while (!check()) {
      if (Date.now() > deadline) assert.fail(`${what}: not within ${WAIT_MS} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  test('frames pass both ways unchanged and in order; the owner\'s socket is marked; closes pass through both ways', async () => {
    ownerNode();
    const side = ownerSide();
    const c = client();
    await c.opened;
    c.ws.send(Buffer.from('b1'));
    c.ws.send('t1');
    const o = await side;
    assert.equal(o.req.headers[RELAYED_HEADER], 'edge');
    assert.equal(o.req.url, PATH);
    await until(() => o.frames.length === 3, 'frames at the owner');
    assert.deepEqual(o.frames, [
      { text: 'auth', isBinary: true },
      { text: 'b1', isBinary: true },
      { text: 't1', isBinary: false },
    ]);
    o.ws.send('to-client');
    o.ws.send(Buffer.from('bin-to-client'));
    await until(() => c.frames.length === 2, 'frames at the client');
    assert.deepEqual(c.frames, [
      { text: 'to-client', isBinary: false },
      { text: 'bin-to-client', isBinary: true },
    ]);
    const ownerClosed = next<{ code: number; reason: string }>((cb) => o.ws.once('close', (code, r) => cb({ code, reason: r.toString() })), 'owner close');
    c.ws.close(4001, 'client leaves');
    assert.deepEqual(await ownerClosed, { code: 4001, reason: 'client leaves' });
    assert.deepEqual(await c.closed, { code: 4001, reason: 'client leaves' });

    // The owner closes with its own code and reason.
    const side2 = ownerSide();
    const c2 = client();
    const o2 = await side2;
    await c2.opened;
    o2.ws.close(1000, 'Peer removed');
    assert.deepEqual(await c2.closed, { code: 1000, reason: 'Peer removed' });

    // The owner vanishes (no close frame): the client is told it could not be reached (and may retry).
    const side3 = ownerSide();
    const c3 = client();
    (await side3).ws.terminate();
    assert.deepEqual(await c3.closed, { code: 1011, reason: 'Unable to reach Fishjam instance holding room room-1' });
    await until(() => relay.size === 0, 'relays ended');
  });

  test('a node that is not live: room not found; the store unreachable: 1011 with the owner\'s reason', async () => {
    nodes = async () => [{ id: 'someone-else', apiUrl: `http://127.0.0.1:${ownerPort}` }];
    assert.deepEqual(await client().closed, { code: 1000, reason: 'room not found' });
    nodes = async () => {
      throw Object.assign(new Error('Redis unreachable'), { name: 'ClusterUnavailableError' });
    };
    assert.deepEqual(await client().closed, { code: 1011, reason: 'Unable to reach Fishjam instance holding room room-1' });
  });

  test('a slow client: the relay stops reading from the owner (its sends stall), and everything arrives once it reads', async () => {
    ownerNode();
    const side = ownerSide();
    const c = client();
    await c.opened;
    const o = await side;
    let received = 0;
    c.ws.on('message', () => received++);
    c.ws.pause(); // the client stops reading: its TCP buffers fill
    const frame = Buffer.alloc(512 * 1024, 7);
    const total = 192; // 96 MiB: far more than the socket buffers and the relay's high-water mark hold
    let sent = 0;
    let stalled = false;
    while (sent < total && !stalled) {
      sent++;
      // A send whose write does not complete within a second has met the backpressure.
      stalled = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), 1000);
        o.ws.send(frame, { binary: true }, () => {
          clearTimeout(timer);
          resolve(false);
        });
      });
    }
    assert.ok(stalled && sent < total / 2, `the owner wrote ${sent} of ${total} frames (${sent / 2} MiB) to a client that does not read`);
    c.ws.resume();
    await until(() => received === sent, `all ${sent} frames at the client (got ${received})`);
    c.ws.close(1000, 'done');
    await c.closed;
  });

  test('too many frames before the owner answers close the client (1008)', async () => {
    let release: () => void = () => {};
    nodes = () => new Promise((resolve) => (release = () => resolve([{ id: 'owner', apiUrl: `http://127.0.0.1:${ownerPort}` }])));
    const c = client();
    await c.opened;
    for (let i = 0; i < MAX_PENDING_FRAMES + 1; i++) c.ws.send(Buffer.from([i & 0xff]));
    assert.deepEqual(await c.closed, { code: 1008, reason: 'too many messages before the room\'s node answered' });
    release();
  });
});
