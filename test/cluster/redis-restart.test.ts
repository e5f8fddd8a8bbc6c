// Fault 2 with 3 Shoal processes on one real redis-server: Redis is stopped for 10 s and started again
// empty (no persistence). Two rooms (on node A in the main thread, on node B with a media worker) keep
// their media flowing the whole time: an agent's PCM tone, sent in real time, keeps reaching a listening
// agent through the SFU. During the outage a call that needs Redis (routed, placed, cluster listing)
// answers 503 with a clear text in bounded time, calls for a room on the receiving node still work and
// /health answers. Afterwards every node is registered again, every room has exactly one claim naming its
// node, GET /room on each node lists each room once, routed calls reach the owner and the re-asserted
// claim refuses a second create of the same id.
// The nodes' lease (3 s) is far shorter than the outage: every node counts itself fenced meanwhile, yet
// keeps its rooms (no other node reported UP: Redis is down for all, unlike fault 3's cut-off node).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import type { FishjamAgent } from '@fishjam-cloud/js-server-sdk';
import { killShoalProcesses } from '../helpers/shoal-process.js';
import { REDIS_MISSING, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { listedRooms, redisView, rest, spawnNode, toneLink, until, type ClusterNodeProc } from '../helpers/cluster-nodes.js';

const LEASE_MS = 3000;
const OUTAGE_MS = 10_000;
const UNAVAILABLE = { errors: 'Cluster store (Redis) is unavailable, try again later' };

/** Longest silence between consecutive frames heard in [from, to], and how many arrived there. */
function gaps(heard: number[], from: number, to: number): { maxGapMs: number; frames: number } {
  const inside = heard.filter((t) => t >= from && t <= to);
  let maxGapMs = inside.length === 0 ? to - from : Math.max(inside[0]! - from, to - inside.at(-1)!);
  for (let i = 1; i < inside.length; i++) maxGapMs = Math.max(maxGapMs, inside[i]! - inside[i - 1]!);
  return { maxGapMs, frames: inside.length };
}

describe('fault 2: Redis restarted (10 s down, back empty) under 3 nodes', { skip: REDIS_MISSING, timeout: 120_000 }, () => {
  let redis: TestRedis;
  let a: ClusterNodeProc;
  let b: ClusterNodeProc;
  let c: ClusterNodeProc;
  const agents: FishjamAgent[] = [];
  const previousWebSocket = (globalThis as { WebSocket?: unknown }).WebSocket;

  before(async () => {
    (globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
    redis = await startRedis();
    [a, b, c] = await Promise.all([
      spawnNode(redis, 'node-a', LEASE_MS),
      spawnNode(redis, 'node-b', LEASE_MS, { FJ_MEDIA_WORKERS: '1' }),
      spawnNode(redis, 'node-c', LEASE_MS),
    ]);
    await until(async () => (await redisView(redis)).nodes.size === 3, 10_000, 'three nodes registered');
  });
  after(async () => {
    for (const ag of agents) ag.disconnect();
    killShoalProcesses();
    await redis?.dispose();
    (globalThis as { WebSocket?: unknown }).WebSocket = previousWebSocket;
  });

  test('media keeps flowing, Redis-bound calls answer 503, then nodes re-register and re-assert their rooms once', async (t) => {
    for (const [node, id] of [[a, 'room-on-a'], [b, 'room-on-b']] as const) {
      const made = await rest(node, 'POST', '/room', { roomId: id }, { forwarded: true });
      assert.equal(made.status, 201, made.text);
    }
    const links = [await toneLink(a, 'room-on-a', agents), await toneLink(b, 'room-on-b', agents)];
    try {
      // Steady flow first (on a loaded machine the first seconds can be thin): 40 of 50 frames in the last second.
      const steady = (l: { heard: number[] }) => l.heard.filter((x) => x > performance.now() - 1000).length >= 40;
      await until(() => links.every(steady), 20_000, 'the tone reaches both listeners steadily');

      const stoppedAt = performance.now();
      await redis.stop();
      // Calls that need Redis: 503 with a clear text, quickly (the client fails fast while disconnected).
      for (const [method, path] of [['GET', '/room/room-on-a'], ['DELETE', '/room/room-on-b'], ['POST', '/room'], ['GET', '/room']] as const) {
        const r = await rest(c, method, path, method === 'POST' ? {} : undefined, { timeoutMs: 5000 });
        assert.deepEqual([r.status, r.json], [503, UNAVAILABLE], `${method} ${path} through node-c`);
        assert.ok(r.ms < 3000, `${method} ${path} answered in ${r.ms.toFixed(0)} ms`);
      }
      // Calls for a room on the receiving node need no Redis: they keep working.
      const local = await rest(a, 'GET', '/room/room-on-a', undefined, { timeoutMs: 5000 });
      assert.equal(local.status, 200, local.text);
      const peer = await rest(a, 'POST', '/room/room-on-a/peer', { type: 'webrtc', options: {} }, { timeoutMs: 5000 });
      assert.equal(peer.status, 201, peer.text);
      const health = await rest(b, 'GET', '/health', undefined, { timeoutMs: 5000 });
      assert.equal(health.status, 200, health.text);

      const left = OUTAGE_MS - (performance.now() - stoppedAt);
      if (left > 0) await new Promise((r) => setTimeout(r, left)); // the outage itself: nothing to await
      await redis.start();
      const restartedAt = performance.now();
      t.diagnostic(`Redis down for ${(restartedAt - stoppedAt).toFixed(0)} ms`);

      // Re-registered and re-asserted: each room claimed once, by its own node.
      await until(
        async () => {
          const v = await redisView(redis);
          return v.nodes.size === 3 && v.rooms.get('room-on-a') === 'node-a' && v.rooms.get('room-on-b') === 'node-b';
        },
        10_000,
        'nodes registered again and rooms claimed again',
      );
      const reasserted = performance.now() - restartedAt;
      t.diagnostic(`registrations and claims back ${reasserted.toFixed(0)} ms after Redis started`);
      const view = await redisView(redis);
      assert.deepEqual([...view.nodes.keys()].sort(), ['node-a', 'node-b', 'node-c']);
      assert.deepEqual([...view.rooms.entries()].sort(), [['room-on-a', 'node-a'], ['room-on-b', 'node-b']]);
      assert.deepEqual(view.roomIndex.sort(), ['room-on-a', 'room-on-b']);

      for (const node of [a, b, c]) assert.deepEqual(await listedRooms(node), ['room-on-a', 'room-on-b'], `GET /room on ${node.id}`);
      for (const id of ['room-on-a', 'room-on-b']) {
        const routed = await rest(c, 'GET', `/room/${id}`);
        assert.equal(routed.status, 200, `${id} through node-c: ${routed.text}`);
        assert.equal(routed.json.data.id, id);
      }
      assert.equal((await rest(c, 'GET', '/room/room-on-a')).json.data.peers.length, 3, 'two agents and the peer added during the outage');
      // Creates: refused (503) for a few seconds after the restart, while other nodes may still be re-claiming
      // their rooms; never a second room of an existing id; then as usual.
      const dupStatuses = new Set<number>();
      await until(
        async () => {
          const dup = await rest(c, 'POST', '/room', { roomId: 'room-on-b' }, { forwarded: true });
          dupStatuses.add(dup.status);
          if (dup.status === 503) assert.deepEqual(dup.json, UNAVAILABLE);
          else assert.deepEqual([dup.status, dup.json], [400, { errors: 'Cannot add room with id "room-on-b" - room already exists' }]);
          return dup.status === 400;
        },
        10_000,
        'a create of an existing id is refused as a duplicate',
      );
      t.diagnostic(`creates refused with 503 until ${(performance.now() - restartedAt).toFixed(0)} ms after Redis started (statuses seen: ${[...dupStatuses].join(', ')})`);
      const fresh = await rest(c, 'POST', '/room', {});
      assert.equal(fresh.status, 201, fresh.text);

      // Media never stopped: from the stop to two seconds after the restart.
      const heardUntil = performance.now();
      await until(() => links.every((l) => l.heard.at(-1)! > heardUntil), 5000, 'still hearing');
      for (const [i, l] of links.entries()) {
        const g = gaps(l.heard, stoppedAt, restartedAt + 2000);
        const spanS = (restartedAt + 2000 - stoppedAt) / 1000;
        t.diagnostic(`${i === 0 ? 'node-a' : 'node-b'}: ${g.frames} frames over ${spanS.toFixed(1)} s, longest gap ${g.maxGapMs.toFixed(0)} ms`);
        const perSecond: number[] = [];
        for (const x of l.heard) if (x >= stoppedAt) perSecond[Math.floor((x - stoppedAt) / 1000)] = (perSecond[Math.floor((x - stoppedAt) / 1000)] ?? 0) + 1;
        t.diagnostic(`frames heard per second from the stop on: ${[...perSecond].map((n) => n ?? 0).join(' ')}`);
        // Frames are 20 ms apart; on 2 busy cores the test process alone stalls up to ~0.5 s (seen in both rooms
        // at once, far from the stop and the restart). A room whose media stopped would show seconds.
        assert.ok(g.maxGapMs < 1500, `room ${i}: longest gap ${g.maxGapMs.toFixed(0)} ms`);
        assert.ok(g.frames > spanS * 50 * 0.8, `room ${i}: ${g.frames} of ${Math.round(spanS * 50)} frames`);
      }
      await rest(c, 'DELETE', `/room/${fresh.json.data.room.id}`);
    } finally {
      for (const l of links) l.stop();
    }
  });
});
