// What the real clients do when Shoal drains (issue 10): every connected peer is closed with
// 1012 'Server is shutting down', which neither ts-client 0.5.0 (with reconnect on) nor ts-client 0.25.1
// (reconnect on by default) treats as final: both open a new socket (0.25.1 announces reconnectionStarted),
// and neither reports the drain close as an auth or join error.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeClientPage, closeStaticServer, formatPageLogs, getPageEvents, launchBrowser, openClientPage, waitForPageEvent, type Browser, type Page } from '../helpers/browser.js';
import { joinC5 } from '../helpers/media-page.js';
import { api, startShoal, type TestShoal } from '../helpers/server.js';

const WAIT_MS = 15_000;

describe('drain: the real clients reconnect', () => {
  let browser: Browser;
  let s: TestShoal;
  const pages: Page[] = [];

  before(async () => {
    [browser, s] = await Promise.all([launchBrowser(), startShoal()]);
  });
  after(async () => {
    for (const p of pages) await closeClientPage(p);
    await browser?.close();
    await closeStaticServer();
    await s?.stop();
  });

  async function token(roomId: string): Promise<string> {
    const r = await api(s, 'POST', `/room/${roomId}/peer`, { type: 'webrtc' });
    assert.equal(r.status, 201, r.text);
    return r.json.data.token;
  }

  test('ts-client 0.5.0 and 0.25.1 start reconnecting on the drain close, with no auth or join error', async () => {
    const roomId = (await api(s, 'POST', '/room', {})).json.data.room.id;
    const c5 = await openClientPage(browser, 'c5');
    const c25 = await openClientPage(browser, 'c25');
    pages.push(c5, c25);
    await joinC5(c5, { host: s.host, token: await token(roomId), name: 'old', reconnect: true }, WAIT_MS);
    await c5.evaluate(() => (window as any).client.on('reconnectionStarted', () => window.pushEvent('reconnectionStarted')));
    const t25 = await token(roomId);
    await c25.evaluate(
      ({ url, token }) => {
        const client = new window.FishjamC25.FishjamClient(); // reconnect is on by default
        (window as any).client = client;
        client.on('joined', () => window.pushEvent('joined'));
        client.on('socketClose', (e: CloseEvent) => window.pushEvent('socketClose', { code: e.code, reason: e.reason }));
        client.on('reconnectionStarted', () => window.pushEvent('reconnectionStarted'));
        client.on('authError', (r: unknown) => window.pushEvent('authError', { r }));
        client.on('joinError', (e: unknown) => window.pushEvent('joinError', { e: String(e) }));
        void client.connect({ url, token, peerMetadata: { name: 'new' } }).catch(() => window.pushEvent('connectRejected'));
      },
      { url: s.wsUrl, token: t25 },
    );
    await waitForPageEvent(c25, 'joined', WAIT_MS);
    try {
      await s.shoal.drain(1000);
      for (const p of [c5, c25]) {
        const closed = await waitForPageEvent(p, 'socketClose', WAIT_MS);
        assert.deepEqual(closed.data, { code: 1012, reason: 'Server is shutting down' });
      }
      // 0.25.1 says so; 0.5.0's reconnect manager emits nothing, but it opens a new socket: a second close
      // follows (the drained server no longer has the room, so that attempt is told 'room not found').
      await waitForPageEvent(c25, 'reconnectionStarted', WAIT_MS);
      await waitForPageEvent(c5, (e) => e.name === 'socketClose' && (e.data as any).reason !== 'Server is shutting down', WAIT_MS);
      for (const p of [c5, c25]) {
        const events = await getPageEvents(p);
        const refusals = events.filter((e) => e.name === 'authError' || e.name === 'joinError').map((e) => JSON.stringify(e.data));
        assert.ok(!refusals.some((r) => r.includes('shutting down')), `the drain close itself is never an auth/join error: ${refusals.join(', ')}`);
      }
    } catch (err) {
      (err as Error).message += `\n0.5.0:\n${formatPageLogs(c5)}\n0.25.1:\n${formatPageLogs(c25)}`;
      throw err;
    }
  });
});
