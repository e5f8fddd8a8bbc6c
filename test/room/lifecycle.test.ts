// Room and peer lifecycle: maxPeers, peerDisconnectedTimeout, peerlessPurgeTimeout, and the order of
// notifications for deletes and disconnects (rest-contract §1.5, §1.7, §3.3, §4.3).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, startShoal, type TestShoal } from '../helpers/server.js';
import { NotificationLog, RawPeer } from '../helpers/raw-peer.js';

let s: TestShoal;
let log: NotificationLog;

before(async () => {
  s = await startShoal();
  log = new NotificationLog(s.shoal.bus);
});
after(async () => {
  log.stop();
  await s.stop();
});

async function room(config: Record<string, unknown> = {}): Promise<string> {
  const r = await api(s, 'POST', '/room', config);
  assert.equal(r.status, 201, r.text);
  return r.json.data.room.id;
}

async function peer(roomId: string): Promise<{ id: string; token: string }> {
  const r = await api(s, 'POST', `/room/${roomId}/peer`, { type: 'webrtc', options: {} });
  assert.equal(r.status, 201, r.text);
  return { id: r.json.data.peer.id, token: r.json.data.token };
}

async function peerStatus(roomId: string, peerId: string): Promise<string | undefined> {
  const r = await api(s, 'GET', `/room/${roomId}`);
  return r.json.data.peers.find((p: any) => p.id === peerId)?.status;
}

describe('room and peer lifecycle', () => {
  test('maxPeers counts disconnected peers; a deleted peer frees its place', async () => {
    const id = await room({ maxPeers: 1 });
    const p = await peer(id);
    const full = await api(s, 'POST', `/room/${id}/peer`, { type: 'webrtc' });
    assert.equal(full.status, 503);
    assert.deepEqual(full.json, { errors: `Reached webrtc peers limit in room ${id}` });
    assert.equal((await api(s, 'DELETE', `/room/${id}/peer/${p.id}`)).status, 204);
    await peer(id);
  });

  test('a socket close leaves the peer disconnected with PeerDisconnected; the token reconnects it', async () => {
    const id = await room();
    const p = await peer(id);
    const a = new RawPeer(s.wsUrl);
    await a.join(p.token, { n: 1 });
    assert.equal(await peerStatus(id, p.id), 'connected');
    a.close();
    await log.waitFor((n) => n.type === 'peerDisconnected' && n.roomId === id);
    assert.equal(await peerStatus(id, p.id), 'disconnected');
    assert.deepEqual(log.types(id), ['roomCreated', 'peerAdded', 'peerConnected', 'peerMetadataUpdated', 'peerDisconnected']);
    const again = new RawPeer(s.wsUrl);
    await again.join(p.token);
    assert.equal(await peerStatus(id, p.id), 'connected');
    again.close();
  });

  test('deleting a connected peer closes its socket with "Peer removed": PeerDisconnected then PeerDeleted', async () => {
    const id = await room();
    const p = await peer(id);
    const other = await peer(id);
    const a = new RawPeer(s.wsUrl);
    const b = new RawPeer(s.wsUrl);
    await a.join(p.token);
    await b.join(other.token);
    assert.equal((await api(s, 'DELETE', `/room/${id}/peer/${p.id}`)).status, 204);
    assert.deepEqual(await a.waitClosed(), { code: 1000, reason: 'Peer removed' });
    const removed = await b.nextEvent('endpointRemoved');
    assert.equal(removed.data.id, p.id);
    await log.waitFor((n) => n.type === 'peerDeleted' && n.roomId === id);
    const mine = log.items.filter((n) => n.roomId === id && 'peerId' in n && n.peerId === p.id).map((n) => n.type);
    assert.deepEqual(mine, ['peerAdded', 'peerConnected', 'peerMetadataUpdated', 'peerDisconnected', 'peerDeleted']);
    b.close();
  });

  test('deleting a room closes sockets with "Room stopped": PeerDeleted for each peer, then RoomDeleted, no PeerDisconnected', async () => {
    const id = await room();
    const p1 = await peer(id);
    const p2 = await peer(id);
    const a = new RawPeer(s.wsUrl);
    await a.join(p1.token);
    assert.equal((await api(s, 'DELETE', `/room/${id}`)).status, 204);
    assert.deepEqual(await a.waitClosed(), { code: 1000, reason: 'Room stopped' });
    await log.waitFor((n) => n.type === 'roomDeleted' && n.roomId === id);
    const tail = log.items.filter((n) => n.roomId === id).slice(-3);
    assert.deepEqual(
      tail.map((n) => [n.type, 'peerId' in n ? n.peerId : undefined]),
      [
        ['peerDeleted', p1.id],
        ['peerDeleted', p2.id],
        ['roomDeleted', undefined],
      ],
    );
    assert.ok(!log.types(id).includes('peerDisconnected'));
    assert.equal((await api(s, 'GET', `/room/${id}`)).status, 404);
  });

  test('a disconnect media event removes the endpoint for others; the socket stays and connect rejoins', async () => {
    const id = await room();
    const p1 = await peer(id);
    const p2 = await peer(id);
    const a = new RawPeer(s.wsUrl);
    const b = new RawPeer(s.wsUrl);
    await a.join(p1.token);
    await b.join(p2.token, { n: 'b' });
    b.sendEvent('disconnect');
    assert.equal((await a.nextEvent('endpointRemoved')).data.id, p2.id);
    assert.equal(b.closed, undefined);
    assert.equal(await peerStatus(id, p2.id), 'connected');
    b.sendEvent('connect', { metadata: { n: 'b2' } });
    const rejoined = await a.nextEvent('endpointAdded', 5000, (d) => d.id === p2.id && d.metadata?.n === 'b2');
    assert.deepEqual(rejoined.data, { id: p2.id, type: 'webrtc', metadata: { n: 'b2' } });
    assert.equal(a.events.filter((e) => e.type === 'endpointAdded').length, 2);
    a.close();
    b.close();
  });

  test('peerDisconnectedTimeout removes never-connected and disconnected peers with PeerDeleted only', async () => {
    const id = await room({ peerDisconnectedTimeout: 1 });
    const never = await peer(id);
    const stays = await peer(id);
    const leaves = await peer(id);
    const a = new RawPeer(s.wsUrl);
    const b = new RawPeer(s.wsUrl);
    await a.join(stays.token);
    await b.join(leaves.token);
    b.close();
    await log.waitFor((n) => n.type === 'peerDeleted' && n.roomId === id && n.peerId === never.id, 4000);
    await log.waitFor((n) => n.type === 'peerDeleted' && n.roomId === id && n.peerId === leaves.id, 4000);
    const neverEvents = log.items.filter((n) => 'peerId' in n && n.peerId === never.id).map((n) => n.type);
    assert.deepEqual(neverEvents, ['peerAdded', 'peerDeleted']);
    assert.equal(await peerStatus(id, stays.id), 'connected');
    assert.equal(await peerStatus(id, never.id), undefined);
    a.close();
  });

  test('peerlessPurgeTimeout removes an empty room, and a room whose peers all disconnected', async () => {
    const empty = await room({ peerlessPurgeTimeout: 1 });
    await log.waitFor((n) => n.type === 'roomDeleted' && n.roomId === empty, 4000);

    const id = await room({ peerlessPurgeTimeout: 1 });
    const p = await peer(id);
    const a = new RawPeer(s.wsUrl);
    await a.join(p.token);
    const connectedAt = Date.now();
    // While a peer is connected the room lives: the empty room above proves the timer fires within 1 s.
    const stillThere = await api(s, 'GET', `/room/${id}`);
    assert.equal(stillThere.status, 200);
    a.close();
    await log.waitFor((n) => n.type === 'roomDeleted' && n.roomId === id, 4000);
    assert.ok(Date.now() - connectedAt >= 1000);
    assert.deepEqual(log.types(id).slice(-2), ['peerDeleted', 'roomDeleted']);
  });

  test('adding a never-connected peer resets the peerless countdown', async () => {
    const id = await room({ peerlessPurgeTimeout: 1 });
    const created = Date.now();
    await new Promise((r) => setTimeout(r, 600));
    const added = Date.now();
    await peer(id);
    await log.waitFor((n) => n.type === 'roomDeleted' && n.roomId === id, 4000);
    const deletedAt = Date.now();
    assert.ok(deletedAt - added >= 1000, `deleted ${deletedAt - added} ms after the add`);
    assert.ok(deletedAt - created >= 1500);
  });
});
