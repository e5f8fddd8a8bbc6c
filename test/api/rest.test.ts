// Raw-HTTP tests of Shoal's REST API against a real server: Fishjam's transport rules (auth texts,
// 404/406/400/413 bodies, CORS, duplicate slashes, empty form POSTs) and every error text of the
// room and peer routes, plus the cloud-only routes, /health and /openapi.json.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { api, startShoal, type TestShoal } from '../helpers/server.js';

const ROOM_CONFIG_KEYS = ['roomId', 'maxPeers', 'videoCodec', 'webhookUrl', 'peerlessPurgeTimeout', 'peerDisconnectedTimeout'];

/** A request through node:http so that raw (possibly repeated) headers can be sent. */
function rawRequest(
  s: TestShoal,
  method: string,
  path: string,
  headers: Record<string, string | string[]>,
  body?: string,
): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: s.port, method, path, headers, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

async function createRoom(s: TestShoal, body: unknown = {}): Promise<any> {
  const res = await api(s, 'POST', '/room', body);
  assert.equal(res.status, 201, res.text);
  return res.json.data.room;
}

async function addPeer(s: TestShoal, roomId: string, options?: unknown): Promise<any> {
  const res = await api(s, 'POST', `/room/${roomId}/peer`, options === undefined ? { type: 'webrtc' } : { type: 'webrtc', options });
  assert.equal(res.status, 201, res.text);
  return res.json.data;
}

let s: TestShoal;
let small: TestShoal | undefined;
let noWebrtc: TestShoal | undefined;

before(async () => {
  s = await startShoal();
});

after(async () => {
  await Promise.all([s?.stop(), small?.stop(), noWebrtc?.stop()]);
});

describe('transport rules', () => {
  it('401 Missing token without an authorization header', async () => {
    const res = await api(s, 'GET', '/room', undefined, { auth: false });
    assert.equal(res.status, 401);
    assert.deepEqual(res.json, { errors: 'Missing token' });
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  });

  it('401 Missing token without the "Bearer " prefix (case-sensitive)', async () => {
    for (const value of [s.apiToken, `bearer ${s.apiToken}`, `Token ${s.apiToken}`, `Bearer${s.apiToken}`]) {
      const res = await api(s, 'GET', '/room', undefined, { auth: false, headers: { authorization: value } });
      assert.equal(res.status, 401, value);
      assert.deepEqual(res.json, { errors: 'Missing token' }, value);
    }
  });

  it('401 Missing token when the authorization header is given twice', async () => {
    const bearer = `Bearer ${s.apiToken}`;
    // An array value makes node:http send two separate `authorization:` header lines.
    const res = await rawRequest(s, 'GET', '/room', { authorization: [bearer, bearer] });
    assert.equal(res.status, 401);
    assert.deepEqual(JSON.parse(res.text), { errors: 'Missing token' });
    // Control: the same request with one header passes.
    const ok = await rawRequest(s, 'GET', '/room', { authorization: [bearer] });
    assert.equal(ok.status, 200);
  });

  it('401 Invalid token when the bearer token differs', async () => {
    // (A bare "Bearer " cannot be tested: HTTP strips trailing whitespace from header values.)
    for (const value of ['Bearer wrong', `Bearer ${s.apiToken}x`, `Bearer  ${s.apiToken}`, `Bearer ${s.apiToken.toUpperCase()}`]) {
      const res = await api(s, 'GET', '/room', undefined, { auth: false, headers: { authorization: value } });
      assert.equal(res.status, 401, value);
      assert.deepEqual(res.json, { errors: 'Invalid token' }, value);
    }
  });

  it('unknown route is 404 {"errors":{"detail":"Not Found"}} without auth', async () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['POST', '/room/x/peer/y/z/w'],
      ['GET', '/api/room'],
    ] as const) {
      const res = await api(s, method, path, undefined, { auth: false });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.deepEqual(res.json, { errors: { detail: 'Not Found' } });
    }
  });

  it('CORS preflight OPTIONS needs no auth and allows any origin', async () => {
    const res = await fetch(`${s.httpUrl}/room`, {
      method: 'OPTIONS',
      headers: { origin: 'http://example.org', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    await res.arrayBuffer();
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    // Normal responses carry the header too.
    const get = await api(s, 'GET', '/room', undefined, { headers: { origin: 'http://example.org' } });
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('access-control-allow-origin'), '*');
  });

  it('406 when Accept rules out JSON; */* and the SDK Accept are fine', async () => {
    const html = await api(s, 'GET', '/room', undefined, { headers: { accept: 'text/html' } });
    assert.equal(html.status, 406);
    for (const accept of ['*/*', 'application/json', 'application/json, text/plain, */*']) {
      const res = await api(s, 'GET', '/room', undefined, { headers: { accept } });
      assert.equal(res.status, 200, accept);
    }
  });

  it('malformed JSON is 400 {"errors":{"detail":"Bad Request"}}', async () => {
    const res = await api(s, 'POST', '/room', '{"maxPeers": ', { headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json, { errors: { detail: 'Bad Request' } });
  });

  it('a body over FJ_MAX_REQUEST_BODY is 413', async () => {
    small = await startShoal({ FJ_MAX_REQUEST_BODY: '2048' });
    const big = JSON.stringify({ roomId: 'big', pad: 'x'.repeat(10 * 1024) });
    const res = await api(small, 'POST', '/room', big);
    assert.equal(res.status, 413);
    // A body under the limit still works, and the too-big room was not created.
    const ok = await api(small, 'POST', '/room', { roomId: 'fits' });
    assert.equal(ok.status, 201);
    const list = await api(small, 'GET', '/room');
    assert.deepEqual(
      list.json.data.map((r: any) => r.id),
      ['fits'],
    );
  });

  it('//room and /room/ route like /room', async () => {
    const a = await api(s, 'POST', '//room', { roomId: 'slashes-a' });
    assert.equal(a.status, 201, a.text);
    const b = await api(s, 'POST', '/room/', { roomId: 'slashes-b' });
    assert.equal(b.status, 201, b.text);
    const get = await api(s, 'GET', '//room//slashes-a');
    assert.equal(get.status, 200);
    assert.equal(get.json.data.id, 'slashes-a');
    const list = await api(s, 'GET', '//room/');
    assert.equal(list.status, 200);
    const ids = list.json.data.map((r: any) => r.id);
    assert.ok(ids.includes('slashes-a') && ids.includes('slashes-b'));
    const del = await api(s, 'DELETE', '//room/slashes-b/');
    assert.equal(del.status, 204);
  });

  it('empty form-urlencoded POSTs work (POST /room, refresh_token, subscribe_peer)', async () => {
    const form = { headers: { 'content-type': 'application/x-www-form-urlencoded' } };
    const room = await api(s, 'POST', '/room', '', form);
    assert.equal(room.status, 201, room.text);
    const roomId = room.json.data.room.id;
    const p1 = await addPeer(s, roomId);
    const p2 = await addPeer(s, roomId);
    const refresh = await api(s, 'POST', `/room/${roomId}/peer/${p1.peer.id}/refresh_token`, '', form);
    assert.equal(refresh.status, 201, refresh.text);
    assert.equal(typeof refresh.json.data.token, 'string');
    const sub = await api(s, 'POST', `/room/${roomId}/peer/${p1.peer.id}/subscribe_peer?peer_id=${p2.peer.id}`, '', form);
    assert.equal(sub.status, 200, sub.text);
  });

  it('POST /room with no body at all creates a default room', async () => {
    const res = await api(s, 'POST', '/room');
    assert.equal(res.status, 201, res.text);
    assert.equal(typeof res.json.data.room.id, 'string');
  });
});

describe('POST /room', () => {
  it('defaults: all six OSS config keys (null) plus roomType/public, 201 {data:{room,fishjam_address}}', async () => {
    const res = await api(s, 'POST', '/room', {});
    assert.equal(res.status, 201);
    assert.deepEqual(Object.keys(res.json), ['data']);
    assert.deepEqual(Object.keys(res.json.data).sort(), ['fishjam_address', 'room']);
    assert.equal(res.json.data.fishjam_address, s.host);
    const room = res.json.data.room;
    assert.match(room.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    for (const key of ROOM_CONFIG_KEYS) assert.ok(key in room.config, `config.${key} missing`);
    assert.deepEqual(room.config, {
      roomId: room.id,
      maxPeers: null,
      videoCodec: null,
      webhookUrl: null,
      peerlessPurgeTimeout: null,
      peerDisconnectedTimeout: null,
      roomType: 'conference',
      public: false,
    });
    assert.deepEqual(room.components, []);
    assert.deepEqual(room.peers, []);
  });

  it('custom roomId and config values are echoed; unknown keys ignored', async () => {
    const body = {
      roomId: 'custom_Room-1',
      maxPeers: 3,
      videoCodec: 'vp8',
      webhookUrl: 'http://127.0.0.1:1/hook',
      peerlessPurgeTimeout: 60,
      peerDisconnectedTimeout: 30,
      roomType: 'audio_only',
      public: true,
      somethingElse: { a: 1 },
    };
    const room = await createRoom(s, body);
    assert.equal(room.id, 'custom_Room-1');
    const { somethingElse: _ignored, ...expected } = body;
    assert.deepEqual(room.config, expected);
  });

  it('duplicate roomId is 400 "room already exists"', async () => {
    await createRoom(s, { roomId: 'dup' });
    const res = await api(s, 'POST', '/room', { roomId: 'dup' });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json, { errors: 'Cannot add room with id "dup" - room already exists' });
  });

  const idText = (raw: string) => `Cannot add room with id "${raw}" - roomId may contain only alphanumeric characters, hyphens and underscores`;
  const cases: [string, Record<string, unknown>, string][] = [
    ['roomId with bad chars', { roomId: 'a b' }, idText('a b')],
    ['roomId with a dot', { roomId: 'a.b' }, idText('a.b')],
    ['roomId empty', { roomId: '' }, idText('')],
    ['roomId non-string', { roomId: 123 }, idText('123')],
    ['maxPeers float', { maxPeers: 1.5 }, 'Expected maxPeers to be a number, got: 1.5'],
    ['maxPeers string', { maxPeers: '5' }, 'Expected maxPeers to be a number, got: 5'],
    ['maxPeers negative', { maxPeers: -1 }, 'Expected maxPeers to be a number, got: -1'],
    ['videoCodec wrong', { videoCodec: 'av1' }, "Expected videoCodec to be 'h264' or 'vp8', got: av1"],
    ['videoCodec uppercase', { videoCodec: 'H264' }, "Expected videoCodec to be 'h264' or 'vp8', got: H264"],
    ['webhookUrl without path', { webhookUrl: 'https://example.com' }, 'Expected webhookUrl to be valid URL, got: https://example.com'],
    ['webhookUrl not a URL', { webhookUrl: 'not a url' }, 'Expected webhookUrl to be valid URL, got: not a url'],
    ['peerlessPurgeTimeout 0', { peerlessPurgeTimeout: 0 }, 'Expected peerlessPurgeTimeout to be a positive integer, got: 0'],
    ['peerlessPurgeTimeout -1', { peerlessPurgeTimeout: -1 }, 'Expected peerlessPurgeTimeout to be a positive integer, got: -1'],
    ['peerlessPurgeTimeout "x"', { peerlessPurgeTimeout: 'x' }, 'Expected peerlessPurgeTimeout to be a positive integer, got: x'],
    ['peerDisconnectedTimeout 0', { peerDisconnectedTimeout: 0 }, 'Expected peerDisconnectedTimeout to be a positive integer, got: 0'],
    ['peerDisconnectedTimeout -1', { peerDisconnectedTimeout: -1 }, 'Expected peerDisconnectedTimeout to be a positive integer, got: -1'],
    ['peerDisconnectedTimeout "x"', { peerDisconnectedTimeout: 'x' }, 'Expected peerDisconnectedTimeout to be a positive integer, got: x'],
  ];
  for (const [name, body, text] of cases) {
    it(`400 for ${name}`, async () => {
      const res = await api(s, 'POST', '/room', body);
      assert.equal(res.status, 400, res.text);
      assert.deepEqual(res.json, { errors: text });
    });
  }

  it('webhookUrl "https://example.com/" (with a path) is accepted', async () => {
    const room = await createRoom(s, { webhookUrl: 'https://example.com/' });
    assert.equal(room.config.webhookUrl, 'https://example.com/');
  });

  it('maxPeers 0 is accepted', async () => {
    const room = await createRoom(s, { maxPeers: 0 });
    assert.equal(room.config.maxPeers, 0);
  });

  it('field order: with two bad fields the earlier field is reported', async () => {
    const a = await api(s, 'POST', '/room', { peerDisconnectedTimeout: 0, videoCodec: 'av1', maxPeers: 'm' });
    assert.equal(a.status, 400);
    assert.deepEqual(a.json, { errors: 'Expected maxPeers to be a number, got: m' });
    const b = await api(s, 'POST', '/room', { peerDisconnectedTimeout: 0, webhookUrl: 'https://example.com' });
    assert.deepEqual(b.json, { errors: 'Expected webhookUrl to be valid URL, got: https://example.com' });
    const c = await api(s, 'POST', '/room', { peerlessPurgeTimeout: 'x', roomId: 'bad id' });
    assert.deepEqual(c.json, { errors: idText('bad id') });
  });

  it('invalid roomType is 400', async () => {
    const res = await api(s, 'POST', '/room', { roomType: 'party' });
    assert.equal(res.status, 400);
    assert.equal(typeof res.json.errors, 'string');
    assert.match(res.json.errors, /roomType/);
    assert.match(res.json.errors, /party/);
  });

  it('map and list values give 400, not 500', async () => {
    for (const body of [{ maxPeers: { a: 1 } }, { maxPeers: [1] }, { roomId: { x: 'y' } }, { videoCodec: ['vp8'] }, { webhookUrl: {} }, { peerlessPurgeTimeout: [] }]) {
      const res = await api(s, 'POST', '/room', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(typeof res.json.errors, 'string', JSON.stringify(body));
    }
    assert.deepEqual((await api(s, 'POST', '/room', { maxPeers: [1] })).json, { errors: 'Expected maxPeers to be a number, got: [1]' });
  });

  it('a non-object JSON body is 400, not 500', async () => {
    for (const body of ['[]', '"x"', '5']) {
      const res = await api(s, 'POST', '/room', body, { headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 400, body);
      assert.equal(typeof res.json.errors, 'string');
    }
  });
});

describe('GET/DELETE /room/:id', () => {
  it('GET returns {data: Room} without a room wrapper', async () => {
    const created = await createRoom(s, { roomId: 'getme', maxPeers: 2 });
    const res = await api(s, 'GET', '/room/getme');
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.json), ['data']);
    assert.deepEqual(res.json.data, created);
    assert.equal(res.json.data.id, 'getme');
    assert.ok(!('room' in res.json.data));
  });

  it('GET /room lists rooms as {data:[Room]}', async () => {
    await createRoom(s, { roomId: 'listed' });
    const res = await api(s, 'GET', '/room');
    assert.equal(res.status, 200);
    assert.ok(Array.isArray(res.json.data));
    assert.ok(res.json.data.some((r: any) => r.id === 'listed' && r.config.roomId === 'listed'));
  });

  it('404 Room <id> does not exist (GET and DELETE)', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await api(s, method, '/room/missing-room');
      assert.equal(res.status, 404, method);
      assert.deepEqual(res.json, { errors: 'Room missing-room does not exist' });
    }
  });

  it('400 Invalid room ID for ids with bad characters', async () => {
    for (const method of ['GET', 'DELETE']) {
      const a = await api(s, method, '/room/a.b');
      assert.equal(a.status, 400, method);
      assert.deepEqual(a.json, { errors: 'Invalid room ID: a.b' });
      const b = await api(s, method, '/room/a%20b');
      assert.equal(b.status, 400, method);
      assert.deepEqual(b.json, { errors: 'Invalid room ID: a b' });
    }
  });

  it('DELETE is 204 with an empty body, then the room is gone', async () => {
    await createRoom(s, { roomId: 'deleteme' });
    const res = await api(s, 'DELETE', '/room/deleteme');
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
    const get = await api(s, 'GET', '/room/deleteme');
    assert.equal(get.status, 404);
  });
});

describe('POST /room/:id/peer', () => {
  let roomId: string;
  before(async () => {
    roomId = (await createRoom(s, { roomId: 'peers' })).id;
  });

  it('201 {data:{peer, token, peer_websocket_url}} with a scheme-less websocket url', async () => {
    const res = await api(s, 'POST', `/room/${roomId}/peer`, { type: 'webrtc', options: {} });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(Object.keys(res.json.data).sort(), ['peer', 'peer_websocket_url', 'token']);
    assert.equal(res.json.data.peer_websocket_url, `${s.host}/socket/peer/websocket`);
    assert.doesNotMatch(res.json.data.peer_websocket_url, /^[a-z]+:\/\//);
    assert.equal(typeof res.json.data.token, 'string');
    assert.ok(res.json.data.token.length > 0);
    const peer = res.json.data.peer;
    assert.match(peer.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(peer.type, 'webrtc');
    assert.equal(peer.status, 'disconnected');
    assert.deepEqual(peer.tracks, []);
    assert.equal(peer.metadata, null);
    assert.equal(peer.subscribeMode, 'auto');
    assert.deepEqual(peer.subscriptions, { peers: [], tracks: [] });
    // The peer shows up in the room.
    const room = await api(s, 'GET', `/room/${roomId}`);
    assert.ok(room.json.data.peers.some((p: any) => p.id === peer.id));
  });

  it('options may be omitted', async () => {
    const res = await api(s, 'POST', `/room/${roomId}/peer`, { type: 'webrtc' });
    assert.equal(res.status, 201, res.text);
  });

  it('missing type is 400 Invalid request body structure', async () => {
    for (const body of [{}, { options: {} }]) {
      const res = await api(s, 'POST', `/room/${roomId}/peer`, body);
      assert.equal(res.status, 400);
      assert.deepEqual(res.json, { errors: 'Invalid request body structure' });
    }
    const empty = await api(s, 'POST', `/room/${roomId}/peer`);
    assert.equal(empty.status, 400);
    assert.deepEqual(empty.json, { errors: 'Invalid request body structure' });
  });

  it('unknown type is 400 Invalid peer type', async () => {
    for (const type of ['foo', 'WEBRTC', 1, null]) {
      const res = await api(s, 'POST', `/room/${roomId}/peer`, { type, options: {} });
      assert.equal(res.status, 400, JSON.stringify(type));
      assert.deepEqual(res.json, { errors: 'Invalid peer type' }, JSON.stringify(type));
    }
  });

  it('unknown room is 404; bad room id is 400', async () => {
    const res = await api(s, 'POST', '/room/no-such-room/peer', { type: 'webrtc', options: {} });
    assert.equal(res.status, 404);
    assert.deepEqual(res.json, { errors: 'Room no-such-room does not exist' });
    const bad = await api(s, 'POST', '/room/a.b/peer', { type: 'webrtc', options: {} });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json, { errors: 'Invalid room ID: a.b' });
  });

  it('type is checked before the room (bad type in an unknown room is 400)', async () => {
    const res = await api(s, 'POST', '/room/no-such-room/peer', { type: 'foo' });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json, { errors: 'Invalid peer type' });
  });

  it('503 when maxPeers is reached (disconnected peers count)', async () => {
    const full = await createRoom(s, { roomId: 'full', maxPeers: 1 });
    await addPeer(s, full.id);
    const res = await api(s, 'POST', '/room/full/peer', { type: 'webrtc', options: {} });
    assert.equal(res.status, 503);
    assert.deepEqual(res.json, { errors: 'Reached webrtc peers limit in room full' });
  });

  it('503 for every add-peer when maxPeers is 0', async () => {
    await createRoom(s, { roomId: 'zero', maxPeers: 0 });
    const res = await api(s, 'POST', '/room/zero/peer', { type: 'webrtc' });
    assert.equal(res.status, 503);
    assert.deepEqual(res.json, { errors: 'Reached webrtc peers limit in room zero' });
  });

  it('peer limit is checked before options (full room + bad options is 503)', async () => {
    const res = await api(s, 'POST', '/room/zero/peer', { type: 'webrtc', options: { enableSimulcast: 'yes' } });
    assert.equal(res.status, 503);
  });

  it('non-boolean enableSimulcast is 400 Invalid request body structure', async () => {
    const res = await api(s, 'POST', `/room/${roomId}/peer`, { type: 'webrtc', options: { enableSimulcast: 'yes' } });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json, { errors: 'Invalid request body structure' });
    const ok = await api(s, 'POST', `/room/${roomId}/peer`, { type: 'webrtc', options: { enableSimulcast: false } });
    assert.equal(ok.status, 201);
  });

  it('non-object options is 400 Invalid request body structure', async () => {
    for (const options of ['x', 5, [], true]) {
      const res = await api(s, 'POST', `/room/${roomId}/peer`, { type: 'webrtc', options });
      assert.equal(res.status, 400, JSON.stringify(options));
      assert.deepEqual(res.json, { errors: 'Invalid request body structure' });
    }
  });

  it('cloud options metadata and subscribeMode are reflected in the peer', async () => {
    const data = await addPeer(s, roomId, { metadata: { name: 'alice', n: 1 }, subscribeMode: 'manual' });
    assert.deepEqual(data.peer.metadata, { name: 'alice', n: 1 });
    assert.equal(data.peer.subscribeMode, 'manual');
    const room = await api(s, 'GET', `/room/${roomId}`);
    const listed = room.json.data.peers.find((p: any) => p.id === data.peer.id);
    assert.deepEqual(listed.metadata, { name: 'alice', n: 1 });
    assert.equal(listed.subscribeMode, 'manual');
  });

  it('permission options are reflected in peer.permissions', async () => {
    const data = await addPeer(s, roomId, { canPublish: false });
    assert.equal(data.peer.permissions.canPublish, false);
    assert.equal(data.peer.permissions.canSubscribe, true);
    const dflt = await addPeer(s, roomId, {});
    assert.equal(dflt.peer.permissions.canPublish, true);
  });

  it('FJ_WEBRTC_USED=false: 400 Peers of type webrtc are disabled on this Fishjam', async () => {
    noWebrtc = await startShoal({ FJ_WEBRTC_USED: 'false' });
    const room = await createRoom(noWebrtc, { roomId: 'nw' });
    const res = await api(noWebrtc, 'POST', `/room/${room.id}/peer`, { type: 'webrtc', options: {} });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json, { errors: 'Peers of type webrtc are disabled on this Fishjam' });
    // Room lookup still comes first.
    const missing = await api(noWebrtc, 'POST', '/room/nope/peer', { type: 'webrtc' });
    assert.equal(missing.status, 404);
  });
});

describe('peer sub-routes', () => {
  let roomId: string;
  before(async () => {
    roomId = (await createRoom(s, { roomId: 'subroutes' })).id;
  });

  it('DELETE peer is 204 with an empty body, then 404 Peer <id> does not exist', async () => {
    const { peer } = await addPeer(s, roomId);
    const del = await api(s, 'DELETE', `/room/${roomId}/peer/${peer.id}`);
    assert.equal(del.status, 204);
    assert.equal(del.text, '');
    const again = await api(s, 'DELETE', `/room/${roomId}/peer/${peer.id}`);
    assert.equal(again.status, 404);
    assert.deepEqual(again.json, { errors: `Peer ${peer.id} does not exist` });
    const room = await api(s, 'GET', `/room/${roomId}`);
    assert.ok(!room.json.data.peers.some((p: any) => p.id === peer.id));
  });

  it('DELETE peer in an unknown room is 404 Room ... does not exist', async () => {
    const res = await api(s, 'DELETE', '/room/nope-room/peer/abc');
    assert.equal(res.status, 404);
    assert.deepEqual(res.json, { errors: 'Room nope-room does not exist' });
  });

  it('refresh_token is 201 {data:{token}} with a new token', async () => {
    const { peer, token } = await addPeer(s, roomId);
    const res = await api(s, 'POST', `/room/${roomId}/peer/${peer.id}/refresh_token`);
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(Object.keys(res.json), ['data']);
    assert.deepEqual(Object.keys(res.json.data), ['token']);
    assert.equal(typeof res.json.data.token, 'string');
    assert.notEqual(res.json.data.token, token);
    const missing = await api(s, 'POST', `/room/${roomId}/peer/nope/refresh_token`);
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json, { errors: 'Peer nope does not exist' });
  });

  it('subscribe_peer is 200 and updates subscriptions.peers', async () => {
    const sub = await addPeer(s, roomId, { subscribeMode: 'manual' });
    const pub = await addPeer(s, roomId);
    const res = await api(s, 'POST', `/room/${roomId}/peer/${sub.peer.id}/subscribe_peer?peer_id=${pub.peer.id}`);
    assert.equal(res.status, 200, res.text);
    const room = await api(s, 'GET', `/room/${roomId}`);
    const listed = room.json.data.peers.find((p: any) => p.id === sub.peer.id);
    assert.deepEqual(listed.subscriptions.peers, [pub.peer.id]);
    // Idempotent.
    const again = await api(s, 'POST', `/room/${roomId}/peer/${sub.peer.id}/subscribe_peer?peer_id=${pub.peer.id}`);
    assert.equal(again.status, 200);
    const room2 = await api(s, 'GET', `/room/${roomId}`);
    assert.deepEqual(room2.json.data.peers.find((p: any) => p.id === sub.peer.id).subscriptions.peers, [pub.peer.id]);
  });

  it('subscribe_peer with an unknown publisher or subscriber is 404', async () => {
    const sub = await addPeer(s, roomId);
    const res = await api(s, 'POST', `/room/${roomId}/peer/${sub.peer.id}/subscribe_peer?peer_id=ghost`);
    assert.equal(res.status, 404);
    assert.deepEqual(res.json, { errors: 'Peer ghost does not exist' });
    const res2 = await api(s, 'POST', `/room/${roomId}/peer/ghost2/subscribe_peer?peer_id=${sub.peer.id}`);
    assert.equal(res2.status, 404);
    assert.deepEqual(res2.json, { errors: 'Peer ghost2 does not exist' });
  });

  it('subscribe_tracks is 200 with {track_ids} and 400 without', async () => {
    const sub = await addPeer(s, roomId, { subscribeMode: 'manual' });
    const res = await api(s, 'POST', `/room/${roomId}/peer/${sub.peer.id}/subscribe_tracks`, { track_ids: ['t1', 't2'] });
    assert.equal(res.status, 200, res.text);
    const room = await api(s, 'GET', `/room/${roomId}`);
    assert.deepEqual(room.json.data.peers.find((p: any) => p.id === sub.peer.id).subscriptions.tracks, ['t1', 't2']);
    const bad = await api(s, 'POST', `/room/${roomId}/peer/${sub.peer.id}/subscribe_tracks`, {});
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json, { errors: 'Invalid request body structure' });
    const bad2 = await api(s, 'POST', `/room/${roomId}/peer/${sub.peer.id}/subscribe_tracks`, { track_ids: 'x' });
    assert.equal(bad2.status, 400);
    assert.deepEqual(bad2.json, { errors: 'Invalid request body structure' });
  });

  it('viewer and streamer are 201 with a top-level {token}', async () => {
    for (const kind of ['viewer', 'streamer']) {
      const res = await api(s, 'POST', `/room/${roomId}/${kind}`, '', { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assert.equal(res.status, 201, `${kind}: ${res.text}`);
      assert.deepEqual(Object.keys(res.json), ['token']);
      assert.equal(typeof res.json.token, 'string');
      assert.ok(res.json.token.length > 0);
      const missing = await api(s, 'POST', `/room/nope-room/${kind}`);
      assert.equal(missing.status, 404);
      assert.deepEqual(missing.json, { errors: 'Room nope-room does not exist' });
    }
  });
});

describe('health and openapi', () => {
  it('GET /health shape', async () => {
    const res = await api(s, 'GET', '/health');
    assert.equal(res.status, 200);
    const d = res.json.data;
    assert.equal(d.status, 'UP');
    assert.ok(Number.isInteger(d.uptime) && d.uptime >= 0);
    assert.deepEqual(d.distribution, { enabled: false, nodeStatus: 'DOWN', nodesInCluster: 0 });
    assert.equal(typeof d.version, 'string');
    assert.equal(d.gitCommit, 'dev');
    const unauth = await api(s, 'GET', '/health', undefined, { auth: false });
    assert.equal(unauth.status, 401);
    assert.deepEqual(unauth.json, { errors: 'Missing token' });
  });

  it('GET /openapi.json is an OpenAPI 3 document with the room paths', async () => {
    const res = await api(s, 'GET', '/openapi.json');
    assert.equal(res.status, 200);
    assert.match(res.json.openapi, /^3\./);
    for (const path of ['/room', '/room/{room_id}', '/room/{room_id}/peer']) {
      assert.ok(path in res.json.paths, `${path} missing from ${Object.keys(res.json.paths).join(', ')}`);
    }
    assert.ok(res.json.paths['/room'].post);
    assert.ok(res.json.paths['/room/{room_id}'].get && res.json.paths['/room/{room_id}'].delete);
  });
});
