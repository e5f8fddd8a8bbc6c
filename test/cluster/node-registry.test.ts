// NodeRegistry's lease logic on an in-memory store and fake timers: renewals every lease/3 with fresh
// load, 'degraded' after a failed renewal, 'fenced' once a whole lease passed without an acknowledged
// one, back 'up' when the store answers again; leave deletes the registration; malformed entries skipped.
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log/logger.js';
import { NodeRegistry, parseNode, type NodeInfo, type NodeStatus } from '../../src/cluster/node-registry.js';
import { ClusterUnavailableError } from '../../src/cluster/redis-client.js';
import type { RegistryStore } from '../../src/cluster/registry-store.js';

const LEASE = 3000;

/** A store whose entries expire on the fake clock, and that can be made to fail. */
function memoryStore(now: () => number) {
  const entries = new Map<string, { value: string; expiresAt: number }>();
  const s = {
    down: false,
    puts: [] as string[],
    entries,
    store: {
      async put(id, value, leaseMs) {
        if (s.down) throw new ClusterUnavailableError('node registration');
        s.puts.push(value);
        entries.set(id, { value, expiresAt: now() + leaseMs });
      },
      async list(max) {
        if (s.down) throw new ClusterUnavailableError('node listing');
        return [...entries.values()].filter((e) => e.expiresAt > now()).slice(0, max).map((e) => e.value);
      },
      async remove(id) {
        if (s.down) throw new ClusterUnavailableError('node removal');
        entries.delete(id);
      },
    } satisfies RegistryStore,
  };
  return s;
}

const self = { id: 'n1', host: 'h1:5002', apiUrl: 'http://10.0.0.1:5002', turn: { ip: '10.0.0.1', udpPort: 50000, tcpPort: 50000 }, startedAt: 1 };

/** Lets the registry's promise chain run after a fake-timer tick. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe('NodeRegistry lease', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  test('registers with fresh load, renews every lease/3, goes degraded then fenced without renewals, and back up', async () => {
    const mem = memoryStore(() => Date.now());
    let rooms = 0;
    const statuses: NodeStatus[] = [];
    const reg = new NodeRegistry({ store: mem.store, self, load: () => ({ rooms: rooms++, peers: 0, forwardedTracks: 0, cpu: 0.5 }), leaseMs: LEASE, log: createLogger('silent', false), now: () => Date.now() });
    reg.onStatus((s) => statuses.push(s));
    assert.equal(reg.status(), 'starting');
    await reg.start();
    assert.equal(reg.status(), 'up');
    assert.equal(mem.puts.length, 1);
    assert.deepEqual(reg.cachedNodes().map((n) => n.id), ['n1']);

    mock.timers.tick(LEASE / 3);
    await settle();
    assert.equal(mem.puts.length, 2);
    assert.equal((JSON.parse(mem.puts[1]!) as NodeInfo).load.rooms, 1, 'each renewal carries fresh load');

    mem.down = true;
    mock.timers.tick(LEASE / 3);
    await settle();
    assert.equal(reg.status(), 'degraded', 'one failed renewal: the lease still holds');
    assert.equal(reg.cachedNodes().length, 1);
    // Retries come at lease/6; still failing, the lease lapses one lease after the last acknowledged renewal.
    for (let t = 0; t < 6 && reg.status() !== 'fenced'; t++) {
      mock.timers.tick(LEASE / 6);
      await settle();
    }
    assert.equal(reg.status(), 'fenced');
    assert.deepEqual(reg.cachedNodes(), []);
    await assert.rejects(reg.liveNodes(), ClusterUnavailableError);

    mem.down = false;
    mock.timers.tick(LEASE / 6);
    await settle();
    assert.equal(reg.status(), 'up', 'the store answers again: registered again');
    assert.deepEqual(statuses, ['up', 'degraded', 'fenced', 'up']);

    await reg.leave();
    assert.equal(reg.status(), 'left');
    assert.equal(mem.entries.size, 0, 'leave deletes the registration');
    const puts = mem.puts.length;
    mock.timers.tick(LEASE * 3);
    await settle();
    assert.equal(mem.puts.length, puts, 'no renewal after leaving');
  });

  test('fenced exactly when a lease has passed since the last acknowledged renewal (fence timer, no renewal needed)', async () => {
    const mem = memoryStore(() => Date.now());
    const reg = new NodeRegistry({ store: mem.store, self, load: () => ({ rooms: 0, peers: 0, forwardedTracks: 0, cpu: 0 }), leaseMs: LEASE, log: createLogger('silent', false), now: () => Date.now() });
    await reg.start();
    mem.down = true;
    let fencedAt: number | undefined;
    reg.onStatus((s) => {
      if (s === 'fenced') fencedAt = Date.now();
    });
    const ackAt = Date.now();
    for (let t = 0; t < 40 && fencedAt === undefined; t++) {
      mock.timers.tick(100);
      await settle();
    }
    assert.ok(fencedAt !== undefined);
    assert.ok(fencedAt - ackAt > LEASE && fencedAt - ackAt <= LEASE + 100, `fenced ${fencedAt - ackAt} ms after the last renewal`);
    await reg.leave();
  });

  test('a start with the store down is retried, and leave with the store down does not throw', async () => {
    const mem = memoryStore(() => Date.now());
    mem.down = true;
    const reg = new NodeRegistry({ store: mem.store, self, load: () => ({ rooms: 0, peers: 0, forwardedTracks: 0, cpu: 0 }), leaseMs: LEASE, log: createLogger('silent', false), now: () => Date.now() });
    await reg.start();
    assert.equal(reg.status(), 'fenced', 'never registered and the store is down');
    mem.down = false;
    mock.timers.tick(LEASE / 6);
    await settle();
    assert.equal(reg.status(), 'up');
    mem.down = true;
    await reg.leave();
    assert.equal(reg.status(), 'left');
  });

  test('malformed registrations read back from Redis are skipped', () => {
    const good: NodeInfo = { ...self, load: { rooms: 1, peers: 2, forwardedTracks: 3, cpu: 0.1 }, draining: false };
    assert.deepEqual(parseNode(JSON.stringify(good)), { ...good, turn: { ...good.turn, tlsPort: undefined } });
    for (const bad of ['', 'nope', 'null', '[]', JSON.stringify({ ...good, id: '' }), JSON.stringify({ ...good, load: { ...good.load, rooms: -1 } }), JSON.stringify({ ...good, turn: null }), JSON.stringify({ ...good, draining: 'no' }), 'x'.repeat(20_000)]) {
      assert.equal(parseNode(bad), undefined, bad.slice(0, 40));
    }
  });
});
