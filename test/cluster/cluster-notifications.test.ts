// Server notifications across a 3-node cluster on a real redis-server: the official SDK's FishjamClient
// and FishjamWSNotifier pointed at node A only, while the rooms it creates live on A, B and C. Every
// room's RoomCreated … RoomDeleted reaches the notifier on A (and a second one on C) exactly once each and
// in the room's order; each room's webhookUrl gets that room's events once each, sent by its owner only.
// Redis restarted: events produced on a node while it was down arrive afterwards, in order, once, and
// notifications flow again after it. A node cut off from Redis longer than its lease: its room's
// RoomCrashed (reported by a survivor) is the last any socket hears of it — the cut node's stopping of
// that room reaches neither the others nor its own sockets — and once it is up its notifications flow again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fromBinary } from '@bufbuild/protobuf';
import { FishjamClient, FishjamWSNotifier, type ExpectedEvents, type PeerId, type RoomId } from '@fishjam-cloud/js-server-sdk';
import { WebSocket } from 'ws';
import { ServerMessageSchema } from '../../src/gen/fishjam/server_notifications_pb.js';
import { API_TOKEN, SECRET, startShoal, type TestShoal } from '../helpers/server.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { REDIS_MISSING, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { FORWARDED_HEADER } from '../../src/api/cluster-routing.js';
import { fenceTimings } from '../../src/cluster/node-fencing.js';
import { clusterEnv, until } from '../helpers/cluster-nodes.js';

// Long enough that the short Redis outage below leaves every node 'degraded', not fenced.
const LEASE_MS = 6000;
const WAIT_MS = 10_000;
const KINDS: ExpectedEvents[] = ['roomCreated', 'roomDeleted', 'roomCrashed', 'peerAdded', 'peerDeleted', 'peerConnected', 'peerDisconnected', 'peerMetadataUpdated', 'peerCrashed', 'trackAdded', 'trackRemoved'];
/** One room's lifecycle below, as the backend must see it. */
const LIFECYCLE = ['roomCreated', 'peerAdded', 'peerAdded', 'peerConnected', 'peerMetadataUpdated', 'peerDeleted', 'peerDisconnected', 'peerDeleted', 'roomDeleted'];

interface Seen {
  kind: string;
  roomId: string;
  peerId?: string;
}

/** A list that grows, with a bounded wait for a condition on it. */
class Log<T> {
  readonly items: T[] = [];
  private readonly waiters = new Set<() => void>();
  push(t: T): void {
    this.items.push(t);
    for (const w of [...this.waiters]) w();
  }
  until(ok: (items: T[]) => boolean, what: string, ms = WAIT_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!ok(this.items)) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; seen ${JSON.stringify(this.items)}`));
      }, ms);
      this.waiters.add(check);
      check();
    });
  }
}

/** The SDK's notifier on one node, recording every event it emits. */
class Notifier {
  readonly log = new Log<Seen>();
  readonly notifier: FishjamWSNotifier;
  readonly subscribed: Promise<void>;
  constructor(node: TestShoal) {
    this.notifier = new FishjamWSNotifier({ fishjamId: node.httpUrl, managementToken: API_TOKEN }, () => {}, () => {});
    for (const kind of KINDS) this.notifier.on(kind, (m: any) => this.log.push({ kind, roomId: m.roomId, ...(m.peerId ? { peerId: m.peerId } : {}) }));
    const socket = (this.notifier as unknown as { client: WebSocket }).client;
    this.subscribed = new Promise((resolve) =>
      socket.addEventListener('message', (ev) => {
        if (fromBinary(ServerMessageSchema, new Uint8Array(ev.data as ArrayBuffer)).content.case === 'subscribeResponse') resolve();
      }),
    );
  }
  forRoom(roomId: string): string[] {
    return this.log.items.filter((e) => e.roomId === roomId).map((e) => e.kind);
  }
  close(): void {
    (this.notifier as unknown as { client: WebSocket }).client.close();
  }
}

const nodeEnv = (redis: TestRedis, nodeId: string): Record<string, string> => clusterEnv(redis, nodeId, LEASE_MS);


describe('cluster-wide server notifications and webhooks', { skip: REDIS_MISSING }, () => {
  let redis: TestRedis;
  let nodes: TestShoal[] = [];
  let hooks: Server;
  let hookUrl = '';
  const webhooks = new Log<Seen & { path: string }>();
  const notifiers: Notifier[] = [];
  const peers: RawPeer[] = [];
  const previousWebSocket = (globalThis as { WebSocket?: unknown }).WebSocket;

  before(async () => {
    // Node 20 has no global WebSocket; the SDK's notifier uses the global one.
    (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
    redis = await startRedis();
    hooks = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const msg = fromBinary(ServerMessageSchema, new Uint8Array(Buffer.concat(chunks)));
        const v = msg.content.value as { roomId?: string; peerId?: string } | undefined;
        webhooks.push({ path: req.url ?? '', kind: msg.content.case ?? 'none', roomId: v?.roomId ?? '', ...(v?.peerId ? { peerId: v.peerId } : {}) });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}`;
    // B runs its media in a worker thread; A and C in the main thread.
    nodes = [
      await startShoal(nodeEnv(redis, 'node-a')),
      await startShoal({ ...nodeEnv(redis, 'node-b'), FJ_MEDIA_WORKERS: '1' }),
      await startShoal(nodeEnv(redis, 'node-c')),
    ];
    await until(async () => (await nodes[0].shoal.cluster!.liveNodes()).length === 3, LEASE_MS, 'three nodes registered');
    await until(() => nodes.every((n) => n.shoal.clusterNotifications!.reading), WAIT_MS, 'every node reads the notification stream');
  });
  after(async () => {
    for (const p of peers) p.close();
    for (const n of notifiers) n.close();
    for (const n of nodes) await n.stop().catch(() => {});
    await new Promise((r) => hooks?.close(r));
    await redis?.dispose();
    (globalThis as { WebSocket?: unknown }).WebSocket = previousWebSocket;
  });

  const [a, , c] = [0, 1, 2].map((i) => () => nodes[i]);
  const ownerOf = (roomId: string) => nodes.find((n) => n.shoal.rooms.find(roomId) !== undefined);

  /**
   * A marker published on every node's bus: once each marker reached a notifier, everything those nodes
   * published before it has too (one origin's entries arrive in order), so nothing more may follow.
   */
  const barrier = async (tag: string) => {
    for (const n of nodes) n.shoal.bus.publish({ type: 'roomDeleted', roomId: `barrier-${tag}-${n.shoal.config.nodeId}` });
    for (const no of notifiers) {
      await no.log.until((items) => nodes.every((n) => items.some((e) => e.roomId === `barrier-${tag}-${n.shoal.config.nodeId}`)), `barrier ${tag}`);
    }
  };

  test('the SDK and FishjamWSNotifier on node A: every room’s events on A and C exactly once, in order; webhooks by the owner once each', async () => {
    notifiers.push(new Notifier(a()), new Notifier(c()));
    await Promise.all(notifiers.map((n) => n.subscribed));
    const fishjam = new FishjamClient({ fishjamId: a().httpUrl, managementToken: API_TOKEN });

    const rooms: RoomId[] = [];
    for (let i = 0; i < 3; i++) rooms.push((await fishjam.createRoom({ webhookUrl: `${hookUrl}/room${i}` })).id);
    const owners = rooms.map((id) => ownerOf(id)?.shoal.config.nodeId);
    assert.deepEqual([...owners].sort(), ['node-a', 'node-b', 'node-c'], 'placement spreads the three rooms over the three nodes');

    for (const roomId of rooms) {
      const owner = ownerOf(roomId)!;
      const { peer: one, peerToken } = await fishjam.createPeer(roomId);
      const { peer: two } = await fishjam.createPeer(roomId);
      const raw = new RawPeer(owner.wsUrl);
      peers.push(raw);
      await raw.join(peerToken, { name: 'one' });
      await notifiers[0].log.until((items) => items.some((e) => e.kind === 'peerMetadataUpdated' && e.peerId === one.id), 'peerMetadataUpdated on A');
      await fishjam.deletePeer(roomId, two.id);
      raw.close();
      await notifiers[0].log.until((items) => items.some((e) => e.kind === 'peerDisconnected' && e.peerId === one.id), 'peerDisconnected on A');
      await fishjam.deletePeer(roomId, one.id as PeerId);
      await fishjam.deleteRoom(roomId);
    }
    for (const n of notifiers) await n.log.until((items) => rooms.every((r) => items.some((e) => e.kind === 'roomDeleted' && e.roomId === r)), 'every roomDeleted');
    await barrier('lifecycle');

    for (const [i, n] of notifiers.entries()) {
      for (const roomId of rooms) assert.deepEqual(n.forRoom(roomId), LIFECYCLE, `notifier ${i === 0 ? 'A' : 'C'}, room on ${ownerOf(roomId)?.shoal.config.nodeId ?? owners[rooms.indexOf(roomId)]}`);
    }
    // Webhooks: every room's events at its own URL once each, in order, each sent by its owner alone.
    await webhooks.until((items) => items.filter((w) => w.kind === 'roomDeleted').length === 3, 'every room’s webhook roomDeleted');
    for (const [i, roomId] of rooms.entries()) {
      const seen = webhooks.items.filter((w) => w.roomId === roomId);
      assert.ok(seen.every((w) => w.path === `/room${i}`), `room ${i} webhooks went to its own URL`);
      assert.deepEqual(seen.map((w) => w.kind), LIFECYCLE, `room ${i} webhooks`);
    }
    for (const n of nodes) assert.equal(n.shoal.webhooks.stats.delivered, LIFECYCLE.length, `${n.shoal.config.nodeId} sent its own room's webhooks only`);
    assert.equal(webhooks.items.length, 3 * LIFECYCLE.length);
    for (const n of nodes) assert.equal(n.shoal.clusterNotifications!.stats().droppedOverflow + n.shoal.clusterNotifications!.stats().droppedFenced, 0);
    // A received exactly B's and C's rooms' events and their barrier markers, and its metrics say so.
    const received = 2 * (LIFECYCLE.length + 1);
    assert.equal(a().shoal.clusterNotifications!.stats().received, received);
    const metric = await a().shoal.metrics.registry.getSingleMetricAsString('shoal_cluster_notifications_total');
    assert.match(metric, new RegExp(`shoal_cluster_notifications_total\\{outcome="received"\\} ${received}\\n`));
    assert.match(metric, /shoal_cluster_notifications_total\{outcome="published"\} \d+/);
  });

  test('Redis restarted: events a node produced while it was down reach A afterwards, in order, once; then notifications flow again', async () => {
    const fishjam = new FishjamClient({ fishjamId: a().httpUrl, managementToken: API_TOKEN });
    const roomId = (await fishjam.createRoom()).id;
    const owner = ownerOf(roomId)!;
    const ownerIdx = nodes.indexOf(owner);
    const { peer, peerToken } = await fishjam.createPeer(roomId);
    for (const n of notifiers) await n.log.until((items) => items.some((e) => e.kind === 'peerAdded' && e.peerId === peer.id), 'peerAdded');
    const before = notifiers.map((n) => n.log.items.length);

    await redis.stop();
    // The peer's socket goes to its owner, which checks the token itself: no Redis needed.
    const raw = new RawPeer(owner.wsUrl);
    peers.push(raw);
    await raw.join(peerToken, { name: 'during outage' });
    raw.close();
    await until(() => owner.shoal.clusterNotifications!.stats().buffered >= 3, WAIT_MS, 'three events buffered on the owner');
    await redis.start();

    for (const [i, n] of notifiers.entries()) {
      await n.log.until((items) => items.some((e) => e.kind === 'peerDisconnected' && e.peerId === peer.id), `peerDisconnected after the restart on notifier ${i}`);
    }
    // Afterwards: a fresh event from each node flows through the restarted Redis.
    await barrier('after-restart');
    for (const [i, n] of notifiers.entries()) {
      const local = (i === 0 ? 0 : 2) === ownerIdx;
      const tail = n.log.items.slice(before[i]).filter((e) => e.roomId === roomId).map((e) => e.kind);
      assert.deepEqual(tail, ['peerConnected', 'peerMetadataUpdated', 'peerDisconnected'], `notifier ${i} (owner local: ${local})`);
    }
    const stats = owner.shoal.clusterNotifications!.stats();
    assert.equal(stats.buffered, 0);
    assert.equal(stats.droppedOverflow + stats.droppedFenced, 0, JSON.stringify(stats));
    owner.shoal.rooms.delete(roomId);
  });
});

describe('a node cut off from Redis: nothing of its given-up room follows the RoomCrashed', { skip: REDIS_MISSING }, () => {
  const lease = 2000;
  const T = fenceTimings(lease);
  const crashReportMs = lease + T.reapGraceMs + T.reapPeriodMs + 5000;
  let redis: TestRedis;
  let proxy: TcpProxy;
  let nodes: TestShoal[] = [];
  let notifier: Notifier;
  let onX: Notifier;
  const peers: RawPeer[] = [];
  const previousWebSocket = (globalThis as { WebSocket?: unknown }).WebSocket;
  const env = (url: string, id: string) => ({ ...nodeEnv(redis, id), FJ_REDIS_URL: url, FJ_CLUSTER_LEASE_MS: String(lease) });

  before(async () => {
    (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
    redis = await startRedis();
    proxy = await startTcpProxy(redis.port);
    nodes = [await startShoal(env(redis.url, 'node-p')), await startShoal(env(redis.url, 'node-q')), await startShoal(env(proxy.url('redis'), 'node-x'))];
    await until(async () => (await nodes[0].shoal.cluster!.liveNodes()).length === 3, lease * 3, 'three nodes registered');
    await until(() => nodes.every((n) => n.shoal.clusterNotifications!.reading), WAIT_MS, 'every node reads the notification stream');
    notifier = new Notifier(nodes[0]);
    onX = new Notifier(nodes[2]);
    await Promise.all([notifier.subscribed, onX.subscribed]);
  });
  after(async () => {
    for (const p of peers) p.close();
    notifier?.close();
    onX?.close();
    proxy?.restore();
    for (const n of nodes) await n.stop().catch(() => {});
    await proxy?.close();
    await redis?.dispose();
    (globalThis as { WebSocket?: unknown }).WebSocket = previousWebSocket;
  });

  test('the survivors’ RoomCrashed is the last event of the cut node’s room; afterwards its notifications flow again', async () => {
    const x = nodes[2];
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${x.httpUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json', [FORWARDED_HEADER]: 'test' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
      });
      assert.equal(res.status, 201, await res.clone().text());
      return (await res.json()) as any;
    };
    await post('/room', { roomId: 'x-room' });
    const added = await post('/room/x-room/peer', { type: 'webrtc', options: {} });
    const raw = new RawPeer(x.wsUrl);
    peers.push(raw);
    await raw.auth(added.data.token);
    await notifier.log.until((items) => items.some((e) => e.kind === 'peerConnected' && e.roomId === 'x-room'), 'peerConnected of x-room on P');

    proxy.cut();
    await notifier.log.until((items) => items.some((e) => e.kind === 'roomCrashed' && e.roomId === 'x-room'), 'RoomCrashed of x-room on P', crashReportMs);
    // The cut node gave the room up (its peer was told), then it comes back.
    await raw.waitClosed(T.holdMs + 2 * (T.probeEveryMs + T.probeTimeoutMs) + 5000);
    assert.equal(x.shoal.rooms.find('x-room'), undefined);
    proxy.restore();
    await until(() => x.shoal.cluster!.status() === 'up', 15_000, 'x up again');
    x.shoal.bus.publish({ type: 'roomDeleted', roomId: 'marker-from-x' });
    await notifier.log.until((items) => items.some((e) => e.roomId === 'marker-from-x'), 'a notification from x after it is up again');

    assert.deepEqual(notifier.forRoom('x-room'), ['roomCreated', 'peerAdded', 'peerConnected', 'roomCrashed']);
    // The cut node's own server socket tells the same story: the survivors' RoomCrashed, once it is back.
    await onX.log.until((items) => items.some((e) => e.kind === 'roomCrashed' && e.roomId === 'x-room'), 'RoomCrashed of x-room on X');
    await onX.log.until((items) => items.some((e) => e.roomId === 'marker-from-x'), 'the marker on X');
    assert.deepEqual(onX.forRoom('x-room'), ['roomCreated', 'peerAdded', 'peerConnected', 'roomCrashed']);
    assert.ok(x.shoal.clusterNotifications!.stats().droppedFenced >= 2, JSON.stringify(x.shoal.clusterNotifications!.stats()));
  });
});
