// Media worker threads (FJ_MEDIA_WORKERS=2) with browserless ts-client 0.5.0 peers (bench/clients/c5-peer.ts:
// real WebRTC through libdatachannel, relay-only through the integrated TURN server): rooms are pinned to
// different workers, each with its own TURN port; media flows inside each room; the metrics sum the
// workers' counters; and a worker that dies hangs up only on its own rooms' peers (1011), while the other
// worker's room keeps forwarding and the dead worker comes back for new rooms.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import nodeDataChannel from 'node-datachannel';
import { C5Peer } from '../../../bench/clients/c5-peer.js';
import { WorkerMediaPlane } from '../../../src/media/plane/worker-media-plane.js';
import { api, startShoal, type TestShoal } from '../../helpers/server.js';

const WAIT_MS = 20_000;

interface Pair {
  roomId: string;
  publisher: C5Peer;
  subscriber: C5Peer;
}

describe('media workers: rooms pinned to worker threads', () => {
  let s: TestShoal;
  let plane: WorkerMediaPlane;
  const peers: C5Peer[] = [];

  before(async () => {
    s = await startShoal({ FJ_MEDIA_WORKERS: '2' });
    assert.ok(s.shoal.media instanceof WorkerMediaPlane);
    plane = s.shoal.media;
  });
  after(async () => {
    for (const p of peers) p.close(true);
    await s?.stop();
    // libdatachannel's threads keep the process alive until it is cleaned up.
    nodeDataChannel.cleanup();
  });

  async function join(roomId: string, name: string): Promise<C5Peer> {
    const r = await api(s, 'POST', `/room/${roomId}/peer`, { type: 'webrtc', options: {} });
    assert.equal(r.status, 201, r.text);
    const peer = new C5Peer({ wsUrl: s.wsUrl, token: r.json.data.token, name, bindAddress: '127.0.0.1' });
    peers.push(peer);
    await peer.join(WAIT_MS);
    return peer;
  }

  /** A room with a publisher sending synthetic VP8 and a subscriber receiving it. */
  async function pair(name: string): Promise<Pair> {
    const r = await api(s, 'POST', '/room', {});
    assert.equal(r.status, 201, r.text);
    const roomId: string = r.json.data.room.id;
    const publisher = await join(roomId, `${name}-pub`);
    await publisher.publish({ video: true }, WAIT_MS);
    publisher.startSending();
    const subscriber = await join(roomId, `${name}-sub`);
    await subscriber.negotiated(WAIT_MS);
    await receivesMore(subscriber, 50);
    return { roomId, publisher, subscriber };
  }

  function receivesMore(peer: C5Peer, packets: number): Promise<number> {
    const start = peer.totalReceived('video').packets;
    return peer.waitUntil(() => (peer.totalReceived('video').packets >= start + packets ? true : undefined), `${packets} more video packets`, WAIT_MS).then(
      () => peer.totalReceived('video').packets,
    );
  }

  function turnUdpPort(peer: C5Peer): number {
    const offer = peer.events.find((e) => e.type === 'offerData');
    const udp = (offer?.data?.integratedTurnServers as { transport: string; serverPort: number }[] | undefined)?.find((t) => t.transport === 'udp');
    assert.ok(udp, 'offerData carries a UDP TURN server');
    return udp.serverPort;
  }

  async function metric(name: string): Promise<number> {
    const text = await s.shoal.metrics.registry.metrics();
    const m = new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\d+)`, 'm').exec(text);
    assert.ok(m, `${name} in /metrics`);
    return Number(m[1]);
  }

  let a: Pair;
  let b: Pair;

  test('two rooms land on different workers, each with its own TURN port, and media flows in both', { timeout: 90_000 }, async () => {
    a = await pair('a');
    b = await pair('b');
    const pins = plane.roomPins();
    assert.equal(pins.size, 2);
    assert.notEqual(pins.get(a.roomId), pins.get(b.roomId), 'the two rooms share a worker');
    assert.equal(turnUdpPort(a.publisher), turnUdpPort(a.subscriber), 'peers of one room get the same TURN port');
    assert.notEqual(turnUdpPort(a.subscriber), turnUdpPort(b.subscriber), 'rooms on different workers get different TURN ports');
    assert.equal(a.subscriber.totalReceived('video').lost, 0);
    assert.equal(b.subscriber.totalReceived('video').lost, 0);
    // The counters come from both workers: at least what the two subscribers have received.
    const received = a.subscriber.totalReceived('video').packets + b.subscriber.totalReceived('video').packets;
    assert.ok((await metric('shoal_rtp_forwarded_total')) >= received);
    assert.ok((await metric('shoal_rtp_received_total')) >= received);
    for (const w of [0, 1]) {
      assert.equal(await metric(`shoal_media_thread_rooms{thread="worker-${w}"}`), 1);
      assert.equal(await metric(`shoal_media_thread_sessions{thread="worker-${w}"}`), 2);
    }
    assert.equal(await metric('shoal_media_worker_restarts_total'), 0);
  });

  test('a worker that dies hangs up on its rooms only; the other room keeps forwarding; the worker comes back', { timeout: 90_000 }, async () => {
    assert.ok(a && b, 'needs the rooms of the previous test');
    const deadIndex = plane.roomPins().get(a.roomId)!;
    const restarted = once(plane, 'workerRestarted', { signal: AbortSignal.timeout(WAIT_MS) });
    await plane.terminateWorker(deadIndex);
    for (const p of [a.publisher, a.subscriber]) {
      const closed = await p.waitUntil(() => p.socketClosed, 'socket closed by Shoal', WAIT_MS);
      assert.equal(closed.code, 1011);
      assert.match(closed.reason, /^Media failed: media worker \d exited$/);
    }
    await receivesMore(b.subscriber, 50);
    // The room's peers are still known to the backend (disconnected), so it can tell them to rejoin.
    const room = await api(s, 'GET', `/room/${a.roomId}`);
    assert.equal(room.status, 200);
    assert.deepEqual(
      room.json.data.peers.map((p: { status: string }) => p.status),
      ['disconnected', 'disconnected'],
    );
    // The restarted worker takes new rooms again (it is the least loaded), and b's room still works.
    assert.deepEqual(await restarted, [deadIndex]);
    const c = await pair('c');
    assert.equal(plane.roomPins().get(c.roomId), deadIndex);
    await receivesMore(b.subscriber, 25);
    assert.equal(await metric('shoal_media_worker_restarts_total'), 1);
    assert.equal(await metric(`shoal_media_thread_sessions{thread="worker-${deadIndex}"}`), 2);
  });
});
