// Data channels through react-client 0.25.1's useDataChannel hook (test/browser/apps/data-channel.tsx):
// two pages join with useConnection given Shoal's origin as fishjamId, initializeDataChannel() opens the
// channels, publishData() on each kind reaches the other page's subscribeData() callback of that kind only.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeClientPage, closeStaticServer, formatPageLogs, getPageEvents, launchBrowser, openAppPage, waitForPageEvent, type Browser, type Page } from '../helpers/browser.js';
import { api, startShoal, type TestShoal } from '../helpers/server.js';

const WAIT_MS = 20_000;

describe('browser data channels: react-client 0.25.1 useDataChannel', () => {
  let browser: Browser;
  let s: TestShoal;
  const pages = new Set<Page>();

  before(async () => {
    [browser, s] = await Promise.all([launchBrowser(), startShoal()]);
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

  async function join(roomId: string, name: string): Promise<Page> {
    const r = await api(s, 'POST', `/room/${roomId}/peer`, { type: 'webrtc', options: {} });
    assert.equal(r.status, 201, r.text);
    const p = await openAppPage(browser, 'data-channel', { fishjamId: s.httpUrl, token: r.json.data.token, name });
    pages.add(p);
    await waitForPageEvent(p, (e) => e.name === 'peerStatus' && (e.data as { status: string }).status === 'connected', WAIT_MS);
    return p;
  }

  async function texts(p: Page, channel: 'reliable' | 'lossy'): Promise<string[]> {
    return (await getPageEvents(p)).filter((e) => e.name === 'data' && (e.data as any).channel === channel).map((e) => (e.data as any).text as string);
  }

  test('two pages exchange messages on the reliable and the lossy channel, each heard on its own kind', async () => {
    const roomId = (await api(s, 'POST', '/room', {})).json.data.room.id;
    const a = await join(roomId, 'A');
    const b = await join(roomId, 'B');
    try {
      for (const p of [a, b]) await p.evaluate(() => window.app!.initialize());
      for (const p of [a, b]) await waitForPageEvent(p, (e) => e.name === 'dataChannelReady' && (e.data as { ready: boolean }).ready, WAIT_MS);

      await a.evaluate(() => {
        window.app!.publish('a-reliable-1', true);
        window.app!.publish('a-lossy-1', false);
        window.app!.publish('a-reliable-2', true);
      });
      await b.evaluate(() => window.app!.publish('b-reliable-1', true));
      await b.evaluate(() => window.app!.publish('b-lossy-1', false));

      // Each page hears 3 or 2 messages in all; a message on the wrong kind would be counted too.
      await waitForPageEvent(b, (e) => e.name === 'data' && window.events.filter((x) => x.name === 'data').length >= 3, WAIT_MS);
      await waitForPageEvent(a, (e) => e.name === 'data' && window.events.filter((x) => x.name === 'data').length >= 2, WAIT_MS);
      assert.deepEqual(await texts(b, 'reliable'), ['a-reliable-1', 'a-reliable-2']);
      assert.deepEqual(await texts(b, 'lossy'), ['a-lossy-1']);
      assert.deepEqual(await texts(a, 'reliable'), ['b-reliable-1']);
      assert.deepEqual(await texts(a, 'lossy'), ['b-lossy-1']);
      const errors = (await getPageEvents(a)).concat(await getPageEvents(b)).filter((e) => e.name === 'dataChannelError' || e.name === 'joinFailed');
      assert.deepEqual(errors, []);
    } catch (err) {
      (err as Error).message += `\nA:\n${formatPageLogs(a)}\nB:\n${formatPageLogs(b)}`;
      throw err;
    }
  });
});
