// Unused simulcast layers dropped early, end to end, in both media plane modes (FJ_MEDIA_WORKERS=0 and 1):
// a ts-client 0.5.0 publisher in headless Chromium sends l/m/h, one receiver starts on m; the server drops
// the layers nobody receives (shoal's dropped-unused-layer counter grows), yet the receiver switching to h
// gets 1280 px frames and keeps decoding. A browser test kept next to the producer's unit tests (listed in
// scripts/test.mjs PARTS.browser).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeClientPage, closeStaticServer, launchBrowser, openClientPage, waitForPageEvent, type Browser, type Page } from '../../helpers/browser.js';
import { api, startShoal, type TestShoal } from '../../helpers/server.js';
import { joinC5, publishC5, total, waitForStats, type InboundStat } from '../../helpers/media-page.js';

const WAIT_MS = 20_000;

const width = (st: InboundStat[]) => st.filter((x) => x.kind === 'video').reduce((w, x) => Math.max(w, x.frameWidth), 0);

for (const workers of ['0', '1']) {
  describe(`unused simulcast layers are dropped (FJ_MEDIA_WORKERS=${workers})`, () => {
    let browser: Browser;
    let s: TestShoal;
    const pages: Page[] = [];

    before(async () => {
      [browser, s] = await Promise.all([launchBrowser(), startShoal({ FJ_MEDIA_WORKERS: workers })]);
    });
    after(async () => {
      for (const p of pages) await closeClientPage(p);
      await browser?.close();
      await closeStaticServer();
      await s?.stop();
    });

    async function joined(roomId: string, name: string): Promise<Page> {
      const r = await api(s, 'POST', `/room/${roomId}/peer`, { type: 'webrtc' });
      assert.equal(r.status, 201, r.text);
      const page = await openClientPage(browser, 'c5');
      pages.push(page);
      await joinC5(page, { host: s.host, token: r.json.data.token, name });
      return page;
    }

    const dropped = async () => (await s.shoal.media.stats()).rtpDroppedUnusedLayer;

    /** Waits (bounded) until the dropped counter has grown by more than `by` since `from`. */
    async function droppedGrows(from: number, by: number, what: string): Promise<number> {
      const deadline = Date.now() + WAIT_MS;
      for (;;) {
        const now = await dropped();
        if (now - from > by) return now;
        if (Date.now() > deadline) assert.fail(`${what}: dropped-unused-layer counter grew by ${now - from}, expected > ${by}`);
        await new Promise((r) => setTimeout(r, 250)); // polling a server counter: no event to await
      }
    }

    test('a receiver on m: l and h are dropped; switched to h it gets 1280 px and m is dropped instead', { timeout: 150_000 }, async () => {
      const roomId: string = (await api(s, 'POST', '/room', {})).json.data.room.id;
      const [pub, sub] = await Promise.all([joined(roomId, 'pub'), joined(roomId, 'sub')]);
      await publishC5(pub, { video: true, simulcast: true, width: 1280, height: 720, contentHint: 'detail' });
      const ready = await waitForPageEvent(sub, (e) => e.name === 'trackReady' && (e.data as any).kind === 'video', WAIT_MS);
      const trackId = (ready.data as any).trackId as string;
      await waitForStats(sub, (st) => width(st) === 640, 'medium layer (640 px) first', 30_000);
      const onM = await droppedGrows(await dropped(), 50, 'receiver on m');

      const since = await sub.evaluate(() => window.events.length);
      await sub.evaluate(({ trackId }) => (window as any).client.setTargetTrackEncoding(trackId, 'h'), { trackId });
      const changed = await waitForPageEvent(sub, (e) => e.name === 'encodingChanged', WAIT_MS, { since });
      assert.equal((changed.data as any).encoding, 'h');
      const st = await waitForStats(sub, (x) => width(x) === 1280, 'high layer (1280 px) after the switch', 30_000);
      const decoded = total(st, 'video', 'framesDecoded');
      await waitForStats(sub, (x) => width(x) === 1280 && total(x, 'video', 'framesDecoded') > decoded + 20, 'h keeps decoding', WAIT_MS);
      await droppedGrows(onM, 50, 'receiver on h (l and m unused)');
    });
  });
}
