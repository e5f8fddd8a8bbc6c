// TrackAnnouncements: tracksAdded/tracksRemoved are held until a round flushes them, in order; knows()
// follows what was flushed; an event about a track is folded into its held tracksAdded (nothing sent),
// sent when the client knows the track, and dropped when the track's next held announcement removes it
// or when the client has never heard of it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerEndpointEvent } from '../../../src/room/endpoint-events.js';
import type { TrackInfo } from '../../../src/room/track.js';
import { TrackAnnouncements, type Announcement } from '../../../src/media/session/track-announcements.js';

const track = (id: string, metadata: unknown = null): TrackInfo => ({
  id,
  type: 'video',
  metadata,
  simulcast: { enabled: false, active: ['h'], disabled: [] },
});
const added = (...tracks: TrackInfo[]): Announcement => ({ type: 'tracksAdded', endpointId: 'pub', tracks });
const removed = (...trackIds: string[]): Announcement => ({ type: 'tracksRemoved', endpointId: 'pub', trackIds });
const updated = (t: TrackInfo): ServerEndpointEvent => ({ type: 'trackUpdated', endpointId: 'pub', trackId: t.id, metadata: t.metadata });

function setup() {
  const a = new TrackAnnouncements();
  const flushed: Announcement[] = [];
  const sent: ServerEndpointEvent[] = [];
  return {
    a,
    flushed,
    sent,
    flush: () => a.flush((e) => flushed.push(e)),
    event: (t: TrackInfo, e: ServerEndpointEvent = updated(t)) => a.trackEvent(t, e, (x) => sent.push(x)),
  };
}

describe('TrackAnnouncements', () => {
  test('announcements are held until flush, which sends them once, in order', () => {
    const { a, flushed, flush } = setup();
    const first = added(track('t1'));
    const second = removed('t0');
    const third = added(track('t2'), track('t3'));
    a.hold(first);
    a.hold(second);
    a.hold(third);
    assert.equal(flushed.length, 0);
    assert.equal(a.knows('t1'), false, 'a held tracksAdded announces nothing yet');
    flush();
    assert.deepEqual(flushed, [first, second, third]);
    assert.equal(flushed[0], first, 'the held event itself goes out');
    flush();
    assert.equal(flushed.length, 3, 'a second flush has nothing left to send');
  });

  test('knows() is true after a flushed tracksAdded and false again after a flushed tracksRemoved', () => {
    const { a, flush } = setup();
    a.hold(added(track('t1'), track('t2')));
    flush();
    assert.equal(a.knows('t1'), true);
    assert.equal(a.knows('t2'), true);
    assert.equal(a.knows('t3'), false);
    a.hold(removed('t1'));
    assert.equal(a.knows('t1'), true, 'a held tracksRemoved has not told the client yet');
    flush();
    assert.equal(a.knows('t1'), false);
    assert.equal(a.knows('t2'), true);
    a.hold(added(track('t1')));
    flush();
    assert.equal(a.knows('t1'), true, 'announced again');
  });

  test('an event about a track in a held tracksAdded replaces its info there and sends nothing', () => {
    const { a, flushed, sent, flush, event } = setup();
    const t2 = track('t2');
    a.hold(added(track('t1', { v: 1 }), t2));
    const newer = track('t1', { v: 2 });
    event(newer);
    assert.deepEqual(sent, [], 'no event may reach the client before the track\'s tracksAdded');
    flush();
    assert.equal(flushed.length, 1);
    const out = flushed[0]!;
    assert.equal(out.type, 'tracksAdded');
    if (out.type !== 'tracksAdded') return;
    assert.equal(out.tracks[0], newer, 'the flushed tracksAdded carries the new info');
    assert.equal(out.tracks[1], t2, 'other tracks keep theirs');
    assert.equal(a.knows('t1'), true);
  });

  test('a track removed and added again while the client knows it: the event folds into the new tracksAdded', () => {
    const { a, flushed, sent, flush, event } = setup();
    a.hold(added(track('t1', 'old')));
    flush();
    a.hold(removed('t1'));
    a.hold(added(track('t1', 'readded')));
    const newer = track('t1', 'changed');
    event(newer);
    assert.deepEqual(sent, []);
    flush();
    const last = flushed.at(-1)!;
    assert.ok(last.type === 'tracksAdded' && last.tracks[0] === newer);
  });

  test('an event about an announced track is sent', () => {
    const { a, sent, flush, event } = setup();
    a.hold(added(track('t1')));
    flush();
    const e: ServerEndpointEvent = { type: 'trackEncodingDisabled', endpointId: 'pub', trackId: 't1', variant: 'h' };
    event(track('t1'), e);
    assert.equal(sent.length, 1);
    assert.equal(sent[0], e);
    a.hold(added(track('t9')));
    event(track('t1'));
    assert.equal(sent.length, 2, 'a held tracksAdded of another track does not hold it back');
  });

  test('an event about a track whose next held announcement removes it is dropped', () => {
    const { a, sent, flushed, flush, event } = setup();
    a.hold(added(track('t1'), track('t2')));
    flush();
    a.hold(removed('t1'));
    event(track('t1', 'changed'));
    assert.deepEqual(sent, [], 'the client is about to forget the track');
    event(track('t2', 'changed'));
    assert.equal(sent.length, 1, 't2 is not being removed');
    flush();
    assert.deepEqual(flushed.at(-1), removed('t1'));
  });

  test('a track added then removed, both held: the event is dropped, not folded', () => {
    const { a, sent, flushed, flush, event } = setup();
    const original = track('t1', 'orig');
    a.hold(added(original));
    a.hold(removed('t1'));
    event(track('t1', 'changed'));
    assert.deepEqual(sent, []);
    flush();
    assert.ok(flushed[0]!.type === 'tracksAdded' && flushed[0]!.tracks[0] === original);
  });

  test('an event about a track the client never heard of is dropped', () => {
    const { a, sent, flushed, flush, event } = setup();
    event(track('t1'));
    const other = track('t2');
    a.hold(added(other));
    event(track('t1'));
    assert.deepEqual(sent, []);
    flush();
    assert.ok(flushed[0]!.type === 'tracksAdded' && flushed[0]!.tracks.length === 1 && flushed[0]!.tracks[0] === other);
    event(track('t1'));
    assert.deepEqual(sent, []);
  });
});
