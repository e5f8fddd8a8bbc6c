// Raw `ws` tests of /socket/server/websocket: Fishjam's auth/subscribe state machine, its close codes
// and reasons, notification delivery only after subscribing, the SDK's back-to-back auth+subscribe,
// oversized frames (1009) and server pings.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import WebSocket from 'ws';
import { ServerMessageSchema, ServerMessage_EventType, type ServerMessage } from '../../src/gen/fishjam/server_notifications_pb.js';
import { api, startShoal, type TestShoal } from '../helpers/server.js';

const TIMEOUT_MS = 3000;

type Content = MessageInitShape<typeof ServerMessageSchema>['content'];

const encode = (content: Content): Buffer => Buffer.from(toBinary(ServerMessageSchema, create(ServerMessageSchema, { content })));
const authRequest = (token: string) => encode({ case: 'authRequest', value: { token } });
const subscribeRequest = (eventType: ServerMessage_EventType) => encode({ case: 'subscribeRequest', value: { eventType } });

/** A raw server-socket client that queues every frame and the close event, for awaiting with timeouts. */
class Client {
  readonly ws: WebSocket;
  private readonly frames: { data: Buffer; isBinary: boolean }[] = [];
  private waiters: (() => void)[] = [];
  closeEvent: { code: number; reason: string } | undefined;
  private readonly opened: Promise<void>;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (data, isBinary) => {
      this.frames.push({ data: Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]), isBinary });
      this.wake();
    });
    this.ws.on('close', (code, reason) => {
      this.closeEvent = { code, reason: reason.toString('utf8') };
      this.wake();
    });
    this.ws.on('error', () => this.wake());
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
  }

  static async open(url: string): Promise<Client> {
    const c = new Client(url);
    await withTimeout(c.opened, 'open');
    return c;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async until<T>(what: string, probe: () => T | undefined, timeoutMs = TIMEOUT_MS): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = probe();
      if (v !== undefined) return v;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Next raw frame; fails if the socket closes first. */
  async nextFrame(timeoutMs = TIMEOUT_MS): Promise<{ data: Buffer; isBinary: boolean }> {
    return this.until('a frame', () => {
      const f = this.frames.shift();
      if (f) return f;
      if (this.closeEvent) throw new Error(`socket closed (${this.closeEvent.code} "${this.closeEvent.reason}") while waiting for a frame`);
      return undefined;
    }, timeoutMs);
  }

  async next(timeoutMs = TIMEOUT_MS): Promise<ServerMessage> {
    const f = await this.nextFrame(timeoutMs);
    assert.equal(f.isBinary, true, 'server frames are binary');
    return fromBinary(ServerMessageSchema, f.data);
  }

  /** Waits for the close; asserts no frame arrived before it. */
  async closed(timeoutMs = TIMEOUT_MS): Promise<{ code: number; reason: string }> {
    const ev = await this.until('close', () => this.closeEvent, timeoutMs);
    assert.deepEqual(
      this.frames.map((f) => f.data.toString('hex')),
      [],
      'no frames expected before the close',
    );
    return ev;
  }

  send(data: Buffer | string): void {
    this.ws.send(data);
  }

  async authenticate(token: string): Promise<void> {
    this.send(authRequest(token));
    const msg = await this.next();
    assert.equal(msg.content.case, 'authenticated');
  }

  dispose(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}

function withTimeout<T>(p: Promise<T>, what: string, ms = TIMEOUT_MS): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    }),
  ]);
}

let s: TestShoal;
let smallFrames: TestShoal | undefined;
let fastPing: TestShoal | undefined;
const clients: Client[] = [];

async function connect(server: TestShoal = s, path = '/socket/server/websocket'): Promise<Client> {
  const c = await Client.open(`${server.wsUrl}${path}`);
  clients.push(c);
  return c;
}

before(async () => {
  s = await startShoal();
});

after(async () => {
  for (const c of clients) c.dispose();
  await Promise.all([s?.stop(), smallFrames?.stop(), fastPing?.stop()]);
});

describe('server websocket: authentication', () => {
  it('correct token → authenticated (bytes 32 00)', async () => {
    const c = await connect();
    c.send(authRequest(s.apiToken));
    const f = await c.nextFrame();
    assert.equal(f.isBinary, true);
    assert.equal(f.data.toString('hex'), '3200');
    assert.equal(fromBinary(ServerMessageSchema, f.data).content.case, 'authenticated');
  });

  it('wrong token → close 1000 "invalid token"', async () => {
    const c = await connect();
    c.send(authRequest('not-the-token'));
    assert.deepEqual(await c.closed(), { code: 1000, reason: 'invalid token' });
  });

  it('first message another decodable message → close 1000 "invalid auth request"', async () => {
    const c = await connect();
    c.send(subscribeRequest(ServerMessage_EventType.SERVER_NOTIFICATION));
    assert.deepEqual(await c.closed(), { code: 1000, reason: 'invalid auth request' });
  });

  it('text frame before auth → close 1003 "operation not allowed"', async () => {
    const c = await connect();
    c.send(JSON.stringify({ auth_request: { token: s.apiToken } }));
    assert.deepEqual(await c.closed(), { code: 1003, reason: 'operation not allowed' });
  });

  it('garbage binary before auth → close 1000 "invalid auth request"', async () => {
    const c = await connect();
    c.send(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    assert.deepEqual(await c.closed(), { code: 1000, reason: 'invalid auth request' });
  });

  it('//socket/server/websocket (cloud SDK path) works', async () => {
    const c = await connect(s, '//socket/server/websocket');
    await c.authenticate(s.apiToken);
  });
});

describe('server websocket: after authentication', () => {
  it('auth + subscribe sent back-to-back → authenticated, then subscribeResponse{eventType:1}', async () => {
    const c = await connect();
    c.send(authRequest(s.apiToken));
    c.send(subscribeRequest(ServerMessage_EventType.SERVER_NOTIFICATION));
    const first = await c.nextFrame();
    assert.equal(first.data.toString('hex'), '3200');
    const second = await c.nextFrame();
    assert.equal(second.data.toString('hex'), '4a020801');
    const msg = fromBinary(ServerMessageSchema, second.data);
    assert.equal(msg.content.case, 'subscribeResponse');
    assert.equal(msg.content.value.eventType, ServerMessage_EventType.SERVER_NOTIFICATION);
  });

  it('nothing is pushed before subscribing; after subscribing the next room is the first notification', async () => {
    const c = await connect();
    await c.authenticate(s.apiToken);
    const a = await api(s, 'POST', '/room', { roomId: 'before-subscribe' });
    assert.equal(a.status, 201);
    c.send(subscribeRequest(ServerMessage_EventType.SERVER_NOTIFICATION));
    // Anything pushed for room A would have been queued on the socket before this reply.
    const resp = await c.next();
    assert.equal(resp.content.case, 'subscribeResponse');
    const b = await api(s, 'POST', '/room', { roomId: 'after-subscribe' });
    assert.equal(b.status, 201);
    const created = await c.next();
    assert.equal(created.content.case, 'roomCreated');
    assert.equal(created.content.value.roomId, 'after-subscribe');
    // Later events keep flowing, in order.
    const del = await api(s, 'DELETE', '/room/after-subscribe');
    assert.equal(del.status, 204);
    const deleted = await c.next();
    assert.equal(deleted.content.case, 'roomDeleted');
    assert.equal(deleted.content.value.roomId, 'after-subscribe');
  });

  it('repeated subscription is idempotent (one notification per event)', async () => {
    const c = await connect();
    await c.authenticate(s.apiToken);
    for (let i = 0; i < 2; i++) {
      c.send(subscribeRequest(ServerMessage_EventType.SERVER_NOTIFICATION));
      const resp = await c.next();
      assert.equal(resp.content.case, 'subscribeResponse');
    }
    await api(s, 'POST', '/room', { roomId: 'idem-1' });
    await api(s, 'POST', '/room', { roomId: 'idem-2' });
    const m1 = await c.next();
    const m2 = await c.next();
    assert.deepEqual(
      [m1, m2].map((m) => (m.content.case === 'roomCreated' ? m.content.value.roomId : m.content.case)),
      ['idem-1', 'idem-2'],
    );
  });

  it('a second authRequest → close 1003 "operation not allowed"', async () => {
    const c = await connect();
    await c.authenticate(s.apiToken);
    c.send(authRequest(s.apiToken));
    assert.deepEqual(await c.closed(), { code: 1003, reason: 'operation not allowed' });
  });

  it('subscribeRequest with eventType 0 → close 1003 "operation not allowed"', async () => {
    const c = await connect();
    await c.authenticate(s.apiToken);
    c.send(subscribeRequest(ServerMessage_EventType.UNSPECIFIED));
    assert.deepEqual(await c.closed(), { code: 1003, reason: 'operation not allowed' });
  });

  it('text frame after auth → close 1003 "operation not allowed"', async () => {
    const c = await connect();
    await c.authenticate(s.apiToken);
    c.send('hello');
    assert.deepEqual(await c.closed(), { code: 1003, reason: 'operation not allowed' });
  });

  it('metrics subscription is echoed (eventType 2)', async () => {
    const c = await connect();
    await c.authenticate(s.apiToken);
    c.send(subscribeRequest(ServerMessage_EventType.METRICS));
    const resp = await c.next();
    assert.equal(resp.content.case, 'subscribeResponse');
    assert.equal(resp.content.value.eventType, ServerMessage_EventType.METRICS);
  });
});

describe('server websocket: limits and keep-alive', () => {
  it('a frame larger than FJ_MAX_WS_FRAME closes with 1009; other sockets keep working', async () => {
    smallFrames = await startShoal({ FJ_MAX_WS_FRAME: '2048' });
    const other = await connect(smallFrames);
    await other.authenticate(smallFrames.apiToken);
    other.send(subscribeRequest(ServerMessage_EventType.SERVER_NOTIFICATION));
    assert.equal((await other.next()).content.case, 'subscribeResponse');

    const big = await connect(smallFrames);
    big.send(authRequest('x'.repeat(10 * 1024)));
    const ev = await big.closed();
    assert.equal(ev.code, 1009);

    // The server still serves: a fresh socket authenticates, and the subscribed one gets events.
    const fresh = await connect(smallFrames);
    await fresh.authenticate(smallFrames.apiToken);
    const res = await api(smallFrames, 'POST', '/room', { roomId: 'still-alive' });
    assert.equal(res.status, 201);
    const created = await other.next();
    assert.equal(created.content.case, 'roomCreated');
    assert.equal(created.content.value.roomId, 'still-alive');
  });

  it('FJ_PING_INTERVAL_MS=200: the server pings after auth', async () => {
    fastPing = await startShoal({ FJ_PING_INTERVAL_MS: '200' });
    const c = await connect(fastPing);
    await c.authenticate(fastPing.apiToken);
    const pings: Buffer[] = [];
    await withTimeout(
      new Promise<void>((resolve) => {
        c.ws.on('ping', (data: Buffer) => {
          pings.push(data);
          if (pings.length === 2) resolve();
        });
      }),
      'two pings',
    );
    assert.equal(pings[0].length, 0, 'ping payload is empty');
    // The client answered the pings automatically, so the socket is still open.
    assert.equal(c.ws.readyState, WebSocket.OPEN);
    assert.equal(c.closeEvent, undefined);
  });
});
