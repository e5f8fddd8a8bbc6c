// Socket refusals in the log (issue 10, logs): every close of an unauthenticated peer, agent or server
// socket is logged with its close code and reason — a bad token (invalid/expired) at warn, the rest
// (room/peer not found, peer already connected, unauthenticated, shutting down, operation not allowed)
// at info — with the room and peer ids a verified token named, and never the token itself.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { create, toBinary } from '@bufbuild/protobuf';
import WebSocket from 'ws';
import { PeerTokenService } from '../../src/auth/peer-token.js';
import { AgentRequestSchema } from '../../src/gen/fishjam/agent_notifications_pb.js';
import { ServerMessageSchema } from '../../src/gen/fishjam/server_notifications_pb.js';
import { SECRET, api, type TestShoal } from '../helpers/server.js';
import { RawPeer } from '../helpers/raw-peer.js';
import type { CapturedLog } from '../log/capture.js';
import { startLoggedShoal } from '../log/logged-shoal.js';

type LoggedShoal = TestShoal & { logs: CapturedLog };
let s: LoggedShoal;
let guarded: LoggedShoal | undefined;
const secrets: string[] = [];

before(async () => {
  s = await startLoggedShoal({}, 'debug');
  secrets.push(s.apiToken);
});
after(async () => {
  await Promise.all([s?.stop(), guarded?.stop()]);
});

async function peerIn(t: TestShoal, roomId?: string): Promise<{ roomId: string; peerId: string; token: string }> {
  const id = roomId ?? (await api(t, 'POST', '/room', {})).json.data.room.id;
  const res = await api(t, 'POST', `/room/${id}/peer`, { type: 'webrtc' });
  assert.equal(res.status, 201, res.text);
  secrets.push(res.json.data.token);
  return { roomId: id, peerId: res.json.data.peer.id, token: res.json.data.token };
}

/** Opens a peer socket, sends an auth request with `token`, returns how the server closed it. */
async function refusedPeer(t: TestShoal, token: string) {
  const raw = new RawPeer(t.wsUrl);
  await raw.opened();
  raw.send({ content: { case: 'authRequest', value: { token } } });
  return raw.waitClosed();
}

function closedWith(url: string, frames: (Buffer | string)[]): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('open', () => frames.forEach((f) => ws.send(f)));
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    ws.on('error', reject);
  });
}

const refusal = (t: LoggedShoal, fields: Record<string, unknown>) => t.logs.waitFor('socket refused', fields);

describe('peer socket refusals', () => {
  it('invalid token: warn, no ids, no token', async () => {
    const garbage = 'garbage.TOKEN-VALUE.x';
    secrets.push(garbage);
    assert.deepEqual(await refusedPeer(s, garbage), { code: 1000, reason: 'invalid token' });
    const line = await refusal(s, { socket: 'peer', reason: 'invalid token', code: 1000 });
    assert.equal(line.level, 'warn');
    assert.equal(line.roomId, undefined);
  });

  it('expired token: warn, with the room and peer it named', async () => {
    const { roomId, peerId } = await peerIn(s);
    const old = new PeerTokenService([SECRET], s.host, -60);
    const { token } = await old.mint({ kind: 'peer', roomId, peerId });
    secrets.push(token);
    assert.deepEqual(await refusedPeer(s, token), { code: 1000, reason: 'expired token' });
    assert.equal((await refusal(s, { socket: 'peer', reason: 'expired token' })).level, 'warn');
  });

  it('a first frame that is not an auth request: unauthenticated, info', async () => {
    assert.deepEqual(await closedWith(`${s.wsUrl}/socket/peer/websocket`, ['hello']), { code: 1000, reason: 'unauthenticated' });
    const line = await refusal(s, { socket: 'peer', reason: 'unauthenticated' });
    assert.equal(line.level, 'info');
    assert.equal(line.cause, 'first frame is not an auth request');
  });

  it('peer already connected, peer not found, room not found: info, with ids', async () => {
    const p = await peerIn(s);
    const first = new RawPeer(s.wsUrl);
    await first.join(p.token);
    assert.deepEqual(await refusedPeer(s, p.token), { code: 1000, reason: 'peer already connected' });
    assert.equal((await refusal(s, { socket: 'peer', reason: 'peer already connected', roomId: p.roomId, peerId: p.peerId })).level, 'info');
    first.close();

    const gone = await peerIn(s, p.roomId);
    await api(s, 'DELETE', `/room/${p.roomId}/peer/${gone.peerId}`);
    assert.deepEqual(await refusedPeer(s, gone.token), { code: 1000, reason: 'peer not found' });
    assert.equal((await refusal(s, { socket: 'peer', reason: 'peer not found', roomId: p.roomId, peerId: gone.peerId })).level, 'info');

    const orphan = await peerIn(s, p.roomId);
    await api(s, 'DELETE', `/room/${p.roomId}`);
    assert.deepEqual(await refusedPeer(s, orphan.token), { code: 1000, reason: 'room not found' });
    assert.equal((await refusal(s, { socket: 'peer', reason: 'room not found', roomId: p.roomId, peerId: orphan.peerId })).level, 'info');
  });

  it('a replaced (refreshed) token: invalid token, warn, with ids', async () => {
    const p = await peerIn(s);
    const fresh = await api(s, 'POST', `/room/${p.roomId}/peer/${p.peerId}/refresh_token`);
    secrets.push(fresh.json.data.token);
    assert.deepEqual(await refusedPeer(s, p.token), { code: 1000, reason: 'invalid token' });
    assert.equal((await refusal(s, { socket: 'peer', reason: 'invalid token', roomId: p.roomId, peerId: p.peerId })).level, 'warn');
  });
});

describe('agent and server socket refusals', () => {
  it('agent socket: invalid token (warn) and a first frame that is no auth request (info)', async () => {
    const bad = 'agent-garbage-TOKEN-VALUE';
    secrets.push(bad);
    const auth = Buffer.from(toBinary(AgentRequestSchema, create(AgentRequestSchema, { content: { case: 'authRequest', value: { token: bad } } })));
    assert.deepEqual(await closedWith(`${s.wsUrl}/socket/agent/websocket`, [auth]), { code: 1000, reason: 'invalid token' });
    assert.equal((await refusal(s, { socket: 'agent', reason: 'invalid token' })).level, 'warn');
    assert.deepEqual(await closedWith(`${s.wsUrl}/socket/agent/websocket`, ['text']), { code: 1000, reason: 'unauthenticated' });
    assert.equal((await refusal(s, { socket: 'agent', reason: 'unauthenticated' })).level, 'info');
  });

  it('server socket: wrong API token (warn), text frame and no auth request (info)', async () => {
    const wrong = 'wrong-server-TOKEN-VALUE';
    secrets.push(wrong);
    const url = `${s.wsUrl}/socket/server/websocket`;
    const auth = Buffer.from(toBinary(ServerMessageSchema, create(ServerMessageSchema, { content: { case: 'authRequest', value: { token: wrong } } })));
    assert.deepEqual(await closedWith(url, [auth]), { code: 1000, reason: 'invalid token' });
    assert.equal((await refusal(s, { socket: 'server', reason: 'invalid token' })).level, 'warn');
    assert.deepEqual(await closedWith(url, ['text']), { code: 1003, reason: 'operation not allowed' });
    assert.equal((await refusal(s, { socket: 'server', reason: 'operation not allowed', cause: 'text frame' })).level, 'info');
    const subscribe = Buffer.from(toBinary(ServerMessageSchema, create(ServerMessageSchema, { content: { case: 'subscribeRequest', value: { eventType: 1 } } })));
    assert.deepEqual(await closedWith(url, [subscribe]), { code: 1000, reason: 'invalid auth request' });
    assert.equal((await refusal(s, { socket: 'server', reason: 'invalid auth request' })).level, 'info');
  });
});

describe('refusals on a guarded, draining server', () => {
  it('a refused Origin (info) and a peer hung up while shutting down (1012, info)', async () => {
    guarded = await startLoggedShoal({ FJ_CHECK_ORIGIN: 'https://app.example' }, 'info');
    await new Promise<void>((resolve) => {
      const ws = new WebSocket(`${guarded!.wsUrl}/socket/peer/websocket`, { headers: { origin: 'https://evil.example' } });
      ws.on('unexpected-response', (_req, res) => {
        assert.equal(res.statusCode, 403);
        resolve();
      });
      ws.on('error', () => {});
    });
    const origin = await guarded.logs.waitFor('socket upgrade refused: origin not allowed', { origin: 'https://evil.example', status: 403 });
    assert.equal(origin.level, 'info');

    const p = await peerIn(guarded, (await api(guarded, 'POST', '/room', { roomId: 'drain-room' })).json.data.room.id);
    await guarded.shoal.drain(0);
    // The drain stopped the room; one of the same id lets the token reach the shutting-down check.
    guarded.shoal.rooms.create({ roomId: 'drain-room', maxPeers: null, videoCodec: null, webhookUrl: null, peerlessPurgeTimeout: null, peerDisconnectedTimeout: null, roomType: 'conference', public: false });
    assert.deepEqual(await refusedPeer(guarded, p.token), { code: 1012, reason: 'Server is shutting down' });
    const line = await refusal(guarded, { socket: 'peer', reason: 'Server is shutting down', code: 1012, roomId: 'drain-room', peerId: p.peerId });
    assert.equal(line.level, 'info');
  });

  it('no token appears anywhere in either log', () => {
    const text = s.logs.text() + (guarded?.logs.text() ?? '');
    assert.ok(secrets.length >= 10);
    for (const secret of secrets) assert.ok(!text.includes(secret), `"${secret}" is in the log`);
  });
});
