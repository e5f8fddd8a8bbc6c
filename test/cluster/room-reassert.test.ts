// RoomReassert against an in-memory room directory (via the real RoomOwnership) and a fake reconnect
// signal: a reconnect re-registers first, then claims every served room again; a claim another node holds
// is reported and left; a room that ended meanwhile gives its fresh claim back; a Redis failure is retried
// after the delay (fake timers); a release after re-assertion deletes the new claim; the recovery window
// follows Redis's run_id (fake clock). roomsEnded: resolves true when the last room ends, false at its
// time limit (fake timers).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log/logger.js';
import { ClusterUnavailableError } from '../../src/cluster/redis-client.js';
import type { ClaimResult, RoomClaim, RoomDirectory } from '../../src/cluster/room-directory.js';
import { RoomOwnership } from '../../src/cluster/room-ownership.js';
import { RoomReassert } from '../../src/cluster/room-reassert.js';
import { roomsEnded } from '../../src/cluster/rooms-ended.js';

const log = createLogger('silent', false);

/** A directory in a Map; `down` makes every call fail as Redis would. */
function memoryDirectory() {
  const claims = new Map<string, RoomClaim>();
  let epoch = 0;
  const state = { down: false, calls: [] as string[] };
  const check = (op: string) => {
    state.calls.push(op);
    if (state.down) throw new ClusterUnavailableError(op, new Error('connection refused'));
  };
  // Only what RoomOwnership calls for claims; other directory methods (node reaping) are not used here.
  const dir = {
    async claim(roomId, node): Promise<ClaimResult> {
      check(`claim ${roomId}`);
      const cur = claims.get(roomId);
      if (cur) return { won: false, holder: cur };
      const claim = { node, epoch: ++epoch };
      claims.set(roomId, claim);
      return { won: true, claim };
    },
    async owner(roomId) {
      check('owner');
      return claims.get(roomId);
    },
    async ownerWithNode(roomId) {
      check('owner');
      const c = claims.get(roomId);
      return c && { claim: c, registration: '{}' };
    },
    async release(roomId, claim) {
      check(`release ${roomId}`);
      const cur = claims.get(roomId);
      if (!cur || cur.node !== claim.node || cur.epoch !== claim.epoch) return false;
      claims.delete(roomId);
      return true;
    },
  } satisfies Pick<RoomDirectory, 'claim' | 'owner' | 'ownerWithNode' | 'release'>;
  return { dir, claims, state, wipe: () => claims.clear() };
}

function setup(served: string[], extra: { runId?: () => Promise<string | undefined>; now?: () => number } = {}) {
  const mem = memoryDirectory();
  const ownership = new RoomOwnership(mem.dir as unknown as RoomDirectory, 'node-a', log);
  let fire: () => void = () => {};
  const order: string[] = [];
  const rooms = new Set(served);
  const reassert = new RoomReassert({
    onReconnect: (l) => {
      fire = l;
      return () => (fire = () => {});
    },
    reregister: async () => void order.push('reregister'),
    ownership,
    roomIds: () => [...rooms],
    serves: (id) => rooms.has(id),
    log,
    retryMs: 1000,
    recoveryMs: 5000,
    ...extra,
  });
  reassert.start();
  return { mem, ownership, reassert, rooms, order, reconnect: () => fire() };
}

describe('room re-assertion after Redis comes back', () => {
  test('re-registers, then claims every served room again; a claim still there is kept; releases delete the new claims', async () => {
    const s = setup(['r1', 'r2', 'r3']);
    for (const id of ['r1', 'r2', 'r3']) assert.equal(await s.ownership.claim(id), true);
    s.mem.wipe(); // Redis restarted without persistence
    await s.mem.dir.claim('r3', 'node-a'); // …but this one was written again meanwhile, under this node
    s.mem.state.calls.length = 0;
    s.reconnect();
    for (let i = 0; i < 100 && s.reassert.last === undefined; i++) await new Promise((r) => setImmediate(r));
    assert.equal(s.order[0], 'reregister');
    assert.deepEqual(s.mem.state.calls.slice(0, 3), ['claim r1', 'claim r2', 'claim r3']);
    assert.deepEqual([s.reassert.last?.claimed, s.reassert.last?.kept, s.reassert.last?.heldElsewhere.size], [2, 1, 0]);
    assert.deepEqual([...s.mem.claims.keys()].sort(), ['r1', 'r2', 'r3']);
    // The ownership now remembers the new epochs: ending the rooms deletes their claims.
    for (const id of ['r1', 'r2', 'r3']) s.ownership.release(id);
    await new Promise((r) => setImmediate(r));
    assert.equal(s.mem.claims.size, 0);
  });

  test('a claim another node holds is reported and left alone', async () => {
    const s = setup(['mine', 'taken']);
    s.mem.claims.set('taken', { node: 'node-b', epoch: 99 });
    await s.reassert.trigger();
    assert.deepEqual([...(s.reassert.last?.heldElsewhere ?? [])], [['taken', 'node-b']]);
    assert.deepEqual(s.mem.claims.get('taken'), { node: 'node-b', epoch: 99 });
    assert.equal(s.mem.claims.get('mine')?.node, 'node-a');
    s.ownership.release('taken');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(s.mem.claims.get('taken'), { node: 'node-b', epoch: 99 }, 'no release of a claim that is not ours');
  });

  test('a room that ended while its claim was written gives it back', async () => {
    const s = setup(['ending']);
    const orig = s.mem.dir.claim;
    s.mem.dir.claim = async (id, node) => {
      const r = await orig(id, node);
      s.rooms.delete(id); // the room ends right then
      return r;
    };
    await s.reassert.trigger();
    await new Promise((r) => setImmediate(r));
    assert.equal(s.mem.claims.size, 0);
  });

  test('Redis failing again: retried after the delay, never thrown', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const s = setup(['r1']);
    s.mem.state.down = true;
    await s.reassert.trigger();
    assert.equal(s.reassert.last, undefined);
    s.mem.state.down = false;
    t.mock.timers.tick(999);
    assert.equal(s.mem.claims.size, 0, 'not before the delay');
    t.mock.timers.tick(1);
    // The retry runs on the timer; let its promise chain settle.
    for (let i = 0; i < 10 && s.mem.claims.size === 0; i++) await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    assert.equal(s.mem.claims.get('r1')?.node, 'node-a');
    s.reassert.stop();
  });

  test('recovering(): true for 5 s after Redis came back with a new run_id; a reconnect to the same server ends it at once', async () => {
    let clock = 1000;
    let runId = 'first';
    const s = setup(['r1'], { runId: async () => runId, now: () => clock });
    const settle = async () => {
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    };
    await settle(); // start() learnt 'first'
    assert.equal(s.reassert.recovering(), false);

    s.reconnect(); // a blip: same server
    assert.equal(s.reassert.recovering(), true, 'cautious until the run_id is read');
    await settle();
    assert.equal(s.reassert.recovering(), false, 'same run_id: nothing was lost');
    assert.deepEqual([s.order, s.mem.state.calls], [['reregister'], []], 'registration renewed, no claim rewritten');

    runId = 'second'; // restarted
    s.reconnect();
    await settle();
    assert.equal(s.reassert.recovering(), true);
    clock += 4999;
    assert.equal(s.reassert.recovering(), true);
    clock += 1;
    assert.equal(s.reassert.recovering(), false);
    assert.deepEqual(s.mem.state.calls, ['claim r1'], 'restarted: the room claimed again');
    s.reassert.stop();
  });

  test('after stop() a reconnect does nothing', async () => {
    const s = setup(['r1']);
    s.reassert.stop();
    s.reconnect();
    await s.reassert.trigger();
    assert.equal(s.order.length, 0);
    assert.equal(s.mem.claims.size, 0);
  });
});

describe('waiting for a draining node’s rooms to end', () => {
  test('true as soon as the last room ended; false when the time is up', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'setImmediate'] });
    let count = 2;
    const listeners = new Set<() => void>();
    const onRoomEnded = (l: () => void) => (listeners.add(l), () => listeners.delete(l));
    const end = () => {
      count--;
      for (const l of listeners) l();
    };
    const first = roomsEnded({ count: () => count, onRoomEnded, timeoutMs: 5000 });
    end();
    t.mock.timers.tick(0);
    end();
    t.mock.timers.tick(0);
    assert.equal(await first, true);
    assert.equal(listeners.size, 0, 'unsubscribed');

    count = 1;
    const second = roomsEnded({ count: () => count, onRoomEnded, timeoutMs: 5000 });
    t.mock.timers.tick(4999);
    t.mock.timers.tick(1);
    assert.equal(await second, false);
    assert.equal(listeners.size, 0);
    assert.equal(await roomsEnded({ count: () => 0, onRoomEnded, timeoutMs: 5000 }), true, 'no room: at once');
  });
});
