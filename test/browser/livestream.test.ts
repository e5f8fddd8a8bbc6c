// Livestreaming with react-client 0.25.1's hooks (test/browser/apps/livestream.tsx), pages served from
// another origin than Shoal's (CORS): useLivestreamStreamer publishes Chromium's fake camera and
// microphone over WHIP, useLivestreamViewer plays it over WHEP (video width > 0, audio packets arriving),
// a second streamer gets the hook's streamer_already_connected (409), a bad viewer token unauthorized
// (401), a public room's stream plays with only its stream id, and an H264 room's stream is H264. Main
// thread and a media worker.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeClientPage, closeStaticServer, formatPageLogs, getPageEvents, launchBrowser, openAppPage, waitForPageEvent, type Browser, type Page } from '../helpers/browser.js';
import { api, startShoal, type TestShoal } from '../helpers/server.js';

const WAIT_MS = 20_000;

interface LiveStats {
  videoWidth: number;
  audioPacketsReceived: number;
  videoPacketsReceived: number;
  audioPacketsSent: number;
  videoPacketsSent: number;
}

for (const workers of ['0', '1']) {
  describe(`browser livestream: react-client 0.25.1 hooks (FJ_MEDIA_WORKERS=${workers})`, () => {
    let browser: Browser;
    let s: TestShoal;
    const pages = new Set<Page>();

    before(async () => {
      [browser, s] = await Promise.all([launchBrowser(), startShoal({ FJ_MEDIA_WORKERS: workers })]);
    });
    afterEach(async () => {
      for (const p of pages) await closeClientPage(p);
      pages.clear();
    });
    after(async () => {
      await browser?.close();
      await closeStaticServer();
      await s?.stop();
    });

    async function open(params: Record<string, string>): Promise<Page> {
      const p = await openAppPage(browser, 'livestream', { fishjamId: s.httpUrl, ...params });
      pages.add(p);
      await p.waitForFunction(() => window.live !== undefined, undefined, { timeout: WAIT_MS });
      return p;
    }

    const connected = (p: Page) => waitForPageEvent(p, (e) => e.name === 'connected' && (e.data as { connected: boolean }).connected, WAIT_MS);
    const errorOf = (p: Page) => waitForPageEvent(p, (e) => e.name === 'error', WAIT_MS).then((e) => (e.data as { error: string }).error);
    const stats = (p: Page): Promise<LiveStats> => p.evaluate(() => window.live!.stats());

    async function until(p: Page, check: (st: LiveStats) => boolean, what: string): Promise<LiveStats> {
      const end = Date.now() + WAIT_MS;
      for (;;) {
        const st = await stats(p);
        if (check(st)) return st;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(st)}`);
        await p.waitForTimeout(200);
      }
    }

    async function livestreamRoom(extra: Record<string, unknown> = {}): Promise<{ roomId: string; streamer: string; viewer: string }> {
      const roomId = (await api(s, 'POST', '/room', { roomType: 'livestream', ...extra })).json.data.room.id;
      const streamer = (await api(s, 'POST', `/room/${roomId}/streamer`)).json.token;
      const viewer = (await api(s, 'POST', `/room/${roomId}/viewer`)).json.token;
      return { roomId, streamer, viewer };
    }

    test('a streamer page publishes camera and microphone; a viewer page plays both; a second streamer gets 409', async () => {
      const { streamer, viewer } = await livestreamRoom();
      const pub = await open({ role: 'streamer', token: streamer });
      const view = await open({ role: 'viewer', token: viewer });
      try {
        await pub.evaluate(() => window.live!.connect());
        await connected(pub);
        await until(pub, (st) => st.videoPacketsSent > 0 && st.audioPacketsSent > 0, 'the streamer sending');

        await view.evaluate(() => window.live!.connect());
        const streamEvent = await waitForPageEvent(view, (e) => e.name === 'stream', WAIT_MS);
        assert.deepEqual((streamEvent.data as { tracks: string[] }).tracks, ['audio', 'video'], 'one MediaStream with both tracks');
        await connected(view);
        const first = await until(view, (st) => st.videoWidth > 0 && st.audioPacketsReceived > 0, 'video frames and audio packets');
        await until(view, (st) => st.audioPacketsReceived > first.audioPacketsReceived + 25, 'audio packets still arriving');
        assert.ok((await stats(view)).videoWidth > 0);

        const second = await open({ role: 'streamer', token: streamer });
        await second.evaluate(() => window.live!.connect());
        assert.equal(await errorOf(second), 'streamer_already_connected');
      } catch (err) {
        (err as Error).message += `\nstreamer:\n${formatPageLogs(pub)}\nviewer:\n${formatPageLogs(view)}\n${JSON.stringify(await getPageEvents(view))}`;
        throw err;
      }
    });

    test('an H264 room: the stream is published and played in H264', async () => {
      const { streamer, viewer } = await livestreamRoom({ videoCodec: 'h264' });
      const pub = await open({ role: 'streamer', token: streamer });
      await pub.evaluate(() => window.live!.connect());
      await connected(pub);
      const view = await open({ role: 'viewer', token: viewer });
      await view.evaluate(() => window.live!.connect());
      await until(view, (st) => st.videoWidth > 0 && st.audioPacketsReceived > 0, 'H264 video frames and audio');
      const codecs = await view.evaluate(() => window.live!.codecs());
      assert.ok(codecs.includes('video/H264'), JSON.stringify(codecs));
    });

    test('a bad viewer token is unauthorized; a viewer before any streamer is stream_not_found; a public stream plays by its id', async () => {
      const { roomId, streamer } = await livestreamRoom({ public: true });
      const bad = await open({ role: 'viewer', token: 'not-a-token' });
      await bad.evaluate(() => window.live!.connect());
      assert.equal(await errorOf(bad), 'unauthorized');

      const early = await open({ role: 'viewer', streamId: roomId });
      await early.evaluate(() => window.live!.connect());
      assert.equal(await errorOf(early), 'stream_not_found');

      const pub = await open({ role: 'streamer', token: streamer });
      await pub.evaluate(() => window.live!.connect());
      await connected(pub);
      const view = await open({ role: 'viewer', streamId: roomId });
      await view.evaluate(() => window.live!.connect());
      await until(view, (st) => st.videoWidth > 0 && st.audioPacketsReceived > 0, 'the public stream');
    });
  });
}
