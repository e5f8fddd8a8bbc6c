// A call in a 2-node cluster (real redis-server) in headless Chromium, with peers added through node B's
// REST for a room on node A: ts-client 0.5.0 pages connect to the peer_websocket_url they got (A's) and
// decode each other's video, as do a 0.5.0 page through B's host (relayed) and one on A; ts-client 0.25.1
// pages all connect through B's URL (one public URL), are relayed to A, decode each other's video, and
// their media goes through A's TURN server (selected ICE pair). A runs its media in the main thread, B in
// a media worker.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeClientPage, closeStaticServer, formatPageLogs, launchBrowser, openClientPage, waitForPageEvent, type Browser, type Page } from '../helpers/browser.js';
import { SECRET, api, startShoal, type TestShoal } from '../helpers/server.js';
import { REDIS_MISSING, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { joinC25, joinC5, publishC25, publishC5, total, waitForStats } from '../helpers/media-page.js';
import { FORWARDED_HEADER } from '../../src/api/cluster-routing.js';
import type { LocalMediaPlane } from '../../src/media/plane/local-media-plane.js';

const WAIT_MS = 15_000;
const LEASE_MS = 2000;

const clusterEnv = (redis: TestRedis, nodeId: string, workers: string): Record<string, string> => ({
  FJ_REDIS_URL: redis.url,
  FJ_NODE_ID: nodeId,
  FJ_SECRET_KEY_BASE: SECRET,
  FJ_CLUSTER_LEASE_MS: String(LEASE_MS),
  FJ_MEDIA_WORKERS: workers,
});

/** The page's selected ICE candidate pairs: the local candidate's type and TURN server URL, the remote address. */
async function selectedPairs(page: Page): Promise<{ localType: string; turnUrl: string; remote: string }[]> {
  return page.evaluate(async () => {
    const report: RTCStatsReport = await (window as any).client.getStatistics();
    const byId = new Map<string, any>();
    report.forEach((s: any) => byId.set(s.id, s));
    const out: { localType: string; turnUrl: string; remote: string }[] = [];
    report.forEach((s: any) => {
      if (s.type !== 'transport' || !s.selectedCandidatePairId) return;
      const pair = byId.get(s.selectedCandidatePairId);
      const remote = byId.get(pair?.remoteCandidateId);
      const local = byId.get(pair?.localCandidateId);
      if (local) out.push({ localType: local.candidateType ?? '', turnUrl: local.url ?? '', remote: `${remote?.address ?? remote?.ip}:${remote?.port}` });
    });
    return out;
  });
}

describe('browser call in a cluster: peers added through a node that does not own the room', { skip: REDIS_MISSING }, () => {
  let browser: Browser;
  let redis: TestRedis;
  let a: TestShoal;
  let b: TestShoal;
  const pages = new Set<Page>();

  before(async () => {
    redis = await startRedis();
    [browser, a, b] = await Promise.all([launchBrowser(), startShoal(clusterEnv(redis, 'node-a', '0')), startShoal(clusterEnv(redis, 'node-b', '1'))]);
    const deadline = Date.now() + LEASE_MS * 2;
    while ((await b.shoal.cluster!.liveNodes()).length < 2) {
      assert.ok(Date.now() < deadline, 'both nodes registered');
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  afterEach(async () => {
    for (const p of pages) await closeClientPage(p);
    pages.clear();
  });
  after(async () => {
    for (const p of pages) await closeClientPage(p);
    await browser?.close();
    await closeStaticServer();
    for (const n of [a, b]) await n?.stop().catch(() => {});
    await redis?.dispose();
  });

  /** A room created on A itself (the forwarded header skips placement). */
  async function roomOnA(id: string): Promise<void> {
    const r = await api(a, 'POST', '/room', { roomId: id }, { headers: { [FORWARDED_HEADER]: 'test' } });
    assert.equal(r.status, 201, r.text);
  }

  /** A peer added through B's REST: its id, token and the socket address it was given. */
  async function peerViaB(roomId: string): Promise<{ id: string; token: string; url: string }> {
    const r = await api(b, 'POST', `/room/${roomId}/peer`, { type: 'webrtc', options: {} });
    assert.equal(r.status, 201, r.text);
    return { id: r.json.data.peer.id, token: r.json.data.token, url: r.json.data.peer_websocket_url };
  }

  async function page(kind: 'c5' | 'c25'): Promise<Page> {
    const p = await openClientPage(browser, kind);
    pages.add(p);
    return p;
  }

  async function decoding(p: Page): Promise<void> {
    await waitForPageEvent(p, (e) => e.name === 'trackReady' && (e.data as any).kind === 'video', WAIT_MS);
    const first = await waitForStats(p, (st) => total(st, 'video', 'framesDecoded') > 0, 'first frames');
    await waitForStats(p, (st) => total(st, 'video', 'framesDecoded') > total(first, 'video', 'framesDecoded') + 10, 'frames increasing');
  }

  test('ts-client 0.5.0: peers added through B connect to A (their peer_websocket_url) and decode each other', async () => {
    await roomOnA('call-c5');
    const [pa, pb] = [await peerViaB('call-c5'), await peerViaB('call-c5')];
    for (const p of [pa, pb]) assert.equal(p.url, `${a.host}/socket/peer/websocket`);
    const host = pa.url.slice(0, pa.url.indexOf('/'));
    const [x, y] = await Promise.all([page('c5'), page('c5')]);
    try {
      assert.equal(await joinC5(x, { host, token: pa.token, name: 'X' }), pa.id);
      assert.equal(await joinC5(y, { host, token: pb.token, name: 'Y' }), pb.id);
      await Promise.all([publishC5(x, { video: true, audio: true }), publishC5(y, { video: true, audio: true })]);
      for (const p of [x, y]) await decoding(p);
    } catch (err) {
      (err as Error).message += `\nX:\n${formatPageLogs(x)}\nY:\n${formatPageLogs(y)}`;
      throw err;
    }
    const room = await api(b, 'GET', '/room/call-c5');
    for (const p of room.json.data.peers) assert.deepEqual([p.status, p.tracks.length], ['connected', 2], JSON.stringify(p));
    await api(b, 'DELETE', '/room/call-c5');
  });

  test('ts-client 0.5.0 through B\'s host (relayed) and one on A itself decode each other', async () => {
    await roomOnA('call-c5-relayed');
    const [pa, pb] = [await peerViaB('call-c5-relayed'), await peerViaB('call-c5-relayed')];
    const [x, y] = await Promise.all([page('c5'), page('c5')]);
    try {
      assert.equal(await joinC5(x, { host: b.host, token: pa.token, name: 'X' }), pa.id);
      assert.equal(await joinC5(y, { host: a.host, token: pb.token, name: 'Y' }), pb.id);
      await Promise.all([publishC5(x, { video: true }), publishC5(y, { video: true })]);
      for (const p of [x, y]) await decoding(p);
    } catch (err) {
      (err as Error).message += `\nX:\n${formatPageLogs(x)}\nY:\n${formatPageLogs(y)}`;
      throw err;
    }
    assert.equal(b.shoal.rooms.find('call-c5-relayed'), undefined, 'B holds no copy of the room');
    await api(b, 'DELETE', '/room/call-c5-relayed');
  });

  test('ts-client 0.25.1: both pages connect through B\'s URL, are relayed to A, decode each other, media through A\'s TURN server', async () => {
    await roomOnA('call-c25');
    const [pa, pb] = [await peerViaB('call-c25'), await peerViaB('call-c25')];
    const [x, y] = await Promise.all([page('c25'), page('c25')]);
    try {
      await joinC25(x, b.wsUrl, pa.token, 'X', WAIT_MS);
      await joinC25(y, b.wsUrl, pb.token, 'Y', WAIT_MS);
      await Promise.all([publishC25(x, WAIT_MS), publishC25(y, WAIT_MS)]);
      for (const p of [x, y]) await decoding(p);
      const aPorts = (a.shoal.media as LocalMediaPlane).boundPorts!;
      for (const p of [x, y]) {
        const pairs = await selectedPairs(p);
        assert.ok(pairs.length > 0, 'a selected candidate pair');
        // Relayed through A's integrated TURN server (the one Connected.ice_servers named).
        for (const pair of pairs) {
          assert.equal(pair.localType, 'relay', JSON.stringify(pair));
          assert.ok([aPorts.udpPort, aPorts.tcpPort].some((port) => pair.turnUrl.includes(`:${port}`)), `TURN server of A (${aPorts.udpPort}/${aPorts.tcpPort}): ${JSON.stringify(pair)}`);
        }
      }
    } catch (err) {
      (err as Error).message += `\nX:\n${formatPageLogs(x)}\nY:\n${formatPageLogs(y)}`;
      throw err;
    }
    assert.equal(b.shoal.rooms.find('call-c25'), undefined, 'B holds no copy of the room');
    const room = a.shoal.rooms.find('call-c25')!;
    for (const id of [pa.id, pb.id]) assert.equal(room.peers.get(id)?.status, 'connected');
    await api(b, 'DELETE', '/room/call-c25');
  });
});

