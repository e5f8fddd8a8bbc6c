// Livestreaming in a cluster with react-client 0.25.1's hooks (test/browser/apps/livestream.tsx) given ONE
// base URL, node B, while the room lives on node A (a real redis-server, two in-process nodes): the
// streamer page publishes Chromium's fake camera and microphone over WHIP through B, a viewer page with a
// token and one with only the public stream id play it through B (video width > 0, audio packets
// arriving); the sessions are on A, and the streamer's disconnect (its DELETE through B) ends the stream on A.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeClientPage, closeStaticServer, formatPageLogs, launchBrowser, openAppPage, waitForPageEvent, type Browser, type Page } from '../helpers/browser.js';
import { FORWARDED_HEADER } from '../../src/api/cluster-routing.js';
import { api, startShoal, type TestShoal } from '../helpers/server.js';
import { REDIS_MISSING, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { clusterEnv, until } from '../helpers/cluster-nodes.js';

const WAIT_MS = 20_000;
const LEASE_MS = 2000;

interface LiveStats {
  videoWidth: number;
  audioPacketsReceived: number;
  videoPacketsSent: number;
  audioPacketsSent: number;
}

describe('browser livestream through a non-owner node: react-client 0.25.1 hooks, base URL = node B', { skip: REDIS_MISSING }, () => {
  let browser: Browser;
  let redis: TestRedis;
  let a: TestShoal;
  let b: TestShoal;
  const pages = new Set<Page>();

  before(async () => {
    redis = await startRedis();
    [browser, a, b] = await Promise.all([launchBrowser(), startShoal(clusterEnv(redis, 'node-a', LEASE_MS)), startShoal(clusterEnv(redis, 'node-b', LEASE_MS))]);
    await until(async () => (await b.shoal.cluster!.liveNodes()).length === 2, LEASE_MS * 2, 'both nodes registered');
  });
  afterEach(async () => {
    for (const p of pages) await closeClientPage(p);
    pages.clear();
  });
  after(async () => {
    await browser?.close();
    await closeStaticServer();
    for (const n of [a, b]) await n?.stop().catch(() => {});
    await redis?.dispose();
  });

  async function open(params: Record<string, string>): Promise<Page> {
    const p = await openAppPage(browser, 'livestream', { fishjamId: b.httpUrl, ...params });
    pages.add(p);
    await p.waitForFunction(() => window.live !== undefined, undefined, { timeout: WAIT_MS });
    return p;
  }
  const connected = (p: Page) => waitForPageEvent(p, (e) => e.name === 'connected' && (e.data as { connected: boolean }).connected, WAIT_MS);
  const stats = (p: Page): Promise<LiveStats> => p.evaluate(() => window.live!.stats());
  async function playing(p: Page, what: string): Promise<void> {
    const end = Date.now() + WAIT_MS;
    for (;;) {
      const st = await stats(p);
      if (st.videoWidth > 0 && st.audioPacketsReceived > 0) return;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(st)}`);
      await p.waitForTimeout(200);
    }
  }

  test('publish and play through B while the room is on A; a public stream plays by its id through B', async () => {
    const made = await api(a, 'POST', '/room', { roomType: 'livestream', public: true }, { headers: { [FORWARDED_HEADER]: 'test' } });
    assert.equal(made.status, 201, made.text);
    const roomId: string = made.json.data.room.id;
    // Tokens minted through B (routed: A mints them).
    const streamer = (await api(b, 'POST', `/room/${roomId}/streamer`)).json.token as string;
    const viewer = (await api(b, 'POST', `/room/${roomId}/viewer`)).json.token as string;
    const livestream = () => a.shoal.rooms.get(roomId).livestream;

    const pub = await open({ role: 'streamer', token: streamer });
    const view = await open({ role: 'viewer', token: viewer });
    const open_ = await open({ role: 'viewer', streamId: roomId });
    try {
      await pub.evaluate(() => window.live!.connect());
      await connected(pub);
      const end = Date.now() + WAIT_MS;
      while (!((await stats(pub)).videoPacketsSent > 0)) {
        if (Date.now() > end) throw new Error('the streamer is not sending');
        await pub.waitForTimeout(200);
      }
      await view.evaluate(() => window.live!.connect());
      await playing(view, 'video and audio at the token viewer');
      await open_.evaluate(() => window.live!.connect());
      await playing(open_, 'video and audio at the public viewer');
      assert.equal(livestream().viewerCount, 2, 'both viewers are on A');
      assert.equal(b.shoal.rooms.find(roomId), undefined, 'B holds no room');

      // The streamer hangs up (the hook's DELETE goes to B): the stream ends on A.
      await pub.evaluate(() => window.live!.disconnect());
      await until(() => livestream().viewerCount === 0, WAIT_MS, 'the stream ended on A');
    } catch (err) {
      (err as Error).message += `\nstreamer:\n${formatPageLogs(pub)}\nviewer:\n${formatPageLogs(view)}\npublic viewer:\n${formatPageLogs(open_)}`;
      throw err;
    }
  });
});
