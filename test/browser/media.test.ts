// Media through the SFU with the unmodified @fishjam-dev/ts-client 0.5.0 in headless Chromium (fake
// camera and microphone): publishing, receiving (decoded frames, audio packets), late joiners, track
// removal and peers leaving, all relayed through Shoal's integrated TURN server.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeClientPage, closeStaticServer, formatPageLogs, launchBrowser, openClientPage, waitForPageEvent, type Browser, type Page } from '../helpers/browser.js';
import { api, startShoal, type TestShoal } from '../helpers/server.js';
import { NotificationLog } from '../helpers/raw-peer.js';
import { joinC5, localTrackId, publishC5, total, waitForStats } from '../helpers/media-page.js';

const WAIT_MS = 15_000;

describe('browser media: ts-client 0.5.0 through the SFU', () => {
  let browser: Browser;
  let s: TestShoal;
  let log: NotificationLog;
  const pages = new Set<Page>();

  before(async () => {
    [browser, s] = await Promise.all([launchBrowser(), startShoal()]);
    log = new NotificationLog(s.shoal.bus);
  });
  afterEach(async () => {
    // Pages of a finished test only cost CPU, which makes Chromium scale video down in later tests.
    for (const p of pages) await closeClientPage(p);
    pages.clear();
  });
  after(async () => {
    for (const p of pages) await closeClientPage(p);
    await browser?.close();
    await closeStaticServer();
    log?.stop();
    await s?.stop();
  });

  async function room(config: Record<string, unknown> = {}): Promise<string> {
    const r = await api(s, 'POST', '/room', config);
    assert.equal(r.status, 201, r.text);
    return r.json.data.room.id;
  }

  async function peer(roomId: string, options: Record<string, unknown> = {}): Promise<{ id: string; token: string }> {
    const r = await api(s, 'POST', `/room/${roomId}/peer`, { type: 'webrtc', options });
    assert.equal(r.status, 201, r.text);
    return { id: r.json.data.peer.id, token: r.json.data.token };
  }

  async function joined(roomId: string, name: string, options: Record<string, unknown> = {}): Promise<{ page: Page; id: string }> {
    const p = await peer(roomId, options);
    const page = await openClientPage(browser, 'c5');
    pages.add(page);
    const id = await joinC5(page, { host: s.host, token: p.token, name });
    assert.equal(id, p.id);
    return { page, id };
  }

  test('two peers publish camera and mic; each decodes the other\'s video and receives its audio', async () => {
    const roomId = await room();
    const [a, b] = await Promise.all([joined(roomId, 'A'), joined(roomId, 'B')]);
    try {
      const [aTracks, bTracks] = await Promise.all([publishC5(a.page, { video: true, audio: true }), publishC5(b.page, { video: true, audio: true })]);
      assert.equal(aTracks.length, 2);
      assert.equal(bTracks.length, 2);
      for (const [page, other] of [
        [a.page, b.id],
        [b.page, a.id],
      ] as const) {
        await waitForPageEvent(page, (e) => e.name === 'trackReady' && (e.data as any).kind === 'audio', WAIT_MS);
        await waitForPageEvent(page, (e) => e.name === 'trackReady' && (e.data as any).kind === 'video', WAIT_MS);
        void other;
        const first = await waitForStats(page, (st) => total(st, 'video', 'framesDecoded') > 0 && total(st, 'audio', 'packetsReceived') > 0, 'first frames');
        await waitForStats(
          page,
          (st) => total(st, 'video', 'framesDecoded') > total(first, 'video', 'framesDecoded') + 10 && total(st, 'audio', 'packetsReceived') > total(first, 'audio', 'packetsReceived') + 20,
          'frames and audio packets increasing',
        );
      }
      const r = await api(s, 'GET', `/room/${roomId}`);
      for (const p of r.json.data.peers) assert.equal(p.tracks.length, 2, JSON.stringify(p));
      const added = log.items.filter((n) => n.roomId === roomId && n.type === 'trackAdded');
      assert.equal(added.length, 4);
    } catch (err) {
      (err as Error).message += `\nA logs:\n${formatPageLogs(a.page)}\nB logs:\n${formatPageLogs(b.page)}`;
      throw err;
    }
  });

  /** Waits until `page` decodes video and receives audio from the given number of remote tracks. */
  async function receivingFrom(page: Page, videoStreams: number, audioStreams: number): Promise<void> {
    const first = await waitForStats(
      page,
      (st) =>
        st.filter((x) => x.kind === 'video' && x.framesDecoded > 0).length >= videoStreams &&
        st.filter((x) => x.kind === 'audio' && x.packetsReceived > 0).length >= audioStreams,
      `${videoStreams} decoding video and ${audioStreams} audio streams`,
    );
    await waitForStats(page, (st) => total(st, 'video', 'framesDecoded') > total(first, 'video', 'framesDecoded') + 5, 'frames increasing');
  }

  test('a third peer joining later receives both existing publishers', async () => {
    const roomId = await room();
    const [a, b] = await Promise.all([joined(roomId, 'A'), joined(roomId, 'B')]);
    await Promise.all([publishC5(a.page, { video: true, audio: true }), publishC5(b.page, { video: true, audio: true })]);
    await receivingFrom(a.page, 1, 1);
    const c = await joined(roomId, 'C');
    try {
      await receivingFrom(c.page, 2, 2);
    } catch (err) {
      (err as Error).message += `\nC logs:\n${formatPageLogs(c.page)}`;
      throw err;
    }
    const ready = await c.page.evaluate(() => window.events.filter((e) => e.name === 'trackReady').map((e) => (e.data as any).peerId));
    assert.deepEqual(new Set(ready), new Set([a.id, b.id]));
    assert.equal(ready.length, 4);
  });

  test('a peer removes its video: others get trackRemoved and its audio keeps flowing', async () => {
    const roomId = await room();
    const [a, b] = await Promise.all([joined(roomId, 'A'), joined(roomId, 'B')]);
    const tracks = await publishC5(a.page, { video: true, audio: true });
    await receivingFrom(b.page, 1, 1);
    const videoId = await localTrackId(a.page, 'video');
    assert.ok(tracks.includes(videoId));
    await a.page.evaluate((id) => (window as any).client.removeTrack(id), videoId);
    const removed = await waitForPageEvent(b.page, (e) => e.name === 'trackRemoved', WAIT_MS);
    assert.equal((removed.data as any).trackId, videoId);
    const before = await waitForStats(b.page, () => true, 'stats');
    await waitForStats(b.page, (st) => total(st, 'audio', 'packetsReceived') > total(before, 'audio', 'packetsReceived') + 25, 'audio still flowing');
    await log.waitFor((n) => n.type === 'trackRemoved' && n.roomId === roomId && n.track.id === videoId);
    const r = await api(s, 'GET', `/room/${roomId}`);
    assert.deepEqual(r.json.data.peers.find((p: any) => p.id === a.id).tracks.map((t: any) => t.type), ['audio']);
  });

  test('a peer leaves: others get peerLeft; notifications show its tracks removed and the peer disconnected', async () => {
    const roomId = await room();
    const [a, b] = await Promise.all([joined(roomId, 'A'), joined(roomId, 'B')]);
    await publishC5(a.page, { video: true, audio: true });
    await receivingFrom(b.page, 1, 1);
    await a.page.evaluate(() => (window as any).client.disconnect());
    const left = await waitForPageEvent(b.page, (e) => e.name === 'peerLeft', WAIT_MS);
    assert.equal((left.data as any).id, a.id);
    await log.waitFor((n) => n.type === 'peerDisconnected' && n.roomId === roomId && n.peerId === a.id);
    await log.waitFor((n) => n.type === 'trackRemoved' && n.roomId === roomId && n.peerId === a.id && n.track.type === 'audio');
    const ofA = log.items.filter((n) => n.roomId === roomId && 'peerId' in n && n.peerId === a.id).map((n) => n.type);
    assert.deepEqual(ofA.slice(-3).sort(), ['peerDisconnected', 'trackRemoved', 'trackRemoved']);
    const removedOnB = await b.page.evaluate(() => window.events.filter((e) => e.name === 'trackRemoved').length);
    assert.equal(removedOnB, 2);
  });

  test('an h264 room forwards H264', async () => {
    const roomId = await room({ videoCodec: 'h264' });
    const [a, b] = await Promise.all([joined(roomId, 'A'), joined(roomId, 'B')]);
    await publishC5(a.page, { video: true });
    await receivingFrom(b.page, 1, 0);
    const codecs = await b.page.evaluate(async () => {
      const report: RTCStatsReport = await (window as any).client.getStatistics();
      const byId = new Map<string, any>();
      report.forEach((st: any) => byId.set(st.id, st));
      const out: string[] = [];
      report.forEach((st: any) => {
        if (st.type === 'inbound-rtp' && st.kind === 'video') out.push(byId.get(st.codecId)?.mimeType);
      });
      return out;
    });
    assert.deepEqual(codecs, ['video/H264']);
  });

  test('a publisher whose socket drops reconnects with the same token and its media flows again', async () => {
    const roomId = await room();
    const p = await peer(roomId);
    const page = await openClientPage(browser, 'c5');
    pages.add(page);
    await joinC5(page, { host: s.host, token: p.token, name: 'A', reconnect: true });
    const b = await joined(roomId, 'B');
    await publishC5(page, { video: true, audio: true });
    await receivingFrom(b.page, 1, 1);
    // Drop A's socket from the server side with a reason that is not an auth error: the client reconnects.
    s.shoal.rooms.get(roomId).peers.get(p.id)!.link!.close(1001, 'going away');
    await waitForPageEvent(b.page, (e) => e.name === 'peerLeft', WAIT_MS);
    await waitForPageEvent(page, (e) => e.name === 'joined' && e.t > 0, WAIT_MS);
    const readyCount = async () => b.page.evaluate(() => window.events.filter((e) => e.name === 'trackReady').length);
    const deadline = Date.now() + 20_000;
    while ((await readyCount()) < 4) {
      if (Date.now() > deadline) throw new Error(`B saw ${await readyCount()} trackReady events, expected 4\n${formatPageLogs(page)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const newVideo = await b.page.evaluate(() => (window.events.filter((e) => e.name === 'trackReady' && (e.data as any).kind === 'video').pop()!.data as any).trackId);
    const atReconnect = await waitForStats(b.page, () => true, 'stats');
    await waitForStats(
      b.page,
      (st) => total(st, 'video', 'framesDecoded') > total(atReconnect, 'video', 'framesDecoded') + 20,
      'video from the reconnected publisher',
      20_000,
    );
    const r = await api(s, 'GET', `/room/${roomId}`);
    const a = r.json.data.peers.find((x: any) => x.id === p.id);
    assert.equal(a.status, 'connected');
    assert.ok(a.tracks.some((t: any) => t.id === newVideo));
  });

  test('a peer without canPublish cannot publish; the others see no track from it', async () => {
    const roomId = await room();
    const b = await joined(roomId, 'B');
    const muted = await joined(roomId, 'M', { canPublish: false });
    await muted.page.evaluate(() => {
      navigator.mediaDevices.getUserMedia({ video: true }).then((stream) => {
        (window as any).client.addTrack(stream.getVideoTracks()[0], stream, { kind: 'video' });
      });
    });
    const err = await waitForPageEvent(muted.page, (e) => e.name === 'joinError', WAIT_MS);
    assert.match(JSON.stringify(err.data), /Publishing is not allowed/);
    // A peer that may publish proves the room works; nothing from M ever arrives at B.
    const c = await joined(roomId, 'C');
    await publishC5(c.page, { video: true });
    await receivingFrom(b.page, 1, 0);
    const fromMuted = await b.page.evaluate((id) => window.events.filter((e) => e.name === 'trackAdded' && (e.data as any).peerId === id).length, muted.id);
    assert.equal(fromMuted, 0);
    assert.ok(!log.items.some((n) => n.type === 'trackAdded' && n.roomId === roomId && n.peerId === muted.id));
    const r = await api(s, 'GET', `/room/${roomId}`);
    assert.deepEqual(r.json.data.peers.find((x: any) => x.id === muted.id).tracks, []);
  });

  test('simulcast: the receiver starts on m, switches to l and to h; frame width follows and encodingChanged fires', { timeout: 120_000 }, async () => {
    const roomId = await room();
    const [a, b] = await Promise.all([joined(roomId, 'A'), joined(roomId, 'B')]);
    await publishC5(a.page, { video: true, simulcast: true, width: 1280, height: 720, contentHint: 'detail' });
    const ready = await waitForPageEvent(b.page, (e) => e.name === 'trackReady' && (e.data as any).kind === 'video', WAIT_MS);
    const trackId = (ready.data as any).trackId as string;
    const width = (st: { kind: string; frameWidth: number }[]) => st.filter((x) => x.kind === 'video').reduce((w, x) => Math.max(w, x.frameWidth), 0);
    await waitForStats(b.page, (st) => width(st) === 640, 'medium layer (640 px) first', 30_000);
    for (const [layer, px] of [
      ['l', 320],
      ['h', 1280],
    ] as const) {
      const since = await b.page.evaluate(() => window.events.length);
      await b.page.evaluate(({ trackId, layer }) => (window as any).client.setTargetTrackEncoding(trackId, layer), { trackId, layer });
      // Going up, the bandwidth allocator may pass through m (each step once a probe proved it): the client
      // is told of every switch; the last one is the layer it asked for.
      // (The matcher runs in the page, so it names the layer literally.)
      const toLayer =
        layer === 'l'
          ? (e: { name: string; data?: unknown }) => e.name === 'encodingChanged' && (e.data as any).encoding === 'l'
          : (e: { name: string; data?: unknown }) => e.name === 'encodingChanged' && (e.data as any).encoding === 'h';
      const changed = await waitForPageEvent(b.page, toLayer, WAIT_MS, { since });
      assert.equal((changed.data as any).encoding, layer);
      await waitForStats(b.page, (st) => width(st) === px, `${layer} layer (${px} px)`, 30_000);
    }
  });

  test('receivers get regenerated sender reports and voice-activity notifications', async () => {
    const roomId = await room();
    const [a, b] = await Promise.all([joined(roomId, 'A'), joined(roomId, 'B')]);
    await publishC5(a.page, { video: true, audio: true });
    await receivingFrom(b.page, 1, 1);
    const vad = await waitForPageEvent(b.page, (e) => e.name === 'voiceActivity' && (e.data as any).status === 'speech', WAIT_MS);
    assert.equal((vad.data as any).trackId, await localTrackId(a.page, 'audio'));
    const deadline = Date.now() + WAIT_MS;
    let kinds: string[] = [];
    while (Date.now() < deadline) {
      kinds = await b.page.evaluate(async () => {
        const report: RTCStatsReport = await (window as any).client.getStatistics();
        const out: string[] = [];
        report.forEach((st: any) => {
          if (st.type === 'remote-outbound-rtp' && st.packetsSent > 0) out.push(st.kind);
        });
        return out.sort();
      });
      if (kinds.length === 2) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.deepEqual(kinds, ['audio', 'video']);
  });

  test('manual subscribe mode and canSubscribe=false: tracks arrive only where allowed', async () => {
    const roomId = await room();
    const a = await joined(roomId, 'A');
    const manual = await joined(roomId, 'M', { subscribeMode: 'manual' });
    const deaf = await joined(roomId, 'D', { canSubscribe: false });
    const auto = await joined(roomId, 'B');
    await publishC5(a.page, { video: true });
    await receivingFrom(auto.page, 1, 0);
    const count = (page: Page) => page.evaluate(() => window.events.filter((e) => e.name === 'trackAdded').length);
    assert.equal(await count(manual.page), 0);
    assert.equal(await count(deaf.page), 0);
    assert.equal((await api(s, 'POST', `/room/${roomId}/peer/${manual.id}/subscribe_peer?peer_id=${a.id}`)).status, 200);
    await receivingFrom(manual.page, 1, 0);
    assert.equal((await api(s, 'POST', `/room/${roomId}/peer/${deaf.id}/subscribe_peer?peer_id=${a.id}`)).status, 200);
    // B receiving a second publisher proves time passed and the room still works; D still has nothing.
    const c = await joined(roomId, 'C');
    await publishC5(c.page, { video: true });
    await receivingFrom(auto.page, 2, 0);
    assert.equal(await count(deaf.page), 0);
    assert.equal(await count(manual.page), 1);
  });

  test("the publisher's bandwidth estimate holds (Shoal's REMB) instead of collapsing", async () => {
    const roomId = await room();
    const [a, b] = await Promise.all([joined(roomId, 'A'), joined(roomId, 'B')]);
    await publishC5(a.page, { video: true });
    await receivingFrom(b.page, 1, 0);
    const estimate = () =>
      a.page.evaluate(async () => {
        const report: RTCStatsReport = await (window as any).client.getStatistics();
        let avail = 0;
        report.forEach((st: any) => {
          if (st.type === 'candidate-pair' && st.nominated) avail = st.availableOutgoingBitrate ?? 0;
        });
        return avail;
      });
    // Without feedback for a negotiated transport-cc, Chromium's estimate fell ~20 %/s (5 → 0.1 Mbps in 20 s):
    // 6 s of that is a fall to a quarter. With feedback it holds where its start-up probes put it (seen here:
    // 1.7–6 Mbps, lower when the machine is busy while they run; the sender is application-limited after).
    const samples: number[] = [];
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      samples.push(await estimate());
    }
    const settled = samples[1]!;
    assert.ok(settled >= 1_000_000, `estimates (bps): ${samples.join(', ')}`);
    assert.ok(Math.min(...samples.slice(2)) >= 0.9 * settled, `the estimate fell: ${samples.join(', ')}`);
  });
});
