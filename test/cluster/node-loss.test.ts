// Node loss with real processes and a real redis-server, three nodes on loopback. Fault 1: an owner killed
// with SIGKILL — its rooms leave GET /room on both survivors, room-scoped calls give 404, one survivor
// reports RoomCrashed once per room (the server socket on each survivor hears it once, the lifecycle log of exactly
// one survivor has it), new rooms go to live nodes only and the ids can be created again. Fault 3: a node
// whose link to Redis (a TCP proxy the test cuts) is down longer than its lease fences itself: /health DOWN,
// its peer's socket closed with CLOSE_FENCED, its room reported crashed once by a survivor and creatable
// there, never answered 200 by the cut-off node; restored, it registers again and takes new rooms.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { WebSocket } from 'ws';
import { createServer, type Server } from 'node:http';
import { ServerMessageSchema, ServerMessage_EventType } from '../../src/gen/fishjam/server_notifications_pb.js';
import { FORWARDED_HEADER } from '../../src/api/cluster-routing.js';
import { CLOSE_FENCED, fenceTimings } from '../../src/cluster/node-fencing.js';
import { API_TOKEN, SECRET } from '../helpers/server.js';
import { killShoalProcesses, spawnShoal, type ShoalProcess } from '../helpers/shoal-process.js';
import { REDIS_MISSING, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { until } from '../helpers/cluster-nodes.js';

const LEASE_MS = 2000;
const T = fenceTimings(LEASE_MS);
/** From a lease lapse to the survivors' RoomCrashed: the reap grace, a reap period and slack for a busy machine. */
const CRASH_REPORT_MS = LEASE_MS + T.reapGraceMs + T.reapPeriodMs + 5000;

const nodeEnv = (redisUrl: string, nodeId: string, extra: Record<string, string> = {}): Record<string, string> => ({
  FJ_REDIS_URL: redisUrl,
  FJ_NODE_ID: nodeId,
  FJ_IP: '127.0.0.1',
  FJ_SECRET_KEY_BASE: SECRET,
  FJ_CLUSTER_LEASE_MS: String(LEASE_MS),
  FJ_STRUCTURED_LOGGING: 'true',
  ...extra,
});


async function call(node: ShoalProcess, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${node.port}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(8000),
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : undefined };
}

const roomIds = async (node: ShoalProcess): Promise<string[]> => {
  const r = await call(node, 'GET', '/room');
  assert.equal(r.status, 200, r.text);
  return (r.json.data as { id: string }[]).map((x) => x.id).sort();
};

const health = async (node: ShoalProcess) => (await call(node, 'GET', '/health')).json.data.distribution as { nodeStatus: string; nodesInCluster: number };

/** Lifecycle log lines "room crashed" for `roomId` in a node's (JSON) output. */
const crashLines = (node: ShoalProcess, roomId: string) =>
  node
    .stdout()
    .split('\n')
    .filter((l) => l.includes('"room crashed"') && l.includes(`"roomId":"${roomId}"`)).length;

/** A /socket/server/websocket client subscribed to notifications, recording each RoomCrashed room id. */
class ServerListener {
  readonly crashed: string[] = [];
  readonly ws: WebSocket;
  readonly subscribed: Promise<void>;

  constructor(node: ShoalProcess) {
    this.ws = new WebSocket(`ws://127.0.0.1:${node.port}/socket/server/websocket`);
    this.ws.on('error', () => {});
    this.subscribed = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('server socket did not subscribe')), 5000);
      this.ws.on('open', () => this.send({ case: 'authRequest', value: { token: API_TOKEN } }));
      this.ws.on('message', (data: Buffer) => {
        const m = fromBinary(ServerMessageSchema, new Uint8Array(data)).content;
        if (m.case === 'authenticated') this.send({ case: 'subscribeRequest', value: { eventType: ServerMessage_EventType.SERVER_NOTIFICATION } });
        else if (m.case === 'subscribeResponse') {
          clearTimeout(timer);
          resolve();
        } else if (m.case === 'roomCrashed') this.crashed.push(m.value.roomId);
      });
    });
  }

  count(roomId: string): number {
    return this.crashed.filter((id) => id === roomId).length;
  }

  private send(content: NonNullable<Parameters<typeof create<typeof ServerMessageSchema>>[1]>['content']): void {
    this.ws.send(toBinary(ServerMessageSchema, create(ServerMessageSchema, { content })));
  }
}

describe('node loss in a 3-node cluster', { skip: REDIS_MISSING }, () => {
  let redis: TestRedis;
  let proxy: TcpProxy;
  let n1: ShoalProcess;
  let n2: ShoalProcess;
  const listeners: ServerListener[] = [];
  const peers: RawPeer[] = [];
  /** Webhooks received: the event kind and room of each. */
  const webhooks: { kind: string; roomId: string }[] = [];
  let hooks: Server;
  let hookUrl = '';

  before(async () => {
    hooks = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const msg = fromBinary(ServerMessageSchema, new Uint8Array(Buffer.concat(chunks)));
        webhooks.push({ kind: msg.content.case ?? 'none', roomId: (msg.content.value as { roomId?: string } | undefined)?.roomId ?? '' });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hooks.address() as { port: number }).port}/hook`;
    redis = await startRedis();
    proxy = await startTcpProxy(redis.port);
    n1 = await spawnShoal({ token: API_TOKEN, env: nodeEnv(redis.url, 'node-1') });
    n2 = await spawnShoal({ token: API_TOKEN, env: nodeEnv(redis.url, 'node-2', { FJ_MEDIA_WORKERS: '1' }) });
    for (const n of [n1, n2]) listeners.push(new ServerListener(n));
    await Promise.all(listeners.map((l) => l.subscribed));
  });
  after(async () => {
    for (const p of peers) p.close();
    for (const l of listeners) l.ws.close();
    killShoalProcesses();
    await proxy?.close();
    await redis?.dispose();
    await new Promise((r) => hooks?.close(r));
  });

  /** The crash is reported once: the server socket on each survivor hears it exactly once (notifications are
   * cluster-wide), and exactly one survivor's own bus published it (its lifecycle log). */
  async function crashedOnce(roomId: string, t?: { diagnostic(s: string): void }, since?: number, reporters: ShoalProcess[] = [n1, n2]): Promise<void> {
    const lines = () => reporters.reduce((sum, n) => sum + crashLines(n, roomId), 0);
    await until(() => listeners.every((l) => l.count(roomId) > 0), CRASH_REPORT_MS, `RoomCrashed ${roomId} on every survivor's server socket`);
    if (t && since !== undefined) t.diagnostic(`→ RoomCrashed ${roomId} heard: ${(performance.now() - since).toFixed(0)} ms`);
    await until(() => lines() > 0, 5000, `lifecycle log of ${roomId}`);
    // Nothing can announce "no second report": give the other survivor's reaper several ticks to (not) do it.
    await new Promise((r) => setTimeout(r, T.reapPeriodMs * 4 + 500));
    t?.diagnostic(`RoomCrashed ${roomId} heard per survivor socket: ${listeners.map((l) => l.count(roomId)).join(', ')}`);
    for (const l of listeners) assert.equal(l.count(roomId), 1, `RoomCrashed ${roomId} heard ${l.count(roomId)} times on one socket`);
    assert.equal(lines(), 1, `one node reported ${roomId}`);
  }

  test('fault 1: an owner killed with SIGKILL — rooms gone, 404, RoomCrashed once each, ids free, new rooms on live nodes', async (t) => {
    const k = await spawnShoal({ token: API_TOKEN, env: nodeEnv(redis.url, 'node-k') });
    await until(async () => (await health(n1)).nodesInCluster === 3, LEASE_MS * 3, 'three nodes registered');
    for (const id of ['k-room-1', 'k-room-2']) {
      const made = await call(k, 'POST', '/room', { roomId: id, webhookUrl: hookUrl }, { [FORWARDED_HEADER]: 'test' });
      assert.equal(made.status, 201, made.text);
    }
    assert.equal((await call(k, 'POST', '/room/k-room-1/peer', { type: 'webrtc', options: {} })).status, 201);
    for (const n of [n1, n2]) assert.deepEqual((await roomIds(n)).filter((id) => id.startsWith('k-')), ['k-room-1', 'k-room-2']);

    const killedAt = performance.now();
    k.child.kill('SIGKILL');
    await k.exited;
    for (const n of [n1, n2]) {
      // Until k's lease lapses a routed call still tries k (503 'Unable to reach …'); then 404.
      await until(async () => (await call(n, 'GET', '/room/k-room-1')).status === 404, LEASE_MS + 3000, `k-room-1 is 404 on port ${n.port}`);
      assert.ok(!(await roomIds(n)).some((id) => id.startsWith('k-')), `k's rooms left GET /room on port ${n.port}`);
      if (n === n1) t.diagnostic(`kill → 404 on a survivor: ${(performance.now() - killedAt).toFixed(0)} ms`);
      const get = await call(n, 'GET', '/room/k-room-1');
      assert.deepEqual([get.status, get.json], [404, { errors: 'Room k-room-1 does not exist' }]);
      assert.equal((await call(n, 'POST', '/room/k-room-2/peer', { type: 'webrtc', options: {} })).status, 404);
    }
    await crashedOnce('k-room-1', t, killedAt);
    await crashedOnce('k-room-2');
    // The owner sent the rooms' webhooks while it lived; their RoomCrashed comes from the survivor that
    // reported it, once (crashedOnce waited several reaper ticks already).
    for (const id of ['k-room-1', 'k-room-2']) {
      await until(() => webhooks.some((w) => w.roomId === id && w.kind === 'roomCrashed'), 5000, `RoomCrashed webhook of ${id}`);
      assert.deepEqual(webhooks.filter((w) => w.roomId === id).map((w) => w.kind), id === 'k-room-1' ? ['roomCreated', 'peerAdded', 'roomCrashed'] : ['roomCreated', 'roomCrashed'], `${id}'s webhooks`);
    }

    const hosts = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const r = await call(n1, 'POST', '/room', {});
      assert.equal(r.status, 201, r.text);
      hosts.add(r.json.data.fishjam_address);
      assert.equal((await call(n1, 'DELETE', `/room/${r.json.data.room.id}`)).status, 204);
    }
    for (const h of hosts) assert.ok([`127.0.0.1:${n1.port}`, `127.0.0.1:${n2.port}`].includes(h), `placed on ${h}, not a live node`);
    for (const [n, id] of [[n1, 'k-room-1'], [n2, 'k-room-2']] as const) {
      const again = await call(n, 'POST', '/room', { roomId: id });
      assert.equal(again.status, 201, again.text);
      assert.equal((await call(n, 'DELETE', `/room/${id}`)).status, 204);
    }
  });

  test('a node restarted under the same id within its lease reports its earlier run’s rooms crashed; the ids are free', async (t) => {
    const first = await spawnShoal({ token: API_TOKEN, env: nodeEnv(redis.url, 'node-r') });
    await until(async () => (await health(n1)).nodesInCluster === 3, LEASE_MS * 3, 'node-r registered');
    const made = await call(first, 'POST', '/room', { roomId: 'r-room' }, { [FORWARDED_HEADER]: 'test' });
    assert.equal(made.status, 201, made.text);
    first.child.kill('SIGKILL');
    await first.exited;
    const restartedAt = performance.now();
    const second = await spawnShoal({ token: API_TOKEN, env: nodeEnv(redis.url, 'node-r') });
    try {
      // The restarted node takes its earlier run's leftovers, unless a survivor saw the old run dead first:
      // either way one node reports it.
      await crashedOnce('r-room', t, restartedAt, [n1, n2, second]);
      t.diagnostic(`reported by ${crashLines(second, 'r-room') === 1 ? 'the restarted node' : 'a survivor'}`);
      const again = await call(n1, 'POST', '/room', { roomId: 'r-room' });
      assert.equal(again.status, 201, again.text);
      assert.equal((await call(n1, 'DELETE', '/room/r-room')).status, 204);
    } finally {
      second.child.kill('SIGKILL');
      await second.exited;
    }
  });

  test('fault 3: a node cut off from Redis longer than its lease fences itself; survivors take over; restored it rejoins', async (t) => {
    const x = await spawnShoal({ token: API_TOKEN, env: nodeEnv(proxy.url('redis'), 'node-x', { FJ_MEDIA_WORKERS: '1' }) });
    await until(async () => (await health(n1)).nodesInCluster === 3 && (await health(x)).nodesInCluster === 3, LEASE_MS * 3, 'x registered');
    const made = await call(x, 'POST', '/room', { roomId: 'x-room' }, { [FORWARDED_HEADER]: 'test' });
    assert.equal(made.status, 201, made.text);
    const added = await call(x, 'POST', '/room/x-room/peer', { type: 'webrtc', options: {} });
    assert.equal(added.status, 201, added.text);
    const peer = new RawPeer(`ws://127.0.0.1:${x.port}`);
    peers.push(peer);
    await peer.auth(added.json.data.token);

    const cutAt = performance.now();
    proxy.cut();
    const seenOnX: number[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        seenOnX.push((await call(x, 'GET', '/room/x-room').catch(() => ({ status: 0 }))).status);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    try {
      await until(async () => (await health(x)).nodeStatus === 'DOWN', LEASE_MS + 3000, 'x reports DOWN');
      t.diagnostic(`cut → x DOWN: ${(performance.now() - cutAt).toFixed(0)} ms`);
      const closed = await peer.waitClosed(T.holdMs + 2 * (T.probeEveryMs + T.probeTimeoutMs) + 5000);
      t.diagnostic(`cut → x's peer closed: ${(performance.now() - cutAt).toFixed(0)} ms`);
      assert.deepEqual(closed, { code: CLOSE_FENCED.code, reason: CLOSE_FENCED.reason });
      // Once x's registration lapsed, x still answers HTTP: a survivor does not take its room before the
      // reap grace (x is stopping it): 503 (400 while x's lease still held in Redis), never 201.
      const early: number[] = [];
      await until(async () => {
        early.push((await call(n1, 'POST', '/room', { roomId: 'x-room' })).status);
        return early.at(-1) !== 400 || listeners.some((l) => l.count('x-room') > 0);
      }, CRASH_REPORT_MS, 'a create of x-room refused for the lapsed, answering node');
      t.diagnostic(`creates of x-room while x is cut off: ${early.join(',')}`);
      assert.ok(early.every((st) => st === 400 || st === 503), `creates of x-room before the crash report: ${early.join(',')}`);
      assert.equal(early.at(-1), 503, 'refused while x, lapsed, still answers');
      await crashedOnce('x-room', t, cutAt);
      assert.equal(crashLines(x, 'x-room'), 0, 'the fenced node reports nothing itself');

      const again = await call(n1, 'POST', '/room', { roomId: 'x-room' });
      assert.equal(again.status, 201, again.text);
      assert.notEqual(again.json.data.fishjam_address, `127.0.0.1:${x.port}`);
      assert.equal((await call(n2, 'GET', '/room/x-room')).status, 200, 'served by a survivor');
      assert.ok([404, 503].includes((await call(x, 'GET', '/room/x-room')).status));
      // Fenced, x takes no new rooms.
      assert.equal((await call(x, 'POST', '/room', { roomId: 'on-x-while-cut' }, { [FORWARDED_HEADER]: 'test' })).status, 503);
    } finally {
      watching = false;
      await watch;
      proxy.restore();
    }
    const restoredAt = performance.now();
    // From the cut on, x never served the room (before the cut it did: 200 then).
    const firstNot200 = seenOnX.findIndex((s) => s !== 200);
    assert.ok(firstNot200 >= 0, `statuses ${seenOnX.join(',')}`);
    assert.ok(seenOnX.slice(firstNot200).every((s) => s === 404 || s === 503), `x answered ${seenOnX.join(',')}`);

    await until(async () => {
      const h = await health(x);
      return h.nodeStatus === 'UP' && h.nodesInCluster === 3;
    }, 15_000, 'x registered again');
    t.diagnostic(`restore → x UP with 3 nodes: ${(performance.now() - restoredAt).toFixed(0)} ms`);
    // One room of that id in the whole cluster, wherever the listing is asked.
    for (const n of [n1, n2, x]) assert.deepEqual((await roomIds(n)).filter((id) => id === 'x-room'), ['x-room']);
    const fresh = await call(x, 'POST', '/room', { roomId: 'x-after' }, { [FORWARDED_HEADER]: 'test' });
    assert.equal(fresh.status, 201, fresh.text);
    assert.equal(fresh.json.data.fishjam_address, `127.0.0.1:${x.port}`);
    assert.equal((await call(n1, 'GET', '/room/x-after')).status, 200, 'routed to x');
  });
});
