// Guards the room's lifecycle countdowns under mock timers: LifecycleTimers on its own (fire, restart,
// cancel, null, stop), and the Room's use of them: peerDisconnectedTimeout purges a peer that stays
// disconnected (PeerDeleted only), a reconnect cancels it; peerlessPurgeTimeout calls onPurge only after
// a whole timeout without a connected peer; null timeouts never fire; stop() cancels everything.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { LifecycleTimers, MAX_TIMER_STEP_MS } from '../../src/room/lifecycle-timers.js';
import { addPeer, attach, join, makeRoom } from './fakes.js';

const S = 1000;

function mockTime(t: TestContext): (ms: number) => void {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  return (ms) => t.mock.timers.tick(ms);
}

describe('LifecycleTimers', () => {
  test('countdowns longer than setTimeout allows (30 days) are never handed to it whole, and fire after 30 days', (t) => {
    const delays: number[] = [];
    const real = globalThis.setTimeout;
    t.mock.method(globalThis, 'setTimeout', ((fn: () => void, ms: number) => {
      delays.push(ms);
      return real(fn, 1e9); // never fires during the test
    }) as typeof setTimeout);
    const timers = new LifecycleTimers({ peerDisconnectedTimeout: 30 * 86_400, peerlessPurgeTimeout: 30 * 86_400 });
    timers.startDisconnected('a', () => {});
    timers.peerlessCheck(false, () => {});
    timers.stop();
    assert.equal(delays.length, 2);
    assert.ok(delays.every((ms) => ms <= MAX_TIMER_STEP_MS), `delays handed to setTimeout: ${delays.join(', ')}`);
  });

  test('a 30-day countdown under mock timers: not after 25 days, exactly at 30', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const tick = (ms: number) => t.mock.timers.tick(ms);
    const day = 86_400 * S;
    const timers = new LifecycleTimers({ peerDisconnectedTimeout: null, peerlessPurgeTimeout: 30 * 86_400 });
    let fired = 0;
    timers.peerlessCheck(false, () => fired++);
    tick(2 * S);
    tick(25 * day);
    assert.equal(fired, 0);
    tick(5 * day - 2 * S - 1);
    assert.equal(fired, 0);
    tick(1);
    assert.equal(fired, 1);
  });

  test('a disconnected countdown fires once, after exactly the timeout', (t) => {
    const tick = mockTime(t);
    const timers = new LifecycleTimers({ peerDisconnectedTimeout: 2, peerlessPurgeTimeout: null });
    const fired: string[] = [];
    timers.startDisconnected('a', () => fired.push('a'));
    tick(2 * S - 1);
    assert.deepEqual(fired, []);
    tick(1);
    assert.deepEqual(fired, ['a']);
    tick(10 * S);
    assert.deepEqual(fired, ['a']);
  });

  test('restarting a disconnected countdown counts from the restart; cancel is per peer', (t) => {
    const tick = mockTime(t);
    const timers = new LifecycleTimers({ peerDisconnectedTimeout: 1, peerlessPurgeTimeout: null });
    const fired: string[] = [];
    timers.startDisconnected('a', () => fired.push('a1'));
    timers.startDisconnected('b', () => fired.push('b'));
    tick(S / 2);
    timers.startDisconnected('a', () => fired.push('a2'));
    timers.cancelDisconnected('b');
    tick(S / 2);
    assert.deepEqual(fired, []);
    tick(S / 2);
    assert.deepEqual(fired, ['a2']);
  });

  test('the peerless countdown is armed when nobody is connected, cancelled when someone is, restarted on each check', (t) => {
    const tick = mockTime(t);
    const timers = new LifecycleTimers({ peerDisconnectedTimeout: null, peerlessPurgeTimeout: 1 });
    let fired = 0;
    timers.peerlessCheck(false, () => fired++);
    tick(S / 2);
    timers.peerlessCheck(true, () => fired++);
    tick(5 * S);
    assert.equal(fired, 0);
    timers.peerlessCheck(false, () => fired++);
    tick(S / 2);
    timers.peerlessCheck(false, () => fired++);
    tick(S - 1);
    assert.equal(fired, 0);
    tick(1);
    assert.equal(fired, 1);
  });

  test('null timeouts never fire', (t) => {
    const tick = mockTime(t);
    const timers = new LifecycleTimers({ peerDisconnectedTimeout: null, peerlessPurgeTimeout: null });
    let fired = 0;
    timers.startDisconnected('a', () => fired++);
    timers.peerlessCheck(false, () => fired++);
    tick(1e9);
    assert.equal(fired, 0);
  });

  test('stop() cancels every countdown', (t) => {
    const tick = mockTime(t);
    const timers = new LifecycleTimers({ peerDisconnectedTimeout: 1, peerlessPurgeTimeout: 1 });
    let fired = 0;
    timers.startDisconnected('a', () => fired++);
    timers.startDisconnected('b', () => fired++);
    timers.peerlessCheck(false, () => fired++);
    timers.stop();
    tick(10 * S);
    assert.equal(fired, 0);
  });
});

describe('Room: peerDisconnectedTimeout', () => {
  test('a never-connected peer is purged after the timeout with PeerDeleted only', (t) => {
    const tick = mockTime(t);
    const h = makeRoom({ peerDisconnectedTimeout: 2 });
    const { peer } = addPeer(h);
    tick(2 * S - 1);
    assert.ok(h.room.peers.has(peer.id));
    tick(1);
    assert.ok(!h.room.peers.has(peer.id));
    assert.deepEqual(h.types(peer.id), ['peerAdded', 'peerDeleted']);
  });

  test('a peer that stays disconnected is purged: the purge itself sends PeerDeleted, no PeerDisconnected', (t) => {
    const tick = mockTime(t);
    const h = makeRoom({ peerDisconnectedTimeout: 1 });
    const a = join(h);
    const b = join(h);
    tick(5 * S);
    assert.ok(h.room.peers.has(a.peer.id), 'a connected peer is never purged');
    h.room.detach(a.peer.id, a.link);
    h.clearNotes();
    b.link.clear();
    tick(S - 1);
    assert.ok(h.room.peers.has(a.peer.id));
    assert.equal(a.peer.status, 'disconnected');
    tick(1);
    assert.ok(!h.room.peers.has(a.peer.id));
    assert.deepEqual(h.types(), ['peerDeleted']);
    assert.deepEqual(h.notes[0], { type: 'peerDeleted', roomId: h.room.id, peerId: a.peer.id, peerType: 'webrtc' });
    assert.deepEqual(b.link.sent, [], "a's endpoint was already removed at detach");
  });

  test('a reconnect before the timeout cancels the purge; a later disconnect counts afresh', (t) => {
    const tick = mockTime(t);
    const h = makeRoom({ peerDisconnectedTimeout: 1 });
    const { peer, token } = addPeer(h);
    tick(S / 2);
    const link = attach(h, peer, token);
    tick(5 * S);
    assert.ok(h.room.peers.has(peer.id));
    h.room.detach(peer.id, link);
    tick(S / 2);
    const again = attach(h, peer, token);
    tick(5 * S);
    assert.ok(h.room.peers.has(peer.id));
    assert.ok(!h.types().includes('peerDeleted'));
    h.room.detach(peer.id, again);
    tick(S - 1);
    assert.ok(h.room.peers.has(peer.id));
    tick(1);
    assert.ok(!h.room.peers.has(peer.id));
  });

  test('a removed peer is not purged again', (t) => {
    const tick = mockTime(t);
    const h = makeRoom({ peerDisconnectedTimeout: 1 });
    const { peer } = addPeer(h);
    h.room.removePeer(peer.id);
    tick(5 * S);
    assert.deepEqual(h.types(peer.id), ['peerAdded', 'peerDeleted']);
  });
});

describe('Room: peerlessPurgeTimeout', () => {
  test('an empty room is purged after exactly the timeout', (t) => {
    const tick = mockTime(t);
    const h = makeRoom({ peerlessPurgeTimeout: 3 });
    tick(3 * S - 1);
    assert.equal(h.purges.length, 0);
    tick(1);
    assert.deepEqual(h.purges, [h.room]);
  });

  test('a connected peer keeps the room; the countdown is re-armed when the last one leaves', (t) => {
    const tick = mockTime(t);
    const h = makeRoom({ peerlessPurgeTimeout: 1 });
    const a = join(h);
    const b = join(h);
    tick(10 * S);
    assert.equal(h.purges.length, 0);
    h.room.detach(a.peer.id, a.link);
    tick(10 * S);
    assert.equal(h.purges.length, 0, 'b is still connected');
    h.room.detach(b.peer.id, b.link);
    tick(S - 1);
    assert.equal(h.purges.length, 0);
    tick(1);
    assert.equal(h.purges.length, 1);
  });

  test('a peer connecting within the timeout cancels it', (t) => {
    const tick = mockTime(t);
    const h = makeRoom({ peerlessPurgeTimeout: 1 });
    const { peer, token } = addPeer(h);
    tick(S / 2);
    attach(h, peer, token);
    tick(10 * S);
    assert.equal(h.purges.length, 0);
  });

  test('adding a never-connected peer restarts the countdown', (t) => {
    const tick = mockTime(t);
    const h = makeRoom({ peerlessPurgeTimeout: 1 });
    tick(S / 2);
    addPeer(h);
    tick(S / 2);
    assert.equal(h.purges.length, 0);
    tick(S / 2 - 1);
    assert.equal(h.purges.length, 0);
    tick(1);
    assert.equal(h.purges.length, 1);
  });

  test('removing the last connected peer re-arms the countdown', (t) => {
    const tick = mockTime(t);
    const h = makeRoom({ peerlessPurgeTimeout: 1 });
    const a = join(h);
    tick(5 * S);
    h.room.removePeer(a.peer.id);
    tick(S - 1);
    assert.equal(h.purges.length, 0);
    tick(1);
    assert.equal(h.purges.length, 1);
  });
});

describe('Room: null timeouts and stop()', () => {
  test('null timeouts never purge a peer or the room', (t) => {
    const tick = mockTime(t);
    const h = makeRoom({ peerDisconnectedTimeout: null, peerlessPurgeTimeout: null });
    const never = addPeer(h);
    const a = join(h);
    h.room.detach(a.peer.id, a.link);
    tick(1e9);
    assert.equal(h.purges.length, 0);
    assert.ok(h.room.peers.has(never.peer.id) && h.room.peers.has(a.peer.id));
    assert.ok(!h.types().includes('peerDeleted'));
  });

  test('stop() cancels everything: no purge of the room or its peers afterwards', (t) => {
    const tick = mockTime(t);
    const h = makeRoom({ peerDisconnectedTimeout: 1, peerlessPurgeTimeout: 1 });
    addPeer(h);
    const a = join(h);
    h.room.detach(a.peer.id, a.link);
    h.room.stop();
    const after = h.notes.length;
    assert.equal(h.notes.at(-1)?.type, 'roomDeleted');
    tick(10 * S);
    assert.equal(h.purges.length, 0);
    assert.equal(h.notes.length, after);
  });
});
