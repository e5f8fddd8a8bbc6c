/**
 * Joining and leaving a room with the real, unmodified browser clients in headless Chromium against a
 * real Shoal: @fishjam-dev/ts-client 0.5.0 (c5, JSON media events) and @fishjam-cloud/ts-client 0.25.1
 * (c25, protobuf media events, peer metadata wrapped as {peer, server}), alone and mixed in one room.
 * No media is published here; this is the signalling half (join, peerJoined, peerUpdated, peerLeft,
 * socket closes and auth errors) plus the server notifications the flow produces.
 *
 * Functions passed to page.evaluate must not bind named functions (`const f = () => ...`): tsx/esbuild
 * then injects a `__name(...)` helper that does not exist in the page.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  closeClientPage,
  getPageLogs,
  formatPageLogs,
  closeStaticServer,
  launchBrowser,
  openClientPage,
  waitForPageEvent,
  type Browser,
  type ClientKind,
  type Page,
  type PageEvent,
} from '../helpers/browser.js';
import { api, startShoal, type TestShoal } from '../helpers/server.js';
import type { Notification } from '../../src/room/notifications.js';

const WAIT_MS = 10_000;

/** What the pages push for a peer: the JSON-safe part of the client's Peer object. */
interface PeerData {
  id: string;
  type: string;
  metadata: unknown;
}

describe('browser: join and leave with the real clients', () => {
  let browser: Browser;
  let s: TestShoal;
  const notifications: Notification[] = [];
  const waiters = new Set<() => void>();
  const openPages = new Set<Page>();

  before(async () => {
    [browser, s] = await Promise.all([launchBrowser(), startShoal()]);
    s.shoal.bus.subscribe((n) => {
      notifications.push(n);
      for (const w of waiters) w();
    });
  });

  after(async () => {
    for (const page of openPages) await closeClientPage(page);
    await browser?.close();
    await closeStaticServer();
    await s?.stop();
  });

  // ---- helpers ----

  async function createRoom(): Promise<string> {
    const res = await api(s, 'POST', '/room', {});
    assert.equal(res.status, 201, res.text);
    return res.json.data.room.id as string;
  }

  async function addPeer(roomId: string, options: Record<string, unknown> = {}): Promise<{ id: string; token: string }> {
    const res = await api(s, 'POST', `/room/${roomId}/peer`, { type: 'webrtc', options });
    assert.equal(res.status, 201, res.text);
    return { id: res.json.data.peer.id as string, token: res.json.data.token as string };
  }

  async function peerStatuses(roomId: string): Promise<Record<string, string>> {
    const res = await api(s, 'GET', `/room/${roomId}`);
    assert.equal(res.status, 200, res.text);
    return Object.fromEntries((res.json.data.peers as { id: string; status: string }[]).map((p) => [p.id, p.status]));
  }

  async function openPage(kind: ClientKind): Promise<Page> {
    const page = await openClientPage(browser, kind);
    openPages.add(page);
    return page;
  }

  async function closePage(page: Page): Promise<void> {
    openPages.delete(page);
    await closeClientPage(page);
  }

  /** The real clients logged no errors and threw nothing uncaught. */
  function assertNoPageErrors(...pages: Page[]): void {
    for (const page of pages) {
      const bad = getPageLogs(page).filter((l) => l.type === 'error' || l.type === 'pageerror' || l.type === 'crash');
      assert.deepEqual(bad, [], formatPageLogs(page));
    }
  }

  /** Waits (bounded) for a server notification matching `pred`, looking at past ones first. */
  function waitForNotification(pred: (n: Notification) => boolean, what: string): Promise<Notification> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = notifications.find(pred);
        if (!hit) return false;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(hit);
        return true;
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no ${what} notification within ${WAIT_MS}ms; got ${JSON.stringify(notifications.map((n) => n.type))}`));
      }, WAIT_MS);
      waiters.add(check);
      check();
    });
  }

  /**
   * Creates the c5 client in the page (reconnect off), records its events into window.events (peers as
   * {id, type, metadata}) and starts connecting. connect() is fire-and-forget in 0.5.0.
   */
  async function connectC5(page: Page, token: string, peerMetadata: unknown): Promise<void> {
    await page.evaluate(
      ({ token, host, peerMetadata }) => {
        const client = new window.FishjamC5.FishjamClient<unknown, unknown>();
        (window as unknown as { client: unknown }).client = client;
        client.on('authSuccess', () => window.pushEvent('authSuccess'));
        client.on('authError', (reason) => window.pushEvent('authError', reason));
        client.on('joined', (id, peers, components) =>
          window.pushEvent('joined', { id, peers: peers.map((p) => ({ id: p.id, type: p.type, metadata: p.metadata ?? null })), components: components.length }),
        );
        client.on('joinError', (m) => window.pushEvent('joinError', JSON.stringify(m)));
        client.on('peerJoined', (p) => window.pushEvent('peerJoined', { id: p.id, type: p.type, metadata: p.metadata ?? null }));
        client.on('peerUpdated', (p) => window.pushEvent('peerUpdated', { id: p.id, type: p.type, metadata: p.metadata ?? null }));
        client.on('peerLeft', (p) => window.pushEvent('peerLeft', { id: p.id, type: p.type, metadata: p.metadata ?? null }));
        client.on('socketClose', (e) => window.pushEvent('socketClose', { code: e.code, reason: e.reason }));
        client.on('disconnected', () => window.pushEvent('disconnected'));
        client.connect({ token, peerMetadata, signaling: { protocol: 'ws', host, path: '/socket/peer/websocket' } });
      },
      { token, host: s.host, peerMetadata },
    );
  }

  /**
   * Same for c25 (reconnect off). Its connect() promise is observed with then/catch (never awaited in
   * the page: it may not settle) and recorded as connectResolved / connectRejected.
   */
  async function connectC25(page: Page, token: string, peerMetadata: unknown): Promise<void> {
    await page.evaluate(
      ({ token, url, peerMetadata }) => {
        const client = new window.FishjamC25.FishjamClient<unknown, unknown>({ reconnect: false });
        (window as unknown as { client: unknown }).client = client;
        client.on('authSuccess', () => window.pushEvent('authSuccess'));
        client.on('authError', (reason) => window.pushEvent('authError', reason));
        client.on('joined', (id, peers, components) =>
          window.pushEvent('joined', {
            id,
            peers: peers.map((p) => ({ id: p.id, type: p.type, metadata: p.metadata ?? null })),
            components: components.length,
            local: client.getLocalPeer()?.metadata ?? null,
          }),
        );
        client.on('joinError', (m) => window.pushEvent('joinError', JSON.stringify(m)));
        client.on('peerJoined', (p) => window.pushEvent('peerJoined', { id: p.id, type: p.type, metadata: p.metadata ?? null }));
        client.on('peerUpdated', (p) => window.pushEvent('peerUpdated', { id: p.id, type: p.type, metadata: p.metadata ?? null }));
        client.on('peerLeft', (p) => window.pushEvent('peerLeft', { id: p.id, type: p.type, metadata: p.metadata ?? null }));
        client.on('socketClose', (e) => window.pushEvent('socketClose', { code: e.code, reason: e.reason }));
        client.on('disconnected', () => window.pushEvent('disconnected'));
        client.connect({ url, token, peerMetadata }).then(
          () => window.pushEvent('connectResolved'),
          (err: unknown) => window.pushEvent('connectRejected', String(err)),
        );
      },
      { token, url: s.wsUrl, peerMetadata },
    );
  }

  function connect(kind: ClientKind, page: Page, token: string, peerMetadata: unknown): Promise<void> {
    return kind === 'c5' ? connectC5(page, token, peerMetadata) : connectC25(page, token, peerMetadata);
  }

  /** Calls a method on the page's client (window.client). */
  async function call(page: Page, method: 'disconnect' | 'updatePeerMetadata', arg?: unknown): Promise<void> {
    await page.evaluate(
      ({ method, arg }) => {
        const client = (window as unknown as { client: Record<string, (a?: unknown) => void> }).client;
        if (method === 'disconnect') client.disconnect();
        else client[method](arg);
      },
      { method, arg },
    );
  }

  /** A page-side predicate for `name` with data.id === id (built as source: predicates run in the page). */
  function eventFor(name: string, id: string): (e: PageEvent) => boolean {
    return new Function('e', `return e.name === ${JSON.stringify(name)} && !!e.data && e.data.id === ${JSON.stringify(id)};`) as (
      e: PageEvent,
    ) => boolean;
  }

  async function waitPeer(page: Page, name: string, id: string): Promise<PeerData> {
    return (await waitForPageEvent(page, eventFor(name, id), WAIT_MS)).data as PeerData;
  }

  async function waitJoined(page: Page): Promise<{ id: string; peers: PeerData[]; components: number; local?: unknown }> {
    return (await waitForPageEvent(page, 'joined', WAIT_MS)).data as { id: string; peers: PeerData[]; components: number; local?: unknown };
  }

  function roomNotifications(roomId: string, peerId: string): string[] {
    return notifications.filter((n) => 'roomId' in n && n.roomId === roomId && 'peerId' in n && n.peerId === peerId).map((n) => n.type);
  }

  // ---- tests ----

  test('c5: join, peerJoined, peerUpdated, peerLeft, REST statuses and server notifications', async () => {
    const roomId = await createRoom();
    const a = await addPeer(roomId);
    const b = await addPeer(roomId);
    const [pageA, pageB] = await Promise.all([openPage('c5'), openPage('c5')]);
    try {
      await connectC5(pageA, a.token, { name: 'A' });
      const joinedA = await waitJoined(pageA);
      assert.equal(joinedA.id, a.id);
      assert.deepEqual(joinedA.peers, []);
      assert.equal(joinedA.components, 0);

      await connectC5(pageB, b.token, { name: 'B' });
      const joinedB = await waitJoined(pageB);
      assert.equal(joinedB.id, b.id);
      assert.deepEqual(joinedB.peers, [{ id: a.id, type: 'webrtc', metadata: { name: 'A' } }]);
      assert.deepEqual(await waitPeer(pageA, 'peerJoined', b.id), { id: b.id, type: 'webrtc', metadata: { name: 'B' } });
      assert.deepEqual(await peerStatuses(roomId), { [a.id]: 'connected', [b.id]: 'connected' });

      await call(pageB, 'updatePeerMetadata', { name: 'B2' });
      assert.deepEqual(await waitPeer(pageA, 'peerUpdated', b.id), { id: b.id, type: 'webrtc', metadata: { name: 'B2' } });
      const restB = (await api(s, 'GET', `/room/${roomId}`)).json.data.peers.find((p: { id: string }) => p.id === b.id);
      assert.deepEqual(restB.metadata, { name: 'B2' });

      await call(pageB, 'disconnect');
      assert.deepEqual(await waitPeer(pageA, 'peerLeft', b.id), { id: b.id, type: 'webrtc', metadata: { name: 'B2' } });
      assert.deepEqual(await peerStatuses(roomId), { [a.id]: 'connected', [b.id]: 'disconnected' });

      await waitForNotification((n) => n.type === 'peerDisconnected' && n.peerId === b.id, 'peerDisconnected(B)');
      assert.deepEqual(roomNotifications(roomId, b.id), [
        'peerAdded',
        'peerConnected',
        'peerMetadataUpdated',
        'peerMetadataUpdated',
        'peerDisconnected',
      ]);
      const metaUpdates = notifications.filter(
        (n): n is Extract<Notification, { type: 'peerMetadataUpdated' }> => n.type === 'peerMetadataUpdated' && n.peerId === b.id,
      );
      assert.deepEqual(
        metaUpdates.map((n) => n.metadata),
        [{ name: 'B' }, { name: 'B2' }],
      );
      assert.deepEqual(roomNotifications(roomId, a.id), ['peerAdded', 'peerConnected', 'peerMetadataUpdated']);
      assertNoPageErrors(pageA, pageB);
    } finally {
      await Promise.all([closePage(pageA), closePage(pageB)]);
    }
  });

  test('c5: deleting the peer over REST closes its socket with "Peer removed"; the other peer sees peerLeft', async () => {
    const roomId = await createRoom();
    const a = await addPeer(roomId);
    const b = await addPeer(roomId);
    const [pageA, pageB] = await Promise.all([openPage('c5'), openPage('c5')]);
    try {
      await Promise.all([connectC5(pageA, a.token, { name: 'A' }), connectC5(pageB, b.token, { name: 'B' })]);
      await Promise.all([waitJoined(pageA), waitJoined(pageB)]);

      const del = await api(s, 'DELETE', `/room/${roomId}/peer/${b.id}`);
      assert.equal(del.status, 204, del.text);

      const close = (await waitForPageEvent(pageB, 'socketClose', WAIT_MS)).data as { code: number; reason: string };
      assert.deepEqual(close, { code: 1000, reason: 'Peer removed' });
      assert.equal((await waitPeer(pageA, 'peerLeft', b.id)).id, b.id);
      assert.deepEqual(await peerStatuses(roomId), { [a.id]: 'connected' });
      const events = await pageB.evaluate(() => window.events.map((e) => e.name));
      assert.ok(!events.includes('authError'), `"Peer removed" is not an auth error: ${JSON.stringify(events)}`);
      assertNoPageErrors(pageA, pageB);
    } finally {
      await Promise.all([closePage(pageA), closePage(pageB)]);
    }
  });

  test('c5: an invalid token makes the client emit authError "invalid token"', async () => {
    const page = await openPage('c5');
    try {
      await connectC5(page, 'not-a-valid-token', { name: 'X' });
      assert.equal((await waitForPageEvent(page, 'authError', WAIT_MS)).data, 'invalid token');
      const close = (await waitForPageEvent(page, 'socketClose', WAIT_MS)).data as { code: number; reason: string };
      assert.equal(close.reason, 'invalid token');
      const events = await page.evaluate(() => window.events.map((e) => e.name));
      assert.ok(!events.includes('authSuccess') && !events.includes('joined'), JSON.stringify(events));
      assertNoPageErrors(page);
    } finally {
      await closePage(page);
    }
  });

  test('c25: join, peerJoined, peerUpdated, peerLeft with metadata wrapped as {peer, server}', async () => {
    const roomId = await createRoom();
    const a = await addPeer(roomId);
    const b = await addPeer(roomId, { metadata: { role: 'guest' } });
    const [pageA, pageB] = await Promise.all([openPage('c25'), openPage('c25')]);
    try {
      await connectC25(pageA, a.token, { name: 'A' });
      const joinedA = await waitJoined(pageA);
      assert.equal(joinedA.id, a.id);
      assert.deepEqual(joinedA.peers, []);
      assert.deepEqual(joinedA.local, { peer: { name: 'A' }, server: null });
      await waitForPageEvent(pageA, 'connectResolved', WAIT_MS);

      await connectC25(pageB, b.token, { name: 'B' });
      const joinedB = await waitJoined(pageB);
      assert.equal(joinedB.id, b.id);
      assert.deepEqual(joinedB.local, { peer: { name: 'B' }, server: { role: 'guest' } });
      assert.equal(joinedB.peers.length, 1);
      assert.equal(joinedB.peers[0]!.id, a.id);
      assert.deepEqual(joinedB.peers[0]!.metadata, { peer: { name: 'A' }, server: null });
      await waitForPageEvent(pageB, 'connectResolved', WAIT_MS);

      const joinedEvent = await waitPeer(pageA, 'peerJoined', b.id);
      assert.deepEqual(joinedEvent.metadata, { peer: { name: 'B' }, server: { role: 'guest' } });
      assert.deepEqual(await peerStatuses(roomId), { [a.id]: 'connected', [b.id]: 'connected' });

      await call(pageB, 'updatePeerMetadata', { name: 'B2' });
      const updated = await waitPeer(pageA, 'peerUpdated', b.id);
      assert.deepEqual(updated.metadata, { peer: { name: 'B2' }, server: { role: 'guest' } });

      await call(pageB, 'disconnect');
      assert.equal((await waitPeer(pageA, 'peerLeft', b.id)).id, b.id);
      assert.deepEqual(await peerStatuses(roomId), { [a.id]: 'connected', [b.id]: 'disconnected' });
      await waitForNotification((n) => n.type === 'peerDisconnected' && n.peerId === b.id, 'peerDisconnected(B)');
      assert.deepEqual(roomNotifications(roomId, b.id), [
        'peerAdded',
        'peerConnected',
        'peerMetadataUpdated',
        'peerMetadataUpdated',
        'peerDisconnected',
      ]);
      for (const page of [pageA, pageB]) {
        const names = await page.evaluate(() => window.events.map((e) => e.name));
        assert.ok(!names.includes('connectRejected') && !names.includes('joinError'), JSON.stringify(names));
      }
      assertNoPageErrors(pageA, pageB);
    } finally {
      await Promise.all([closePage(pageA), closePage(pageB)]);
    }
  });

  test('mixed room: c5 and c25 pages see each other join and leave', async () => {
    const roomId = await createRoom();
    const a = await addPeer(roomId); // c5
    const b = await addPeer(roomId); // c25
    const c = await addPeer(roomId); // c5
    const [pageA, pageB, pageC] = await Promise.all([openPage('c5'), openPage('c25'), openPage('c5')]);
    try {
      await connect('c5', pageA, a.token, { name: 'A' });
      await waitJoined(pageA);

      // c25 joins a room holding a c5 peer; the c5 peer sees it join (plain metadata over JSON events).
      await connect('c25', pageB, b.token, { name: 'B' });
      const joinedB = await waitJoined(pageB);
      assert.deepEqual(
        joinedB.peers.map((p) => [p.id, p.metadata]),
        [[a.id, { peer: { name: 'A' }, server: null }]],
      );
      assert.deepEqual(await waitPeer(pageA, 'peerJoined', b.id), { id: b.id, type: 'webrtc', metadata: { name: 'B' } });

      // A c5 peer joins after the c25 one: the c25 peer sees it join (wrapped metadata).
      await connect('c5', pageC, c.token, { name: 'C' });
      const joinedC = await waitJoined(pageC);
      assert.deepEqual(
        joinedC.peers.map((p) => p.id).sort(),
        [a.id, b.id].sort(),
      );
      assert.deepEqual(joinedC.peers.find((p) => p.id === b.id)?.metadata, { name: 'B' });
      assert.deepEqual((await waitPeer(pageB, 'peerJoined', c.id)).metadata, { peer: { name: 'C' }, server: null });

      // c5 leaves: the c25 peer sees it go.
      await call(pageA, 'disconnect');
      assert.equal((await waitPeer(pageB, 'peerLeft', a.id)).id, a.id);
      assert.equal((await waitPeer(pageC, 'peerLeft', a.id)).id, a.id);

      // c25 leaves: the c5 peer sees it go.
      await call(pageB, 'disconnect');
      assert.deepEqual(await waitPeer(pageC, 'peerLeft', b.id), { id: b.id, type: 'webrtc', metadata: { name: 'B' } });
      assert.deepEqual(await peerStatuses(roomId), { [a.id]: 'disconnected', [b.id]: 'disconnected', [c.id]: 'connected' });
      assertNoPageErrors(pageA, pageB, pageC);
    } finally {
      await Promise.all([closePage(pageA), closePage(pageB), closePage(pageC)]);
    }
  });
});
