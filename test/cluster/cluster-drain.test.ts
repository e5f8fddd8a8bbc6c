// Fault 4 with 3 Shoal processes on a real redis-server: SIGTERM on a node drains it. At once its
// registration says draining; no new room is placed there (creates through another node, through the
// draining node itself, or forwarded to it), while its existing room keeps running and still takes new
// peers, routed through another node, and its media (an agent's tone) flows on. When that room ends the
// node leaves the registry (its key deleted, not lapsed) and exits 0. A room that does not end is hung up
// (close 1012) once FJ_CLUSTER_DRAIN_TIMEOUT_MS has passed, its claim is given back and the node leaves
// (the first drained node runs its media in the main thread, the second in a worker).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { killShoalProcesses } from '../helpers/shoal-process.js';
import { REDIS_MISSING, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { WebSocket } from 'ws';
import type { FishjamAgent } from '@fishjam-cloud/js-server-sdk';
import { redisView, rest, spawnNode, toneLink, until, type ClusterNodeProc } from '../helpers/cluster-nodes.js';

const LEASE_MS = 3000;

describe('fault 4: SIGTERM drains a cluster node', { skip: REDIS_MISSING, timeout: 120_000 }, () => {
  let redis: TestRedis;
  let a: ClusterNodeProc;
  let b: ClusterNodeProc;
  const peers: RawPeer[] = [];
  const agents: FishjamAgent[] = [];
  const previousWebSocket = (globalThis as { WebSocket?: unknown }).WebSocket;

  before(async () => {
    (globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
    redis = await startRedis();
    [a, b] = await Promise.all([spawnNode(redis, 'node-a', LEASE_MS), spawnNode(redis, 'node-b', LEASE_MS, { FJ_MEDIA_WORKERS: '1' })]);
  });
  after(async () => {
    for (const p of peers) p.close();
    for (const ag of agents) ag.disconnect();
    killShoalProcesses();
    await redis?.dispose();
    (globalThis as { WebSocket?: unknown }).WebSocket = previousWebSocket;
  });

  /** Adds a peer to `roomId` through `via` and joins it on `owner`'s socket. */
  async function joinThrough(via: ClusterNodeProc, owner: ClusterNodeProc, roomId: string): Promise<RawPeer> {
    const added = await rest(via, 'POST', `/room/${roomId}/peer`, { type: 'webrtc', options: {} });
    assert.equal(added.status, 201, added.text);
    assert.ok(String(added.json.data.peer_websocket_url).includes(owner.host), added.json.data.peer_websocket_url);
    const peer = new RawPeer(`ws://${owner.host}`);
    peers.push(peer);
    await peer.join(added.json.data.token);
    return peer;
  }

  test('no new rooms are placed on it, its room keeps running and takes new peers, then it leaves once the room ended', async (t) => {
    const c = await spawnNode(redis, 'node-c', LEASE_MS, { FJ_CLUSTER_DRAIN_TIMEOUT_MS: '60000' });
    await until(async () => (await redisView(redis)).nodes.size === 3, 10_000, 'three nodes registered');
    const made = await rest(c, 'POST', '/room', { roomId: 'finishing' }, { forwarded: true });
    assert.equal(made.status, 201, made.text);
    const first = await joinThrough(a, c, 'finishing');
    const tone = await toneLink(c, 'finishing', agents);
    await until(() => tone.heard.length >= 25, 15_000, 'the tone is heard in the room');

    const sigtermAt = performance.now();
    c.proc.child.kill('SIGTERM');
    await until(async () => (await redisView(redis)).nodes.get('node-c') === true, 5000, 'node-c registered as draining');
    t.diagnostic(`registered as draining ${(performance.now() - sigtermAt).toFixed(0)} ms after SIGTERM`);

    const created: string[] = [];
    for (const via of [a, b, a, b, c]) {
      const r = await rest(via, 'POST', '/room', {});
      assert.equal(r.status, 201, `create through ${via.id}: ${r.text}`);
      assert.notEqual(r.json.data.fishjam_address, c.host, `create through ${via.id} placed on the draining node`);
      created.push(r.json.data.room.id);
    }
    const forwarded = await rest(c, 'POST', '/room', { roomId: 'forwarded-here' }, { forwarded: true });
    assert.deepEqual([forwarded.status, forwarded.json], [503, { errors: 'Shoal is shutting down: this node takes no new rooms' }]);
    assert.equal((await rest(a, 'GET', '/room/forwarded-here')).status, 404, 'the refused create left no claim');

    // The room on the draining node goes on: its peer stays, a late joiner gets in through node A.
    const room = await rest(b, 'GET', '/room/finishing');
    assert.equal(room.status, 200, room.text);
    const late = await joinThrough(a, c, 'finishing');
    assert.equal(first.closed, undefined, 'the first peer is still connected');
    assert.equal((await rest(a, 'GET', '/room/finishing')).json.data.peers.length, 4, 'two peers and two agents');
    assert.ok((await redisView(redis)).nodes.has('node-c'), 'still registered while its room runs');
    // Its media goes on too: a second of the tone heard after the checks above.
    const checkedAt = performance.now();
    await until(() => tone.heard.filter((t) => t > checkedAt).length >= 40, 5000, 'the tone is still heard while draining');
    tone.stop();

    assert.equal((await rest(b, 'DELETE', '/room/finishing')).status, 204);
    const deletedAt = performance.now();
    const code = await Promise.race([c.proc.exited, new Promise<string>((r) => setTimeout(() => r('still running'), 10_000))]);
    assert.equal(code, 0, c.proc.output().slice(-2000));
    const ms = performance.now() - sigtermAt;
    t.diagnostic(`exited ${(performance.now() - deletedAt).toFixed(0)} ms after its last room was deleted`);
    assert.ok(ms < 30_000, `exited ${ms.toFixed(0)} ms after SIGTERM, long before the 60 s drain timeout`);
    assert.ok(!(await redisView(redis)).nodes.has('node-c'), 'node-c left the registry at once (its lease had not lapsed)');
    assert.ok([first, late].every((p) => p.closed !== undefined), 'the room’s peers were hung up when it was deleted');
    assert.match(c.proc.stdout(), /draining: every room here ended/);
    for (const id of created) assert.equal((await rest(a, 'DELETE', `/room/${id}`)).status, 204);
  });

  test('a room that does not end is hung up once FJ_CLUSTER_DRAIN_TIMEOUT_MS passed; its id is free again and the node leaves', async () => {
    const d = await spawnNode(redis, 'node-d', LEASE_MS, { FJ_CLUSTER_DRAIN_TIMEOUT_MS: '2000', FJ_MEDIA_WORKERS: '1' });
    await until(async () => (await redisView(redis)).nodes.has('node-d'), 10_000, 'node-d registered');
    const made = await rest(d, 'POST', '/room', { roomId: 'stuck' }, { forwarded: true });
    assert.equal(made.status, 201, made.text);
    const peer = await joinThrough(b, d, 'stuck');

    const sigtermAt = performance.now();
    d.proc.child.kill('SIGTERM');
    const closed = await peer.waitClosed(10_000);
    const hungUpMs = performance.now() - sigtermAt;
    assert.deepEqual(closed, { code: 1012, reason: 'Server is shutting down' });
    assert.ok(hungUpMs >= 1900, `hung up ${hungUpMs.toFixed(0)} ms after SIGTERM, not before the 2 s drain time`);
    const code = await Promise.race([d.proc.exited, new Promise<string>((r) => setTimeout(() => r('still running'), 10_000))]);
    assert.equal(code, 0, d.proc.output().slice(-2000));
    assert.ok(!(await redisView(redis)).nodes.has('node-d'), 'node-d left the registry');
    assert.match(d.proc.stdout(), /draining: time is up; hanging up the rooms left/);

    assert.equal((await rest(a, 'GET', '/room/stuck')).status, 404);
    const again = await rest(a, 'POST', '/room', { roomId: 'stuck' });
    assert.equal(again.status, 201, again.text);
    assert.equal((await rest(a, 'DELETE', '/room/stuck')).status, 204);
  });
});
