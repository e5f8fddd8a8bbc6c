// Livestream WHIP/WHEP through a node that does not hold the room, on a real redis-server with two
// in-process nodes: the room lives on A, every livestream call goes to B (one base URL, as behind a load
// balancer). A WHIP publisher (libdatachannel) through B is answered 201 by A (Location, ETag, A's TURN in
// Link and the preflight), a WHEP viewer with a token receives its media, a public room's viewer by
// stream id is answered by A, PATCH and DELETE through B reach A's sessions (also one created on A directly), an unknown session
// is 404. The owner's media runs in the main thread and in a worker. Faults: an owner that hangs (SIGSTOP)
// gives 503 within the forwarding bound, killed and lapsed 404, Redis down 503 with a clear text.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import nodeDataChannel from 'node-datachannel';
import { WhepViewer, WhipPublisher } from '../../bench/clients/whip-client.js';
import { FORWARDED_HEADER, FORWARD_TIMEOUT_MS } from '../../src/api/cluster-routing.js';
import { api, startShoal, type TestShoal } from '../helpers/server.js';
import { killShoalProcesses } from '../helpers/shoal-process.js';
import { REDIS_MISSING, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { clusterEnv, rest, spawnNode, until } from '../helpers/cluster-nodes.js';
import { offer } from '../helpers/live-offer.js';

const LEASE_MS = 2000;
const WAIT_MS = 20_000;
const LIVE = '/api/v1/live/api';

/** A livestream request straight to a port (SDP or trickle body), bounded. */
async function live(port: number, method: string, path: string, o: { token?: string; body?: string; type?: string; timeoutMs?: number } = {}) {
  const headers: Record<string, string> = {};
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  if (o.body !== undefined) headers['content-type'] = o.type ?? 'application/sdp';
  const res = await fetch(`http://127.0.0.1:${port}${LIVE}${path}`, { method, headers, body: o.body, signal: AbortSignal.timeout(o.timeoutMs ?? 10_000) });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** The host:port pairs a Link header's ice-server entries name. */
const linkHosts = (link: string | null) => [...(link ?? '').matchAll(/<turns?:([^?>]+)\?/g)].map((m) => m[1]).sort();

/** The ip:port pairs of an SDP answer's candidates. */
const candidates = (sdp: string) => [...sdp.matchAll(/^a=candidate:\S+ \d+ \S+ \d+ (\S+) (\d+) /gm)].map((m) => `${m[1]}:${m[2]}`).sort();

/** Creates a livestream room on `node` itself (the forwarded header keeps it there). */
async function roomOn(node: TestShoal, body: Record<string, unknown>): Promise<string> {
  const made = await api(node, 'POST', '/room', { roomType: 'livestream', ...body }, { headers: { [FORWARDED_HEADER]: 'test' } });
  assert.equal(made.status, 201, made.text);
  return made.json.data.room.id;
}

for (const workers of ['0', '1']) {
  describe(`WHIP/WHEP through a non-owner node (owner FJ_MEDIA_WORKERS=${workers})`, { skip: REDIS_MISSING }, () => {
    let redis: TestRedis;
    let a: TestShoal;
    let b: TestShoal;
    const clients: (WhipPublisher | WhepViewer)[] = [];

    before(async () => {
      redis = await startRedis();
      a = await startShoal({ ...clusterEnv(redis, 'node-a', LEASE_MS), FJ_MEDIA_WORKERS: workers });
      b = await startShoal(clusterEnv(redis, 'node-b', LEASE_MS));
      await until(async () => (await b.shoal.cluster!.liveNodes()).length === 2, LEASE_MS * 2, 'both nodes registered');
    });
    after(async () => {
      for (const c of clients) c.close();
      for (const n of [a, b]) await n?.stop().catch(() => {});
      await redis?.dispose();
      nodeDataChannel.cleanup();
    });

    test('publish and view through B, the room on A; PATCH and DELETE through B; unknown session 404', async () => {
      const roomId = await roomOn(a, { public: true });
      assert.ok(a.shoal.rooms.find(roomId) && !b.shoal.rooms.find(roomId));
      // Tokens minted through B's REST (routed to A: A mints them).
      const streamer = await api(b, 'POST', `/room/${roomId}/streamer`);
      const viewer = await api(b, 'POST', `/room/${roomId}/viewer`);
      assert.equal(streamer.status, 201, streamer.text);
      assert.equal(viewer.status, 201, viewer.text);
      const base = `${b.httpUrl}${LIVE}`;

      // A's own preflight names A's TURN server; B's preflight with A's token names the same.
      const ownLinks = linkHosts((await live(a.port, 'OPTIONS', '/whip', { token: streamer.json.token })).headers.get('link'));
      assert.ok(ownLinks.length > 0, 'A answers its preflight with ICE servers');
      const viaB = await live(b.port, 'OPTIONS', '/whip', { token: streamer.json.token });
      assert.equal(viaB.status, 204);
      assert.deepEqual(linkHosts(viaB.headers.get('link')), ownLinks, "B's preflight names A's TURN");

      const publisher = new WhipPublisher({ url: `${base}/whip`, token: streamer.json.token, name: 'whip-via-b', bindAddress: '127.0.0.1' });
      clients.push(publisher);
      await publisher.publish();
      assert.match(publisher.resource!, new RegExp(`^${b.httpUrl}${LIVE}/whip/[0-9a-f-]{36}$`), 'the Location resolves against B');
      const streamerId = publisher.resource!.split('/').pop()!;
      assert.ok(a.shoal.rooms.get(roomId).livestream.find(streamerId), 'the session lives on A');
      await publisher.connected();
      publisher.startSending();

      // The raw answer through B: 201, A's ETag and Location, Link and the answer's candidate name A's TURN.
      const second = await live(b.port, 'POST', '/whep', { token: viewer.json.token, body: offer('recvonly') });
      assert.equal(second.status, 201, second.text);
      assert.equal(second.headers.get('content-type'), 'application/sdp');
      const secondId = second.headers.get('location')!.split('/').pop()!;
      assert.equal(second.headers.get('etag'), `"${secondId}"`);
      assert.deepEqual(linkHosts(second.headers.get('link')), ownLinks);
      assert.ok(a.shoal.rooms.get(roomId).livestream.find(secondId));

      // A viewer with a token through B gets the media.
      const watcher = new WhepViewer({ url: `${base}/whep`, token: viewer.json.token, name: 'whep-via-b', bindAddress: '127.0.0.1' });
      clients.push(watcher);
      await watcher.view();
      await until(() => watcher.video.packets > 50 && watcher.audio.packets > 20, WAIT_MS, 'video and audio at the viewer');

      // A public room's stream by its id, no token, through B: A answers (its TURN in Link).
      const open = await live(b.port, 'POST', `/whep/${roomId}`, { body: offer('recvonly') });
      assert.equal(open.status, 201, open.text);
      assert.deepEqual(linkHosts(open.headers.get('link')), ownLinks);
      const openId = open.headers.get('location')!.split('/').pop()!;
      assert.ok(a.shoal.rooms.get(roomId).livestream.find(openId), 'the public viewer is on A');
      assert.equal((await live(b.port, 'DELETE', `/whep/${openId}`)).status, 200);

      // PATCH (trickle) through B and on A; an ICE restart through B gets A's 405 with its Allow.
      const frag = 'a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n';
      for (const port of [b.port, a.port]) {
        const patched = await live(port, 'PATCH', `/whip/${streamerId}`, { body: frag, type: 'application/trickle-ice-sdpfrag' });
        assert.equal(patched.status, 204, patched.text);
      }
      const restart = await fetch(`${base}/whip/${streamerId}`, { method: 'PATCH', headers: { 'content-type': 'application/trickle-ice-sdpfrag', 'if-match': '*' }, body: frag, signal: AbortSignal.timeout(10_000) });
      assert.equal(restart.status, 405);
      assert.equal(restart.headers.get('allow'), 'POST, DELETE, OPTIONS');

      // Unknown anywhere: 404 as on one node.
      for (const method of ['DELETE', 'PATCH']) {
        const unknown = await live(b.port, method, `/whep/${randomUUID()}`, method === 'PATCH' ? { body: frag, type: 'application/trickle-ice-sdpfrag' } : {});
        assert.deepEqual([unknown.status, JSON.parse(unknown.text)], [404, { errors: 'No such WHIP/WHEP session' }]);
      }

      // A viewer created on A directly is ended through B (the creating node recorded it).
      const direct = await live(a.port, 'POST', '/whep', { token: viewer.json.token, body: offer('recvonly') });
      assert.equal(direct.status, 201, direct.text);
      const directId = direct.headers.get('location')!.split('/').pop()!;
      assert.ok(candidates(second.text).length > 0, second.text);
      // Each session has its own media port: A's answers (through B or not) carry one candidate of one kind.
      assert.equal(new Set(candidates(second.text)).size, 1);
      assert.equal(new Set(candidates(direct.text)).size, 1);
      assert.equal((await live(b.port, 'DELETE', `/whep/${directId}`)).status, 200);
      assert.equal(a.shoal.rooms.get(roomId).livestream.find(directId), undefined, 'ended on A');
      assert.equal((await live(b.port, 'DELETE', `/whep/${directId}`)).status, 404, 'gone');

      // DELETE through B ends the viewer, then the stream, on A.
      assert.equal((await live(b.port, 'DELETE', `/whep/${secondId}`)).status, 200);
      assert.equal(await watcher.stop(), 200);
      assert.equal(await publisher.stop(), 200);
      assert.equal(a.shoal.rooms.get(roomId).livestream.find(streamerId), undefined, 'the stream ended on A');
      assert.equal(a.shoal.rooms.get(roomId).livestream.viewerCount, 0);
      assert.equal(await publisher.stop(), 404);
    });

    test('a token of this node is handled here, a bad token is 401, a public stream id of no room 404, as on one node', async () => {
      const roomId = await roomOn(b, {});
      const token = (await api(b, 'POST', `/room/${roomId}/streamer`)).json.token;
      const here = await live(b.port, 'POST', '/whip', { token, body: offer('sendonly') });
      assert.equal(here.status, 201, here.text);
      assert.ok(b.shoal.rooms.get(roomId).livestream.find(here.headers.get('location')!.split('/').pop()!));
      const bad = await live(b.port, 'POST', '/whip', { token: 'x.y.z', body: offer('sendonly') });
      assert.deepEqual([bad.status, JSON.parse(bad.text)], [401, { errors: 'Invalid token' }]);
      const none = await live(b.port, 'POST', `/whep/no-such-room`, { body: offer('recvonly') });
      assert.equal(none.status, 401, none.text);
    });
  });
}

describe('WHIP/WHEP through a non-owner node: faults', { skip: REDIS_MISSING }, () => {
  let redis: TestRedis;
  let b: TestShoal;

  before(async () => {
    redis = await startRedis();
    b = await startShoal(clusterEnv(redis, 'node-b', LEASE_MS));
  });
  after(async () => {
    killShoalProcesses();
    await b?.stop().catch(() => {});
    await redis?.dispose();
  });

  test('an owner that hangs gives 503 within the bound; killed, 404 once its lease lapsed', async () => {
    const p = await spawnNode(redis, 'node-p', LEASE_MS);
    await until(async () => (await b.shoal.cluster!.liveNodes()).some((n) => n.id === 'node-p'), LEASE_MS * 2, 'node-p registered');
    const made = await rest(p, 'POST', '/room', { roomType: 'livestream', roomId: 'live-on-p', public: true }, { forwarded: true });
    assert.equal(made.status, 201, made.text);
    const token = (await rest(b, 'POST', '/room/live-on-p/streamer')).json.token as string;
    const up = await live(b.port, 'POST', '/whip', { token, body: offer('sendonly') });
    assert.equal(up.status, 201, up.text);
    const resource = up.headers.get('location')!.split('/').pop()!;

    p.proc.child.kill('SIGSTOP');
    try {
      // At once: each looks the owner up before its lease (2 s) lapses, then waits out the forwarding bound.
      const calls = [
        ['POST', '/whip', { token, body: offer('sendonly') }],
        ['POST', '/whep/live-on-p', { body: offer('recvonly') }],
        ['DELETE', `/whip/${resource}`, {}],
      ] as const;
      const t0 = Date.now();
      const answers = await Promise.all(calls.map(([method, path, o]) => live(b.port, method, path, o)));
      const ms = Date.now() - t0;
      answers.forEach((hung, i) => {
        assert.equal(hung.status, 503, `${calls[i]![0]} ${calls[i]![1]}: ${hung.text}`);
        assert.match(JSON.parse(hung.text).errors, /^Unable to reach Fishjam instance .*holding /);
      });
      assert.ok(ms < FORWARD_TIMEOUT_MS + 2000, `answered in ${ms} ms`);
    } finally {
      p.proc.child.kill('SIGKILL');
    }
    await p.proc.exited;
    await until(async () => !(await b.shoal.cluster!.liveNodes()).some((n) => n.id === 'node-p'), LEASE_MS + 3000, 'node-p lapsed');
    const gone = await live(b.port, 'POST', '/whip', { token, body: offer('sendonly') });
    assert.deepEqual([gone.status, JSON.parse(gone.text)], [404, { errors: 'Stream not found' }]);
    const gonePatch = await live(b.port, 'DELETE', `/whip/${resource}`);
    assert.deepEqual([gonePatch.status, JSON.parse(gonePatch.text)], [404, { errors: 'No such WHIP/WHEP session' }]);
  });

  test('Redis down: an offer with another node\'s token and a DELETE of an unknown session answer 503 with a clear text', async () => {
    const c = await startShoal(clusterEnv(redis, 'node-c', LEASE_MS));
    try {
      const roomId = await roomOn(c, {});
      const token = (await api(c, 'POST', `/room/${roomId}/streamer`)).json.token as string;
      await redis.stop();
      try {
        for (const [method, path, o] of [
          ['POST', '/whip', { token, body: offer('sendonly') }],
          ['DELETE', `/whip/${randomUUID()}`, {}],
        ] as const) {
          const r = await live(b.port, method, path, { ...o, timeoutMs: 5000 });
          assert.deepEqual([r.status, JSON.parse(r.text)], [503, { errors: 'Cluster store (Redis) is unavailable, try again later' }], `${method} ${path}`);
        }
      } finally {
        await redis.start();
      }
    } finally {
      await c.stop().catch(() => {});
    }
  });
});
