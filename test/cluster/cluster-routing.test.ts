// Placement and REST routing across a cluster on a real redis-server: the official server SDK pointed at
// node A creates rooms that land on the least loaded node (fishjam_address names it), gets and deletes them
// and adds peers through A while they live on B; GET /room on any node lists them all; concurrent creates
// of one id on two nodes give one 201 and one 400; an owner that hangs (SIGSTOP) gives 503 within the
// forwarding bound, an owner killed gives 404 once its lease lapsed and its room id can be created again;
// Redis down gives 503 with a clear text.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FishjamClient, RoomNotFoundException, type RoomId } from '@fishjam-cloud/js-server-sdk';
import { FORWARDED_HEADER, FORWARD_TIMEOUT_MS, placementMemoryMs } from '../../src/api/cluster-routing.js';
import { API_TOKEN, SECRET, api, freePort, startShoal, type TestShoal } from '../helpers/server.js';
import { killShoalProcesses, spawnShoal } from '../helpers/shoal-process.js';
import { REDIS_MISSING, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { clusterEnv, until } from '../helpers/cluster-nodes.js';
import { createServer, type Server } from 'node:http';
import { createRedisClient } from '../../src/cluster/redis-client.js';
import { redisRegistryStore } from '../../src/cluster/registry-store.js';
import { createLogger } from '../../src/log/logger.js';

const LEASE_MS = 2000;

const nodeEnv = (redis: TestRedis, nodeId: string): Record<string, string> => clusterEnv(redis, nodeId, LEASE_MS);


/** A request straight to a port, bounded. */
async function raw(port: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}, timeoutMs = 10_000) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : undefined };
}

describe('cluster placement and routing', { skip: REDIS_MISSING }, () => {
  let redis: TestRedis;
  let a: TestShoal;
  let b: TestShoal;

  before(async () => {
    redis = await startRedis();
    a = await startShoal(nodeEnv(redis, 'node-a'));
    // B runs its media in a worker thread, A in the main thread: routing is the same either way.
    b = await startShoal({ ...nodeEnv(redis, 'node-b'), FJ_MEDIA_WORKERS: '1' });
    await until(async () => (await a.shoal.cluster!.liveNodes()).length === 2, LEASE_MS * 2, 'both nodes registered');
  });
  after(async () => {
    killShoalProcesses();
    for (const n of [a, b]) await n?.stop().catch(() => {});
    await redis?.dispose();
  });

  /** Lets node A's local placement tally lapse (a timer with no observable event), then waits for fresh counts of 0. */
  const settle = async () => {
    await new Promise((r) => setTimeout(r, placementMemoryMs(LEASE_MS) + 50));
    await roomsSeen('node-a', 0);
    await roomsSeen('node-b', 0);
  };

  /** Waits until node `id`'s registration reports `rooms` rooms (it renews every lease/3). */
  const roomsSeen = (id: string, rooms: number) =>
    until(async () => (await a.shoal.cluster!.liveNodes()).find((n) => n.id === id)?.load.rooms === rooms, LEASE_MS * 2, `${id} reports ${rooms} rooms`);

  test('the SDK on node A: rooms go to the least loaded node; get, add/delete peer and delete through A', async () => {
    await settle();
    const first = await api(a, 'POST', '/room', {});
    assert.equal(first.status, 201, first.text);
    // Equal load: the lowest node id wins.
    assert.equal(first.json.data.fishjam_address, a.host);
    const firstId = first.json.data.room.id as string;
    assert.ok(a.shoal.rooms.find(firstId));
    await roomsSeen('node-a', 1);

    const fishjam = new FishjamClient({ fishjamId: a.httpUrl, managementToken: API_TOKEN });
    const second = await api(a, 'POST', '/room', { roomId: 'on-b', maxPeers: 3 });
    assert.equal(second.status, 201, second.text);
    assert.equal(second.json.data.fishjam_address, b.host, 'node B has fewer rooms');
    assert.equal(second.json.data.room.config.maxPeers, 3);
    assert.ok(b.shoal.rooms.find('on-b') && !a.shoal.rooms.find('on-b'));

    const room = await fishjam.getRoom('on-b' as RoomId);
    assert.equal(room.id, 'on-b');
    const { peer, peerToken } = await fishjam.createPeer('on-b' as RoomId, { metadata: { name: 'x' } });
    assert.ok(peerToken.length > 0);
    assert.equal(b.shoal.rooms.find('on-b')!.peers.size, 1, 'the peer lives on B');
    const refreshed = await fishjam.refreshPeerToken('on-b' as RoomId, peer.id);
    assert.ok(refreshed.length > 0);
    await fishjam.deletePeer('on-b' as RoomId, peer.id);
    assert.equal(b.shoal.rooms.find('on-b')!.peers.size, 0);

    for (const node of [a, b]) {
      const ids = (await new FishjamClient({ fishjamId: node.httpUrl, managementToken: API_TOKEN }).getAllRooms()).map((r) => r.id).sort();
      assert.deepEqual(ids, [firstId, 'on-b'].sort(), `GET /room on ${node.host}`);
    }

    await fishjam.deleteRoom('on-b' as RoomId);
    assert.equal(b.shoal.rooms.find('on-b'), undefined);
    await assert.rejects(fishjam.getRoom('on-b' as RoomId), RoomNotFoundException);
    const gone = await api(a, 'GET', '/room/on-b');
    assert.deepEqual([gone.status, gone.json], [404, { errors: 'Room on-b does not exist' }]);
    // Released: the id can be created again.
    const again = await api(b, 'POST', '/room', { roomId: 'on-b' });
    assert.equal(again.status, 201, again.text);
    await api(a, 'DELETE', '/room/on-b');
    await api(a, 'DELETE', `/room/${firstId}`);
  });

  test('a burst of creates through one node is spread over both (placements count until the next renewal)', async () => {
    await settle();
    const hosts: string[] = [];
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await api(a, 'POST', '/room', {});
      assert.equal(r.status, 201, r.text);
      hosts.push(r.json.data.fishjam_address);
      ids.push(r.json.data.room.id);
    }
    assert.deepEqual([hosts.filter((h) => h === a.host).length, hosts.filter((h) => h === b.host).length], [2, 2], hosts.join(' '));
    assert.equal(a.shoal.rooms.list().length, 2);
    assert.equal(b.shoal.rooms.list().length, 2);
    for (const id of ids) assert.equal((await api(b, 'DELETE', `/room/${id}`)).status, 204);
  });

  test('concurrent creates through one node are spread too (a placement counts from the moment it is picked)', async () => {
    await settle();
    const created = await Promise.all([0, 1, 2, 3].map(() => api(a, 'POST', '/room', {})));
    for (const r of created) assert.equal(r.status, 201, r.text);
    const hosts = created.map((r) => r.json.data.fishjam_address as string);
    assert.deepEqual([hosts.filter((h) => h === a.host).length, hosts.filter((h) => h === b.host).length], [2, 2], hosts.join(' '));
    for (const r of created) assert.equal((await api(b, 'DELETE', `/room/${r.json.data.room.id}`)).status, 204);
  });

  test('a node that refuses a placed room (503, or its port refuses connections) is left out and the next node takes it', async () => {
    // A registered node that looks least loaded (no load, first id) but answers every create with 503, as a
    // node does that started draining after it was picked; then one whose port is closed (it just died).
    let refusals = 0;
    const refusing: Server = createServer((req, res) => {
      refusals++;
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: 'Shoal is shutting down: this node takes no new rooms' }));
    });
    await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', r));
    const closedPort = await freePort();
    const client = createRedisClient({ url: redis.url, log: createLogger('silent', false), name: 'fake-nodes' });
    const store = redisRegistryStore(client);
    const fake = (id: string, apiUrl: string) =>
      JSON.stringify({ id, host: id, apiUrl, turn: { ip: '127.0.0.1', udpPort: 1 }, load: { rooms: 0, peers: 0, forwardedTracks: 0, cpu: 0 }, startedAt: Date.now(), draining: false });
    try {
      await settle();
      for (const [id, url] of [['node-0', `http://127.0.0.1:${(refusing.address() as { port: number }).port}`], ['node-1', `http://127.0.0.1:${closedPort}`]] as const) {
        await store.put(id, fake(id, url), 60_000);
      }
      assert.deepEqual((await a.shoal.cluster!.liveNodes()).map((n) => n.id).sort(), ['node-0', 'node-1', 'node-a', 'node-b']);
      const r = await api(a, 'POST', '/room', {});
      assert.equal(r.status, 201, r.text);
      assert.ok([a.host, b.host].includes(r.json.data.fishjam_address), r.json.data.fishjam_address);
      assert.equal(refusals, 1, 'the refusing node was asked once');
      await api(a, 'DELETE', `/room/${r.json.data.room.id}`);
    } finally {
      await store.remove('node-0');
      await store.remove('node-1');
      await client.close();
      await new Promise((r) => refusing.close(r));
    }
  });

  test('concurrent creates of one roomId on two nodes: exactly one 201 and one 400', async () => {
    for (let i = 0; i < 5; i++) {
      const id = `same-${i}`;
      const results = await Promise.all([api(a, 'POST', '/room', { roomId: id }), api(b, 'POST', '/room', { roomId: id })]);
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [201, 400], JSON.stringify(results.map((r) => r.text)));
      const lost = results.find((r) => r.status === 400)!;
      assert.deepEqual(lost.json, { errors: `Cannot add room with id "${id}" - room already exists` });
      assert.equal([a, b].filter((n) => n.shoal.rooms.find(id)).length, 1, 'one node serves the room');
      assert.equal((await api(a, 'DELETE', `/room/${id}`)).status, 204);
    }
  });

  test('an owner that hangs gives 503 within the bound; killed, its rooms give 404 after the lease and the id is free again', async () => {
    const p = await spawnShoal({ token: API_TOKEN, env: nodeEnv(redis, 'node-p') });
    await until(async () => (await a.shoal.cluster!.liveNodes()).some((n) => n.id === 'node-p'), LEASE_MS * 2, 'node-p registered');
    // Created on p itself (a forwarded create is never placed elsewhere).
    const made = await raw(p.port, 'POST', '/room', { roomId: 'on-p' }, { [FORWARDED_HEADER]: 'test' });
    assert.equal(made.status, 201, made.text);
    assert.equal((await raw(a.port, 'GET', '/room/on-p')).status, 200, 'read through A');

    p.child.kill('SIGSTOP');
    try {
      const t0 = Date.now();
      const hung = await raw(a.port, 'GET', '/room/on-p');
      const ms = Date.now() - t0;
      assert.deepEqual([hung.status, hung.json], [503, { errors: 'Unable to reach Fishjam instance holding room on-p' }]);
      assert.ok(ms < FORWARD_TIMEOUT_MS + 2000, `answered in ${ms} ms`);
      // The listing leaves the hung node out instead of hanging (bounded by the same timeout).
      const list = await raw(a.port, 'GET', '/room');
      assert.equal(list.status, 200);
      assert.ok(!list.json.data.some((r: { id: string }) => r.id === 'on-p'));
    } finally {
      p.child.kill('SIGKILL');
    }
    await p.exited;
    await until(async () => (await raw(a.port, 'GET', '/room/on-p')).status === 404, LEASE_MS + 3000, 'on-p is 404 once p lapsed');
    assert.deepEqual((await raw(a.port, 'GET', '/room/on-p')).json, { errors: 'Room on-p does not exist' });
    const retaken = await raw(a.port, 'POST', '/room', { roomId: 'on-p' });
    assert.equal(retaken.status, 201, retaken.text);
    assert.equal((await raw(a.port, 'DELETE', '/room/on-p')).status, 204);
  });

  test('Redis down: routed and placed calls answer 503 with a clear text, in bounded time', async () => {
    const made = await api(b, 'POST', '/room', { roomId: 'during-outage' }, { headers: { [FORWARDED_HEADER]: 'test' } });
    assert.equal(made.status, 201, made.text);
    await redis.stop();
    try {
      for (const [method, path] of [['GET', '/room/during-outage'], ['POST', '/room'], ['GET', '/room']] as const) {
        const r = await raw(a.port, method, path, method === 'POST' ? {} : undefined, {}, 5000);
        assert.deepEqual([r.status, r.json], [503, { errors: 'Cluster store (Redis) is unavailable, try again later' }], `${method} ${path}`);
      }
      // A room local to the node receiving the call needs no Redis.
      assert.equal((await raw(b.port, 'GET', '/room/during-outage')).status, 200);
    } finally {
      await redis.start();
    }
  });
});
