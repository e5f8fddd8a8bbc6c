// The WHIP/WHEP routes over raw HTTP: every refusal the react-client hooks and standard tools read (401 for
// missing, bad, expired, other-instance and wrong-kind tokens; 404 for a gone room, no stream or an unknown
// resource; 409 for a second streamer; 415/400 for a body that is not an SDP offer), the 201 answer's shape
// (application/sdp, Location, inline candidate, ice-server Links), PATCH (204, ICE restart 405), DELETE,
// a public room's tokenless WHEP, and the CORS preflight and exposed headers a page on another origin needs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PeerTokenService } from '../../src/auth/peer-token.js';
import { api, startShoal, type TestShoal } from '../helpers/server.js';
import { offer } from '../helpers/live-offer.js';

const LIVE = '/api/v1/live/api';

interface Reply {
  status: number;
  text: string;
  headers: Headers;
}

async function call(s: TestShoal, method: string, path: string, o: { token?: string; body?: string; type?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  if (o.body !== undefined) headers['content-type'] = o.type ?? 'application/sdp';
  const res = await fetch(`${s.httpUrl}${path}`, { method, headers, body: o.body, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

describe('WHIP/WHEP over HTTP', () => {
  let s: TestShoal;
  let roomId: string;
  let streamer: string;
  let viewer: string;

  before(async () => {
    s = await startShoal();
    const room = await api(s, 'POST', '/room', { roomType: 'livestream' });
    roomId = room.json.data.room.id;
    streamer = (await api(s, 'POST', `/room/${roomId}/streamer`)).json.token;
    viewer = (await api(s, 'POST', `/room/${roomId}/viewer`)).json.token;
  });
  after(async () => {
    await s?.stop();
  });

  test('401: no token, a malformed one, an expired one, another instance\'s, the wrong kind', async () => {
    const { secretKeyBase, nodeId } = s.shoal.config;
    const expired = (await new PeerTokenService(secretKeyBase, nodeId, -10).mint({ kind: 'streamer', roomId })).token;
    const foreign = (await new PeerTokenService(secretKeyBase, 'other-node', 600).mint({ kind: 'streamer', roomId })).token;
    const peer = (await api(s, 'POST', `/room/${roomId}/peer`, { type: 'webrtc' })).json.data.token;
    const cases: [string, string | undefined, string][] = [
      ['whip', undefined, 'Missing token'],
      ['whip', 'not-a-token', 'Invalid token'],
      ['whip', expired, 'Expired token'],
      ['whip', foreign, 'Invalid token'],
      ['whip', viewer, 'Not a streamer token'],
      ['whip', peer, 'Not a streamer token'],
      ['whep', undefined, 'Missing token'],
      ['whep', streamer, 'Not a viewer token'],
      [`whep/${roomId}`, undefined, 'Missing token'],
    ];
    for (const [path, token, text] of cases) {
      const r = await call(s, 'POST', `${LIVE}/${path}`, { token, body: offer(path === 'whip' ? 'sendonly' : 'recvonly') });
      assert.equal(r.status, 401, `${path} with ${text}: ${r.text}`);
      assert.deepEqual(JSON.parse(r.text), { errors: text });
    }
  });

  test('404 before a streamer; 415 and 400 for bodies that are not SDP offers', async () => {
    const early = await call(s, 'POST', `${LIVE}/whep`, { token: viewer, body: offer('recvonly') });
    assert.equal(early.status, 404, early.text);
    assert.deepEqual(JSON.parse(early.text), { errors: 'Stream not found' });
    assert.equal((await call(s, 'POST', `${LIVE}/whip`, { token: streamer, body: '{}', type: 'application/json' })).status, 415);
    assert.equal((await call(s, 'POST', `${LIVE}/whip`, { token: streamer, body: 'hello', type: 'application/sdp' })).status, 400);
    const noMedia = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';
    assert.equal((await call(s, 'POST', `${LIVE}/whip`, { token: streamer, body: noMedia })).status, 400);
    const huge = offer('sendonly') + `a=x:${'y'.repeat(70_000)}\r\n`;
    assert.equal((await call(s, 'POST', `${LIVE}/whip`, { token: streamer, body: huge })).status, 413);
    // An offer the media session refuses (no ICE credentials): 400 with the session's reason, nothing announced.
    const notes: string[] = [];
    const unsubscribe = s.shoal.bus.subscribe((n) => notes.push(n.type));
    const noIce = await call(s, 'POST', `${LIVE}/whip`, { token: streamer, body: offer('sendonly').replace(/^a=ice-(ufrag|pwd):.*\r\n/gm, '') });
    unsubscribe();
    assert.equal(noIce.status, 400, noIce.text);
    assert.match(JSON.parse(noIce.text).errors, /^Invalid SDP offer/);
    assert.deepEqual(notes, [], 'a refused streamer is never announced');
    assert.equal(s.shoal.rooms.get(roomId).livestream.streamerConnected, false, 'a refused offer leaves no streamer');
  });

  test('201 answer, 409 for a second streamer, WHEP answer, PATCH, DELETE, then 404 for the gone resource', async () => {
    const r = await call(s, 'POST', `${LIVE}/whip`, { token: streamer, body: offer('sendrecv'), headers: { accept: 'application/sdp', origin: 'http://elsewhere.test' } });
    assert.equal(r.status, 201, r.text);
    assert.match(r.headers.get('content-type') ?? '', /^application\/sdp/);
    const location = r.headers.get('location') ?? '';
    assert.match(location, /^\/api\/v1\/live\/api\/whip\/[0-9a-f-]{36}$/);
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
    assert.match(r.headers.get('access-control-expose-headers') ?? '', /\bLocation\b/);
    assert.match(r.headers.get('link') ?? '', /^<turn:127\.0\.0\.1:\d+\?transport=udp>; rel="ice-server"; username="\d+:[^"]+"; credential="[^"]+"; credential-type="password"/);
    assert.match(r.text, /^v=0\r\n/);
    assert.equal((r.text.match(/^a=candidate:.* typ host\r$/gm) ?? []).length, 2, 'the candidate in both accepted sections');
    assert.equal((r.text.match(/^a=recvonly\r$/gm) ?? []).length, 2, 'sendrecv offered, recvonly answered');

    const again = await call(s, 'POST', `${LIVE}/whip`, { token: streamer, body: offer('sendonly') });
    assert.equal(again.status, 409, again.text);
    assert.deepEqual(JSON.parse(again.text), { errors: 'Streamer already connected' });

    const w = await call(s, 'POST', `${LIVE}/whep`, { token: viewer, body: offer('recvonly') });
    assert.equal(w.status, 201, w.text);
    assert.match(w.headers.get('location') ?? '', /^\/api\/v1\/live\/api\/whep\/[0-9a-f-]{36}$/);
    assert.equal((w.text.match(/^a=sendonly\r$/gm) ?? []).length, 2, 'both of the streamer\'s tracks are sent');
    assert.match(w.text, /^a=msid:\S+ \S+\r$/m);
    assert.equal(s.shoal.rooms.get(roomId).livestream.viewerCount, 1);

    const frag = 'a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n';
    const trickle = await call(s, 'PATCH', location, { token: streamer, body: frag, type: 'application/trickle-ice-sdpfrag' });
    assert.equal(trickle.status, 204, trickle.text);
    const restart = await call(s, 'PATCH', location, { token: streamer, body: frag, type: 'application/trickle-ice-sdpfrag', headers: { 'if-match': '*' } });
    assert.equal(restart.status, 405, restart.text);
    assert.equal((await call(s, 'PATCH', location, { token: streamer, body: 'x', type: 'text/plain' })).status, 415);
    assert.equal((await call(s, 'PATCH', `${LIVE}/whip/00000000-0000-0000-0000-000000000000`, { body: frag, type: 'application/trickle-ice-sdpfrag' })).status, 404);
    // A WHEP resource is not deleted through the WHIP path.
    assert.equal((await call(s, 'DELETE', (w.headers.get('location') ?? '').replace('/whep/', '/whip/'))).status, 404);

    assert.equal((await call(s, 'DELETE', location, { token: streamer })).status, 200);
    assert.equal((await call(s, 'DELETE', location, { token: streamer })).status, 404);
    assert.equal(s.shoal.rooms.get(roomId).livestream.viewerCount, 0, 'the viewers end with the stream');
    assert.equal((await call(s, 'DELETE', w.headers.get('location')!)).status, 404);
  });

  test('a public room\'s stream plays without a token at /whep/<streamId>; a private one does not', async () => {
    const pub = (await api(s, 'POST', '/room', { roomType: 'livestream', public: true })).json.data.room.id;
    const tok = (await api(s, 'POST', `/room/${pub}/streamer`)).json.token;
    assert.equal((await call(s, 'POST', `${LIVE}/whep/${pub}`, { body: offer('recvonly') })).status, 404, 'no stream yet');
    assert.equal((await call(s, 'POST', `${LIVE}/whip`, { token: tok, body: offer('sendonly') })).status, 201);
    const w = await call(s, 'POST', `${LIVE}/whep/${pub}`, { body: offer('recvonly') });
    assert.equal(w.status, 201, w.text);
    assert.equal((await call(s, 'POST', `${LIVE}/whep/${roomId}`, { body: offer('recvonly') })).status, 401, 'private room');
    assert.equal((await call(s, 'POST', `${LIVE}/whep/${pub}`, { token: viewer, body: offer('recvonly') })).status, 401, 'a token for another stream');
    // The room goes: its stream with it; a token for it then gets 404.
    assert.equal((await api(s, 'DELETE', `/room/${pub}`)).status, 204);
    assert.equal((await call(s, 'POST', `${LIVE}/whip`, { token: tok, body: offer('sendonly') })).status, 404);
  });

  test('CORS: the preflight allows Authorization and Content-Type; OPTIONS with a token carries the ICE servers', async () => {
    const pre = await call(s, 'OPTIONS', `${LIVE}/whip`, {
      headers: { origin: 'http://elsewhere.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /authorization/i);
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /content-type/i);
    for (const m of ['POST', 'PATCH', 'DELETE']) assert.match(pre.headers.get('access-control-allow-methods') ?? '', new RegExp(m));
    assert.equal(pre.headers.get('link'), null, 'no ICE servers without a token');
    const withToken = await call(s, 'OPTIONS', `${LIVE}/whep`, { token: viewer });
    assert.equal(withToken.status, 204);
    assert.match(withToken.headers.get('link') ?? '', /rel="ice-server"/);
    assert.equal((await call(s, 'OPTIONS', `${LIVE}/whep`, { token: 'bad' })).headers.get('link'), null);
  });
});
