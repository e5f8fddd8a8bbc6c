// OutboundTracks on a real Chromium offer's recvonly m-lines (fixtures/chromium-publish-receive.sdp,
// audio mid 3, video mid 4): add() takes only tracks whose producer is in the router and that are not
// already received; count(kind) counts slots; answerRecvonly binds a slot to the m-line, makes a consumer
// through the router with the subscriber's payload type and extension ids and answers sendonly with the
// consumer's SSRC and the CNAME; remove() and close() close consumers.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OutboundTracks } from '../../../src/media/session/outbound-tracks.js';
import { emptyMediaStats } from '../../../src/media/sfu/media-stats.js';
import { Router } from '../../../src/media/sfu/router.js';
import type { TrackInfo, TrackKind } from '../../../src/room/track.js';
import { getHeaderExtension } from '../../../src/media/wire/rtp.js';
import { buildAnswer } from '../../../src/media/wire/sdp-answer.js';
import { EXT_AUDIO_LEVEL, EXT_TWCC, type Codec } from '../../../src/media/wire/sdp.js';
import { feed, fixtureOffer, header, mline, rtp, VP8_KEY } from '../sfu/test-packets.js';

const OFFER = fixtureOffer('chromium-publish-receive.sdp');
const RECV_AUDIO = mline(OFFER, '3');
const RECV_VIDEO = mline(OFFER, '4');
const SUB_OPUS_PT = RECV_AUDIO.codecs.find((c) => c.name === 'opus')!.payloadType;
const SUB_VP8_PT = RECV_VIDEO.codecs.find((c) => c.name === 'VP8')!.payloadType;
const twccOf = (m: { extensions: { id: number; uri: string }[] }) => m.extensions.filter((e) => e.uri === EXT_TWCC).map((e) => ({ id: e.id, uri: e.uri }));
const SUB_LEVEL_ID = RECV_AUDIO.extensions.find((e) => e.uri === EXT_AUDIO_LEVEL)!.id;

/** The publisher's codecs and ids, chosen unlike the subscriber's so that a rewrite shows. */
const PUB_OPUS: Codec = { payloadType: 109, name: 'opus', clockRate: 48000, channels: 2, rtcpFb: [] };
const PUB_VP8: Codec = { payloadType: 120, name: 'VP8', clockRate: 90000, rtcpFb: ['nack'] };
const PUB_LEVEL_ID = 7;
const CNAME = 'subscriber-cname';

const info = (id: string, type: TrackKind): TrackInfo => ({ id, type, metadata: null, simulcast: { enabled: false, active: ['h'], disabled: [] } });
const AUDIO = info('ta', 'audio');
const VIDEO = info('tv', 'video');

function setup() {
  const router = new Router('room', emptyMediaStats(), () => {});
  const audio = router.produce(
    { trackId: 'ta', peerId: 'pub', kind: 'audio', codec: PUB_OPUS, rids: [] },
    { sendPli: () => {}, extensions: [{ id: PUB_LEVEL_ID, uri: EXT_AUDIO_LEVEL }] },
  );
  const video = router.produce({ trackId: 'tv', peerId: 'pub', kind: 'video', codec: PUB_VP8, rids: [] }, { sendPli: () => {} });
  const sent: Buffer[] = [];
  const outbound = new OutboundTracks({
    router,
    peerId: 'sub',
    send: (p, length) => {
      const copy = Buffer.from(p.subarray(0, length));
      sent.push(copy);
      return copy;
    },
    resend: () => {},
    cname: CNAME,
    variantSwitched: () => {},
  });
  return { router, audio, video, outbound, sent };
}

describe('OutboundTracks', () => {
  test('fixture shape: recvonly audio and video lines with opus, VP8 and the audio-level extension', () => {
    assert.equal(RECV_AUDIO.direction, 'recvonly');
    assert.equal(RECV_VIDEO.direction, 'recvonly');
    assert.notEqual(SUB_OPUS_PT, PUB_OPUS.payloadType);
    assert.notEqual(SUB_VP8_PT, PUB_VP8.payloadType);
    assert.notEqual(SUB_LEVEL_ID, PUB_LEVEL_ID);
  });

  test('add() takes only tracks published in the router and not already received', () => {
    const { outbound } = setup();
    const unknown = info('tx', 'video');
    assert.deepEqual(outbound.add('pub', [AUDIO, unknown, VIDEO]), [AUDIO, VIDEO]);
    assert.deepEqual(outbound.add('pub', [AUDIO, VIDEO]), [], 'already received');
    assert.deepEqual(outbound.remove(['ta', 'tx']), ['ta'], 'only received tracks are removed');
    assert.deepEqual(outbound.remove(['ta']), [], 'not twice');
    assert.deepEqual(outbound.add('pub', [AUDIO]), [AUDIO], 'a removed track can be received again');
  });

  test('count(kind) counts slots of that kind, removed ones too (the client keeps their m-lines)', () => {
    const { outbound } = setup();
    assert.equal(outbound.count('audio'), 0);
    outbound.add('pub', [AUDIO, VIDEO]);
    assert.equal(outbound.count('audio'), 1);
    assert.equal(outbound.count('video'), 1);
    outbound.remove(['ta']);
    assert.equal(outbound.count('audio'), 1);
    outbound.add('pub', [AUDIO]);
    assert.equal(outbound.count('audio'), 2);
    assert.equal(outbound.count('video'), 1);
  });

  test('answerRecvonly binds the slot, consumes through the router and answers sendonly with the consumer\'s SSRC and the CNAME', () => {
    const { audio, outbound, sent } = setup();
    outbound.add('pub', [AUDIO]);
    const mids: Record<string, string> = {};
    const answer = outbound.answerRecvonly(RECV_AUDIO, mids);
    assert.equal(answer.direction, 'sendonly');
    assert.equal(answer.mid, '3');
    assert.equal(answer.kind, 'audio');
    assert.equal(answer.codec?.payloadType, SUB_OPUS_PT, 'the subscriber\'s payload type');
    assert.equal(answer.codec?.rtxPayloadType, undefined, 'no RTX is sent');
    assert.deepEqual(answer.extensions, [{ id: SUB_LEVEL_ID, uri: EXT_AUDIO_LEVEL }, ...twccOf(RECV_AUDIO)], 'audio level forwarded; transport-cc answered (Shoal stamps it)');
    assert.deepEqual(mids, { '3': 'ta' });
    assert.equal(audio.sinkCount, 1, 'a consumer made through the router feeds from the producer');
    const ssrc = answer.send!.ssrc;
    assert.deepEqual(answer.send, { ssrc, cname: CNAME, streamId: 'pub', trackId: 'ta' });
    const consumer = outbound.consumer(ssrc);
    assert.ok(consumer);
    assert.equal(consumer.producer, audio);
    assert.deepEqual([...outbound.consumers()], [consumer]);

    outbound.startAll();
    feed(audio, rtp({ ssrc: 0x1234, pt: PUB_OPUS.payloadType, ext: [[PUB_LEVEL_ID, Buffer.from([0x85])]], payload: Buffer.from([9, 9]) }));
    assert.equal(sent.length, 1);
    const h = header(sent[0]!);
    assert.equal(h.ssrc, ssrc);
    assert.equal(h.payloadType, SUB_OPUS_PT);
    assert.deepEqual(getHeaderExtension(sent[0]!, h, SUB_LEVEL_ID), Buffer.from([0x85]), 'audio level under the subscriber\'s id');
  });

  test('answerRecvonly for video: the subscriber\'s VP8 payload type; start() asks for a keyframe first', () => {
    const { video, outbound, sent } = setup();
    outbound.add('pub', [VIDEO]);
    const answer = outbound.answerRecvonly(RECV_VIDEO, {});
    assert.equal(answer.codec?.name, 'VP8');
    assert.equal(answer.codec?.payloadType, SUB_VP8_PT);
    assert.deepEqual(answer.extensions.filter((e) => e.uri !== EXT_TWCC), [], 'audio level only on audio');
    assert.equal(answer.extensions.filter((e) => e.uri === EXT_TWCC).length, 1, 'transport-cc answered on video');
    feed(video, rtp({ ssrc: 0x55, pt: PUB_VP8.payloadType, payload: VP8_KEY }));
    assert.equal(sent.length, 0, 'nothing is forwarded before startAll');
    outbound.startAll();
    feed(video, rtp({ ssrc: 0x55, pt: PUB_VP8.payloadType, seq: 2, payload: VP8_KEY }));
    assert.equal(header(sent[0]!).payloadType, SUB_VP8_PT);
    assert.equal(header(sent[0]!).ssrc, answer.send!.ssrc);
  });

  test('video with rtx offered: rtx answered (apt = the VP8 payload type) with an RTX SSRC in an FID group, kept on re-answer; audio gets none', () => {
    const { outbound } = setup();
    outbound.add('pub', [VIDEO, AUDIO]);
    const offeredRtx = RECV_VIDEO.codecs.find((c) => c.name === 'VP8')!.rtxPayloadType;
    assert.ok(offeredRtx !== undefined, 'the fixture offers rtx for VP8');
    const answer = outbound.answerRecvonly(RECV_VIDEO, {});
    assert.equal(answer.codec?.rtxPayloadType, offeredRtx);
    const { ssrc, rtxSsrc } = answer.send!;
    assert.ok(rtxSsrc !== undefined && rtxSsrc !== ssrc);
    assert.deepEqual(outbound.consumer(ssrc)!.rtxStream, { ssrc: rtxSsrc, payloadType: offeredRtx });
    assert.equal(outbound.answerRecvonly(RECV_VIDEO, {}).send!.rtxSsrc, rtxSsrc, 'the same RTX SSRC when answered again');
    const sdp = buildAnswer({ iceUfrag: 'u', icePwd: 'p'.repeat(22), fingerprint: { algorithm: 'sha-256', value: 'AA' }, sessionId: '1', sessionVersion: 1, media: [answer] });
    assert.match(sdp, new RegExp(`a=rtpmap:${offeredRtx} rtx/90000\r\na=fmtp:${offeredRtx} apt=${SUB_VP8_PT}\r\n`));
    assert.match(sdp, new RegExp(`a=ssrc-group:FID ${ssrc} ${rtxSsrc}\r\n`));
    assert.match(sdp, new RegExp(`a=ssrc:${rtxSsrc} cname:${CNAME}\r\n`));
    assert.match(sdp, new RegExp(`m=video 9 UDP/TLS/RTP/SAVPF ${SUB_VP8_PT} ${offeredRtx}\r\n`));
    const audio = outbound.answerRecvonly(RECV_AUDIO, {});
    assert.equal(audio.send!.rtxSsrc, undefined);
    assert.equal(audio.codec?.rtxPayloadType, undefined);
  });

  test('each slot takes the first recvonly line of its kind; the same mid answered again keeps its consumer', () => {
    const { audio, video, outbound } = setup();
    outbound.add('pub', [AUDIO, VIDEO]);
    const v1 = outbound.answerRecvonly(RECV_VIDEO, {});
    const a1 = outbound.answerRecvonly(RECV_AUDIO, {});
    assert.equal(a1.direction, 'sendonly');
    assert.equal(v1.send?.trackId, 'tv');
    const mids: Record<string, string> = {};
    const a2 = outbound.answerRecvonly(RECV_AUDIO, mids);
    assert.equal(a2.send?.ssrc, a1.send?.ssrc);
    assert.deepEqual(mids, { '3': 'ta' });
    assert.equal(audio.sinkCount, 1, 'no second consumer');
    assert.equal(video.sinkCount, 1);
  });

  test('a recvonly line with no free slot of its kind is answered inactive', () => {
    const { outbound } = setup();
    outbound.add('pub', [AUDIO]);
    const mids: Record<string, string> = {};
    const answer = outbound.answerRecvonly(RECV_VIDEO, mids);
    assert.equal(answer.direction, 'inactive');
    assert.equal(answer.send, undefined);
    assert.deepEqual(mids, {});
  });

  test('remove() closes the consumer; its m-line is answered inactive from then on', () => {
    const { audio, outbound, sent } = setup();
    outbound.add('pub', [AUDIO]);
    const ssrc = outbound.answerRecvonly(RECV_AUDIO, {}).send!.ssrc;
    outbound.startAll();
    assert.deepEqual(outbound.remove(['ta']), ['ta']);
    assert.equal(audio.sinkCount, 0);
    assert.equal(outbound.consumer(ssrc), undefined);
    assert.deepEqual([...outbound.consumers()], []);
    feed(audio, rtp({ ssrc: 1, pt: PUB_OPUS.payloadType }));
    assert.equal(sent.length, 0);
    const mids: Record<string, string> = {};
    assert.equal(outbound.answerRecvonly(RECV_AUDIO, mids).direction, 'inactive');
    assert.deepEqual(mids, {});
    outbound.add('pub', [AUDIO]);
    assert.equal(outbound.answerRecvonly(RECV_AUDIO, {}).direction, 'inactive', 'slots are never reused: a new slot needs a new m-line');
  });

  test('close() closes every consumer', () => {
    const { audio, video, outbound } = setup();
    outbound.add('pub', [AUDIO, VIDEO]);
    outbound.answerRecvonly(RECV_AUDIO, {});
    outbound.answerRecvonly(RECV_VIDEO, {});
    outbound.close();
    assert.equal(audio.sinkCount, 0);
    assert.equal(video.sinkCount, 0);
  });
});
