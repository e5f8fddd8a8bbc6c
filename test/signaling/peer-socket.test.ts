// Raw-WebSocket tests of /socket/peer/websocket against a real Shoal: the auth handshake and every
// refusal (exact close code and reason), the connection lifecycle, frame limits, malformed input, and
// the generation-neutral media events in both wire generations (JSON in field 3 for ts-client 0.5.0,
// protobuf in fields 5/6 for ts-client 0.25.x), without a browser.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hkdfSync, randomUUID } from 'node:crypto';
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { PeerMessageSchema, type PeerMessage } from '../../src/gen/fishjam/peer_notifications_pb.js';
import { MediaEventSchema as PeerMediaEventSchema } from '../../src/gen/fishjam/media_events/peer/peer_pb.js';
import type { MediaEvent as ServerMediaEvent } from '../../src/gen/fishjam/media_events/server/server_pb.js';
import type { Notification } from '../../src/room/notifications.js';
import { SECRET, api, startShoal, type TestShoal } from '../helpers/server.js';

const PATH = '/socket/peer/websocket';
const MAX_FRAME = 4096;
const WAIT_MS = 3000;

// ---------------------------------------------------------------- helpers

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

type ServerCase = NonNullable<ServerMediaEvent['content']['case']>;
type ServerValue<K extends ServerCase> = Extract<ServerMediaEvent['content'], { case: K }>['value'];
type PeerEventContent = MessageInitShape<typeof PeerMediaEventSchema>['content'];

interface Frame {
  bytes: Uint8Array;
  msg: PeerMessage | undefined;
}

interface Closed {
  code: number;
  reason: string;
}

const clients: PeerClient[] = [];

/** A bare protocol client: sends PeerMessages, buffers what arrives, awaits specific messages. */
class PeerClient {
  readonly inbox: Frame[] = [];
  readonly closed: Promise<Closed>;
  closeInfo: Closed | undefined;
  private wakers: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('error', () => {});
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const bytes = new Uint8Array(data);
      let msg: PeerMessage | undefined;
      try {
        msg = isBinary ? fromBinary(PeerMessageSchema, bytes) : undefined;
      } catch {
        msg = undefined;
      }
      this.inbox.push({ bytes, msg });
      this.wakeAll();
    });
    this.closed = new Promise((resolve) => {
      ws.once('close', (code: number, reason: Buffer) => {
        this.closeInfo = { code, reason: reason.toString('utf8') };
        this.wakeAll();
        resolve(this.closeInfo);
      });
    });
  }

  static async open(s: TestShoal): Promise<PeerClient> {
    const c = new PeerClient(new WebSocket(`${s.wsUrl}${PATH}`));
    clients.push(c);
    await within(
      new Promise<void>((resolve, reject) => {
        c.ws.once('open', () => resolve());
        c.ws.once('error', reject);
      }),
      WAIT_MS,
      'websocket open',
    );
    return c;
  }

  private wakeAll(): void {
    const w = this.wakers;
    this.wakers = [];
    for (const f of w) f();
  }

  send(init: MessageInitShape<typeof PeerMessageSchema>): void {
    this.ws.send(toBinary(PeerMessageSchema, create(PeerMessageSchema, init)));
  }

  auth(token: string, sdkVersion = ''): void {
    this.send({ content: { case: 'authRequest', value: { token, sdkVersion } } });
  }

  /** Field 3: a JSON media event (object is stringified; a string is sent verbatim). */
  json(event: unknown): void {
    const data = typeof event === 'string' ? event : JSON.stringify(event);
    this.send({ content: { case: 'mediaEvent', value: { data } } });
  }

  /** Field 5: a protobuf peer media event. */
  proto(content: PeerEventContent): void {
    this.send({ content: { case: 'peerMediaEvent', value: { content } } });
  }

  /** Removes and returns the first buffered message `pick` accepts, waiting for one if needed. */
  async waitFor<T>(pick: (f: Frame) => T | undefined, what: string, ms = WAIT_MS): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      for (let i = 0; i < this.inbox.length; i++) {
        const r = pick(this.inbox[i]);
        if (r !== undefined) {
          this.inbox.splice(i, 1);
          return r;
        }
      }
      if (this.closeInfo) {
        throw new Error(`socket closed (${this.closeInfo.code} "${this.closeInfo.reason}") while waiting for ${what}; inbox: ${this.describeInbox()}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}; inbox: ${this.describeInbox()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wakers.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  authenticated(): Promise<Uint8Array> {
    return this.waitFor((f) => (f.msg?.content.case === 'authenticated' ? f.bytes : undefined), 'authenticated');
  }

  /** Next JSON media event (field 3) of the given type; returns the parsed {type, data}. */
  jsonEvent(type: string): Promise<{ type: string; data: any }> {
    return this.waitFor((f) => {
      if (f.msg?.content.case !== 'mediaEvent') return undefined;
      const parsed = JSON.parse(f.msg.content.value.data);
      return parsed.type === type ? parsed : undefined;
    }, `JSON media event "${type}"`);
  }

  /** Next protobuf server media event (field 6) of the given case. */
  protoEvent<K extends ServerCase>(kind: K): Promise<ServerValue<K>> {
    return this.waitFor((f) => {
      if (f.msg?.content.case !== 'serverMediaEvent') return undefined;
      const c = f.msg.content.value.content;
      return c.case === kind ? (c.value as ServerValue<K>) : undefined;
    }, `server media event "${kind}"`);
  }

  describeInbox(): string {
    return JSON.stringify(
      this.inbox.map((f) => {
        const c = f.msg?.content;
        if (!c) return `<${f.bytes.length} undecodable bytes>`;
        if (c.case === 'mediaEvent') return `json:${c.value.data}`;
        if (c.case === 'serverMediaEvent') return `proto:${c.value.content.case}`;
        return c.case ?? '<empty>';
      }),
    );
  }

  async close(): Promise<Closed> {
    this.ws.close();
    return within(this.closed, WAIT_MS, 'client close');
  }
}

function isJson(f: Frame): boolean {
  return f.msg?.content.case === 'mediaEvent';
}

async function createRoom(s: TestShoal, body: Record<string, unknown> = {}): Promise<string> {
  const res = await api(s, 'POST', '/room', body);
  assert.equal(res.status, 201, res.text);
  return res.json.data.room.id;
}

async function addPeer(s: TestShoal, roomId: string, options?: Record<string, unknown>): Promise<{ peerId: string; token: string }> {
  const res = await api(s, 'POST', `/room/${roomId}/peer`, options === undefined ? { type: 'webrtc' } : { type: 'webrtc', options });
  assert.equal(res.status, 201, res.text);
  return { peerId: res.json.data.peer.id, token: res.json.data.token };
}

async function peerStatus(s: TestShoal, roomId: string, peerId: string): Promise<string | undefined> {
  const res = await api(s, 'GET', `/room/${roomId}`);
  assert.equal(res.status, 200, res.text);
  return res.json.data.peers.find((p: { id: string }) => p.id === peerId)?.status;
}

/** Resolves with the first notification `pred` accepts; subscribe before triggering the event. */
function notified(s: TestShoal, pred: (n: Notification) => boolean, what: string): Promise<Notification> {
  let off: () => void = () => {};
  const p = new Promise<Notification>((resolve) => {
    off = s.shoal.bus.subscribe((n) => {
      if (pred(n)) resolve(n);
    });
  });
  return within(p, WAIT_MS, what).finally(() => off());
}

/** Opens a socket, authenticates, and waits for `authenticated`. */
async function connectPeer(s: TestShoal, token: string, sdkVersion = ''): Promise<PeerClient> {
  const c = await PeerClient.open(s);
  c.auth(token, sdkVersion);
  await c.authenticated();
  return c;
}

/** A JSON (0.5.0-style) peer that has authenticated and sent `connect`; returns its `connected` data. */
async function joinJson(s: TestShoal, token: string, metadata: unknown): Promise<{ c: PeerClient; connected: any }> {
  const c = await connectPeer(s, token);
  c.json({ type: 'connect', data: { metadata } });
  const connected = await c.jsonEvent('connected');
  return { c, connected: connected.data };
}

/** A protobuf (0.25.x-style) peer that has authenticated and sent `connect`. */
async function joinProto(s: TestShoal, token: string, metadataJson: string): Promise<{ c: PeerClient; connected: ServerValue<'connected'> }> {
  const c = await connectPeer(s, token, 'web-0.25.1');
  c.proto({ case: 'connect', value: { metadataJson } });
  return { c, connected: await c.protoEvent('connected') };
}

/** Opens a socket, authenticates with `token` and expects the server to close with 1000 `reason`. */
async function expectRefused(s: TestShoal, token: string, reason: string): Promise<void> {
  const c = await PeerClient.open(s);
  c.auth(token);
  const closed = await within(c.closed, WAIT_MS, `close "${reason}"`);
  assert.deepEqual(closed, { code: 1000, reason });
  assert.deepEqual(c.inbox, [], 'nothing is sent before a refusal');
}

function deriveKey(secret: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), 'shoal peer token v1', 32));
}

function b64url(v: unknown): string {
  return Buffer.from(JSON.stringify(v), 'utf8').toString('base64url');
}

function tokenPayload(token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

function parseWrapped(metadataJson: string): unknown {
  return JSON.parse(metadataJson);
}

// ---------------------------------------------------------------- servers

let s: TestShoal;
let other: TestShoal;

before(async () => {
  s = await startShoal({ FJ_NODE_ID: 'node-a', FJ_MAX_WS_FRAME: String(MAX_FRAME) });
  other = await startShoal({ FJ_NODE_ID: 'other' });
});

after(async () => {
  for (const c of clients) c.ws.terminate();
  await Promise.all([s?.stop(), other?.stop()]);
});

// ---------------------------------------------------------------- tests

describe('peer socket: authentication refusals', () => {
  test('corrupted signature → 1000 invalid token', async () => {
    const room = await createRoom(s);
    const { token } = await addPeer(s, room);
    const [h, p, sig] = token.split('.');
    await expectRefused(s, `${h}.${p}.${(sig[0] === 'A' ? 'B' : 'A') + sig.slice(1)}`, 'invalid token');
  });

  test('alg none → 1000 invalid token', async () => {
    const room = await createRoom(s);
    const { token } = await addPeer(s, room);
    await expectRefused(s, `${b64url({ alg: 'none', typ: 'JWT' })}.${token.split('.')[1]}.`, 'invalid token');
  });

  test('valid claims signed with a wrong key → 1000 invalid token', async () => {
    const room = await createRoom(s);
    const { token } = await addPeer(s, room);
    const forged = await new SignJWT(tokenPayload(token))
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(deriveKey('a-completely-different-secret-key-base-0123456789'));
    await expectRefused(s, forged, 'invalid token');
  });

  test('token minted by another instance with the same secret → 1000 invalid token', async () => {
    // The same room id exists on both servers, so only the node binding can refuse it.
    const roomId = `shared-${randomUUID()}`;
    await createRoom(s, { roomId });
    const resB = await api(other, 'POST', '/room', { roomId });
    assert.equal(resB.status, 201, resB.text);
    const { token } = await addPeer(other, roomId);
    assert.equal(tokenPayload(token).node, 'other');
    await expectRefused(s, token, 'invalid token');
    // ...while server B itself accepts it.
    const c = await connectPeer(other, token);
    await c.close();
  });

  test('tampered claims with the original signature → 1000 invalid token', async () => {
    const room = await createRoom(s);
    const a = await addPeer(s, room);
    const b = await addPeer(s, room);
    const [h, p, sig] = a.token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    // Same room, peer and jti (so only the signature can refuse it), escalated permissions and expiry.
    const escalated = { ...claims, perm: { ...claims.perm, canPublish: false }, exp: claims.exp + 86400 };
    await expectRefused(s, `${h}.${b64url(escalated)}.${sig}`, 'invalid token');
    // Pointing the token at another peer of the room.
    await expectRefused(s, `${h}.${b64url({ ...claims, peer: b.peerId })}.${sig}`, 'invalid token');
    // The untouched token still works.
    const c = await connectPeer(s, a.token);
    await c.close();
  });

  test('expired token → 1000 expired token', async () => {
    const room = await createRoom(s);
    const { token } = await addPeer(s, room);
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ ...tokenPayload(token), iat: now - 7200, exp: now - 60 })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(deriveKey(SECRET));
    await expectRefused(s, expired, 'expired token');
  });

  test('empty token → 1000 missing token', async () => {
    await expectRefused(s, '', 'missing token');
  });

  test('garbage token → 1000 invalid token', async () => {
    await expectRefused(s, 'not-a-jwt', 'invalid token');
  });

  test('room deleted → 1000 room not found', async () => {
    const room = await createRoom(s);
    const { token } = await addPeer(s, room);
    assert.equal((await api(s, 'DELETE', `/room/${room}`)).status, 204);
    await expectRefused(s, token, 'room not found');
  });

  test('peer deleted → 1000 peer not found', async () => {
    const room = await createRoom(s);
    const { token, peerId } = await addPeer(s, room);
    assert.equal((await api(s, 'DELETE', `/room/${room}/peer/${peerId}`)).status, 204);
    await expectRefused(s, token, 'peer not found');
  });

  test('second socket while the first is connected → 1000 peer already connected; first stays usable', async () => {
    const room = await createRoom(s);
    const { token, peerId } = await addPeer(s, room);
    const first = await connectPeer(s, token);
    await expectRefused(s, token, 'peer already connected');
    assert.equal(first.closeInfo, undefined);
    assert.equal(await peerStatus(s, room, peerId), 'connected');
    first.json({ type: 'connect', data: { metadata: { name: 'first' } } });
    const connected = await first.jsonEvent('connected');
    assert.deepEqual(connected.data, { id: peerId, otherEndpoints: [] });
    await first.close();
  });

  test('refresh_token: the old token is refused, the new one accepted', async () => {
    const room = await createRoom(s);
    const { token: oldToken, peerId } = await addPeer(s, room);
    const res = await api(s, 'POST', `/room/${room}/peer/${peerId}/refresh_token`);
    assert.equal(res.status, 201, res.text);
    const newToken: string = res.json.data.token;
    assert.notEqual(newToken, oldToken);
    await expectRefused(s, oldToken, 'invalid token');
    const c = await connectPeer(s, newToken);
    assert.equal(await peerStatus(s, room, peerId), 'connected');
    await c.close();
  });

  test('first message is a media event → 1000 unauthenticated', async () => {
    const c = await PeerClient.open(s);
    c.json({ type: 'connect', data: { metadata: null } });
    assert.deepEqual(await within(c.closed, WAIT_MS, 'close'), { code: 1000, reason: 'unauthenticated' });
    assert.deepEqual(c.inbox, []);
  });

  test('first message is a protobuf peer media event → 1000 unauthenticated', async () => {
    const c = await PeerClient.open(s);
    c.proto({ case: 'connect', value: { metadataJson: '{}' } });
    assert.deepEqual(await within(c.closed, WAIT_MS, 'close'), { code: 1000, reason: 'unauthenticated' });
  });

  test('first message is a text frame → 1000 unauthenticated', async () => {
    const room = await createRoom(s);
    const { token } = await addPeer(s, room);
    const c = await PeerClient.open(s);
    // Even a text frame holding a valid auth request's bytes is refused: only binary frames count.
    c.ws.send(Buffer.from(toBinary(PeerMessageSchema, create(PeerMessageSchema, { content: { case: 'authRequest', value: { token } } }))).toString('latin1'));
    assert.deepEqual(await within(c.closed, WAIT_MS, 'close'), { code: 1000, reason: 'unauthenticated' });
  });

  test('first message is garbage bytes → 1000 unauthenticated', async () => {
    const c = await PeerClient.open(s);
    c.ws.send(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
    assert.deepEqual(await within(c.closed, WAIT_MS, 'close'), { code: 1000, reason: 'unauthenticated' });
  });
});

describe('peer socket: lifecycle', () => {
  test('success: authenticated is 0A 02 08 01 for a conference room and the peer becomes connected', async () => {
    const room = await createRoom(s);
    const { token, peerId } = await addPeer(s, room);
    assert.equal(await peerStatus(s, room, peerId), 'disconnected');
    const connectedN = notified(s, (n) => n.type === 'peerConnected' && n.peerId === peerId, 'peerConnected');
    const c = await PeerClient.open(s);
    c.auth(token);
    const bytes = await c.authenticated();
    assert.equal(bytes[0], 0x0a);
    assert.deepEqual([...bytes], [0x0a, 0x02, 0x08, 0x01]);
    await connectedN;
    assert.equal(await peerStatus(s, room, peerId), 'connected');
    await c.close();
  });

  test('audio_only room: authenticated carries ROOM_TYPE_AUDIO_ONLY', async () => {
    const room = await createRoom(s, { roomType: 'audio_only' });
    const { token } = await addPeer(s, room);
    const c = await PeerClient.open(s);
    c.auth(token, 'web-0.25.1');
    assert.deepEqual([...(await c.authenticated())], [0x0a, 0x02, 0x08, 0x02]);
    await c.close();
  });

  test('after close the peer is disconnected and can reconnect with the same token', async () => {
    const room = await createRoom(s);
    const { token, peerId } = await addPeer(s, room);
    const c1 = await connectPeer(s, token);
    const disconnected = notified(s, (n) => n.type === 'peerDisconnected' && n.peerId === peerId, 'peerDisconnected');
    await c1.close();
    await disconnected;
    assert.equal(await peerStatus(s, room, peerId), 'disconnected');
    const c2 = await connectPeer(s, token);
    assert.equal(await peerStatus(s, room, peerId), 'connected');
    c2.json({ type: 'connect', data: { metadata: { again: true } } });
    assert.deepEqual((await c2.jsonEvent('connected')).data, { id: peerId, otherEndpoints: [] });
    await c2.close();
  });

  test('an auth request after authentication is ignored', async () => {
    const room = await createRoom(s);
    const { token, peerId } = await addPeer(s, room);
    const c = await connectPeer(s, token);
    c.auth('garbage');
    c.auth(token);
    c.json({ type: 'connect', data: { metadata: null } });
    assert.deepEqual((await c.jsonEvent('connected')).data, { id: peerId, otherEndpoints: [] });
    assert.deepEqual(c.inbox, [], 'no second authenticated, no close');
    await c.close();
  });

  test('DELETE peer closes its socket with 1000 Peer removed', async () => {
    const room = await createRoom(s);
    const { token, peerId } = await addPeer(s, room);
    const c = await connectPeer(s, token);
    assert.equal((await api(s, 'DELETE', `/room/${room}/peer/${peerId}`)).status, 204);
    assert.deepEqual(await within(c.closed, WAIT_MS, 'close'), { code: 1000, reason: 'Peer removed' });
  });

  test('DELETE room closes every socket with 1000 Room stopped', async () => {
    const room = await createRoom(s);
    const a = await addPeer(s, room);
    const b = await addPeer(s, room);
    const ca = await connectPeer(s, a.token);
    const cb = await connectPeer(s, b.token, 'web-0.25.1');
    assert.equal((await api(s, 'DELETE', `/room/${room}`)).status, 204);
    assert.deepEqual(await within(ca.closed, WAIT_MS, 'close A'), { code: 1000, reason: 'Room stopped' });
    assert.deepEqual(await within(cb.closed, WAIT_MS, 'close B'), { code: 1000, reason: 'Room stopped' });
  });

  test(`a frame over FJ_MAX_WS_FRAME (${MAX_FRAME}) closes with 1009; other peers are unaffected`, async () => {
    const room = await createRoom(s);
    const a = await addPeer(s, room);
    const b = await addPeer(s, room);
    const { c: ca } = await joinJson(s, a.token, { name: 'A' });
    const { c: cb } = await joinJson(s, b.token, { name: 'B' });
    await ca.jsonEvent('endpointAdded');

    cb.json({ type: 'updateEndpointMetadata', data: { metadata: { blob: 'x'.repeat(MAX_FRAME + 100) } } });
    const closed = await within(cb.closed, WAIT_MS, 'close B');
    assert.equal(closed.code, 1009);

    // A learns B left, stays connected and keeps working.
    assert.deepEqual((await ca.jsonEvent('endpointRemoved')).data, { id: b.peerId });
    assert.equal(ca.closeInfo, undefined);
    assert.equal(await peerStatus(s, room, a.peerId), 'connected');
    assert.equal(await peerStatus(s, room, b.peerId), 'disconnected');
    // The oversized metadata never reached the room.
    assert.equal(ca.inbox.some((f) => f.msg?.content.case === 'mediaEvent' && f.msg.content.value.data.includes('blob')), false);
    ca.json({ type: 'connect', data: { metadata: { name: 'A2' } } });
    assert.deepEqual((await ca.jsonEvent('connected')).data, { id: a.peerId, otherEndpoints: [] });

    // B can come back with the same token, and A sees it.
    const { c: cb2, connected } = await joinJson(s, b.token, { name: 'B2' });
    assert.equal(connected.otherEndpoints.length, 1);
    assert.deepEqual((await ca.jsonEvent('endpointAdded')).data, { id: b.peerId, type: 'webrtc', metadata: { name: 'B2' } });
    await cb2.close();
    await ca.close();
  });

  test('a frame just under FJ_MAX_WS_FRAME is accepted', async () => {
    const room = await createRoom(s);
    const { token, peerId } = await addPeer(s, room);
    const c = await connectPeer(s, token);
    const name = 'y'.repeat(MAX_FRAME - 200);
    c.json({ type: 'connect', data: { metadata: { name } } });
    assert.deepEqual((await c.jsonEvent('connected')).data, { id: peerId, otherEndpoints: [] });
    assert.equal(c.closeInfo, undefined);
    await c.close();
  });
});

describe('peer socket: malformed input after auth is ignored', () => {
  test('JSON generation: invalid JSON, no type, bad custom, garbage protobuf, text frame', async () => {
    const room = await createRoom(s);
    const { token, peerId } = await addPeer(s, room);
    const c = await connectPeer(s, token);
    c.json('{"type": "connect", '); // invalid JSON in field 3
    c.json({ data: { metadata: { name: 'no type' } } }); // JSON without type
    c.json('[1,2,3]');
    c.json('"connect"');
    c.json({ type: 'custom', data: { nope: true } });
    c.json({ type: 'updateTrackMetadata', data: { trackMetadata: {} } });
    c.ws.send(Buffer.from([0x1a, 0x05, 0x01])); // truncated field 3
    c.ws.send(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])); // garbage
    c.ws.send('{"type":"connect","data":{"metadata":null}}'); // text frame
    c.json({ type: 'connect', data: { metadata: { name: 'valid' } } });
    assert.deepEqual((await c.jsonEvent('connected')).data, { id: peerId, otherEndpoints: [] });
    assert.deepEqual(c.inbox, [], 'nothing but the connected reply');
    assert.equal(c.closeInfo, undefined);
    assert.equal(await peerStatus(s, room, peerId), 'connected');
    await c.close();
  });

  test('protobuf generation: garbage bytes, empty peer media event, invalid metadata_json', async () => {
    const room = await createRoom(s);
    const { token, peerId } = await addPeer(s, room);
    const c = await connectPeer(s, token, 'web-0.25.1');
    c.ws.send(Buffer.from([0x2a, 0x10, 0x0a])); // truncated field 5
    c.ws.send(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
    c.proto({ case: undefined });
    c.proto({ case: 'connect', value: { metadataJson: '{not json' } });
    c.proto({ case: 'connect', value: { metadataJson: '{"name":"valid"}' } });
    const connected = await c.protoEvent('connected');
    assert.equal(connected.endpointId, peerId);
    assert.deepEqual(parseWrapped(connected.endpointIdToEndpoint[peerId].metadataJson), { peer: { name: 'valid' }, server: null });
    assert.deepEqual(c.inbox, []);
    assert.equal(c.closeInfo, undefined);
    await c.close();
  });

  test('rtcStatsReport frames (field 4) are accepted silently', async () => {
    const room = await createRoom(s);
    const { token, peerId } = await addPeer(s, room);
    const { c } = await joinProto(s, token, '{"name":"P"}');
    const report = JSON.stringify({ 'RTCInboundRTPVideoStream_1': { type: 'inbound-rtp', kind: 'video', packetsReceived: 10 } });
    c.send({ content: { case: 'rtcStatsReport', value: { data: report } } });
    c.send({ content: { case: 'rtcStatsReport', value: { data: 'not even json' } } });
    c.send({ content: { case: 'rtcStatsReport', value: { data: '' } } });
    c.proto({ case: 'connect', value: { metadataJson: '{"name":"P"}' } });
    assert.equal((await c.protoEvent('connected')).endpointId, peerId);
    assert.deepEqual(c.inbox, [], 'stats produce no reply');
    assert.equal(c.closeInfo, undefined);
    await c.close();
  });
});

describe('peer socket: JSON media events (ts-client 0.5.0)', () => {
  test('connect / endpointAdded / endpointUpdated / null metadata / endpointRemoved', async () => {
    const room = await createRoom(s);
    const a = await addPeer(s, room);
    const b = await addPeer(s, room);
    const c = await addPeer(s, room);
    const d = await addPeer(s, room);

    const { c: ca, connected: aConnected } = await joinJson(s, a.token, { name: 'A' });
    assert.deepEqual(aConnected, { id: a.peerId, otherEndpoints: [] });

    const { c: cb, connected: bConnected } = await joinJson(s, b.token, { name: 'B' });
    assert.equal(bConnected.id, b.peerId);
    assert.equal(bConnected.otherEndpoints.length, 1);
    const seenA = bConnected.otherEndpoints[0];
    assert.equal(seenA.id, a.peerId);
    assert.equal(seenA.type, 'webrtc');
    assert.deepEqual(seenA.metadata, { name: 'A' });
    assert.deepEqual(seenA.tracks, {});

    const added = await ca.jsonEvent('endpointAdded');
    assert.deepEqual(added.data, { id: b.peerId, type: 'webrtc', metadata: { name: 'B' } });
    assert.equal('trackIdToMetadata' in added.data, false);

    cb.json({ type: 'updateEndpointMetadata', data: { metadata: { name: 'B', mic: 'on' } } });
    assert.deepEqual((await ca.jsonEvent('endpointUpdated')).data, { id: b.peerId, metadata: { name: 'B', mic: 'on' } });

    // connect with data:{} (C5 drops an undefined metadata key) → null metadata.
    const cc = await connectPeer(s, c.token);
    cc.json({ type: 'connect', data: {} });
    const cConnected = (await cc.jsonEvent('connected')).data;
    assert.equal(cConnected.id, c.peerId);
    assert.deepEqual(
      cConnected.otherEndpoints.map((e: any) => [e.id, e.type, e.metadata]).sort(),
      [
        [a.peerId, 'webrtc', { name: 'A' }],
        [b.peerId, 'webrtc', { name: 'B', mic: 'on' }],
      ].sort(),
    );
    assert.deepEqual((await ca.jsonEvent('endpointAdded')).data, { id: c.peerId, type: 'webrtc', metadata: null });
    assert.deepEqual((await cb.jsonEvent('endpointAdded')).data, { id: c.peerId, type: 'webrtc', metadata: null });

    // connect with no data at all → null metadata as well.
    const cd = await connectPeer(s, d.token);
    cd.json({ type: 'connect' });
    assert.equal((await cd.jsonEvent('connected')).data.id, d.peerId);
    assert.deepEqual((await ca.jsonEvent('endpointAdded')).data, { id: d.peerId, type: 'webrtc', metadata: null });

    // REST shows the client metadata.
    const roomJson = (await api(s, 'GET', `/room/${room}`)).json.data;
    assert.deepEqual(roomJson.peers.find((p: any) => p.id === b.peerId).metadata, { name: 'B', mic: 'on' });

    // B leaves → the others get endpointRemoved.
    await cb.close();
    assert.deepEqual((await ca.jsonEvent('endpointRemoved')).data, { id: b.peerId });
    assert.deepEqual((await cc.jsonEvent('endpointRemoved')).data, { id: b.peerId });
    assert.deepEqual((await cd.jsonEvent('endpointRemoved')).data, { id: b.peerId });

    for (const x of [ca, cc, cd]) assert.equal(x.inbox.filter((f) => !isJson(f)).length, 0, 'JSON peers only get field 3');
    await Promise.all([ca.close(), cc.close(), cd.close()]);
  });

  test('a peer that authenticated but never sent connect is not announced', async () => {
    const room = await createRoom(s);
    const a = await addPeer(s, room);
    const b = await addPeer(s, room);
    const { c: ca } = await joinJson(s, a.token, { name: 'A' });
    const cb = await connectPeer(s, b.token);
    await cb.close();
    // A hears nothing about B; its next own round trip proves the inbox is settled.
    ca.json({ type: 'connect', data: { metadata: { name: 'A' } } });
    assert.deepEqual((await ca.jsonEvent('connected')).data, { id: a.peerId, otherEndpoints: [] });
    assert.deepEqual(ca.inbox, []);
    await ca.close();
  });
});

describe('peer socket: protobuf media events (ts-client 0.25.x)', () => {
  test('connected includes self with {peer, server}; endpointAdded / Updated / Removed; empty metadata_json is null', async () => {
    const room = await createRoom(s);
    const p1 = await addPeer(s, room, { metadata: { role: 'host' } });
    const p2 = await addPeer(s, room);

    const { c: c1, connected: conn1 } = await joinProto(s, p1.token, '{"name":"P1"}');
    assert.equal(conn1.endpointId, p1.peerId);
    assert.deepEqual(Object.keys(conn1.endpointIdToEndpoint), [p1.peerId]);
    const self1 = conn1.endpointIdToEndpoint[p1.peerId];
    assert.deepEqual(parseWrapped(self1.metadataJson), { peer: { name: 'P1' }, server: { role: 'host' } });
    assert.deepEqual(self1.trackIdToTrack, {});
    // The integrated TURN server, over UDP and TCP, with per-peer credentials.
    assert.deepEqual(
      conn1.iceServers.map((i) => i.urls[0]?.replace(/:\d+\?/, ':PORT?')),
      ['turn:127.0.0.1:PORT?transport=udp', 'turn:127.0.0.1:PORT?transport=tcp'],
    );
    assert.ok(conn1.iceServers.every((i) => /^\d+:/.test(i.username) && i.credential.length > 10));

    // Empty metadata_json (C25 sends "" for undefined) is read as null.
    const { c: c2, connected: conn2 } = await joinProto(s, p2.token, '');
    assert.equal(conn2.endpointId, p2.peerId);
    assert.deepEqual(Object.keys(conn2.endpointIdToEndpoint).sort(), [p1.peerId, p2.peerId].sort());
    assert.deepEqual(parseWrapped(conn2.endpointIdToEndpoint[p2.peerId].metadataJson), { peer: null, server: null });
    assert.deepEqual(parseWrapped(conn2.endpointIdToEndpoint[p1.peerId].metadataJson), { peer: { name: 'P1' }, server: { role: 'host' } });
    assert.deepEqual(conn2.endpointIdToEndpoint[p1.peerId].trackIdToTrack, {});

    const added = await c1.protoEvent('endpointAdded');
    assert.equal(added.endpointId, p2.peerId);
    assert.deepEqual(parseWrapped(added.metadataJson), { peer: null, server: null });

    c2.proto({ case: 'updateEndpointMetadata', value: { metadataJson: '{"name":"P2"}' } });
    const updated = await c1.protoEvent('endpointUpdated');
    assert.equal(updated.endpointId, p2.peerId);
    assert.deepEqual(parseWrapped(updated.metadataJson), { peer: { name: 'P2' }, server: null });

    c1.proto({ case: 'updateEndpointMetadata', value: { metadataJson: '{"name":"P1","hand":"up"}' } });
    const updated1 = await c2.protoEvent('endpointUpdated');
    assert.equal(updated1.endpointId, p1.peerId);
    assert.deepEqual(parseWrapped(updated1.metadataJson), { peer: { name: 'P1', hand: 'up' }, server: { role: 'host' } });

    await c2.close();
    assert.equal((await c1.protoEvent('endpointRemoved')).endpointId, p2.peerId);

    assert.equal(c1.inbox.filter((f) => f.msg?.content.case !== 'serverMediaEvent').length, 0, 'proto peers only get field 6');
    await c1.close();
  });

  test('generation decided by the first media event when sdk_version is empty', async () => {
    const room = await createRoom(s);
    const p = await addPeer(s, room, { metadata: { x: 1 } });
    const c = await connectPeer(s, p.token, '');
    c.proto({ case: 'connect', value: { metadataJson: '{"name":"late"}' } });
    const conn = await c.protoEvent('connected');
    assert.equal(conn.endpointId, p.peerId);
    assert.deepEqual(parseWrapped(conn.endpointIdToEndpoint[p.peerId].metadataJson), { peer: { name: 'late' }, server: { x: 1 } });
    await c.close();
  });
});

describe('peer socket: mixed room (JSON and protobuf peers)', () => {
  test('each peer gets the other peer’s events in its own format', async () => {
    const room = await createRoom(s);
    const j = await addPeer(s, room, { metadata: { role: 'json-server' } });
    const p = await addPeer(s, room, { metadata: { role: 'proto-server' } });

    const { c: cj, connected: jConnected } = await joinJson(s, j.token, { name: 'J' });
    assert.deepEqual(jConnected, { id: j.peerId, otherEndpoints: [] });

    const { c: cp, connected: pConnected } = await joinProto(s, p.token, '{"name":"P"}');
    assert.deepEqual(Object.keys(pConnected.endpointIdToEndpoint).sort(), [j.peerId, p.peerId].sort());
    assert.deepEqual(parseWrapped(pConnected.endpointIdToEndpoint[j.peerId].metadataJson), { peer: { name: 'J' }, server: { role: 'json-server' } });
    assert.deepEqual(parseWrapped(pConnected.endpointIdToEndpoint[p.peerId].metadataJson), { peer: { name: 'P' }, server: { role: 'proto-server' } });

    // J (JSON) sees P as a plain webrtc endpoint with P's own metadata, unwrapped.
    const added = await cj.jsonEvent('endpointAdded');
    assert.deepEqual(added.data, { id: p.peerId, type: 'webrtc', metadata: { name: 'P' } });

    cp.proto({ case: 'updateEndpointMetadata', value: { metadataJson: '{"name":"P","cam":"off"}' } });
    assert.deepEqual((await cj.jsonEvent('endpointUpdated')).data, { id: p.peerId, metadata: { name: 'P', cam: 'off' } });

    cj.json({ type: 'updateEndpointMetadata', data: { metadata: { name: 'J2' } } });
    const upd = await cp.protoEvent('endpointUpdated');
    assert.equal(upd.endpointId, j.peerId);
    assert.deepEqual(parseWrapped(upd.metadataJson), { peer: { name: 'J2' }, server: { role: 'json-server' } });

    await cj.close();
    assert.equal((await cp.protoEvent('endpointRemoved')).endpointId, j.peerId);

    // J rejoins: P learns it via EndpointAdded (wrapped); J's connected lists P (unwrapped).
    const { c: cj2, connected: j2Connected } = await joinJson(s, j.token, { name: 'J3' });
    assert.equal(j2Connected.otherEndpoints.length, 1);
    assert.equal(j2Connected.otherEndpoints[0].id, p.peerId);
    assert.equal(j2Connected.otherEndpoints[0].type, 'webrtc');
    assert.deepEqual(j2Connected.otherEndpoints[0].metadata, { name: 'P', cam: 'off' });
    const added2 = await cp.protoEvent('endpointAdded');
    assert.equal(added2.endpointId, j.peerId);
    assert.deepEqual(parseWrapped(added2.metadataJson), { peer: { name: 'J3' }, server: { role: 'json-server' } });

    await cp.close();
    assert.deepEqual((await cj2.jsonEvent('endpointRemoved')).data, { id: p.peerId });

    assert.equal(cj2.inbox.filter((f) => !isJson(f)).length, 0);
    await cj2.close();
  });
});
