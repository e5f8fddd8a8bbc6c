// What a real Shoal logs about REST (issue 10, logs): every 401 at warn with method, route and reason,
// never the header value; every other 4xx refusal at info with its error text minus the echoed request
// value; unknown routes at debug; the room lifecycle (room created/deleted, peer added/connected/
// disconnected/deleted) at info with ids; and no token, secret or metadata content anywhere in the log.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, type TestShoal } from '../helpers/server.js';
import { RawPeer } from '../helpers/raw-peer.js';
import type { CapturedLog } from '../log/capture.js';
import { startLoggedShoal } from '../log/logged-shoal.js';

let s: TestShoal & { logs: CapturedLog };
/** Every secret the run used: none may appear in the log. */
const secrets: string[] = [];

before(async () => {
  s = await startLoggedShoal({}, 'debug');
  secrets.push(s.apiToken);
});
after(async () => {
  await s?.stop();
});

const refused = (fields: Record<string, unknown>) => s.logs.find('REST request refused', fields);

describe('REST refusals in the log', () => {
  it('401 Missing token / Invalid token: warn, method and route, never the header value', async () => {
    const wrong = 'wrong-api-token-VALUE-4711';
    secrets.push(wrong, 'basic-credential-VALUE-9');
    assert.equal((await api(s, 'GET', '/room', undefined, { auth: false })).status, 401);
    assert.equal((await api(s, 'GET', '/room/some-room', undefined, { auth: false, headers: { authorization: `Bearer ${wrong}` } })).status, 401);
    assert.equal((await api(s, 'POST', '/room', {}, { auth: false, headers: { authorization: 'Basic basic-credential-VALUE-9' } })).status, 401);

    const [missing] = refused({ status: 401, reason: 'Missing token', method: 'GET', route: '/room' });
    assert.ok(missing, s.logs.text());
    assert.equal(missing.level, 'warn');
    assert.equal(missing.ip, '127.0.0.1');
    const [invalid] = refused({ status: 401, reason: 'Invalid token', method: 'GET', route: '/room/:room_id', roomId: 'some-room' });
    assert.ok(invalid, s.logs.text());
    assert.equal(invalid.level, 'warn');
    assert.equal(refused({ status: 401, reason: 'Missing token', method: 'POST', route: '/room' }).length, 1);
    assert.ok(!s.logs.text().includes(wrong));
    assert.ok(!s.logs.text().includes('basic-credential'));
  });

  it('4xx validation refusals: info, the error text without the value the client sent', async () => {
    const bad = await api(s, 'POST', '/room', { maxPeers: 'lots-VALUE-SECRET' });
    assert.deepEqual(bad.json, { errors: 'Expected maxPeers to be a number, got: lots-VALUE-SECRET' });
    const [line] = refused({ status: 400, method: 'POST', route: '/room', reason: 'Expected maxPeers to be a number (value not logged)' });
    assert.ok(line, s.logs.text());
    assert.equal(line.level, 'info');
    assert.ok(!s.logs.text().includes('lots-VALUE-SECRET'));

    assert.equal((await api(s, 'GET', '/room/no-such-room')).status, 404);
    assert.equal(refused({ status: 404, route: '/room/:room_id', roomId: 'no-such-room', reason: 'Room no-such-room does not exist', level: 'info' }).length, 1);

    const room = (await api(s, 'POST', '/room', {})).json.data.room;
    assert.equal((await api(s, 'POST', `/room/${room.id}/peer`, { type: 'bogus' })).status, 400);
    assert.equal(refused({ status: 400, route: '/room/:room_id/peer', roomId: room.id, reason: 'Invalid peer type', level: 'info' }).length, 1);
    assert.equal((await api(s, 'DELETE', `/room/${room.id}/peer/no-such-peer`)).status, 404);
    assert.equal(refused({ status: 404, route: '/room/:room_id/peer/:peer_id', roomId: room.id, peerId: 'no-such-peer', level: 'info' }).length, 1);
    assert.equal((await api(s, 'POST', '/room', '{"maxPeers":', {})).status, 400);
    assert.equal(refused({ status: 400, route: '/room', reason: 'Bad Request (malformed JSON)', level: 'info' }).length, 1);
    assert.equal((await api(s, 'GET', '/room', undefined, { headers: { accept: 'text/html' } })).status, 406);
    assert.equal(refused({ status: 406, route: '/room', level: 'info' }).length, 1);
    await api(s, 'DELETE', `/room/${room.id}`);
  });

  it('an unknown route is logged at debug, without its query string', async () => {
    assert.equal((await api(s, 'GET', '/nothing/here?token=query-token-VALUE-1')).status, 404);
    secrets.push('query-token-VALUE-1');
    const [line] = s.logs.find('REST request to an unknown route', { route: '/nothing/here', status: 404 });
    assert.ok(line, s.logs.text());
    assert.equal(line.level, 'debug');
  });
});

describe('the room lifecycle in the log', () => {
  it('room created, peer added, connected, disconnected, deleted, room deleted: info, with ids', async () => {
    const created = await api(s, 'POST', '/room', { webhookUrl: 'http://127.0.0.1:9/hook?key=webhook-key-VALUE' });
    secrets.push('webhook-key-VALUE');
    const roomId = created.json.data.room.id as string;
    const added = await api(s, 'POST', `/room/${roomId}/peer`, { type: 'webrtc', options: { metadata: { name: 'server-metadata-VALUE' } } });
    assert.equal(added.status, 201, added.text);
    const peerId = added.json.data.peer.id as string;
    const token = added.json.data.token as string;
    secrets.push(token, 'server-metadata-VALUE', 'client-metadata-VALUE');

    const peer = new RawPeer(s.wsUrl);
    await peer.join(token, { name: 'client-metadata-VALUE' });
    await s.logs.waitFor('peer connected', { roomId, peerId });
    peer.close();
    await s.logs.waitFor('peer disconnected', { roomId, peerId });
    const refreshed = await api(s, 'POST', `/room/${roomId}/peer/${peerId}/refresh_token`);
    const viewer = await api(s, 'POST', `/room/${roomId}/viewer`);
    secrets.push(refreshed.json.data.token, viewer.json.token);
    assert.equal((await api(s, 'DELETE', `/room/${roomId}/peer/${peerId}`)).status, 204);
    assert.equal((await api(s, 'DELETE', `/room/${roomId}`)).status, 204);
    await s.logs.waitFor('room deleted', { roomId });

    const ids = { roomId, peerId, peerType: 'webrtc' };
    const expected: [string, Record<string, unknown>][] = [
      ['room created', { roomId, webhook: true, event: 'roomCreated' }],
      ['peer added', { ...ids, event: 'peerAdded' }],
      ['peer connected', { ...ids, event: 'peerConnected' }],
      ['peer disconnected', { ...ids, event: 'peerDisconnected' }],
      ['peer deleted', { ...ids, event: 'peerDeleted' }],
      ['room deleted', { roomId, event: 'roomDeleted' }],
    ];
    for (const [msg, fields] of expected) {
      const lines = s.logs.find(msg, fields);
      assert.equal(lines.length, 1, `${msg} ${JSON.stringify(fields)} in:\n${s.logs.text()}`);
      assert.equal(lines[0].level, 'info');
      assert.equal(lines[0].module, 'lifecycle');
    }
    const order = s.logs.records().filter((r) => r.module === 'lifecycle' && r.roomId === roomId).map((r) => r.msg);
    assert.deepEqual(order.filter((m) => m !== 'peer metadata updated'), expected.map(([m]) => m));
  });

  it('JSON lines have level names and ISO-8601 times', () => {
    for (const r of s.logs.records()) {
      assert.ok(['debug', 'info', 'warn', 'error'].includes(r.level), JSON.stringify(r));
      assert.match(r.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
  });

  it('no token, secret or metadata content appears anywhere in the log of this run', () => {
    const text = s.logs.text();
    assert.ok(secrets.length >= 8);
    for (const secret of secrets) assert.ok(!text.includes(secret), `"${secret}" is in the log:\n${text}`);
  });
});
