// The ts-client 0.5.0 negotiation as raw JSON media events, driven by a recorded Chromium offer (no
// browser needed): offerData with integrated TURN servers, the SDP answer and candidate, tracks
// published to the others (tracksAdded → offerData), track metadata, idempotent encoding toggles,
// ICE restart on the next round, changes to a track while a subscriber's tracksAdded is held, and invalid
// SDP answered with an error without disturbing others.
// Every test runs twice: with the SFU in the main thread and in a media worker (FJ_MEDIA_WORKERS=1).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { api, startShoal, type TestShoal } from '../helpers/server.js';
import { NotificationLog, RawPeer } from '../helpers/raw-peer.js';

const OFFER = readFileSync(new URL('../media/wire/fixtures/chromium-publish-receive.sdp', import.meta.url), 'utf8');
const WAIT = 5000;

let s: TestShoal;
let log: NotificationLog;


async function setup(): Promise<{ roomId: string; a: RawPeer; b: RawPeer; aId: string; bId: string }> {
  const r = await api(s, 'POST', '/room', {});
  const roomId = r.json.data.room.id;
  const pa = await api(s, 'POST', `/room/${roomId}/peer`, { type: 'webrtc' });
  const pb = await api(s, 'POST', `/room/${roomId}/peer`, { type: 'webrtc' });
  const a = new RawPeer(s.wsUrl);
  const b = new RawPeer(s.wsUrl);
  await a.join(pa.json.data.token, { name: 'A' });
  await b.join(pb.json.data.token, { name: 'B' });
  return { roomId, a, b, aId: pa.json.data.peer.id, bId: pb.json.data.peer.id };
}

function sdpOffer(peer: RawPeer, sdp: string, midToTrackId: Record<string, string>, metadata: Record<string, unknown> = {}): void {
  peer.sendEvent('custom', {
    type: 'sdpOffer',
    data: { sdpOffer: { type: 'offer', sdp }, trackIdToTrackMetadata: metadata, trackIdToTrackBitrates: {}, midToTrackId },
  });
}

function customEvents(peer: RawPeer, type: string): any[] {
  return peer.events.filter((e) => e.type === 'custom' && e.data.type === type).map((e) => e.data.data);
}

async function nextCustom(peer: RawPeer, type: string, count: number): Promise<any> {
  await peer.nextEvent('custom', WAIT, () => customEvents(peer, type).length >= count);
  return customEvents(peer, type)[count - 1];
}

for (const [where, env] of [
  ['main thread', {}],
  ['media worker', { FJ_MEDIA_WORKERS: '1' }],
] as const) describe(`ts-client 0.5.0 negotiation (raw media events), SFU in a ${where}`, () => {
  before(async () => {
    s = await startShoal(env);
    log = new NotificationLog(s.shoal.bus);
  });
  after(async () => {
    log.stop();
    await s.stop();
  });

  test('publish: offerData, answer, candidate; others get tracksAdded then offerData; notifications', async () => {
    const { roomId, a, b, aId } = await setup();
    a.sendEvent('custom', { type: 'renegotiateTracks' });
    const offerData = await nextCustom(a, 'offerData', 1);
    assert.deepEqual(offerData.tracksTypes, { audio: 0, video: 0 });
    assert.equal(offerData.integratedTurnServers.length, 2);
    const [udp, tcp] = offerData.integratedTurnServers;
    assert.equal(udp.transport, 'udp');
    assert.equal(tcp.transport, 'tcp');
    for (const t of [udp, tcp]) {
      assert.equal(t.serverAddr, '127.0.0.1');
      assert.equal(typeof t.serverPort, 'number');
      assert.match(t.username, /^\d+:/);
      assert.ok(t.password.length > 10);
    }

    const ids = { '0': `${aId}:audio`, '1': `${aId}:video`, '2': `${aId}:simulcast` };
    sdpOffer(a, OFFER, ids, { [ids['1']]: { kind: 'cam' } });
    const answer = await nextCustom(a, 'sdpAnswer', 1);
    assert.equal(answer.type, 'answer');
    assert.deepEqual(answer.midToTrackId, ids);
    assert.match(answer.sdp, /a=ice-lite/);
    assert.match(answer.sdp, /a=setup:passive/);
    assert.match(answer.sdp, /a=group:BUNDLE 0 1 2 3 4/);
    assert.match(answer.sdp, /a=simulcast:recv l;m;h/);
    const sections = answer.sdp.split('m=').slice(1);
    assert.deepEqual(
      sections.map((sec: string) => /a=(sendonly|recvonly|inactive|sendrecv)/.exec(sec)?.[1]),
      ['recvonly', 'recvonly', 'recvonly', 'inactive', 'inactive'],
    );
    const candidate = await nextCustom(a, 'candidate', 1);
    assert.match(candidate.candidate, /^candidate:1 1 UDP \d+ 127\.0\.0\.1 \d+ typ host$/);
    assert.equal(candidate.sdpMLineIndex, 0);
    // the answer comes before the candidate
    const order = a.events.filter((e) => e.type === 'custom').map((e) => e.data.type);
    assert.ok(order.indexOf('sdpAnswer') < order.indexOf('candidate'));

    const added = await b.nextEvent('tracksAdded');
    assert.equal(added.data.endpointId, aId);
    assert.deepEqual(Object.keys(added.data.tracks).sort(), Object.values(ids).sort());
    assert.deepEqual(added.data.tracks[ids['2']].simulcastConfig, { enabled: true, activeEncodings: ['l', 'm', 'h'], disabledEncodings: [] });
    assert.deepEqual(added.data.tracks[ids['1']], { metadata: { kind: 'cam' }, simulcastConfig: { enabled: false, activeEncodings: ['h'], disabledEncodings: [] } });
    const bOffer = await nextCustom(b, 'offerData', 1);
    assert.deepEqual(bOffer.tracksTypes, { audio: 1, video: 2 });
    const trackAdded = log.items.filter((n) => n.type === 'trackAdded' && n.roomId === roomId);
    assert.equal(trackAdded.length, 3);

    const room = await api(s, 'GET', `/room/${roomId}`);
    const aJson = room.json.data.peers.find((p: any) => p.id === aId);
    assert.deepEqual(aJson.tracks.map((t: any) => t.type).sort(), ['audio', 'video', 'video']);
    a.close();
    b.close();
  });

  test('track metadata, idempotent encoding toggles, and ICE restart on the next round', async () => {
    const { roomId, a, b, aId } = await setup();
    a.sendEvent('custom', { type: 'renegotiateTracks' });
    await nextCustom(a, 'offerData', 1);
    const ids = { '0': `${aId}:a`, '1': `${aId}:v`, '2': `${aId}:s` };
    sdpOffer(a, OFFER, ids);
    const first = await nextCustom(a, 'sdpAnswer', 1);
    await b.nextEvent('tracksAdded');

    a.sendEvent('updateTrackMetadata', { trackId: ids['1'], trackMetadata: { muted: true } });
    const updated = await b.nextEvent('trackUpdated');
    assert.deepEqual(updated.data, { endpointId: aId, trackId: ids['1'], metadata: { muted: true } });
    await log.waitFor((n) => n.type === 'trackMetadataUpdated' && n.roomId === roomId && n.track.id === ids['1']);

    for (let i = 0; i < 3; i++) a.sendEvent('disableTrackEncoding', { trackId: ids['2'], encoding: 'h' });
    a.sendEvent('enableTrackEncoding', { trackId: ids['2'], encoding: 'h' });
    a.sendEvent('enableTrackEncoding', { trackId: ids['2'], encoding: 'h' });
    await b.nextEvent('trackEncodingEnabled');
    assert.equal(b.events.filter((e) => e.type === 'trackEncodingDisabled').length, 1);
    assert.equal(b.events.filter((e) => e.type === 'trackEncodingEnabled').length, 1);

    // Next round: the client restarts ICE (new ufrag); Shoal answers with new credentials, same fingerprint.
    a.sendEvent('custom', { type: 'renegotiateTracks' });
    await a.nextEvent("custom", 10_000, () => customEvents(a, "offerData").length >= 2); // the unconnected first round ends by its 5 s settle timeout
    sdpOffer(a, OFFER.replace(/a=ice-ufrag:\S+/g, 'a=ice-ufrag:NEWU').replace(/a=ice-pwd:\S+/g, 'a=ice-pwd:newpasswordnewpassword12'), ids);
    const second = await nextCustom(a, 'sdpAnswer', 2);
    const ufrag = (sdp: string) => /a=ice-ufrag:(\S+)/.exec(sdp)![1];
    const fingerprint = (sdp: string) => /a=fingerprint:(.+)/.exec(sdp)![1];
    assert.notEqual(ufrag(second.sdp), ufrag(first.sdp));
    assert.equal(fingerprint(second.sdp), fingerprint(first.sdp));
    a.close();
    b.close();
  });

  test('a track change made while the subscriber\'s tracksAdded is still held reaches it in that tracksAdded', async () => {
    const { roomId, a, b, aId } = await setup();
    // B is mid-round (offerData sent, no answer yet): what it is subscribed to now waits for its next round.
    b.sendEvent('custom', { type: 'renegotiateTracks' });
    await nextCustom(b, 'offerData', 1);
    a.sendEvent('custom', { type: 'renegotiateTracks' });
    await nextCustom(a, 'offerData', 1);
    const ids = { '0': `${aId}:a`, '1': `${aId}:v`, '2': `${aId}:s` };
    sdpOffer(a, OFFER, ids, { [ids['1']]: { kind: 'cam' } });
    await log.waitFor((n) => n.type === 'trackAdded' && n.roomId === roomId && n.track.id === ids['2']);
    a.sendEvent('updateTrackMetadata', { trackId: ids['1'], trackMetadata: { kind: 'screen' } });
    a.sendEvent('disableTrackEncoding', { trackId: ids['2'], encoding: 'h' });
    await log.waitFor((n) => n.type === 'trackMetadataUpdated' && n.roomId === roomId && n.track.id === ids['1']);
    assert.equal(b.events.filter((e) => e.type === 'tracksAdded').length, 0, 'tracksAdded is held while B is mid-round');
    // B's round ends (an offer it cannot answer), so the next one starts with the held tracksAdded.
    sdpOffer(b, 'v=0\r\nnot sdp\r\n', {});
    const added = await b.nextEvent('tracksAdded');
    assert.deepEqual(added.data.tracks[ids['1']].metadata, { kind: 'screen' }, 'the metadata as it is now, not as it was published');
    assert.deepEqual(added.data.tracks[ids['2']].simulcastConfig.disabledEncodings, ['h']);
    const about = ['trackUpdated', 'trackEncodingDisabled'];
    const firstAdded = b.events.findIndex((e) => e.type === 'tracksAdded');
    assert.ok(!b.events.slice(0, firstAdded).some((e) => about.includes(e.type)), 'no event about a track before its tracksAdded');
    a.close();
    b.close();
  });

  test('invalid SDP gets an error event for that peer only; the others are undisturbed', async () => {
    const { roomId, a, b, bId } = await setup();
    a.sendEvent('custom', { type: 'renegotiateTracks' });
    await nextCustom(a, 'offerData', 1);
    sdpOffer(a, 'v=0\r\nthis is not sdp\r\n', { '0': 'x' });
    const err = await a.nextEvent('error');
    assert.match(err.data.message, /^Invalid SDP offer: /);
    assert.equal(a.closed, undefined);
    // An offer before any offerData is accepted too (served in order), and garbage events are ignored.
    b.sendEvent('custom', { type: 'sdpOffer', data: { nope: true } });
    sdpOffer(b, OFFER, {});
    const answer = await nextCustom(b, 'sdpAnswer', 1);
    assert.deepEqual(answer.midToTrackId, {});
    assert.ok(!b.events.some((e) => e.type === 'error'));
    const room = await api(s, 'GET', `/room/${roomId}`);
    assert.ok(room.json.data.peers.every((p: any) => p.status === 'connected'), JSON.stringify(room.json.data.peers));
    assert.equal(room.json.data.peers.find((p: any) => p.id === bId).tracks.length, 0);
    a.close();
    b.close();
  });

  test('an offerData left unanswered does not block later rounds (10 s offer timeout)', { timeout: 30_000 }, async () => {
    const { a } = await setup();
    a.sendEvent('custom', { type: 'renegotiateTracks' });
    await nextCustom(a, 'offerData', 1);
    a.sendEvent('custom', { type: 'renegotiateTracks' }); // coalesced while the first round is open
    const started = Date.now();
    await a.nextEvent('custom', 15_000, () => customEvents(a, 'offerData').length >= 2);
    assert.ok(Date.now() - started >= 9_000, 'the second round waited for the first to time out');
    a.close();
  });

  test('an offer Shoal cannot answer (a line without codecs) gets an error; a later valid offer works', async () => {
    const { roomId, a, b, aId } = await setup();
    const sections = OFFER.split(/(?=^m=)/m);
    sections[4] = sections[4]!
      .replace(/^m=audio 9 UDP\/TLS\/RTP\/SAVPF .*$/m, 'm=audio 9 UDP/TLS/RTP/SAVPF 120')
      .split(/\r?\n/)
      .filter((l) => !/^a=(rtpmap|fmtp|rtcp-fb):/.test(l))
      .join('\r\n');
    const ids = { '0': `${aId}:a`, '1': `${aId}:v`, '2': `${aId}:s` };
    sdpOffer(a, sections.join(''), ids);
    const err = await a.nextEvent('error');
    assert.match(err.data.message, /^Invalid SDP offer: /);
    assert.equal(customEvents(a, 'sdpAnswer').length, 0);
    sdpOffer(a, OFFER, ids);
    const answer = await nextCustom(a, 'sdpAnswer', 1);
    assert.deepEqual(answer.midToTrackId, ids);
    const added = await b.nextEvent('tracksAdded');
    assert.equal(Object.keys(added.data.tracks).length, 3);
    assert.equal(log.items.filter((n) => n.type === 'trackAdded' && n.roomId === roomId).length, 3);
    a.close();
    b.close();
  });
});
