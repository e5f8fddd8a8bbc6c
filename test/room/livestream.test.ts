// The room's Livestream with a fake media port: one streamer (a second is refused), viewers only once the
// streamer has published (each subscribed to its tracks, bounded in number), the notifications in order,
// the sessions' own track changes followed, and a streamer's end, a session failure and the room's stop
// ending everyone; they keep the peerless countdown off. Streamers and viewers are never room peers.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LIVESTREAM_IDLE_TIMEOUT_MS, MAX_LIVESTREAM_VIEWERS, type LiveEndpoint } from '../../src/room/livestream.js';
import { FakeLink, makeRoom, track, type Harness } from './fakes.js';

/** Connects a streamer (or viewer) whose session then answers its offer, unless `answer` is false. */
function streamerOf(h: Harness, answer = true): { endpoint: LiveEndpoint; link: FakeLink } {
  const link = new FakeLink();
  const endpoint = h.room.livestream.connectStreamer(link);
  if (typeof endpoint === 'string') throw new Error(endpoint);
  if (answer) h.port.session(endpoint.id).host.send({ type: 'sdpAnswer', sdp: 'v=0', midToTrackId: {} });
  return { endpoint, link };
}

function viewerOf(h: Harness, answer = true): { endpoint: LiveEndpoint; link: FakeLink } {
  const link = new FakeLink();
  const endpoint = h.room.livestream.connectViewer(link);
  if (typeof endpoint === 'string') throw new Error(endpoint);
  if (answer) h.port.session(endpoint.id).host.send({ type: 'sdpAnswer', sdp: 'v=0', midToTrackId: {} });
  return { endpoint, link };
}

describe('livestream', () => {
  test('one streamer: its session publishes only, a second streamer is refused, a viewer must wait for tracks', () => {
    const h = makeRoom({ roomType: 'livestream' });
    h.clearNotes();
    assert.equal(h.room.livestream.connectViewer(new FakeLink()), 'stream not found');
    const { endpoint } = streamerOf(h);
    const session = h.port.session(endpoint.id);
    assert.deepEqual(session.options.permissions, { canPublish: true, canSubscribe: false, canPublishData: false });
    assert.equal(session.options.enableSimulcast, false);
    assert.equal((session.options as { idleTimeoutMs?: number }).idleTimeoutMs, LIVESTREAM_IDLE_TIMEOUT_MS, 'a silent client is ended');
    assert.equal(h.room.livestream.connectStreamer(new FakeLink()), 'streamer already connected');
    assert.equal(h.room.livestream.connectViewer(new FakeLink()), 'stream not found', 'no tracks published yet');
    assert.deepEqual(h.room.toJSON().peers, [], 'not a room peer');
    assert.deepEqual(h.types(), ['streamConnected', 'streamerConnected']);
  });

  test('viewers are subscribed to the streamer\'s tracks; notifications follow the sessions; the streamer\'s end ends the viewers', () => {
    const h = makeRoom({ roomType: 'livestream' });
    const { endpoint: streamer, link: streamerLink } = streamerOf(h);
    const tracks = [track(`${streamer.id}:0`, 'video'), track(`${streamer.id}:1`, 'audio')];
    h.port.session(streamer.id).host.published(tracks);
    h.port.session(streamer.id).host.published([tracks[0]!]); // a repeat is not announced twice
    const a = viewerOf(h);
    const b = viewerOf(h);
    const sa = h.port.session(a.endpoint.id);
    assert.deepEqual(sa.options.permissions, { canPublish: false, canSubscribe: true, canPublishData: false });
    assert.deepEqual(sa.callsOf('subscribe'), [['subscribe', streamer.id, tracks]]);
    assert.equal(h.room.livestream.viewerCount, 2);

    // A session's events go to its own link only.
    sa.host.send({ type: 'candidate', candidate: 'candidate:1', sdpMLineIndex: 0, sdpMid: '0' });
    assert.deepEqual(a.link.types(), ['sdpAnswer', 'candidate']);
    assert.deepEqual(b.link.types(), ['sdpAnswer']);

    // The streamer stops publishing its audio: viewers unsubscribe, the backend hears trackRemoved.
    h.port.session(streamer.id).host.unpublished([tracks[1]!.id]);
    assert.deepEqual(sa.callsOf('unsubscribe'), [['unsubscribe', streamer.id, [tracks[1]!.id]]]);

    assert.equal(h.room.livestream.disconnect(a.endpoint.id), true);
    assert.equal(h.room.livestream.disconnect(a.endpoint.id), false, 'already gone');
    assert.ok(sa.closed);
    assert.equal(h.room.livestream.disconnect(streamer.id), true);
    assert.ok(h.port.session(b.endpoint.id).closed, 'the remaining viewer ends with the stream');
    assert.deepEqual(b.link.closes, [{ code: 1000, reason: 'Streamer disconnected' }]);
    assert.deepEqual(streamerLink.closes, [{ code: 1000, reason: 'Stream ended' }]);
    assert.equal(h.room.livestream.viewerCount, 0);
    assert.equal(h.room.livestream.streamerConnected, false);
    assert.deepEqual(
      h.notes.filter((n) => n.type !== 'roomCreated').map((n) => n.type),
      ['streamConnected', 'streamerConnected', 'trackAdded', 'trackAdded', 'viewerConnected', 'viewerConnected', 'trackRemoved', 'viewerDisconnected', 'viewerDisconnected', 'trackRemoved', 'streamerDisconnected', 'streamDisconnected'],
    );
    // A late event of a closed session changes nothing.
    h.port.session(streamer.id).host.published([track('late', 'video')]);
    assert.equal(h.notes.filter((n) => n.type === 'trackAdded').length, 2);
    // A new streamer may connect now.
    assert.notEqual(typeof h.room.livestream.connectStreamer(new FakeLink()), 'string');
  });

  test('a failed session ends its endpoint; the room\'s stop ends everyone before RoomDeleted; the viewer bound', () => {
    const h = makeRoom({ roomType: 'livestream' });
    const { endpoint: streamer } = streamerOf(h);
    h.port.session(streamer.id).host.published([track('v', 'video')]);
    const a = viewerOf(h);
    h.port.session(a.endpoint.id).host.failed('worker exited');
    assert.equal(h.room.livestream.viewerCount, 0);
    assert.match(a.link.closes[0]!.reason, /^Media failed: worker exited/);

    for (let i = 0; i < MAX_LIVESTREAM_VIEWERS; i++) viewerOf(h);
    assert.equal(h.room.livestream.connectViewer(new FakeLink()), 'too many viewers');
    h.clearNotes();
    h.room.stop();
    const types = h.notes.map((n) => n.type);
    assert.equal(types.filter((t) => t === 'viewerDisconnected').length, MAX_LIVESTREAM_VIEWERS);
    assert.deepEqual(types.slice(-4), ['trackRemoved', 'streamerDisconnected', 'streamDisconnected', 'roomDeleted']);
    assert.equal(h.room.livestream.connectStreamer(new FakeLink()), 'media unavailable', 'a stopped room takes nobody');
  });

  test('a streamer or viewer keeps the peerless countdown off; once they leave it runs again', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const h = makeRoom({ roomType: 'livestream', peerlessPurgeTimeout: 10 });
    t.mock.timers.tick(5000);
    const { endpoint } = streamerOf(h);
    t.mock.timers.tick(20_000);
    assert.deepEqual(h.purges, [], 'not purged while streaming');
    h.room.livestream.disconnect(endpoint.id);
    t.mock.timers.tick(9000);
    assert.deepEqual(h.purges, []);
    t.mock.timers.tick(1000);
    assert.deepEqual(h.purges, [h.room], 'purged peerlessPurgeTimeout after the stream ended');
  });

  test('an endpoint whose offer was never answered (refused) is never announced, nor its end', () => {
    const h = makeRoom({ roomType: 'livestream' });
    h.clearNotes();
    const { endpoint } = streamerOf(h, false);
    h.port.session(endpoint.id).host.send({ type: 'error', message: 'Invalid SDP offer' });
    h.room.livestream.disconnect(endpoint.id);
    assert.deepEqual(h.types(), []);
    const { endpoint: streamer } = streamerOf(h);
    h.port.session(streamer.id).host.published([track('v', 'video')]);
    const viewer = viewerOf(h, false);
    h.room.livestream.disconnect(viewer.endpoint.id);
    assert.deepEqual(h.types(), ['streamConnected', 'streamerConnected', 'trackAdded']);
  });

  test('without a media plane nobody connects', () => {
    const h = makeRoom({}, { media: false });
    assert.equal(h.room.livestream.connectStreamer(new FakeLink()), 'media unavailable');
  });
});
