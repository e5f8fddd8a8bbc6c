// WHIP ingest and WHEP playback end to end with a non-browser client (libdatachannel via node-datachannel,
// bench/clients/whip-client.ts): a WHIP POST publishes VP8 + opus, two WHEP viewers receive both kinds,
// the backend hears stream/streamer/viewer and track notifications in order, DELETE ends a viewer and then
// the stream. In the main thread (FJ_MEDIA_WORKERS=0) and in a media worker (FJ_MEDIA_WORKERS=1).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import nodeDataChannel from 'node-datachannel';
import { WhepViewer, WhipHttpError, WhipPublisher } from '../../bench/clients/whip-client.js';
import type { Notification } from '../../src/room/notifications.js';
import { api, startShoal, type TestShoal } from '../helpers/server.js';

const WAIT_MS = 20_000;

async function until(check: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const workers of ['0', '1']) {
  describe(`WHIP → WHEP with libdatachannel (FJ_MEDIA_WORKERS=${workers})`, () => {
    let s: TestShoal;
    const clients: (WhipPublisher | WhepViewer)[] = [];
    const seen: Notification[] = [];

    before(async () => {
      s = await startShoal({ FJ_MEDIA_WORKERS: workers });
      s.shoal.bus.subscribe((n) => seen.push(n));
    });
    after(async () => {
      for (const c of clients) c.close();
      await s?.stop();
      nodeDataChannel.cleanup();
    });

    test('a WHIP publisher reaches two WHEP viewers; DELETE ends them', async () => {
      const room = await api(s, 'POST', '/room', { roomType: 'livestream' });
      assert.equal(room.status, 201, room.text);
      const roomId: string = room.json.data.room.id;
      const streamerToken = (await api(s, 'POST', `/room/${roomId}/streamer`)).json.token;
      const viewerToken = (await api(s, 'POST', `/room/${roomId}/viewer`)).json.token;
      const base = `${s.httpUrl}/api/v1/live/api`;

      const publisher = new WhipPublisher({ url: `${base}/whip`, token: streamerToken, name: 'whip', bindAddress: '127.0.0.1' });
      clients.push(publisher);
      await publisher.publish();
      assert.match(publisher.resource!, /\/api\/v1\/live\/api\/whip\/[0-9a-f-]{36}$/);
      await publisher.connected();
      publisher.startSending();

      // A second streamer while the first is connected: 409.
      const second = new WhipPublisher({ url: `${base}/whip`, token: streamerToken, name: 'whip-2', bindAddress: '127.0.0.1' });
      clients.push(second);
      await assert.rejects(second.publish(), (err: unknown) => err instanceof WhipHttpError && err.status === 409);

      const viewers = [0, 1].map((i) => new WhepViewer({ url: `${base}/whep`, token: viewerToken, name: `whep-${i}`, bindAddress: '127.0.0.1' }));
      clients.push(...viewers);
      for (const v of viewers) await v.view();
      await until(() => viewers.every((v) => v.video.packets > 50 && v.audio.packets > 20), 'video and audio at both viewers');
      assert.ok(publisher.sent.pliReceived >= 1, 'the viewers asked the publisher for a keyframe');
      const exposition = await s.shoal.metrics.registry.metrics();
      assert.match(exposition, new RegExp(`^shoal_livestream_viewers\\{room_id="${roomId}"\\} 2$`, 'm'), 'the viewers are counted');

      const streamerId = publisher.resource!.split('/').pop()!;
      const mine = () => seen.filter((n) => n.roomId === roomId).map((n) => n.type);
      assert.deepEqual(mine().slice(0, 7), ['roomCreated', 'streamConnected', 'streamerConnected', 'trackAdded', 'trackAdded', 'viewerConnected', 'viewerConnected']);
      const tracks = seen.filter((n): n is Extract<Notification, { track: unknown }> => n.type === 'trackAdded' && n.roomId === roomId);
      assert.deepEqual(tracks.map((t) => [t.peerId, t.track.type]).sort(), [[streamerId, 'audio'], [streamerId, 'video']]);

      // One viewer leaves: the other keeps receiving.
      assert.equal(await viewers[0]!.stop(), 200);
      assert.equal(await viewers[0]!.stop(), 404, 'a deleted resource is gone');
      const before = viewers[1]!.video.packets;
      await until(() => viewers[1]!.video.packets > before + 50, 'video after the other viewer left');
      assert.equal(mine().filter((t) => t === 'viewerDisconnected').length, 1);

      // The streamer leaves: the stream ends, the remaining viewer is disconnected, tracks removed.
      assert.equal(await publisher.stop(), 200);
      assert.deepEqual(mine().slice(-5), ['viewerDisconnected', 'trackRemoved', 'trackRemoved', 'streamerDisconnected', 'streamDisconnected']);
      assert.equal(s.shoal.rooms.get(roomId).livestream.viewerCount, 0);

      // The room's REST view shows no WHIP/WHEP endpoint as a peer.
      const view = await api(s, 'GET', `/room/${roomId}`);
      assert.deepEqual(view.json.data.peers, []);
    });
  });
}
