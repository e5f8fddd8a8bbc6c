// The WHIP/WHEP routes' SDP helpers, without a server: the answer gets the server's candidate and
// end-of-candidates in every accepted m-section (not in rejected ones), offers are read for kind, mid and
// direction within their bounds, and sendrecv becomes the role's one-way direction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpOfferLink, OfferRefused, withCandidate } from '../../src/api/live/http-offer-link.js';
import { MAX_OFFER_SECTIONS, OfferError, offerLines, oneWay } from '../../src/api/live/offer-lines.js';

const ANSWER = ['v=0', 'o=- 1 1 IN IP4 0.0.0.0', 's=-', 't=0 0', 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:0', 'm=audio 0 UDP/TLS/RTP/SAVPF 111', 'a=mid:1', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:2', ''].join('\r\n');

test('withCandidate: the candidate closes every accepted section, none in a rejected one', () => {
  const out = withCandidate(ANSWER, 'candidate:1 1 UDP 2015363327 10.0.0.1 40000 typ host').split('\r\n');
  const at = (mid: string) => out.indexOf(`a=mid:${mid}`);
  assert.deepEqual(out.slice(at('0') + 1, at('0') + 3), ['a=candidate:1 1 UDP 2015363327 10.0.0.1 40000 typ host', 'a=end-of-candidates']);
  assert.equal(out[at('1') + 1], 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'rejected section: nothing added');
  assert.deepEqual(out.slice(at('2') + 1), ['a=candidate:1 1 UDP 2015363327 10.0.0.1 40000 typ host', 'a=end-of-candidates', '']);
});

test('offerLines and oneWay', () => {
  const offer = ['v=0', 's=-', 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:v', 'a=sendrecv', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:a', 'a=recvonly', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=mid:d', ''].join('\r\n');
  assert.deepEqual(offerLines(offer), [
    { kind: 'video', mid: 'v', direction: 'sendrecv' },
    { kind: 'audio', mid: 'a', direction: 'recvonly' },
    { kind: 'application', mid: 'd', direction: 'sendrecv' },
  ]);
  assert.deepEqual(offerLines(oneWay(offer, 'sendonly')).map((l) => l.direction), ['sendonly', 'recvonly', 'sendrecv']);
  assert.throws(() => offerLines('hello'), OfferError);
  assert.throws(() => offerLines(`v=0\r\n${'m=audio 9 RTP/AVP 0\r\n'.repeat(MAX_OFFER_SECTIONS + 1)}`), /more than 16 m-lines/);
  assert.throws(() => offerLines(`v=0\r\na=x:${'y'.repeat(70_000)}\r\n`), /larger than/);
});

test('HttpOfferLink: answer + candidate settle it; an error or a close before that refuses; later events are dropped', async () => {
  const ok = new HttpOfferLink(1000);
  ok.send({ type: 'offerData', tracksTypes: { audio: 1, video: 1 }, turnServers: [] });
  ok.send({ type: 'sdpAnswer', sdp: ANSWER, midToTrackId: {} });
  ok.send({ type: 'candidate', candidate: 'candidate:1 1 UDP 1 10.0.0.1 1 typ host', sdpMLineIndex: 0, sdpMid: '0' });
  ok.send({ type: 'error', message: 'late' });
  assert.match(await ok.answer, /a=candidate:1 1 UDP 1 10\.0\.0\.1 1 typ host\r\na=end-of-candidates/);

  const bad = new HttpOfferLink(1000);
  bad.send({ type: 'error', message: 'Invalid SDP offer: no ICE credentials' });
  await assert.rejects(bad.answer, (err: unknown) => err instanceof OfferRefused && /no ICE credentials/.test((err as Error).message));

  const closed = new HttpOfferLink(1000);
  closed.close(1000, 'Room stopped');
  await assert.rejects(closed.answer, /session closed: Room stopped/);
  assert.deepEqual(closed.closed, { code: 1000, reason: 'Room stopped' });

  const slow = new HttpOfferLink(20);
  const keepAlive = setTimeout(() => {}, 1000); // the link's own timer is unref'd
  await assert.rejects(slow.answer, /no SDP answer in time/);
  clearTimeout(keepAlive);
});
