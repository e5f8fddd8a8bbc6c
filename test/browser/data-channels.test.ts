// Data channels with the unmodified @fishjam-cloud/ts-client 0.25.1: createDataChannels() opens the
// reliable and lossy channels in-band over the peer connection, publishData() sends through Shoal to the
// other peers of the room, subscribeData() hears them. The exchange runs with the SFU in the main thread
// and in a media worker; canPublishData=false is refused; a burst arrives complete and in order.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeClientPage, closeStaticServer, formatPageLogs, getPageEvents, launchBrowser, openClientPage, waitForPageEvent, type Browser, type Page } from '../helpers/browser.js';
import { api, startShoal, type TestShoal } from '../helpers/server.js';
import { joinC25 } from '../helpers/media-page.js';
import { NotificationLog } from '../helpers/raw-peer.js';
import type { Notification } from '../../src/room/notifications.js';

const WAIT_MS = 15_000;

/** Opens the data channels; every message heard is pushed as a `data` event ({ reliable, bytes }). */
async function openData(p: Page): Promise<void> {
  await p.evaluate(() => {
    const client = (window as any).client;
    client
      .createDataChannels()
      .then(() => {
        for (const reliable of [true, false]) {
          client.subscribeData((data: Uint8Array) => window.pushEvent('data', { reliable, bytes: Array.from(data) }), { reliable });
        }
        window.pushEvent('dataReady');
      })
      .catch((e: unknown) => window.pushEvent('dataFailed', { e: String(e) }));
  });
  await waitForPageEvent(p, 'dataReady', WAIT_MS);
}

async function publish(p: Page, messages: number[][], reliable: boolean): Promise<void> {
  await p.evaluate(
    ({ messages, reliable }) => {
      for (const m of messages) (window as any).client.publishData(new Uint8Array(m), { reliable });
    },
    { messages, reliable },
  );
}

async function received(p: Page, reliable: boolean): Promise<number[][]> {
  return (await getPageEvents(p)).filter((e) => e.name === 'data' && (e.data as any).reliable === reliable).map((e) => (e.data as any).bytes as number[]);
}

async function waitReceived(p: Page, reliable: boolean, count: number, timeoutMs = WAIT_MS): Promise<number[][]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await received(p, reliable);
    if (got.length >= count) return got;
    if (Date.now() > deadline) throw new Error(`received ${got.length} of ${count} ${reliable ? 'reliable' : 'lossy'} messages`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function payload(tag: number, length: number): number[] {
  return Array.from({ length }, (_, i) => (tag * 31 + i) & 0xff);
}

function suite(name: string, env: Record<string, string>, all: boolean): void {
  describe(`browser data channels: ts-client 0.25.1 (${name})`, () => {
    let browser: Browser;
    let s: TestShoal;
    const pages = new Set<Page>();

    before(async () => {
      [browser, s] = await Promise.all([launchBrowser(), startShoal(env)]);
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

    async function join(roomId: string, name: string, options: Record<string, unknown> = {}): Promise<Page> {
      const r = await api(s, 'POST', `/room/${roomId}/peer`, { type: 'webrtc', options });
      assert.equal(r.status, 201, r.text);
      const p = await openClientPage(browser, 'c25');
      pages.add(p);
      await joinC25(p, s.wsUrl, r.json.data.token, name, WAIT_MS);
      return p;
    }

    async function pair(): Promise<[Page, Page, string]> {
      const roomId = (await api(s, 'POST', '/room', {})).json.data.room.id;
      const a = await join(roomId, 'A');
      const b = await join(roomId, 'B');
      await Promise.all([openData(a), openData(b)]);
      return [a, b, roomId];
    }

    test('two peers exchange payloads both ways on the reliable and the lossy channel; the backend hears ChannelAdded/ChannelRemoved', async () => {
      const log = new NotificationLog(s.shoal.bus);
      const [a, b, roomId] = await pair();
      const channels = (peerId: string) =>
        log.items
          .filter((n): n is Extract<Notification, { type: 'channelAdded' | 'channelRemoved' }> => (n.type === 'channelAdded' || n.type === 'channelRemoved') && n.roomId === roomId && n.peerId === peerId)
          .map((n) => `${n.type} ${n.channelId}`)
          .sort();
      try {
        for (const reliable of [true, false]) {
          const fromA = [payload(1, 1), payload(2, 300), payload(3, 4000)];
          const fromB = [payload(4, 17), payload(5, 1200)];
          await publish(a, fromA, reliable);
          await publish(b, fromB, reliable);
          assert.deepEqual((await waitReceived(b, reliable, fromA.length)).sort(), [...fromA].sort());
          assert.deepEqual((await waitReceived(a, reliable, fromB.length)).sort(), [...fromB].sort());
        }
        const peers = (await api(s, 'GET', `/room/${roomId}`)).json.data.peers as { id: string; metadata: { name: string } }[];
        const idA = peers.find((p) => p.metadata.name === 'A')!.id;
        const idB = peers.find((p) => p.metadata.name === 'B')!.id;
        assert.deepEqual(channels(idA), ['channelAdded lossy', 'channelAdded reliable']);
        assert.deepEqual(channels(idB), ['channelAdded lossy', 'channelAdded reliable']);
        await closeClientPage(a);
        await log.waitFor((n) => n.type === 'peerDisconnected' && n.peerId === idA, WAIT_MS, 'A disconnected');
        assert.deepEqual(channels(idA), ['channelAdded lossy', 'channelAdded reliable', 'channelRemoved lossy', 'channelRemoved reliable']);
        assert.deepEqual(channels(idB), ['channelAdded lossy', 'channelAdded reliable']);
      } catch (err) {
        (err as Error).message += `\nA:\n${formatPageLogs(a)}\nB:\n${formatPageLogs(b)}`;
        throw err;
      } finally {
        log.stop();
      }
    });

    if (!all) return;

    test('a peer without canPublishData is refused: nobody receives, it gets the error', async () => {
      const [a, b, roomId] = await pair();
      const c = await join(roomId, 'C', { canPublishData: false });
      await openData(c);
      // Both in one go: the error disconnects the 0.25.1 client (signalingError), closing its channels.
      await c.evaluate(() => {
        const client = (window as any).client;
        client.publishData(new Uint8Array([9, 10]), { reliable: true });
        client.publishData(new Uint8Array([9, 11]), { reliable: false });
      });
      const err = await waitForPageEvent(c, 'joinError', WAIT_MS);
      assert.match(JSON.stringify(err.data), /Publishing data is not allowed for this peer/);
      // A message A sends after C's must reach B first (same path), so C's would have been seen by then.
      await publish(a, [payload(7, 5)], true);
      await waitReceived(b, true, 1);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(await received(b, true), [payload(7, 5)]);
      assert.deepEqual(await received(b, false), []);
      assert.deepEqual(await received(a, true), []);
      assert.deepEqual(await received(a, false), []);
    });

    test('a burst of 1,000 reliable messages arrives complete and in order', async (t) => {
      const [a, b] = await pair();
      const burst = Array.from({ length: 1000 }, (_, i) => [i >> 8, i & 0xff, ...payload(i, 100)]);
      const sentAt = await a.evaluate(() => Date.now());
      await publish(a, burst, true);
      // Measured about 1 s from the first send to the last message heard (6–8 s before the SCTP send fix).
      assert.deepEqual(await waitReceived(b, true, 1000, 30_000), burst);
      const heard = (await getPageEvents(b)).filter((e) => e.name === 'data');
      const gap = Math.max(...heard.slice(1).map((e, i) => e.t - heard[i]!.t));
      t.diagnostic(`1,000 messages of 102 bytes: ${heard.at(-1)!.t - sentAt} ms from the first send to the last message heard, longest gap ${gap} ms`);
    });
  });
}

suite('SFU in the main thread', {}, true);
suite('SFU in a media worker', { FJ_MEDIA_WORKERS: '1' }, false);
