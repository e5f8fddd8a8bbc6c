// NodeFencing with fake timers and fake probes: fenced while another node reports UP for the whole hold →
// the rooms are stopped once (not before the hold); fenced while every other node reports DOWN or does not
// answer (Redis down for all) → rooms kept; a broken UP streak starts over; lease held again → recovery
// callback, probing stops. fenceTimings orders the hold before the survivors' reap grace. probeHealth reads
// a real /health answer.
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createLogger } from '../../src/log/logger.js';
import { NodeFencing, fenceTimings, probeHealth, type PeerNode } from '../../src/cluster/node-fencing.js';
import type { NodeStatus } from '../../src/cluster/node-registry.js';

const LEASE = 3000;
const T = fenceTimings(LEASE);
const log = createLogger('silent', false);
const flush = () => new Promise((r) => setImmediate(r));

describe('NodeFencing', () => {
  let clock = 0;
  let status: NodeStatus = 'up';
  const listeners = new Set<(s: NodeStatus) => void>();
  let answers: Record<string, boolean | 'throw'> = {};
  let probes = 0;
  let stops = 0;
  let recoveries = 0;
  let givenUp: string[][] = [];
  let served: string[] = [];
  let fencing: NodeFencing;

  const setStatus = (s: NodeStatus) => {
    status = s;
    for (const l of listeners) l(s);
  };
  /** Advances fake time by `ms` in probe-sized steps, letting each probe's promise settle. */
  const advance = async (ms: number) => {
    for (let left = ms; left > 0; left -= T.probeEveryMs) {
      const step = Math.min(T.probeEveryMs, left);
      clock += step;
      mock.timers.tick(step);
      await flush();
    }
  };

  beforeEach(async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    clock = 0;
    status = 'up';
    listeners.clear();
    answers = { 'http://b': true, 'http://c': false };
    probes = stops = recoveries = 0;
    givenUp = [];
    served = ['r1', 'r2'];
    const peers: PeerNode[] = [
      { id: 'a', apiUrl: 'http://a' },
      { id: 'b', apiUrl: 'http://b' },
      { id: 'c', apiUrl: 'http://c' },
    ];
    fencing = new NodeFencing({
      selfId: 'a',
      status: () => status,
      onStatus: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
      liveNodes: async () => peers,
      probe: async (url) => {
        probes++;
        const a = answers[url];
        if (a === 'throw') throw new Error('unreachable');
        return a === true;
      },
      serverApiToken: 't',
      timings: T,
      leaseMs: LEASE,
      roomIds: () => served,
      stopRooms: () => {
        stops++;
        served = [];
      },
      onRecovered: (ids) => {
        recoveries++;
        givenUp.push([...ids]);
      },
      log,
      now: () => clock,
    });
    fencing.start();
    await flush();
  });
  afterEach(() => {
    fencing.stop();
    mock.timers.reset();
  });

  test('remembers the other live nodes while up', () => {
    assert.deepEqual(fencing.knownPeers().map((p) => p.id), ['b', 'c']);
  });

  test('fenced while another node reports UP: rooms stopped once, only after the hold', async () => {
    setStatus('fenced');
    await flush();
    assert.ok(probes >= 2, 'asked at once');
    await advance(T.holdMs - T.probeEveryMs);
    assert.equal(stops, 0, 'not before the hold');
    await advance(2 * T.probeEveryMs);
    assert.equal(stops, 1);
    await advance(T.holdMs * 3);
    assert.equal(stops, 1, 'once');
  });

  test('fenced while no other node reports UP (Redis down for all): rooms kept', async () => {
    answers = { 'http://b': false, 'http://c': 'throw' };
    setStatus('fenced');
    await advance(T.holdMs * 5);
    assert.ok(probes > 10, `kept asking (${probes})`);
    assert.equal(stops, 0);
  });

  test('an UP streak broken by an all-DOWN round starts over', async () => {
    setStatus('fenced');
    await advance(T.holdMs - 2 * T.probeEveryMs);
    answers = { 'http://b': false, 'http://c': false };
    await advance(T.probeEveryMs);
    answers = { 'http://b': true, 'http://c': false };
    await advance(T.holdMs - 2 * T.probeEveryMs);
    assert.equal(stops, 0, 'the hold counts from the new streak');
    await advance(3 * T.probeEveryMs);
    assert.equal(stops, 1);
  });

  test('lease held again: recovery called, probing stops; a later fence starts a fresh episode', async () => {
    setStatus('fenced');
    await advance(T.holdMs + T.probeEveryMs);
    assert.equal(stops, 1);
    setStatus('up');
    assert.equal(recoveries, 1);
    assert.deepEqual(givenUp, [['r1', 'r2']], 'the rooms given up, for their claims');
    const asked = probes;
    await advance(T.holdMs);
    assert.equal(probes, asked, 'no probing while up');
    setStatus('fenced');
    await advance(T.holdMs + T.probeEveryMs);
    assert.equal(stops, 2);
    setStatus('up');
    assert.deepEqual(givenUp, [['r1', 'r2'], []], 'nothing served the second time');
  });

  test('the timings: a fenced node stops within hold + a probe round, before the survivors’ grace ends', () => {
    for (const lease of [1000, 2000, 3000, 10_000]) {
      const t = fenceTimings(lease);
      assert.ok(t.holdMs > 2000 + lease / 6, 'longer than a Redis reconnect plus a renewal retry');
      assert.ok(t.holdMs + 2 * (t.probeEveryMs + t.probeTimeoutMs) < t.reapGraceMs);
    }
  });
});

describe('probeHealth', () => {
  test('true only for a 200 whose distribution.nodeStatus is UP, with the token sent', async () => {
    let status = 'UP';
    let auth: string | undefined;
    const server = createServer((req, res) => {
      auth = req.headers.authorization;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ data: { status: 'UP', distribution: { enabled: true, nodeStatus: status, nodesInCluster: 2 } } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      assert.equal(await probeHealth(url, 'tok', 1000), true);
      assert.equal(auth, 'Bearer tok');
      status = 'DOWN';
      assert.equal(await probeHealth(url, 'tok', 1000), false);
    } finally {
      await new Promise((r) => server.close(r));
    }
    await assert.rejects(probeHealth(url, 'tok', 500), 'a node that does not answer is no UP');
  });
});
