// Fault 5 with 3 Shoal processes on a real redis-server: maxPeers, peerDisconnectedTimeout and
// peerlessPurgeTimeout behave the same whether the REST calls went to the room's own node or to another
// one. Each case runs twice: "direct" (room created on node-b, media in a worker thread, and every call
// made there) and "routed" (every call, the create included, made to node-z, whose standing room keeps
// placement away from it, so the room lands on node-a (media in the main thread) or node-b). Timers cannot
// be faked across processes: 1–3 s timeouts and bounded polls, each expiry checked against a window.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FishjamClient, ServiceUnavailableException, type RoomId } from '@fishjam-cloud/js-server-sdk';
import { API_TOKEN } from '../helpers/server.js';
import { killShoalProcesses } from '../helpers/shoal-process.js';
import { REDIS_MISSING, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { listedRooms, redisView, rest, spawnNode, until, type ClusterNodeProc } from '../helpers/cluster-nodes.js';

const LEASE_MS = 3000;
/** Slack allowed after a timeout for the expiry to show through REST (a poll every 50 ms, routing, a busy machine). */
const SLACK_MS = 2500;

describe('fault 5: room timers and limits are the same wherever the REST call landed', { skip: REDIS_MISSING, timeout: 180_000 }, () => {
  let redis: TestRedis;
  let a: ClusterNodeProc;
  let b: ClusterNodeProc;
  let z: ClusterNodeProc;
  const peers: RawPeer[] = [];

  before(async () => {
    redis = await startRedis();
    [a, b, z] = await Promise.all([
      spawnNode(redis, 'node-a', LEASE_MS),
      spawnNode(redis, 'node-b', LEASE_MS, { FJ_MEDIA_WORKERS: '1' }),
      spawnNode(redis, 'node-z', LEASE_MS),
    ]);
    await until(async () => (await redisView(redis)).nodes.size === 3, 10_000, 'three nodes registered');
    // node-z keeps one room: with the others at 0 or 1 room (ties go to the lower id) nothing is placed on it.
    assert.equal((await rest(z, 'POST', '/room', { roomId: 'standing' }, { forwarded: true })).status, 201);
    await until(async () => (await rest(a, 'GET', '/room')).json?.data.length === 1, 10_000, 'node-z reports its room');
  });
  after(async () => {
    for (const p of peers) p.close();
    killShoalProcesses();
    await redis?.dispose();
  });

  type Variant = { name: 'direct' | 'routed'; via: () => ClusterNodeProc; owner?: ClusterNodeProc };
  const variants: Variant[] = [
    { name: 'direct', via: () => b },
    { name: 'routed', via: () => z },
  ];

  /** Creates a room through the variant's node and records its owner: node-b itself (direct) or not node-z (routed). */
  async function create(v: Variant, config: Record<string, unknown>): Promise<string> {
    const made = await rest(v.via(), 'POST', '/room', config, { forwarded: v.name === 'direct' });
    assert.equal(made.status, 201, made.text);
    const owner = [a, b, z].find((n) => n.host === made.json.data.fishjam_address);
    assert.ok(owner, made.text);
    if (v.name === 'direct') assert.equal(owner.id, 'node-b');
    else assert.notEqual(owner.id, 'node-z', 'routed: the room landed on another node');
    v.owner = owner;
    return made.json.data.room.id;
  }

  /** Adds a peer through `via` and joins it on the owner's socket (its peer_websocket_url). */
  async function joinedPeer(v: Variant, roomId: string): Promise<RawPeer> {
    const added = await rest(v.via(), 'POST', `/room/${roomId}/peer`, { type: 'webrtc', options: {} });
    assert.equal(added.status, 201, added.text);
    assert.ok(String(added.json.data.peer_websocket_url).includes(v.owner!.host));
    const peer = new RawPeer(`ws://${v.owner!.host}`);
    peers.push(peer);
    await peer.join(added.json.data.token);
    return peer;
  }

  /** Polls GET /room/:id through `via` until `done` holds for the response; ms from `since`. */
  async function expiry(via: ClusterNodeProc, roomId: string, since: number, done: (r: Awaited<ReturnType<typeof rest>>) => boolean, withinMs: number, what: string): Promise<number> {
    await until(async () => done(await rest(via, 'GET', `/room/${roomId}`)), withinMs, what);
    return performance.now() - since;
  }

  for (const v of variants) {
    test(`maxPeers (${v.name}): the SDK adds peers up to the limit, the next is refused with the same 503`, async () => {
      const id = await create(v, { maxPeers: 2 });
      const fishjam = new FishjamClient({ fishjamId: v.via().httpUrl, managementToken: API_TOKEN });
      await fishjam.createPeer(id as RoomId);
      await fishjam.createPeer(id as RoomId);
      await assert.rejects(fishjam.createPeer(id as RoomId), (err: unknown) => err instanceof ServiceUnavailableException && err.statusCode === 503);
      const third = await rest(v.via(), 'POST', `/room/${id}/peer`, { type: 'webrtc', options: {} });
      assert.deepEqual([third.status, third.json], [503, { errors: `Reached webrtc peers limit in room ${id}` }]);
      assert.equal((await rest(v.owner!, 'GET', `/room/${id}`, undefined, { forwarded: true })).json.data.peers.length, 2, 'two peers on the owner');
      // A deleted peer frees its place, wherever the delete landed.
      const peerId = (await fishjam.getRoom(id as RoomId)).peers[0]!.id;
      await fishjam.deletePeer(id as RoomId, peerId);
      await fishjam.createPeer(id as RoomId);
      assert.equal((await rest(v.via(), 'DELETE', `/room/${id}`)).status, 204);
    });

    test(`peerDisconnectedTimeout and peerlessPurgeTimeout (${v.name}): a peer gone 1 s is removed, the room 3 s after its last peer was removed`, async (t) => {
      const id = await create(v, { peerDisconnectedTimeout: 1, peerlessPurgeTimeout: 3 });
      const peer = await joinedPeer(v, id);
      const status = (r: Awaited<ReturnType<typeof rest>>) => r.json?.data?.peers?.[0]?.status;
      assert.equal(status(await rest(v.via(), 'GET', `/room/${id}`)), 'connected');
      const leftAt = performance.now();
      peer.close();
      await until(async () => status(await rest(v.via(), 'GET', `/room/${id}`)) === 'disconnected', 3000, 'the peer shows disconnected');
      const removedMs = await expiry(v.via(), id, leftAt, (r) => r.status === 200 && r.json.data.peers.length === 0, 1000 + SLACK_MS, 'the disconnected peer is removed');
      const purgedMs = await expiry(v.via(), id, leftAt, (r) => r.status === 404, 1000 + 3000 + SLACK_MS, 'the room is purged');
      t.diagnostic(`${v.name} (owner ${v.owner!.id}): peer removed after ${removedMs.toFixed(0)} ms, room purged after ${purgedMs.toFixed(0)} ms`);
      assert.ok(removedMs >= 950, `peer removed after ${removedMs.toFixed(0)} ms (timeout 1 s)`);
      // The peerless countdown restarts when a peer is removed: the room goes 3 s after the removal.
      assert.ok(purgedMs - removedMs >= 2950, `room purged ${(purgedMs - removedMs).toFixed(0)} ms after the peer was removed (timeout 3 s)`);
      assert.deepEqual((await rest(v.via(), 'GET', `/room/${id}`)).json, { errors: `Room ${id} does not exist` });
      for (const node of [a, b, z]) assert.ok(!(await listedRooms(node)).includes(id), `GET /room on ${node.id} no longer lists it`);
      // The purge gave the claim back: the id can be created again.
      assert.ok(!(await redisView(redis)).rooms.has(id), 'no claim left in Redis');
      const again = await rest(v.via(), 'POST', '/room', { roomId: id }, { forwarded: v.name === 'direct' });
      assert.equal(again.status, 201, again.text);
      assert.equal((await rest(v.via(), 'DELETE', `/room/${id}`)).status, 204);
    });

    test(`peerlessPurgeTimeout (${v.name}): a room whose peer never connects is purged after 1 s`, async (t) => {
      const createdAt = performance.now();
      const id = await create(v, { peerlessPurgeTimeout: 1 });
      const added = await rest(v.via(), 'POST', `/room/${id}/peer`, { type: 'webrtc', options: {} });
      assert.equal(added.status, 201, added.text);
      const addedAt = performance.now();
      // Adding a peer restarts the countdown (Fishjam's rule), so it runs from the add.
      const purgedMs = await expiry(v.via(), id, addedAt, (r) => r.status === 404, 1000 + SLACK_MS, 'the room is purged');
      t.diagnostic(`${v.name} (owner ${v.owner!.id}): purged ${purgedMs.toFixed(0)} ms after the peer was added (${(addedAt - createdAt).toFixed(0)} ms after the create was sent)`);
      assert.ok(purgedMs >= 950, `purged after ${purgedMs.toFixed(0)} ms (timeout 1 s)`);
      assert.ok(!(await redisView(redis)).rooms.has(id), 'no claim left in Redis');
    });
  }
});
