// WHIP ingest and WHEP playback end to end with a non-browser client (libdatachannel via node-datachannel,
// bench/clients/whip-client.ts): a WHIP POST publishes VP8 + opus, two WHEP viewers receive both kinds,
// the backend hears stream/streamer/viewer and track notifications in order (on the bus and through the
// SDK 0.25.0 notifier), shoal_livestream_viewers counts the viewers, DELETE ends a viewer and then the stream. In the main thread (FJ_MEDIA_WORKERS=0) and in a media worker (FJ_MEDIA_WORKERS=1).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import nodeDataChannel from 'node-datachannel';
import { WebSocket } from 'ws';
import { FishjamWSNotifier } from '@fishjam-cloud/js-server-sdk';
import { WhepViewer, WhipHttpError, WhipPublisher } from '../../bench/clients/whip-client.js';
import { fromBinary } from '@bufbuild/protobuf';
import { ServerMessageSchema } from '../../src/gen/fishjam/server_notifications_pb.js';
import type { Notification } from '../../src/room/notifications.js';
import { api, startShoal, type TestShoal } from '../helpers/server.js';

const WAIT_MS = 20_000;
// The SDK's notifier uses the global WebSocket (built into Node 22+).
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
const SDK_EVENTS = ['streamConnected', 'streamDisconnected', 'viewerConnected', 'viewerDisconnected', 'trackAdded', 'trackRemoved'] as const;

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
    const heard: { kind: string; msg: Record<string, unknown> }[] = [];
    let notifier: FishjamWSNotifier | undefined;

    before(async () => {
      s = await startShoal({ FJ_MEDIA_WORKERS: workers });
      s.shoal.bus.subscribe((n) => seen.push(n));
      notifier = new FishjamWSNotifier({ fishjamId: s.httpUrl, managementToken: s.apiToken }, () => {}, () => {});
      for (const kind of SDK_EVENTS) notifier.on(kind, (msg: unknown) => heard.push({ kind, msg: msg as Record<string, unknown> }));
      // Subscribed once Shoal acknowledged the SDK's subscribe request (the SDK drops that frame).
      const socket = (notifier as unknown as { client: globalThis.WebSocket }).client;
      let subscribed = false;
      socket.addEventListener('message', (ev) => {
        if (fromBinary(ServerMessageSchema, new Uint8Array(ev.data as ArrayBuffer)).content.case === 'subscribeResponse') subscribed = true;
      });
      await until(() => subscribed, 'the notifier subscribed');
    });
    after(async () => {
      (notifier as unknown as { client: globalThis.WebSocket } | undefined)?.client.close();
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

      // The backend's SDK notifier heard the livestream events (it drops streamer*), with the stream id = room id.
      await until(() => heard.filter((h) => h.kind === 'streamDisconnected').length >= 1, 'streamDisconnected at the SDK notifier');
      const kinds = heard.filter((h) => h.msg.streamId === roomId || h.msg.roomId === roomId).map((h) => h.kind);
      assert.deepEqual(kinds, ['streamConnected', 'trackAdded', 'trackAdded', 'viewerConnected', 'viewerConnected', 'viewerDisconnected', 'viewerDisconnected', 'trackRemoved', 'trackRemoved', 'streamDisconnected']);
      const viewerIds = heard.filter((h) => h.kind === 'viewerConnected').map((h) => h.msg.viewerId);
      assert.equal(new Set(viewerIds).size, 2);
      assert.ok(heard.filter((h) => h.kind === 'trackAdded').every((h) => h.msg.peerId === streamerId));

      // The room's REST view shows no WHIP/WHEP endpoint as a peer.
      const view = await api(s, 'GET', `/room/${roomId}`);
      assert.deepEqual(view.json.data.peers, []);
    });
  });
}
