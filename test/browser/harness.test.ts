/**
 * Self-test of the headless-Chromium harness (test/helpers/browser.ts); needs
 * no Shoal server: both SDK bundles load, FishjamClient constructs, fake
 * media devices work, and the window.events helpers behave.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  bundleClient,
  closeClientPage,
  closeStaticServer,
  formatPageLogs,
  getPageEvents,
  launchBrowser,
  openClientPage,
  waitForPageEvent,
  type Browser,
  type ClientKind,
  type Page,
} from '../helpers/browser.js';

describe('browser harness', () => {
  let browser: Browser;
  const pages: Partial<Record<ClientKind, Page>> = {};

  before(async () => {
    browser = await launchBrowser();
    pages.c5 = await openClientPage(browser, 'c5');
    pages.c25 = await openClientPage(browser, 'c25');
  });

  after(async () => {
    for (const page of Object.values(pages)) if (page) await closeClientPage(page);
    await browser?.close();
    await closeStaticServer();
  });

  test('bundleClient caches per kind', async () => {
    const a = await bundleClient('c5');
    assert.equal(await bundleClient('c5'), a);
    assert.notEqual(await bundleClient('c25'), a);
  });

  test('c5: window.FishjamC5 exposes a constructible FishjamClient', async () => {
    const page = pages.c5!;
    const info = await page.evaluate(() => {
      const client = new window.FishjamC5.FishjamClient();
      return {
        exports: Object.keys(window.FishjamC5),
        hasConnect: typeof client.connect === 'function',
        hasOn: typeof client.on === 'function',
      };
    });
    assert.ok(info.exports.includes('FishjamClient'), formatPageLogs(page));
    assert.ok(info.exports.includes('WebRTCEndpoint'));
    assert.ok(info.exports.includes('isAuthError'));
    assert.equal(info.hasConnect, true);
    assert.equal(info.hasOn, true);
  });

  test('c25: window.FishjamC25 exposes a constructible FishjamClient', async () => {
    const page = pages.c25!;
    const info = await page.evaluate(() => {
      const client = new window.FishjamC25.FishjamClient({ reconnect: false });
      return {
        exports: Object.keys(window.FishjamC25),
        hasConnect: typeof client.connect === 'function',
        hasOn: typeof client.on === 'function',
      };
    });
    assert.ok(info.exports.includes('FishjamClient'), formatPageLogs(page));
    assert.ok(info.exports.includes('WebRTCEndpoint'));
    assert.equal(info.hasConnect, true);
    assert.equal(info.hasOn, true);
  });

  for (const kind of ['c5', 'c25'] as const) {
    test(`${kind}: fake getUserMedia yields 1 video + 1 audio track`, async () => {
      const page = pages[kind]!;
      const tracks = await page.evaluate(async () => {
        const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
        const result = {
          video: stream.getVideoTracks().map((t) => t.readyState),
          audio: stream.getAudioTracks().map((t) => t.readyState),
        };
        stream.getTracks().forEach((t) => t.stop());
        return result;
      });
      assert.deepEqual(tracks, { video: ['live'], audio: ['live'] }, formatPageLogs(page));
    });
  }

  test('waitForPageEvent matches by name and by predicate, and times out', async () => {
    const page = pages.c5!;
    await page.evaluate(() => {
      window.pushEvent('early', 1);
      setTimeout(() => window.pushEvent('later', { n: 2 }), 100);
    });
    const byName = await waitForPageEvent(page, 'later', 5_000);
    assert.deepEqual(byName.data, { n: 2 });

    const byPred = await waitForPageEvent(page, (e) => e.name === 'early' && e.data === 1, 5_000);
    assert.equal(byPred.name, 'early');

    const count = (await getPageEvents(page)).length;
    await assert.rejects(waitForPageEvent(page, 'early', 300, { since: count }), /waitForPageEvent\(early\) failed/);
  });

  test('uncaught page errors are collected', async () => {
    const page = pages.c25!;
    await page.evaluate(() => {
      setTimeout(() => {
        throw new Error('boom-from-page');
      });
    });
    await waitUntil(() => formatPageLogs(page).includes('boom-from-page'), 5_000);
  });
});

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
