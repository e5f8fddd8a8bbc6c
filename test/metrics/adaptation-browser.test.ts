// The network-adaptation series on a real scrape, in the main thread (FJ_MEDIA_WORKERS=0) and in media
// workers (FJ_MEDIA_WORKERS=2): a @fishjam-dev/ts-client 0.5.0 page publishes simulcast camera and mic, a
// @fishjam-cloud/ts-client 0.25.1 page receives them in headless Chromium. Once it decodes, /metrics must
// show that subscriber's downlink estimate (Chromium's transport-cc feedback fed it) and none for the
// publisher (it receives nothing), its video track not paused and on a simulcast layer no higher than the
// one it asked for (m), no paused-track series for audio, and no paused tracks server-wide.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeClientPage, closeStaticServer, formatPageLogs, launchBrowser, openClientPage, waitForPageEvent, type Browser, type Page } from '../helpers/browser.js';
import { joinC25, joinC5, localTrackId, publishC5, total, waitForStats } from '../helpers/media-page.js';
import { api, startShoal, type TestShoal } from '../helpers/server.js';
import { parseExposition, type Exposition } from './prom-text.js';

const WAIT_MS = 20_000;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await closeStaticServer();
});

for (const workers of ['0', '2']) {
  describe(`network adaptation metrics with Chromium (FJ_MEDIA_WORKERS=${workers})`, () => {
    let s: TestShoal;
    const pages: Page[] = [];
    before(async () => {
      s = await startShoal({ FJ_MEDIA_WORKERS: workers });
    });
    after(async () => {
      for (const p of pages) await closeClientPage(p);
      await s?.stop();
    });

    async function peer(roomId: string): Promise<{ id: string; token: string; page: Page }> {
      const r = await api(s, 'POST', `/room/${roomId}/peer`, { type: 'webrtc' });
      assert.equal(r.status, 201, r.text);
      const kind = pages.length === 0 ? 'c5' : 'c25';
      const page = await openClientPage(browser, kind);
      pages.push(page);
      return { id: r.json.data.peer.id, token: r.json.data.token, page };
    }

    /** Scrapes until `check` passes (undefined) or WAIT_MS is over (then fails with its last reason). */
    async function eventually(check: (m: Exposition) => string | undefined): Promise<Exposition> {
      const deadline = Date.now() + WAIT_MS;
      for (;;) {
        const m = parseExposition(await s.shoal.metrics.registry.metrics());
        const why = check(m);
        if (why === undefined) return m;
        if (Date.now() > deadline) assert.fail(why);
        await new Promise((r) => setTimeout(r, 250));
      }
    }

    test('estimate for the subscriber, its video not paused and on a layer up to m', { timeout: 90_000 }, async (t) => {
      const roomId: string = (await api(s, 'POST', '/room', {})).json.data.room.id;
      const pub = await peer(roomId);
      const sub = await peer(roomId);
      try {
        await joinC5(pub.page, { host: s.host, token: pub.token, name: 'pub' }, WAIT_MS);
        await publishC5(pub.page, { video: true, audio: true, simulcast: true, contentHint: 'detail' }, WAIT_MS);
        const videoId = await localTrackId(pub.page, 'video');
        const audioId = await localTrackId(pub.page, 'audio');
        await joinC25(sub.page, s.wsUrl, sub.token, 'sub', WAIT_MS);
        await waitForPageEvent(sub.page, (e) => e.name === 'trackReady' && (e.data as { kind?: string }).kind === 'video', WAIT_MS);
        await waitForStats(sub.page, (st) => total(st, 'video', 'framesDecoded') > 10, 'the subscriber decodes', WAIT_MS);

        const subPeer = { room_id: roomId, peer_id: sub.id };
        const video = { ...subPeer, track_id: videoId, direction: 'out' };
        const m = await eventually((m) => {
          if (!((m.value('shoal_peer_downlink_estimate_bits', subPeer) ?? 0) > 0)) return 'no downlink estimate for the subscriber';
          if (m.value('shoal_track_layer', video) === undefined) return 'no layer for the subscriber’s video';
          return undefined;
        });
        const estimate = m.value('shoal_peer_downlink_estimate_bits', subPeer)!;
        assert.ok(estimate > 50_000 && estimate < 1e9, `estimate ${estimate} b/s`);
        assert.equal(m.value('shoal_peer_downlink_estimate_bits', { room_id: roomId, peer_id: pub.id }), undefined, 'the publisher receives nothing: no estimate');
        assert.ok(m.value('shoal_transport_feedback_received_total')! > 0, 'transport-cc feedback counted');
        assert.equal(m.value('shoal_track_paused', video), 0);
        assert.equal(m.value('shoal_track_target_layer', video), 1, 'receivers start on m');
        const layer = m.value('shoal_track_layer', video)!;
        assert.ok(layer === 0 || layer === 1, `layer ${layer}: l or m, never above the asked-for m`);
        assert.equal(m.find('shoal_track_paused', { track_id: audioId }).length, 0, 'audio is never paused: no series');
        assert.equal(m.find('shoal_track_layer', { track_id: audioId }).length, 0);
        assert.ok(m.value('shoal_track_retransmit_bitrate_bits', video)! >= 0, 'Chromium negotiates NACK: a retransmission series');
        assert.equal(m.value('shoal_allocator_paused_tracks'), 0);
        t.diagnostic(`estimate ${Math.round(estimate)} b/s, layer ${layer}, retransmit ${m.value('shoal_track_retransmit_bitrate_bits', video)} b/s`);
      } catch (err) {
        (err as Error).message += `\npub:\n${formatPageLogs(pub.page)}\nsub:\n${formatPageLogs(sub.page)}`;
        throw err;
      }
    });
  });
}
