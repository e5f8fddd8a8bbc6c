// PeerSession.handleOffer on bad input and on track ids (issue 10, items 1 and 5), with real Chromium
// offers, a real Router shared by the sessions of one room, a fake TURN server and no sockets:
// - a malformed offer (a=ssrc-group:FID 1, and a fast-check property over mutated offers and random
//   strings) never throws out of handleOffer: the client gets an `error` event (or an answer);
// - a track id is owned by the peer that published it first: another peer's offer naming it is answered
//   with that m-line inactive and `Track id <id> is already in use`, and the owner's producer stays.
import { after, before, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fixtureText, mutate, mutation, OFFERS } from '../wire/sdp-mutations.js';
import { room, type Room } from './session-harness.js';

const PUBLISH = fixtureText('chromium-publish-receive.sdp'); // 0 audio, 1 video (FID), 2 simulcast: sendonly; 3, 4 recvonly
const MIDS = { '0': 'audio-track', '1': 'video-track', '2': 'simulcast-track' };

/** The m-section of `mid` in an answer. */
function section(sdp: string, mid: string): string {
  const parts = sdp.split(/\r\n(?=m=)/);
  const found = parts.find((p) => p.includes(`\r\na=mid:${mid}\r\n`));
  assert.ok(found, `answer has no m-line ${mid}`);
  return found;
}

let r: Room;
before(async () => {
  // The sessions' negotiation timers never need to fire here; mocked, they keep nothing alive.
  mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  r = await room();
});
after(() => mock.timers.reset());

describe('PeerSession.handleOffer: malformed offers', () => {
  test('a=ssrc-group:FID 1 is answered with an error event, not a throw; nothing is published', () => {
    const { session, host } = r.open('peer-fid');
    const sdp = PUBLISH.replace(/^a=ssrc-group:FID [^\r\n]*$/m, 'a=ssrc-group:FID 1');
    assert.doesNotThrow(() => session.handleOffer(sdp, {}, MIDS));
    assert.equal(host.answers().length, 0);
    assert.equal(host.errors().length, 1);
    assert.match(host.errors()[0]!, /^Invalid SDP offer: .*ssrc-group/);
    assert.deepEqual(host.publishedTracks, []);
    assert.equal(r.router.producer('video-track'), undefined);
    // The session still answers a good offer afterwards.
    session.handleOffer(PUBLISH, {}, MIDS);
    assert.equal(host.answers().length, 1);
    session.close();
  });

  test('property: handleOffer never throws for mutated real offers; it answers or sends an error event', () => {
    fc.assert(
      fc.property(fc.constantFrom(...OFFERS), fc.array(mutation, { minLength: 1, maxLength: 5 }), fc.boolean(), (offer, mutations, twice) => {
        const { session, host } = r.open('peer-fuzz');
        try {
          const sdp = mutate(offer, mutations);
          session.handleOffer(sdp, {}, MIDS);
          if (twice) session.handleOffer(mutate(sdp, mutations.slice(0, 1)), {}, MIDS);
          assert.ok(host.events.some((e) => e.type === 'sdpAnswer' || e.type === 'error'), 'the client hears back');
        } finally {
          session.close();
        }
        assert.equal(r.router.producer('video-track'), undefined, 'closing the session closed its producers');
      }),
      { numRuns: 300 },
    );
  });

  test('property: handleOffer never throws for any string', () => {
    const { session, host } = r.open('peer-strings');
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string().map((s) => `v=0\r\n${s}`), fc.constant(undefined as unknown as string)), (text) => {
        const before = host.events.length;
        session.handleOffer(text, {}, MIDS);
        assert.ok(host.events.length > before);
      }),
      { numRuns: 300 },
    );
    session.close();
  });
});

describe('PeerSession.handleOffer: track ids belong to the peer that published them', () => {
  test("another peer's offer naming a published track id gets that m-line inactive and an error; the owner keeps it", () => {
    const owner = r.open('owner');
    owner.session.handleOffer(PUBLISH, {}, { '1': 'shared-id' });
    const ownerProducer = r.router.producer('shared-id');
    assert.ok(ownerProducer);
    assert.equal(ownerProducer.peerId, 'owner');
    assert.deepEqual(owner.host.publishedTracks.map((t) => t.id), ['shared-id']);

    const impostor = r.open('impostor');
    impostor.session.handleOffer(PUBLISH, {}, { '0': 'impostor-audio', '1': 'shared-id' });
    assert.deepEqual(impostor.host.errors(), ['Track id shared-id is already in use']);
    const [answer] = impostor.host.answers();
    assert.ok(answer);
    assert.match(section(answer.sdp, '1'), /\r\na=inactive(\r\n|$)/);
    assert.match(section(answer.sdp, '0'), /\r\na=recvonly(\r\n|$)/, 'its own track is accepted');
    assert.deepEqual(answer.midToTrackId, { '0': 'impostor-audio' });
    assert.deepEqual(impostor.host.publishedTracks.map((t) => t.id), ['impostor-audio']);
    assert.equal(r.router.producer('shared-id'), ownerProducer, "the owner's producer is kept");

    // A subscriber that arrives later gets the owner's producer.
    const subscriber = r.open('subscriber');
    subscriber.session.subscribe('owner', owner.host.publishedTracks);
    assert.equal(r.router.producer('shared-id')!.peerId, 'owner');

    // The impostor's next offer is refused the same way; the owner re-offering its track is fine.
    impostor.session.handleOffer(PUBLISH, {}, { '0': 'impostor-audio', '1': 'shared-id' });
    assert.equal(impostor.host.errors().length, 2);
    owner.session.handleOffer(PUBLISH, {}, { '1': 'shared-id' });
    assert.deepEqual(owner.host.errors(), []);
    assert.equal(r.router.producer('shared-id'), ownerProducer);

    // Once the owner has left, the id is free again.
    owner.session.close();
    assert.equal(r.router.producer('shared-id'), undefined);
    impostor.session.handleOffer(PUBLISH, {}, { '0': 'impostor-audio', '1': 'shared-id' });
    assert.equal(impostor.host.errors().length, 2);
    assert.equal(r.router.producer('shared-id')!.peerId, 'impostor');
    impostor.session.close();
    subscriber.session.close();
  });

  test("an m-line keeps its track id: a re-offer cannot rename it to another peer's track id", () => {
    const owner = r.open('owner-2');
    owner.session.handleOffer(PUBLISH, {}, { '1': 'owned-video' });
    const ownerProducer = r.router.producer('owned-video');
    const other = r.open('other-2');
    let changed: string[] = [];
    other.host.trackMetadataChanged = (id) => changed.push(id);
    other.session.handleOffer(PUBLISH, {}, { '1': 'other-video' });
    other.session.handleOffer(PUBLISH, { 'owned-video': { hijacked: true } }, { '1': 'owned-video' });
    const answers = other.host.answers();
    assert.deepEqual(answers[1]!.midToTrackId, { '1': 'other-video' });
    assert.deepEqual(changed, [], "no metadata change reported for the other peer's track");
    assert.equal(r.router.producer('owned-video'), ownerProducer);
    assert.equal(r.router.producer('other-video')!.peerId, 'other-2');
    changed = [];
    other.session.handleOffer(PUBLISH, { 'other-video': { v: 2 } }, { '1': 'other-video' });
    assert.deepEqual(changed, ['other-video']);
    owner.session.close();
    other.session.close();
  });

  test('one offer naming the same track id on two m-lines: the second is refused', () => {
    const { session, host } = r.open('twice');
    session.handleOffer(PUBLISH, {}, { '0': 'dup-id', '1': 'dup-id' });
    assert.deepEqual(host.errors(), ['Track id dup-id is already in use']);
    const [answer] = host.answers();
    assert.match(section(answer!.sdp, '1'), /\r\na=inactive(\r\n|$)/);
    assert.deepEqual(answer!.midToTrackId, { '0': 'dup-id' });
    assert.equal(r.router.producer('dup-id')!.kind, 'audio');
    assert.deepEqual(host.publishedTracks.map((t) => t.id), ['dup-id']);
    session.close();
  });
});
