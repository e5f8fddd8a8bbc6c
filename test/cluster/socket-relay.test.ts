// Peer and agent sockets that land on a node that does not own their room are relayed to the owner, on a
// real redis-server: peers added through node B for a room on node A get A's token and socket URL; a raw
// peer with A's token connecting to B is authenticated by A and gets A's TURN address; closing either side
// closes the other with the same code and reason; heartbeats reach both; garbage is passed on (and ignored
// by A), an oversized frame closes both; a relayed socket is never relayed again; a token A minted never
// joins a room of B; an owner that hangs (SIGSTOP) gives a clear close within the connect bound and bounds
// what waits, or once relayed misses B's pings (a clear close), one killed gives a clear close and, once its
// lease lapsed, 'room not found'; the SDK's
// FishjamAgent pointed at one node hears an agent in a room on the other (owner's media in the main thread,
// and in a worker).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { create, toBinary } from '@bufbuild/protobuf';
import { WebSocket } from 'ws';
import { FishjamClient, type FishjamAgent, type RoomId } from '@fishjam-cloud/js-server-sdk';
import { FORWARDED_HEADER } from '../../src/api/cluster-routing.js';
import { PeerTokenService } from '../../src/auth/peer-token.js';
import { MAX_PENDING_FRAMES, RELAYED_HEADER, RELAY_CONNECT_TIMEOUT_MS } from '../../src/cluster/socket-relay.js';
import type { LocalMediaPlane } from '../../src/media/plane/local-media-plane.js';
import { PeerMessageSchema } from '../../src/gen/fishjam/peer_notifications_pb.js';
import { API_TOKEN, SECRET, api, startShoal, type TestShoal } from '../helpers/server.js';
import { killShoalProcesses, spawnShoal, type ShoalProcess } from '../helpers/shoal-process.js';
import { REDIS_MISSING, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { NotificationLog, RawPeer, type Closed } from '../helpers/raw-peer.js';
import { goertzel, rms, samples, sinePcm16 } from '../media/agent/audio-signal.js';
import { clusterEnv, until } from '../helpers/cluster-nodes.js';

const LEASE_MS = 2000;
const MAX_FRAME = 65536;
const WAIT_MS = 8000;
const PING_MS = 300;

const nodeEnv = (redis: TestRedis, nodeId: string): Record<string, string> => clusterEnv(redis, nodeId, LEASE_MS, {
  FJ_MAX_WS_FRAME: String(MAX_FRAME),
  FJ_PING_INTERVAL_MS: String(PING_MS),
});


/** The claims part of a token (no verification: the test only reads which node it names). */
const tokenNode = (token: string): string => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')).node;

const authFrame = (token: string) => toBinary(PeerMessageSchema, create(PeerMessageSchema, { content: { case: 'authRequest', value: { token } } }));

/** A raw socket with extra upgrade headers; resolves its close (bounded). */
function rawSocket(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers });
  ws.on('error', () => {});
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const closed = new Promise<Closed>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const waitClosed = (ms = WAIT_MS) =>
    Promise.race([closed, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`socket not closed within ${ms} ms`)), ms).unref())]);
  return { ws, opened, waitClosed };
}

function customEvents(peer: RawPeer, type: string): any[] {
  return peer.events.filter((e) => e.type === 'custom' && e.data.type === type).map((e) => e.data.data);
}

describe('peer and agent sockets relayed to the room\'s node', { skip: REDIS_MISSING }, () => {
  let redis: TestRedis;
  let a: TestShoal;
  let b: TestShoal;
  let logA: NotificationLog;
  const peers: RawPeer[] = [];
  const agents: FishjamAgent[] = [];
  const previousWebSocket = (globalThis as { WebSocket?: unknown }).WebSocket;

  before(async () => {
    // Node 20 has no global WebSocket; the SDK's agent uses the global one.
    (globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
    redis = await startRedis();
    a = await startShoal({ ...nodeEnv(redis, 'node-a'), FJ_MEDIA_WORKERS: '0' });
    // B runs its media in a worker thread: the relay does not care.
    b = await startShoal({ ...nodeEnv(redis, 'node-b'), FJ_MEDIA_WORKERS: '1' });
    logA = new NotificationLog(a.shoal.bus);
    await until(async () => (await b.shoal.cluster!.liveNodes()).length === 2, LEASE_MS * 2, 'both nodes registered');
  });
  after(async () => {
    for (const p of peers) p.ws.terminate();
    for (const ag of agents) ag.disconnect();
    logA?.stop();
    killShoalProcesses();
    for (const n of [a, b]) await n?.stop().catch(() => {});
    await redis?.dispose();
    (globalThis as { WebSocket?: unknown }).WebSocket = previousWebSocket;
  });

  /** A room created on `node` itself (the forwarded header skips placement). */
  async function roomOn(node: TestShoal | { port: number }, id: string): Promise<void> {
    const res = await fetch(`http://127.0.0.1:${node.port}/room`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json', [FORWARDED_HEADER]: 'test' },
      body: JSON.stringify({ roomId: id }),
      signal: AbortSignal.timeout(WAIT_MS),
    });
    assert.equal(res.status, 201, await res.text());
  }

  /** A peer added through `via` (any node): its id, token and socket URL. */
  async function addPeer(via: TestShoal | { port: number }, roomId: string, type = 'webrtc') {
    const res = await fetch(`http://127.0.0.1:${via.port}/room/${roomId}/peer`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type, options: {} }),
      signal: AbortSignal.timeout(WAIT_MS),
    });
    const json = (await res.json()) as any;
    assert.equal(res.status, 201, JSON.stringify(json));
    return { id: json.data.peer.id as string, token: json.data.token as string, url: json.data.peer_websocket_url as string };
  }

  const peer = (url: string) => {
    const p = new RawPeer(url);
    peers.push(p);
    return p;
  };

  test('a peer added through B for a room on A gets a token minted by A and A\'s socket URL', async () => {
    await roomOn(a, 'r-mint');
    const p = await addPeer(b, 'r-mint');
    assert.equal(tokenNode(p.token), 'node-a');
    assert.equal(p.url, `${a.host}/socket/peer/websocket`);
    assert.ok(a.shoal.rooms.find('r-mint')?.peers.has(p.id), 'the peer lives on A');
    await api(a, 'DELETE', '/room/r-mint');
  });

  test('A\'s token on B\'s socket: authenticated by A, A\'s TURN address; either side closing closes the other', async () => {
    await roomOn(a, 'r-relay');
    const p1 = await addPeer(b, 'r-relay');
    const client = peer(b.wsUrl);
    const connected = await client.join(p1.token, { name: 'via-b' }, WAIT_MS);
    assert.equal(connected.id, p1.id);
    await logA.waitFor((n) => n.type === 'peerConnected' && n.peerId === p1.id, WAIT_MS, 'peerConnected on A');

    // offerData names A's TURN server (B's ports differ).
    client.sendEvent('custom', { type: 'renegotiateTracks' });
    await client.nextEvent('custom', WAIT_MS, () => customEvents(client, 'offerData').length >= 1);
    const [udp] = customEvents(client, 'offerData')[0].integratedTurnServers;
    const aPorts = (a.shoal.media as LocalMediaPlane).boundPorts!;
    assert.equal(udp.serverPort, aPorts.udpPort);
    const registered = (await b.shoal.cluster!.liveNodes()).find((n) => n.id === 'node-a')!;
    assert.equal(registered.turn.udpPort, aPorts.udpPort);

    // The owner removes the peer: the client gets A's code and reason.
    const del = await api(b, 'DELETE', `/room/r-relay/peer/${p1.id}`);
    assert.equal(del.status, 204, del.text);
    assert.deepEqual(await client.waitClosed(WAIT_MS), { code: 1000, reason: 'Peer removed' });

    // The client closes: A sees the peer disconnect.
    const p2 = await addPeer(b, 'r-relay');
    const second = peer(b.wsUrl);
    await second.join(p2.token, null, WAIT_MS);
    second.ws.close(4000, 'bye');
    await logA.waitFor((n) => n.type === 'peerDisconnected' && n.peerId === p2.id, WAIT_MS, 'peerDisconnected on A');
    await api(a, 'DELETE', '/room/r-relay');
  });

  test('heartbeat: B pings a relayed client (A pings B\'s socket); a client that stops answering is dropped on both', async () => {
    await roomOn(a, 'r-ping');
    const p1 = await addPeer(b, 'r-ping');
    const alive = peer(b.wsUrl);
    await alive.join(p1.token, null, WAIT_MS);
    // Several ping rounds of both nodes later, the answering client is still in the room on A.
    await new Promise<void>((resolve, reject) => {
      let pings = 0;
      const timer = setTimeout(() => reject(new Error(`${pings} pings from B in ${WAIT_MS} ms`)), WAIT_MS);
      alive.ws.on('ping', () => {
        if (++pings < 6) return;
        clearTimeout(timer);
        resolve();
      });
    });
    assert.equal(alive.closed, undefined);
    assert.equal(a.shoal.rooms.find('r-ping')!.peers.get(p1.id)!.status, 'connected');

    const p2 = await addPeer(b, 'r-ping');
    const mute = new WebSocket(`${b.wsUrl}/socket/peer/websocket`, { autoPong: false });
    mute.on('error', () => {});
    await new Promise((resolve) => mute.once('open', resolve));
    mute.send(authFrame(p2.token));
    await logA.waitFor((n) => n.type === 'peerConnected' && n.peerId === p2.id, WAIT_MS, 'mute peer connected on A');
    await logA.waitFor((n) => n.type === 'peerDisconnected' && n.peerId === p2.id, WAIT_MS, 'mute peer dropped on A');
    alive.close();
    await api(a, 'DELETE', '/room/r-ping');
  });

  test('garbage after auth is passed on and ignored by A; an oversized frame closes both sides (1009)', async () => {
    await roomOn(a, 'r-garbage');
    const p = await addPeer(b, 'r-garbage');
    const client = peer(b.wsUrl);
    await client.join(p.token, null, WAIT_MS);
    client.ws.send(Buffer.from([0xff, 0x00, 0x13, 0x37, 0xff]));
    client.ws.send('not a protobuf frame');
    client.sendEvent('custom', { type: 'renegotiateTracks' });
    await client.nextEvent('custom', WAIT_MS, () => customEvents(client, 'offerData').length >= 1);
    assert.equal(client.closed, undefined);

    client.ws.send(Buffer.alloc(MAX_FRAME + 1));
    assert.equal((await client.waitClosed(WAIT_MS)).code, 1009);
    await logA.waitFor((n) => n.type === 'peerDisconnected' && n.peerId === p.id, WAIT_MS, 'peerDisconnected on A');

    // A first frame that is not an auth request is refused by B itself, as on a single node.
    const junk = rawSocket(`${b.wsUrl}/socket/peer/websocket`);
    await junk.opened;
    junk.ws.send(Buffer.from('garbage'));
    assert.deepEqual(await junk.waitClosed(), { code: 1000, reason: 'unauthenticated' });
    await api(a, 'DELETE', '/room/r-garbage');
  });

  test('a relayed socket is never relayed again: a foreign token on a marked socket is refused', async () => {
    await roomOn(a, 'r-loop');
    const p = await addPeer(b, 'r-loop');
    const marked = rawSocket(`${b.wsUrl}/socket/peer/websocket`, { [RELAYED_HEADER]: 'node-x' });
    await marked.opened;
    marked.ws.send(authFrame(p.token));
    assert.deepEqual(await marked.waitClosed(), { code: 1000, reason: 'invalid token' }, 'B does not relay a marked socket');
    // The owner serves a marked socket with its own token as any other.
    const onOwner = peer(a.wsUrl);
    await onOwner.join(p.token, null, WAIT_MS);
    await api(a, 'DELETE', '/room/r-loop');
  });

  test('a token minted by A never joins a room of B: B relays it to A, which has no such room', async () => {
    await roomOn(b, 'r-b-own');
    const own = await addPeer(b, 'r-b-own');
    const { token } = await new PeerTokenService([SECRET], 'node-a', 60).mint({ kind: 'peer', roomId: 'r-b-own', peerId: own.id });
    const s = rawSocket(`${b.wsUrl}/socket/peer/websocket`);
    await s.opened;
    s.ws.send(authFrame(token));
    assert.deepEqual(await s.waitClosed(), { code: 1000, reason: 'room not found' });
    assert.equal(b.shoal.rooms.find('r-b-own')!.peers.get(own.id)!.status, 'disconnected');
    await api(b, 'DELETE', '/room/r-b-own');
  });

  test('an owner that hangs: clear close within the connect bound, bounded waiting frames; killed: clear close, then room not found', async () => {
    const c: ShoalProcess = await spawnShoal({
      token: API_TOKEN,
      env: { ...nodeEnv(redis, 'node-c'), FJ_MEDIA_WORKERS: '0' },
    });
    await until(async () => (await b.shoal.cluster!.liveNodes()).some((n) => n.id === 'node-c'), LEASE_MS * 3, 'node C registered');
    await roomOn(c, 'r-c');
    const p = await addPeer(b, 'r-c');
    const p2 = await addPeer(b, 'r-c');
    assert.equal(tokenNode(p.token), 'node-c');

    c.child.kill('SIGSTOP');
    try {
      const started = performance.now();
      const hung = rawSocket(`${b.wsUrl}/socket/peer/websocket`);
      const flood = rawSocket(`${b.wsUrl}/socket/peer/websocket`);
      await Promise.all([hung.opened, flood.opened]);
      hung.ws.send(authFrame(p.token));
      flood.ws.send(authFrame(p.token));
      for (let i = 0; i < MAX_PENDING_FRAMES + 10; i++) flood.ws.send(Buffer.from([8, i & 0x7f]));
      assert.deepEqual(await flood.waitClosed(), { code: 1008, reason: 'too many messages before the room\'s node answered' });
      assert.deepEqual(await hung.waitClosed(RELAY_CONNECT_TIMEOUT_MS + 3000), { code: 1011, reason: 'Unable to reach Fishjam instance holding room r-c' });
      const tookMs = performance.now() - started;
      assert.ok(tookMs >= RELAY_CONNECT_TIMEOUT_MS - 100, `closed after ${tookMs.toFixed(0)} ms`);
    } finally {
      c.child.kill('SIGCONT');
    }

    // Relayed while C runs; C hangs: B's pings of its socket go unanswered, the client is told.
    await until(async () => (await b.shoal.cluster!.liveNodes()).some((n) => n.id === 'node-c'), LEASE_MS * 3, 'node C live again');
    const frozen = peer(b.wsUrl);
    await frozen.join(p.token, null, WAIT_MS);
    c.child.kill('SIGSTOP');
    try {
      assert.deepEqual(await frozen.waitClosed(WAIT_MS), { code: 1011, reason: 'Unable to reach Fishjam instance holding room r-c' });
    } finally {
      c.child.kill('SIGCONT');
    }

    // C killed: the client is told, and once C's lease lapsed its token finds no room.
    await until(async () => (await b.shoal.cluster!.liveNodes()).some((n) => n.id === 'node-c'), LEASE_MS * 3, 'node C live again');
    const client = peer(b.wsUrl);
    await client.join(p2.token, null, WAIT_MS);
    c.child.kill('SIGKILL');
    assert.deepEqual(await client.waitClosed(WAIT_MS), { code: 1011, reason: 'Unable to reach Fishjam instance holding room r-c' });
    await c.exited;
    await until(async () => !(await b.shoal.cluster!.liveNodes()).some((n) => n.id === 'node-c'), LEASE_MS * 3, 'node C gone from the registry');
    const late = rawSocket(`${b.wsUrl}/socket/peer/websocket`);
    await late.opened;
    late.ws.send(authFrame(p.token));
    assert.deepEqual(await late.waitClosed(), { code: 1000, reason: 'room not found' });

    // B's metrics count them: hung, flood and late failed; earlier tests' sockets were relayed.
    const text = await b.shoal.metrics.registry.metrics();
    const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
    assert.equal(value('shoal_cluster_relay_failures_total'), 3, text);
    assert.ok(value('shoal_cluster_relayed_sockets_total') >= 5, text);
  });

  for (const [ownerName, viaName] of [
    ['A', 'B'],
    ['B', 'A'],
  ] as const) {
    test(`the SDK's FishjamAgent pointed at ${viaName} hears an agent in a room on ${ownerName} (media ${ownerName === 'A' ? 'in the main thread' : 'in a worker'})`, async () => {
      const [owner, via] = ownerName === 'A' ? [a, b] : [b, a];
      const roomId = `r-agents-${ownerName}`;
      await roomOn(owner, roomId);
      const sdk = new FishjamClient({ fishjamId: via.httpUrl, managementToken: API_TOKEN });
      const speaker = await sdk.createAgent(roomId as RoomId, { output: { audioFormat: 'pcm16', audioSampleRate: 16000 } });
      const listener = await sdk.createAgent(roomId as RoomId, { output: { audioFormat: 'pcm16', audioSampleRate: 16000 } });
      agents.push(speaker.agent, listener.agent);
      assert.ok(owner.shoal.rooms.find(roomId)?.peers.has(listener.peer.id), 'the agents live on the owner');
      const heard: Uint8Array[] = [];
      const enough = new Promise<void>((resolve) => {
        listener.agent.on('trackData', (m) => {
          if (m.peerId === speaker.peer.id) heard.push(m.data);
          if (heard.length === 40) resolve();
        });
      });
      await until(() => owner.shoal.rooms.find(roomId)!.peers.get(speaker.peer.id)?.status === 'connected', WAIT_MS, 'speaker connected on the owner');
      await until(() => owner.shoal.rooms.find(roomId)!.peers.get(listener.peer.id)?.status === 'connected', WAIT_MS, 'listener connected on the owner');
      const track = speaker.agent.createTrack({ encoding: 'pcm16', sampleRate: 16000, channels: 1 });
      for (let t = 0; t < 1500; t += 100) speaker.agent.sendData(track.id, sinePcm16(440, 16000, 100, 12000, (t * 16000) / 1000));
      await Promise.race([enough, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${heard.length} of 40 chunks heard`)), WAIT_MS).unref())]);
      const pcm = samples(Buffer.concat(heard)).subarray(1600);
      assert.ok(goertzel(pcm, 440, 16000) > 50 * goertzel(pcm, 1900, 16000), 'the 440 Hz tone is heard');
      assert.ok(rms(pcm) > 0.1, `rms ${rms(pcm).toFixed(3)}`);
      await api(owner, 'DELETE', `/room/${roomId}`);
    });
  }
});
