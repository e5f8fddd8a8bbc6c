// Media through the SFU with the unmodified @fishjam-cloud/ts-client 0.25.1 (protobuf media events,
// full-ICE client): Shoal hands its integrated TURN server in Connected.ice_servers, so the same
// relayed path serves both client generations. Also a mixed room with ts-client 0.5.0.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeClientPage, closeStaticServer, formatPageLogs, launchBrowser, openClientPage, waitForPageEvent, type Browser, type Page } from '../helpers/browser.js';
import { api, startShoal, type TestShoal } from '../helpers/server.js';
import { joinC25, joinC5, publishC25, publishC5, total, waitForStats } from '../helpers/media-page.js';

const WAIT_MS = 15_000;

describe('browser media: ts-client 0.25.1 through the SFU', () => {
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

  async function token(roomId: string): Promise<string> {
    const r = await api(s, 'POST', `/room/${roomId}/peer`, { type: 'webrtc' });
    assert.equal(r.status, 201, r.text);
    return r.json.data.token;
  }

  async function page(kind: 'c5' | 'c25'): Promise<Page> {
    const p = await openClientPage(browser, kind);
    pages.add(p);
    return p;
  }

  async function decoding(p: Page): Promise<void> {
    const first = await waitForStats(p, (st) => total(st, 'video', 'framesDecoded') > 0 && total(st, 'audio', 'packetsReceived') > 0, 'first frames');
    await waitForStats(p, (st) => total(st, 'video', 'framesDecoded') > total(first, 'video', 'framesDecoded') + 10, 'frames increasing');
  }

  test('two 0.25.1 peers publish camera and mic and decode each other', async () => {
    const roomId = (await api(s, 'POST', '/room', {})).json.data.room.id;
    const [a, b] = await Promise.all([page('c25'), page('c25')]);
    await joinC25(a, s.wsUrl, await token(roomId), 'A', WAIT_MS);
    await joinC25(b, s.wsUrl, await token(roomId), 'B', WAIT_MS);
    try {
      await Promise.all([publishC25(a, WAIT_MS), publishC25(b, WAIT_MS)]);
      for (const p of [a, b]) {
        await waitForPageEvent(p, (e) => e.name === 'trackReady' && (e.data as any).kind === 'video', WAIT_MS);
        await waitForPageEvent(p, (e) => e.name === 'trackReady' && (e.data as any).kind === 'audio', WAIT_MS);
        await decoding(p);
      }
    } catch (err) {
      (err as Error).message += `\nA:\n${formatPageLogs(a)}\nB:\n${formatPageLogs(b)}`;
      throw err;
    }
  });

  test('mixed room: a 0.5.0 publisher and a 0.25.1 publisher receive each other', async () => {
    const roomId = (await api(s, 'POST', '/room', {})).json.data.room.id;
    const [old, cloud] = await Promise.all([page('c5'), page('c25')]);
    await joinC5(old, { host: s.host, token: await token(roomId), name: 'old' });
    await joinC25(cloud, s.wsUrl, await token(roomId), 'cloud', WAIT_MS);
    await Promise.all([publishC5(old, { video: true, audio: true }), publishC25(cloud, WAIT_MS)]);
    await decoding(old);
    await decoding(cloud);
  });
});
