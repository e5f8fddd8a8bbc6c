// Guards the Room's event order and its refusals: the exact order of notifications to the backend
// (roomCreated, peer lifecycle, tracks, stop), the events each endpoint hears (connected, endpointAdded/
// Updated/Removed) and how its link is closed (Peer removed, Room stopped, Media failed), attach refusals,
// maxPeers (Fishjam's 503 text), unknown peers (404), and media events forwarded to the peer's session.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ShoalError } from '../../src/errors.js';
import { addPeer, attach, FakeLink, join, makeRoom, track, TURN } from './fakes.js';

function assertShoalError(fn: () => unknown, kind: ShoalError['kind'], message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ShoalError, `not a ShoalError: ${String(err)}`);
    assert.equal(err.kind, kind);
    assert.equal(err.message, message);
    return true;
  });
}

describe('notifications to the backend', () => {
  test('start() publishes roomCreated with the webhook url', () => {
    const h = makeRoom({ webhookUrl: 'http://hook' });
    assert.deepEqual(h.notes, [{ type: 'roomCreated', roomId: 'room-1', webhookUrl: 'http://hook' }]);
  });

  test('add, attach, connect: peerAdded, peerConnected, peerMetadataUpdated', () => {
    const h = makeRoom();
    const { peer, token } = addPeer(h);
    const link = attach(h, peer, token);
    h.room.handle(peer.id, link, { type: 'connect', metadata: { name: 'A' } });
    const ref = { roomId: 'room-1', peerId: peer.id, peerType: 'webrtc' };
    assert.deepEqual(h.notes, [
      { type: 'roomCreated', roomId: 'room-1', webhookUrl: null },
      { type: 'peerAdded', ...ref },
      { type: 'peerConnected', ...ref },
      { type: 'peerMetadataUpdated', ...ref, metadata: { name: 'A' } },
    ]);
  });

  test('published: trackAdded per track; detach: peerDisconnected, then trackRemoved per track', () => {
    const h = makeRoom();
    const a = join(h);
    const [v, s] = [track('v'), track('s', 'audio')];
    h.clearNotes();
    h.port.session(a.peer.id).host.published([v, s]);
    const ref = { roomId: 'room-1', peerId: a.peer.id };
    assert.deepEqual(h.notes, [
      { type: 'trackAdded', ...ref, track: v },
      { type: 'trackAdded', ...ref, track: s },
    ]);
    h.clearNotes();
    h.room.detach(a.peer.id, a.link);
    assert.deepEqual(h.notes, [
      { type: 'peerDisconnected', ...ref, peerType: 'webrtc' },
      { type: 'trackRemoved', ...ref, track: v },
      { type: 'trackRemoved', ...ref, track: s },
    ]);
    assert.equal(a.peer.status, 'disconnected');
    assert.equal(a.peer.tracks.size, 0);
  });

  test('removePeer of a connected peer: trackRemoved, peerDisconnected, peerDeleted; of a never-connected one: peerDeleted', () => {
    const h = makeRoom();
    const a = join(h);
    const never = addPeer(h);
    h.port.session(a.peer.id).host.published([track('v')]);
    h.clearNotes();
    h.room.removePeer(a.peer.id);
    assert.deepEqual(h.types(), ['trackRemoved', 'peerDisconnected', 'peerDeleted']);
    h.clearNotes();
    h.room.removePeer(never.peer.id);
    assert.deepEqual(h.notes, [{ type: 'peerDeleted', roomId: 'room-1', peerId: never.peer.id, peerType: 'webrtc' }]);
    assert.equal(h.room.peers.size, 0);
  });

  test('stop(): trackRemoved and peerDeleted for every peer, then roomDeleted, no peerDisconnected; once only', () => {
    const h = makeRoom();
    const a = join(h);
    const b = join(h);
    const never = addPeer(h, { type: 'agent' });
    const v = track('v');
    h.port.session(a.peer.id).host.published([v]);
    h.clearNotes();
    h.room.stop();
    assert.deepEqual(
      h.notes.map((n) => [n.type, 'peerId' in n ? n.peerId : undefined]),
      [
        ['trackRemoved', a.peer.id],
        ['peerDeleted', a.peer.id],
        ['peerDeleted', b.peer.id],
        ['peerDeleted', never.peer.id],
        ['roomDeleted', undefined],
      ],
    );
    assert.ok(h.room.isStopped);
    assert.equal(h.room.peers.size, 0);
    assert.ok(h.port.session(a.peer.id).closed && h.port.session(b.peer.id).closed);
    h.room.stop();
    assert.equal(h.notes.length, 5);
  });
});

describe('events to endpoints', () => {
  test("connect: 'connected' with the others (and their receivable tracks), endpointAdded to the others", () => {
    const h = makeRoom();
    const a = join(h, {}, { n: 'a' });
    const [v, s] = [track('v'), track('s', 'audio')];
    h.port.session(a.peer.id).host.published([v, s]);
    a.link.clear();
    const b = join(h, { metadata: { server: 1 } }, { n: 'b' });
    const bView = { id: b.peer.id, type: 'webrtc', metadata: { n: 'b' }, serverMetadata: { server: 1 }, tracks: [] };
    assert.deepEqual(b.link.sent[0], {
      type: 'connected',
      endpointId: b.peer.id,
      endpoints: [bView, { id: a.peer.id, type: 'webrtc', metadata: { n: 'a' }, serverMetadata: null, tracks: [v, s] }],
      iceServers: TURN,
    });
    assert.deepEqual(a.link.sent, [{ type: 'endpointAdded', endpoint: bView }]);
  });

  test("'connected' lists only the tracks the peer may receive; an agent gets no ice servers", () => {
    const h = makeRoom();
    const a = join(h);
    const [v, s] = [track('v'), track('s', 'audio')];
    h.port.session(a.peer.id).host.published([v, s]);
    const deaf = join(h, { permissions: { canSubscribe: false } });
    const { peer, token } = addPeer(h, { type: 'agent', subscribeMode: 'manual' });
    h.room.setSubscriptions(peer.id, { tracks: ['s'] });
    const link = attach(h, peer, token);
    h.room.handle(peer.id, link, { type: 'connect', metadata: null });
    const listed = (l: FakeLink) => {
      const c = l.sent[0];
      assert.equal(c.type, 'connected');
      return c.endpoints.find((e) => e.id === a.peer.id)?.tracks;
    };
    assert.deepEqual(listed(deaf.link), []);
    assert.deepEqual(listed(link), [s]);
    assert.equal((link.sent[0] as { iceServers?: unknown }).iceServers, undefined);
  });

  test('a second connect: the others get endpointUpdated, not endpointAdded', () => {
    const h = makeRoom();
    const a = join(h);
    const b = join(h, {}, { v: 1 });
    a.link.clear();
    b.link.clear();
    h.room.handle(b.peer.id, b.link, { type: 'connect', metadata: { v: 2 } });
    assert.deepEqual(a.link.sent, [
      { type: 'endpointUpdated', endpoint: { id: b.peer.id, type: 'webrtc', metadata: { v: 2 }, serverMetadata: null, tracks: [] } },
    ]);
    assert.deepEqual(b.link.types(), ['connected']);
    assert.equal(h.port.sessionsOf(b.peer.id).length, 1, 'the media session is kept');
  });

  test('updateEndpointMetadata: endpointUpdated to the others and peerMetadataUpdated; unchanged metadata is ignored', () => {
    const h = makeRoom();
    const a = join(h);
    const b = join(h, {}, { v: 1 });
    a.link.clear();
    b.link.clear();
    h.clearNotes();
    h.room.handle(b.peer.id, b.link, { type: 'updateEndpointMetadata', metadata: { v: 2 } });
    assert.deepEqual(a.link.sent, [
      { type: 'endpointUpdated', endpoint: { id: b.peer.id, type: 'webrtc', metadata: { v: 2 }, serverMetadata: null, tracks: [] } },
    ]);
    assert.deepEqual(b.link.sent, []);
    assert.deepEqual(h.notes, [{ type: 'peerMetadataUpdated', roomId: 'room-1', peerId: b.peer.id, peerType: 'webrtc', metadata: { v: 2 } }]);
    h.room.handle(b.peer.id, b.link, { type: 'updateEndpointMetadata', metadata: { v: 2 } });
    assert.equal(a.link.sent.length, 1);
    assert.equal(h.notes.length, 1);
  });

  test("disconnect: endpointRemoved to the others, the socket stays; connect rejoins with endpointAdded", () => {
    const h = makeRoom();
    const a = join(h);
    const b = join(h);
    a.link.clear();
    h.room.handle(b.peer.id, b.link, { type: 'disconnect' });
    assert.deepEqual(a.link.sent, [{ type: 'endpointRemoved', endpointId: b.peer.id }]);
    assert.deepEqual(b.link.closes, []);
    assert.equal(b.peer.status, 'connected');
    assert.ok(h.port.session(b.peer.id).closed);
    h.room.handle(b.peer.id, b.link, { type: 'connect', metadata: null });
    assert.deepEqual(a.link.types(), ['endpointRemoved', 'endpointAdded']);
    assert.equal(h.port.sessionsOf(b.peer.id).length, 2, 'a fresh media session');
  });

  test('detach: endpointRemoved to the others; a stale link neither detaches nor acts', () => {
    const h = makeRoom();
    const a = join(h);
    const b = join(h);
    a.link.clear();
    const stale = new FakeLink();
    h.room.detach(b.peer.id, stale);
    h.room.handle(b.peer.id, stale, { type: 'updateEndpointMetadata', metadata: { x: 1 } });
    assert.deepEqual(a.link.sent, []);
    assert.equal(b.peer.status, 'connected');
    h.room.detach(b.peer.id, b.link);
    assert.deepEqual(a.link.sent, [{ type: 'endpointRemoved', endpointId: b.peer.id }]);
    assert.deepEqual(b.link.closes, [], 'detach follows a close; it does not close');
  });

  test("removePeer closes the link with 1000 'Peer removed' and tells the others", () => {
    const h = makeRoom();
    const a = join(h);
    const b = join(h);
    a.link.clear();
    h.room.removePeer(b.peer.id);
    assert.deepEqual(b.link.closes, [{ code: 1000, reason: 'Peer removed' }]);
    assert.deepEqual(a.link.sent, [{ type: 'endpointRemoved', endpointId: b.peer.id }]);
    assert.ok(h.port.session(b.peer.id).closed);
  });

  test("stop closes every link with 1000 'Room stopped'", () => {
    const h = makeRoom();
    const a = join(h);
    const b = join(h);
    a.link.clear();
    h.room.stop();
    assert.deepEqual(a.link.closes, [{ code: 1000, reason: 'Room stopped' }]);
    assert.deepEqual(b.link.closes, [{ code: 1000, reason: 'Room stopped' }]);
    assert.deepEqual(a.link.sent, []);
  });

  test("a session's failed(reason) closes the link with 1011 'Media failed: <reason>' and keeps the peer", () => {
    const h = makeRoom();
    const a = join(h);
    h.clearNotes();
    h.port.session(a.peer.id).host.failed('worker exited');
    assert.deepEqual(a.link.closes, [{ code: 1011, reason: 'Media failed: worker exited' }]);
    assert.ok(h.room.peers.has(a.peer.id));
    assert.equal(a.peer.status, 'connected');
    assert.deepEqual(h.notes, []);
    h.port.session(a.peer.id).host.failed('x'.repeat(200));
    assert.equal(a.link.closes[1].reason.length, 120);
  });

  test("a session's send() reaches its own peer's link", () => {
    const h = makeRoom();
    const a = join(h);
    a.link.clear();
    h.port.session(a.peer.id).host.send({ type: 'sdpAnswer', sdp: 'v=0', midToTrackId: {} });
    assert.deepEqual(a.link.sent, [{ type: 'sdpAnswer', sdp: 'v=0', midToTrackId: {} }]);
  });

  test('media events are forwarded to the peer session', () => {
    const h = makeRoom({ videoCodec: 'h264' });
    const a = join(h, { enableSimulcast: false, permissions: { canPublish: false } });
    const session = h.port.session(a.peer.id);
    assert.deepEqual(session.options, {
      roomId: 'room-1',
      peerId: a.peer.id,
      roomCodec: 'h264',
      permissions: { canPublish: false, canSubscribe: true, canPublishData: true },
      enableSimulcast: false,
    });
    h.room.handle(a.peer.id, a.link, { type: 'sdpOffer', sdp: 'v=0', trackIdToMetadata: { t: 1 }, midToTrackId: { '0': 't' } });
    h.room.handle(a.peer.id, a.link, { type: 'renegotiateTracks' });
    h.room.handle(a.peer.id, a.link, { type: 'setTargetTrackVariant', trackId: 't', variant: 'm' });
    h.room.handle(a.peer.id, a.link, { type: 'candidate', candidate: 'c' });
    assert.deepEqual(session.calls, [['handleOffer', 'v=0', { t: 1 }, { '0': 't' }], ['requestNegotiation'], ['setTargetVariant', 't', 'm']]);
  });
});

describe('refusals and limits', () => {
  test("attach refuses 'peer not found', 'invalid token' (also a replaced one) and 'peer already connected'", () => {
    const h = makeRoom();
    const { peer, token } = addPeer(h);
    h.clearNotes();
    assert.equal(h.room.attach('nobody', token, new FakeLink()), 'peer not found');
    assert.equal(h.room.attach(peer.id, 'wrong', new FakeLink()), 'invalid token');
    h.room.setPeerToken(peer.id, 'refreshed');
    assert.equal(h.room.attach(peer.id, token, new FakeLink()), 'invalid token');
    assert.deepEqual(h.notes, []);
    assert.equal(peer.status, 'disconnected');
    const link = new FakeLink();
    assert.equal(h.room.attach(peer.id, 'refreshed', link), peer);
    assert.equal(h.room.attach(peer.id, 'refreshed', new FakeLink()), 'peer already connected');
    assert.equal(peer.link, link);
    assert.deepEqual(h.types(), ['peerConnected']);
  });

  test('maxPeers: addPeer beyond it throws the 503-kind error with Fishjam text; disconnected peers count; removal frees a place', () => {
    const h = makeRoom({ roomId: 'r9', maxPeers: 2 });
    const a = addPeer(h);
    join(h);
    assertShoalError(() => h.room.addPeer(a.peer.options), 'unavailable', 'Reached webrtc peers limit in room r9');
    assertShoalError(() => h.room.checkCapacity('agent'), 'unavailable', 'Reached agent peers limit in room r9');
    assert.equal(h.room.peers.size, 2);
    assert.equal(h.types().filter((t) => t === 'peerAdded').length, 2);
    h.room.removePeer(a.peer.id);
    h.room.checkCapacity('webrtc');
    addPeer(h);
  });

  test('unknown peers are the 404 kind: getPeer, removePeer, setSubscriptions (also of an unknown publisher)', () => {
    const h = makeRoom();
    const { peer } = addPeer(h, { subscribeMode: 'manual' });
    assertShoalError(() => h.room.getPeer('ghost'), 'not_found', 'Peer ghost does not exist');
    assertShoalError(() => h.room.removePeer('ghost'), 'not_found', 'Peer ghost does not exist');
    assertShoalError(() => h.room.setSubscriptions('ghost', { peers: [] }), 'not_found', 'Peer ghost does not exist');
    assertShoalError(() => h.room.setSubscriptions(peer.id, { peers: ['ghost'] }), 'not_found', 'Peer ghost does not exist');
    assert.deepEqual([...peer.subscriptions.peers], []);
    const other = addPeer(h).peer;
    assertShoalError(() => h.room.setSubscriptions(peer.id, { peers: [other.id, 'ghost'] }), 'not_found', 'Peer ghost does not exist');
    assert.deepEqual([...peer.subscriptions.peers], [], 'a refused request changes nothing');
  });

  test('callbacks of a session the peer no longer has do nothing (closed on disconnect, or a late worker message)', () => {
    const h = makeRoom();
    const a = join(h);
    const b = join(h);
    const old = h.port.session(a.peer.id);
    h.room.handle(a.peer.id, a.link, { type: 'disconnect' });
    h.room.handle(a.peer.id, a.link, { type: 'connect', metadata: null });
    assert.notEqual(h.port.session(a.peer.id), old, 'the rejoin opened a new session');
    a.link.clear();
    b.link.clear();
    h.clearNotes();
    old.host.published([track('late')]);
    old.host.send({ type: 'error', message: 'late' });
    old.host.voiceActivity('late', 'speech');
    old.host.failed('worker exited');
    assert.deepEqual(h.notes, []);
    assert.deepEqual(a.link.sent, []);
    assert.deepEqual(a.link.closes, []);
    assert.equal(a.peer.tracks.size, 0);
    assert.deepEqual(h.port.session(b.peer.id).callsOf('subscribe'), []);
    h.port.session(a.peer.id).host.published([track('now')]);
    assert.deepEqual(h.types(a.peer.id), ['trackAdded'], 'the current session still publishes');
  });
});
