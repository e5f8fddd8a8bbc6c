// Guards who hears about which track: delivery (subscribe/unsubscribe on a subscriber's session, or
// tracksAdded/tracksRemoved on a session-less link), permissions (canSubscribe, manual subscribeMode and
// setSubscriptions), the announcement rule (events about a track reach a subscriber with a session only
// through trackEvent, with the track as it is after the change; a session-less subscriber directly;
// repeats ignored) and that the Room never mutates a TrackInfo it has handed out.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerEndpointEvent } from '../../src/room/endpoint-events.js';
import type { TrackInfo } from '../../src/room/track.js';
import { join, makeRoom, track, type Harness, type Joined } from './fakes.js';

function publish(h: Harness, publisher: Joined, tracks: TrackInfo[]): void {
  h.port.session(publisher.peer.id).host.published(tracks);
}

/** Forgets what every link and session recorded so far. */
function clearAll(h: Harness, ...peers: Joined[]): void {
  for (const p of peers) p.link.clear();
  for (const s of h.port.sessions) s.clear();
  h.clearNotes();
}

describe('track delivery', () => {
  test('published: every other ready peer that may receive them gets subscribe on its session', () => {
    const h = makeRoom();
    const a = join(h);
    const b = join(h);
    const c = join(h);
    const tracks = [track('v'), track('s', 'audio')];
    clearAll(h, a, b, c);
    publish(h, a, tracks);
    assert.deepEqual(h.port.session(b.peer.id).calls, [['subscribe', a.peer.id, tracks]]);
    assert.deepEqual(h.port.session(c.peer.id).calls, [['subscribe', a.peer.id, tracks]]);
    assert.deepEqual(h.port.session(a.peer.id).calls, [], 'a publisher does not receive its own tracks');
    assert.deepEqual([b, c].map((p) => p.link.types()), [[], []], 'the session announces, not the room');
  });

  test("a track id another peer already publishes stays that peer's: the impostor's copy is neither listed nor delivered", () => {
    const h = makeRoom();
    const a = join(h);
    const b = join(h);
    const c = join(h);
    publish(h, a, [track('v')]);
    clearAll(h, a, b, c);
    publish(h, b, [track('v', 'video', { fake: true }), track('own')]);
    assert.deepEqual([...a.peer.tracks.keys()], ['v']);
    assert.deepEqual([...b.peer.tracks.keys()], ['own'], 'only its own track is listed under the impostor');
    assert.deepEqual(h.port.session(c.peer.id).calls, [['subscribe', b.peer.id, [track('own')]]]);
    assert.deepEqual(h.types(), ['trackAdded']);
    publish(h, b, [track('v')]);
    assert.equal(a.peer.tracks.get('v')?.metadata, null, "the owner's track is untouched");
  });

  test('a peer that connects later gets subscribe for the tracks already published', () => {
    const h = makeRoom();
    const a = join(h);
    const tracks = [track('v'), track('s', 'audio')];
    publish(h, a, tracks);
    const late = join(h);
    assert.deepEqual(h.port.session(late.peer.id).callsOf('subscribe'), [['subscribe', a.peer.id, tracks]]);
  });

  test('unpublished and detach: unsubscribe on the subscribers sessions; the publisher session closes', () => {
    const h = makeRoom();
    const a = join(h);
    const b = join(h);
    publish(h, a, [track('v'), track('s', 'audio')]);
    clearAll(h, a, b);
    h.port.session(a.peer.id).host.unpublished(['v', 'unknown']);
    assert.deepEqual(h.port.session(b.peer.id).calls, [['unsubscribe', a.peer.id, ['v']]]);
    assert.deepEqual([...a.peer.tracks.keys()], ['s']);
    assert.deepEqual(h.types(), ['trackRemoved']);
    h.room.detach(a.peer.id, a.link);
    assert.deepEqual(h.port.session(b.peer.id).calls, [
      ['unsubscribe', a.peer.id, ['v']],
      ['unsubscribe', a.peer.id, ['s']],
    ]);
    assert.ok(h.port.session(a.peer.id).closed);
  });

  test('a subscriber without a media session (an agent) gets tracksAdded and tracksRemoved on its link', () => {
    const h = makeRoom();
    const a = join(h);
    const agent = join(h, { type: 'agent' });
    assert.deepEqual(h.port.sessionsOf(agent.peer.id), [], 'agents have no media session');
    const tracks = [track('v'), track('s', 'audio')];
    agent.link.clear();
    publish(h, a, tracks);
    assert.deepEqual(agent.link.sent, [{ type: 'tracksAdded', endpointId: a.peer.id, tracks }]);
    h.port.session(a.peer.id).host.unpublished(['s']);
    assert.deepEqual(agent.link.sent[1], { type: 'tracksRemoved', endpointId: a.peer.id, trackIds: ['s'] });
  });

  test('without hooks.media nobody gets a session', () => {
    const h = makeRoom({}, { media: false });
    const a = join(h);
    join(h);
    assert.equal(h.port.sessions.length, 0);
    assert.equal(a.peer.media, undefined);
    assert.equal((a.link.sent[0] as { iceServers?: unknown }).iceServers, undefined);
  });
});

describe('subscription permissions', () => {
  test('canSubscribe=false: no subscribe on its session, no tracksAdded on its link, then or later', () => {
    const h = makeRoom();
    const a = join(h);
    const deaf = join(h, { permissions: { canSubscribe: false } });
    const deafAgent = join(h, { type: 'agent', permissions: { canSubscribe: false } });
    clearAll(h, a, deaf, deafAgent);
    publish(h, a, [track('v')]);
    const late = join(h, { permissions: { canSubscribe: false } });
    h.room.setSubscriptions(deaf.peer.id, { peers: [a.peer.id] });
    assert.deepEqual(h.port.session(deaf.peer.id).calls, []);
    assert.deepEqual(h.port.session(late.peer.id).calls, []);
    assert.deepEqual(deafAgent.link.types(), ['endpointAdded'], 'the late peer, nothing about tracks');
    assert.deepEqual(deaf.link.types(), ['endpointAdded']);
  });

  test('manual mode gets nothing until setSubscriptions({peers}); later tracks of that peer follow', () => {
    const h = makeRoom();
    const a = join(h);
    const m = join(h, { subscribeMode: 'manual' });
    const [v, s] = [track('v'), track('s', 'audio')];
    clearAll(h, a, m);
    publish(h, a, [v]);
    assert.deepEqual(h.port.session(m.peer.id).calls, []);
    h.room.setSubscriptions(m.peer.id, { peers: [a.peer.id] });
    assert.deepEqual(h.port.session(m.peer.id).calls, [['subscribe', a.peer.id, [v]]]);
    publish(h, a, [s]);
    assert.deepEqual(h.port.session(m.peer.id).calls[1], ['subscribe', a.peer.id, [s]]);
  });

  test('manual mode with setSubscriptions({tracks}) gets exactly those tracks', () => {
    const h = makeRoom();
    const a = join(h);
    const m = join(h, { subscribeMode: 'manual' });
    const agent = join(h, { type: 'agent', subscribeMode: 'manual' });
    const [v, s, w] = [track('v'), track('s', 'audio'), track('w')];
    publish(h, a, [v, s]);
    clearAll(h, a, m, agent);
    h.room.setSubscriptions(m.peer.id, { tracks: ['s', 'w'] });
    h.room.setSubscriptions(agent.peer.id, { tracks: ['v'] });
    assert.deepEqual(h.port.session(m.peer.id).calls, [['subscribe', a.peer.id, [s]]]);
    assert.deepEqual(agent.link.sent, [{ type: 'tracksAdded', endpointId: a.peer.id, tracks: [v] }]);
    publish(h, a, [w, track('x')]);
    assert.deepEqual(h.port.session(m.peer.id).calls[1], ['subscribe', a.peer.id, [w]]);
    assert.equal(agent.link.sent.length, 1);
  });
});

/** A publisher with a simulcast video, a subscriber with a session, one without (agent), one not allowed. */
function announcementRoom() {
  const h = makeRoom();
  const a = join(h);
  const b = join(h);
  const agent = join(h, { type: 'agent' });
  const deaf = join(h, { permissions: { canSubscribe: false } });
  const v = track('v', 'video', { label: 'cam' }, true);
  publish(h, a, [v]);
  const bs = h.port.session(b.peer.id);
  const clear = () => clearAll(h, a, b, agent, deaf);
  clear();
  const quiet = () => {
    assert.deepEqual(bs.calls, []);
    assert.deepEqual(b.link.sent, [], 'never directly on a session-holding link');
    assert.deepEqual(agent.link.sent, []);
    assert.deepEqual(h.port.session(deaf.peer.id).calls, []);
    assert.deepEqual(deaf.link.sent, []);
  };
  /** The event reached b only through trackEvent with `info`, and the agent directly. */
  const told = (info: TrackInfo, event: ServerEndpointEvent) => {
    assert.deepEqual(bs.calls, [['trackEvent', a.peer.id, info, event]]);
    assert.deepEqual(b.link.sent, []);
    assert.deepEqual(agent.link.sent, [event]);
    assert.deepEqual(h.port.session(deaf.peer.id).calls, []);
    assert.deepEqual(deaf.link.sent, []);
    assert.deepEqual(h.port.session(a.peer.id).calls, [], 'not told to the publisher');
  };
  return { h, a, v, clear, quiet, told };
}

describe('the announcement rule', () => {
  test('updateTrackMetadata: trackUpdated through the session with the new metadata, directly to an agent; unchanged is ignored', () => {
    const { h, a, v, clear, quiet, told } = announcementRoom();
    h.room.handle(a.peer.id, a.link, { type: 'updateTrackMetadata', trackId: 'v', metadata: { label: 'screen' } });
    const updated = { ...v, metadata: { label: 'screen' } };
    told(updated, { type: 'trackUpdated', endpointId: a.peer.id, trackId: 'v', metadata: { label: 'screen' } });
    assert.deepEqual(h.notes, [{ type: 'trackMetadataUpdated', roomId: 'room-1', peerId: a.peer.id, track: updated }]);
    clear();
    h.room.handle(a.peer.id, a.link, { type: 'updateTrackMetadata', trackId: 'v', metadata: { label: 'screen' } });
    h.room.handle(a.peer.id, a.link, { type: 'updateTrackMetadata', trackId: 'nope', metadata: 1 });
    quiet();
    assert.deepEqual(h.notes, []);
  });

  test("the session's trackMetadataChanged is announced the same way", () => {
    const { h, a, v, told } = announcementRoom();
    h.port.session(a.peer.id).host.trackMetadataChanged('v', null);
    told({ ...v, metadata: null }, { type: 'trackUpdated', endpointId: a.peer.id, trackId: 'v', metadata: null });
  });

  test('disable/enableTrackVariant: trackEncodingDisabled/Enabled with simulcast.disabled updated; repeats are ignored', () => {
    const { h, a, v, clear, quiet, told } = announcementRoom();
    h.room.handle(a.peer.id, a.link, { type: 'disableTrackVariant', trackId: 'v', variant: 'h' });
    const off = { ...v, simulcast: { ...v.simulcast, disabled: ['h'] } } as TrackInfo;
    told(off, { type: 'trackEncodingDisabled', endpointId: a.peer.id, trackId: 'v', variant: 'h' });
    assert.deepEqual(a.peer.tracks.get('v'), off);
    clear();
    h.room.handle(a.peer.id, a.link, { type: 'disableTrackVariant', trackId: 'v', variant: 'h' });
    quiet();
    h.room.handle(a.peer.id, a.link, { type: 'enableTrackVariant', trackId: 'v', variant: 'h' });
    told(v, { type: 'trackEncodingEnabled', endpointId: a.peer.id, trackId: 'v', variant: 'h' });
    clear();
    h.room.handle(a.peer.id, a.link, { type: 'enableTrackVariant', trackId: 'v', variant: 'h' });
    quiet();
    assert.deepEqual(h.notes, [], 'variant toggles are not reported to the backend');
  });

  test('variant toggles on a track without simulcast are ignored', () => {
    const { h, a, clear, quiet } = announcementRoom();
    h.port.session(a.peer.id).host.published([track('plain')]);
    clear();
    h.room.handle(a.peer.id, a.link, { type: 'disableTrackVariant', trackId: 'plain', variant: 'l' });
    quiet();
  });

  test("the session's voiceActivity: vadNotification through trackEvent with the current track info", () => {
    const { h, a, v, told } = announcementRoom();
    h.port.session(a.peer.id).host.voiceActivity('v', 'speech');
    told(v, { type: 'vadNotification', trackId: 'v', status: 'speech' });
  });

  test('a manual subscriber that did not subscribe hears nothing about the track', () => {
    const h = makeRoom();
    const a = join(h);
    const m = join(h, { subscribeMode: 'manual' });
    publish(h, a, [track('v', 'video', null, true)]);
    h.room.handle(a.peer.id, a.link, { type: 'updateTrackMetadata', trackId: 'v', metadata: 1 });
    h.room.handle(a.peer.id, a.link, { type: 'disableTrackVariant', trackId: 'v', variant: 'm' });
    h.port.session(a.peer.id).host.voiceActivity('v', 'silence');
    assert.deepEqual(h.port.session(m.peer.id).calls, []);
  });
});

describe('TrackInfo values are never mutated', () => {
  test('a metadata change makes a new TrackInfo; the one the session reported is unchanged', () => {
    const { h, a, v } = announcementRoom();
    const before = structuredClone(v);
    h.room.handle(a.peer.id, a.link, { type: 'updateTrackMetadata', trackId: 'v', metadata: { label: 'new' } });
    assert.deepEqual(v, before);
    const now = h.room.getPeer(a.peer.id).tracks.get('v');
    assert.notEqual(now, v);
    assert.deepEqual(now?.metadata, { label: 'new' });
  });

  test('a variant toggle makes a new TrackInfo and a new disabled list', () => {
    const { h, a, v } = announcementRoom();
    const before = structuredClone(v);
    h.room.handle(a.peer.id, a.link, { type: 'disableTrackVariant', trackId: 'v', variant: 'l' });
    const off = a.peer.tracks.get('v')!;
    assert.deepEqual(v, before);
    assert.notEqual(off, v);
    assert.notEqual(off.simulcast, v.simulcast);
    assert.deepEqual(off.simulcast.disabled, ['l']);
    const offBefore = structuredClone(off);
    h.room.handle(a.peer.id, a.link, { type: 'enableTrackVariant', trackId: 'v', variant: 'l' });
    assert.deepEqual(off, offBefore);
    assert.deepEqual(a.peer.tracks.get('v')?.simulcast.disabled, []);
  });
});
