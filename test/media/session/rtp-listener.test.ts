// RtpListener on a real Chromium offer (fixtures/chromium-publish-receive.sdp: audio mid 0, video mid 1
// with an RTX FID group, simulcast video mid 2): a single-stream line routes its SDP media SSRC (never the
// RTX one); simulcast SSRCs are learned from the mid + rid header extensions and bound to their variant;
// only the negotiated payload type is forwarded; repaired-rid (RTX) packets are not learned; remove()
// stops routing; videoSsrcs() and producerOf(); RTX (FID SSRC or repaired-rid) unwrapped into the original
// stream, gaps NACKed within the budget, transport-wide sequence numbers answered with transport-cc feedback. Producers are made by a Router and fed to recording sinks.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NACK_RETRY_MS, RtpListener } from '../../../src/media/session/rtp-listener.js';
import { parseRtcp } from '../../../src/media/wire/rtcp.js';
import { parseTwccFeedback } from '../../../src/media/wire/twcc.js';
import { emptyMediaStats } from '../../../src/media/sfu/media-stats.js';
import { Router } from '../../../src/media/sfu/router.js';
import type { Variant } from '../../../src/room/track.js';
import { EXT_MID, EXT_REPAIRED_RID, EXT_RID, EXT_TWCC, chooseCodec, type OfferedMedia } from '../../../src/media/wire/sdp.js';
import { fixtureOffer, mline, recordingSink, rtp, VP8_DELTA, VP8_KEY } from '../sfu/test-packets.js';

const OFFER = fixtureOffer('chromium-publish-receive.sdp');
const AUDIO = mline(OFFER, '0');
const VIDEO = mline(OFFER, '1');
const SIMULCAST = mline(OFFER, '2');
const AUDIO_SSRC = 1417218071;
const VIDEO_SSRC = 1415967997;
const VIDEO_RTX_SSRC = 439135651;

const extId = (m: OfferedMedia, uri: string) => m.extensions.find((e) => e.uri === uri)!.id;
/** The m-line without the transport-wide-cc extension (an offerer that does not do transport-cc). */
const noTwcc = (m: OfferedMedia): OfferedMedia => ({ ...m, extensions: m.extensions.filter((e) => e.uri !== EXT_TWCC) });
const MID = extId(SIMULCAST, EXT_MID);
const RID = extId(SIMULCAST, EXT_RID);
const RRID = extId(SIMULCAST, EXT_REPAIRED_RID);

function setup() {
  const router = new Router('room', emptyMediaStats(), () => {});
  const stats = emptyMediaStats();
  const listener = new RtpListener({ rtcpSsrc: 0xabcd, stats });
  const publish = (m: OfferedMedia, rids: Variant[] = []) => {
    const codec = chooseCodec(m, null)!;
    const producer = router.produce({ trackId: `track-${m.mid}`, peerId: 'pub', kind: m.kind as 'audio' | 'video', codec, rids }, { sendPli: () => {} });
    const rec = recordingSink();
    producer.addSink(rec.sink);
    listener.add(m, producer.trackId, producer);
    return { producer, codec, got: rec.got };
  };
  return { router, listener, publish, stats };
}

describe('RtpListener', () => {
  test('fixture shape: video mid 1 has an FID group, mid 2 has l/m/h rids and mid/rid/repaired-rid extensions', () => {
    assert.deepEqual(VIDEO.ssrcGroups, [{ semantics: 'FID', ssrcs: [VIDEO_SSRC, VIDEO_RTX_SSRC] }]);
    assert.deepEqual(SIMULCAST.rids, ['l', 'm', 'h']);
    assert.deepEqual(SIMULCAST.ssrcs, []);
    assert.deepEqual(AUDIO.ssrcs, [AUDIO_SSRC]);
    assert.equal(new Set([MID, RID, RRID]).size, 3);
  });

  for (const order of ['as offered', 'RTX SSRC listed first'] as const) {
    test(`single-stream line routes by its SDP media SSRC, not the FID (RTX) one (${order})`, () => {
      const { listener, publish } = setup();
      const m = order === 'as offered' ? VIDEO : { ...VIDEO, ssrcs: [...VIDEO.ssrcs].reverse() };
      const { producer, codec, got } = publish(m);
      assert.deepEqual([...producer.variantSsrcs], [['', VIDEO_SSRC]], 'known from the SDP before any packet');
      listener.onRtp(rtp({ ssrc: VIDEO_SSRC, pt: codec.payloadType, seq: 7, payload: VP8_KEY }));
      assert.deepEqual(got, [{ ssrc: VIDEO_SSRC, pt: codec.payloadType, seq: 7, variant: '', keyframe: true }]);
      listener.onRtp(rtp({ ssrc: VIDEO_RTX_SSRC, pt: codec.payloadType, seq: 8 }));
      assert.equal(got.length, 1, 'the RTX SSRC is not routed');
      assert.equal(listener.producerOf(VIDEO_SSRC), producer);
      assert.equal(listener.producerOf(VIDEO_RTX_SSRC), undefined);
    });
  }

  test('packets of another payload type (RTX, RED) on a routed SSRC are not forwarded', () => {
    const { listener, publish } = setup();
    const video = publish(VIDEO);
    const audio = publish(AUDIO);
    const rtxPt = video.codec.rtxPayloadType!;
    assert.ok(rtxPt !== undefined && rtxPt !== video.codec.payloadType);
    listener.onRtp(rtp({ ssrc: VIDEO_SSRC, pt: rtxPt, seq: 1 }));
    listener.onRtp(rtp({ ssrc: AUDIO_SSRC, pt: 63, seq: 1 })); // red/48000/2 in the fixture
    assert.equal(video.got.length, 0);
    assert.equal(audio.got.length, 0);
    listener.onRtp(rtp({ ssrc: VIDEO_SSRC, pt: video.codec.payloadType, seq: 2 }));
    listener.onRtp(rtp({ ssrc: AUDIO_SSRC, pt: audio.codec.payloadType, seq: 2 }));
    assert.deepEqual(video.got.map((g) => g.seq), [2]);
    assert.deepEqual(audio.got.map((g) => g.seq), [2]);
  });

  test('simulcast streams are learned from the mid + rid extensions and bound to their variant', () => {
    const { listener, publish } = setup();
    const { producer, codec, got } = publish(SIMULCAST, ['l', 'm', 'h']);
    assert.equal(producer.variantSsrcs.size, 0, 'no SSRC known from the SDP');
    const pt = codec.payloadType;
    listener.onRtp(rtp({ ssrc: 0x1001, pt, seq: 1, ext: [[MID, '2'], [RID, 'l']] }));
    listener.onRtp(rtp({ ssrc: 0x1003, pt, seq: 2, ext: [[MID, '2'], [RID, 'h']] }));
    listener.onRtp(rtp({ ssrc: 0x1002, pt, seq: 3, ext: [[RID, 'm'], [MID, '2']] }));
    assert.deepEqual(got.map((g) => [g.ssrc, g.variant]), [[0x1001, 'l'], [0x1003, 'h'], [0x1002, 'm']]);
    assert.deepEqual(Object.fromEntries(producer.variantSsrcs), { l: 0x1001, m: 0x1002, h: 0x1003 });
    listener.onRtp(rtp({ ssrc: 0x1003, pt, seq: 4 }));
    assert.deepEqual(got.at(-1), { ssrc: 0x1003, pt, seq: 4, variant: 'h', keyframe: false }, 'once bound, no extension is needed');
    assert.equal(listener.producerOf(0x1002), producer);
  });

  test('simulcast: not learned from another mid, another payload type, an unknown rid or no rid', () => {
    const { listener, publish } = setup();
    const { producer, codec, got } = publish(SIMULCAST, ['l', 'm', 'h']);
    const pt = codec.payloadType;
    listener.onRtp(rtp({ ssrc: 0x2001, pt, ext: [[MID, '1'], [RID, 'h']] }));
    listener.onRtp(rtp({ ssrc: 0x2002, pt: codec.rtxPayloadType!, ext: [[MID, '2'], [RID, 'h']] }));
    listener.onRtp(rtp({ ssrc: 0x2003, pt, ext: [[MID, '2'], [RID, 'x']] }));
    listener.onRtp(rtp({ ssrc: 0x2004, pt, ext: [[MID, '2']] }));
    listener.onRtp(rtp({ ssrc: 0x2005, pt }));
    assert.deepEqual(got, []);
    assert.equal(producer.variantSsrcs.size, 0);
    for (const ssrc of [0x2001, 0x2002, 0x2003, 0x2004, 0x2005]) assert.equal(listener.producerOf(ssrc), undefined);
    assert.deepEqual(listener.videoSsrcs(), []);
  });

  test('repaired-rid (RTX) packets are not learned, even with the media payload type and a rid', () => {
    const { listener, publish } = setup();
    const { producer, codec, got } = publish(SIMULCAST, ['l', 'm', 'h']);
    const pt = codec.payloadType;
    listener.onRtp(rtp({ ssrc: 0x3001, pt: codec.rtxPayloadType!, ext: [[MID, '2'], [RRID, 'h']] }));
    listener.onRtp(rtp({ ssrc: 0x3001, pt, ext: [[MID, '2'], [RID, 'h'], [RRID, 'h']] }));
    assert.deepEqual(got, []);
    assert.equal(producer.variantSsrcs.get('h'), undefined);
    assert.equal(listener.producerOf(0x3001), undefined);
    listener.onRtp(rtp({ ssrc: 0x3002, pt, ext: [[MID, '2'], [RID, 'h']] }));
    assert.equal(producer.variantSsrcs.get('h'), 0x3002, 'the media stream itself is learned');
  });

  test('a single-stream line learns a new SSRC from its mid extension (not from a repaired-rid one)', () => {
    const { listener, publish } = setup();
    const { producer, codec, got } = publish(VIDEO);
    const mid = extId(VIDEO, EXT_MID);
    const rrid = extId(VIDEO, EXT_REPAIRED_RID);
    listener.onRtp(rtp({ ssrc: 0x4001, pt: codec.payloadType, seq: 1, ext: [[mid, '1'], [rrid, 'h']] }));
    assert.equal(got.length, 0);
    listener.onRtp(rtp({ ssrc: 0x4002, pt: codec.payloadType, seq: 2, ext: [[mid, '1']] }));
    assert.deepEqual(got.map((g) => [g.ssrc, g.variant]), [[0x4002, '']]);
    assert.equal(producer.variantSsrcs.get(''), 0x4002);
  });

  test('remove() stops routing the line (learned and SDP SSRCs alike) and returns it', () => {
    const { listener, publish } = setup();
    const video = publish(VIDEO);
    const sim = publish(SIMULCAST, ['l', 'm', 'h']);
    const pt = sim.codec.payloadType;
    listener.onRtp(rtp({ ssrc: 0x5001, pt, seq: 1, ext: [[MID, '2'], [RID, 'h']] }));
    assert.equal(sim.got.length, 1);
    const line = listener.remove('2');
    assert.equal(line?.trackId, 'track-2');
    assert.equal(line?.producer, sim.producer);
    listener.onRtp(rtp({ ssrc: 0x5001, pt, seq: 2 }));
    listener.onRtp(rtp({ ssrc: 0x5002, pt, seq: 3, ext: [[MID, '2'], [RID, 'm']] }));
    assert.equal(sim.got.length, 1, 'nothing routed to a removed line');
    assert.equal(listener.producerOf(0x5001), undefined);
    assert.equal(listener.line('2'), undefined);
    assert.deepEqual([...listener.all()].map((l) => l.mid), ['1']);
    assert.equal(listener.remove('2'), undefined);
    listener.onRtp(rtp({ ssrc: VIDEO_SSRC, pt: video.codec.payloadType, seq: 9 }));
    assert.equal(video.got.length, 1, 'the other line still routes');
    listener.remove('1');
    listener.onRtp(rtp({ ssrc: VIDEO_SSRC, pt: video.codec.payloadType, seq: 10 }));
    assert.equal(video.got.length, 1, 'nor an SSRC known from the SDP');
    assert.deepEqual(listener.videoSsrcs(), []);
  });

  test('videoSsrcs() lists every bound video SSRC on lines without transport-cc, no audio, no RTX; producerOf() finds each stream\'s producer', () => {
    const { listener, publish } = setup();
    const audio = publish(noTwcc(AUDIO));
    const video = publish(noTwcc(VIDEO));
    const sim = publish(noTwcc(SIMULCAST), ['l', 'm', 'h']);
    const pt = sim.codec.payloadType;
    listener.onRtp(rtp({ ssrc: 0x6001, pt, ext: [[MID, '2'], [RID, 'l']] }));
    listener.onRtp(rtp({ ssrc: 0x6003, pt, ext: [[MID, '2'], [RID, 'h']] }));
    assert.deepEqual(listener.videoSsrcs().sort((a, b) => a - b), [0x6001, 0x6003, VIDEO_SSRC].sort((a, b) => a - b));
    assert.equal(listener.producerOf(AUDIO_SSRC), audio.producer);
    assert.equal(listener.producerOf(VIDEO_SSRC), video.producer);
    assert.equal(listener.producerOf(0x6003), sim.producer);
    assert.equal(listener.producerOf(0x6002), undefined);
    assert.equal(listener.line('0')?.producer, audio.producer);
  });

  test('videoSsrcs() leaves out lines that negotiated transport-cc (their publisher estimates its own rate)', () => {
    const { listener, publish } = setup();
    publish(VIDEO);
    publish(noTwcc(SIMULCAST), ['l', 'm', 'h']);
    listener.onRtp(rtp({ ssrc: 0x6001, pt: chooseCodec(SIMULCAST, null)!.payloadType, ext: [[MID, '2'], [RID, 'l']] }));
    assert.deepEqual(listener.videoSsrcs(), [0x6001]);
  });
  test('malformed SSRC groups and SSRCs in a hand-made m-line are ignored, not thrown on', () => {
    const { listener, publish } = setup();
    const m: OfferedMedia = {
      ...VIDEO,
      ssrcs: [Number.NaN, VIDEO_RTX_SSRC, VIDEO_SSRC],
      ssrcGroups: [{ semantics: 'FID', ssrcs: [VIDEO_SSRC] }, { semantics: 'FID', ssrcs: [VIDEO_SSRC, VIDEO_RTX_SSRC] }],
    };
    const { producer } = publish(m);
    assert.deepEqual([...producer.variantSsrcs], [['', VIDEO_SSRC]]);
    assert.equal(listener.producerOf(VIDEO_SSRC), producer);
  });

  test('a gap is NACKed; the RTX repair on the FID SSRC is unwrapped into the original stream and not asked for again', () => {
    const { listener, publish, stats } = setup();
    const video = publish(VIDEO);
    const pt = video.codec.payloadType;
    const rtxPt = video.codec.rtxPayloadType!;
    listener.onRtp(rtp({ ssrc: VIDEO_SSRC, pt, seq: 10, ts: 900 }));
    listener.onRtp(rtp({ ssrc: VIDEO_SSRC, pt, seq: 13, ts: 900 }));
    const now = performance.now();
    const nacks = listener.feedback(now).flatMap((b) => parseRtcp(b));
    assert.deepEqual(nacks, [{ type: 'nack', senderSsrc: 0xabcd, mediaSsrc: VIDEO_SSRC, lost: [11, 12] }]);
    assert.equal(stats.nacksSent, 1);
    assert.deepEqual(listener.feedback(now + 5), [], 'not again within a round trip');
    const osn = Buffer.from([0, 11]);
    listener.onRtp(rtp({ ssrc: VIDEO_RTX_SSRC, pt: rtxPt, seq: 500, ts: 900, payload: Buffer.concat([osn, VP8_KEY]) }));
    assert.deepEqual(video.got.at(-1), { ssrc: VIDEO_SSRC, pt, seq: 11, variant: '', keyframe: true });
    assert.equal(stats.rtxReceived, 1);
    const again = listener.feedback(now + NACK_RETRY_MS + 1).flatMap((b) => parseRtcp(b));
    assert.deepEqual(again.map((p) => (p.type === 'nack' ? p.lost : [])), [[12]], 'only the unrepaired one is asked again');
    listener.onRtp(rtp({ ssrc: VIDEO_RTX_SSRC, pt: rtxPt, seq: 501, payload: Buffer.alloc(0) }));
    assert.equal(video.got.length, 3, 'a padding-only RTX packet (a probe) is not forwarded');
  });

  test('simulcast RTX is bound by mid + repaired-rid to its variant and unwrapped', () => {
    const { listener, publish, stats } = setup();
    const sim = publish(SIMULCAST, ['l', 'm', 'h']);
    const pt = sim.codec.payloadType;
    listener.onRtp(rtp({ ssrc: 0x7001, pt, seq: 100, ext: [[MID, '2'], [RID, 'm']] }));
    listener.onRtp(rtp({ ssrc: 0x7101, pt: sim.codec.rtxPayloadType!, seq: 1, ext: [[MID, '2'], [RRID, 'm']], payload: Buffer.concat([Buffer.from([0, 99]), VP8_DELTA]) }));
    listener.onRtp(rtp({ ssrc: 0x7101, pt: sim.codec.rtxPayloadType!, seq: 2, payload: Buffer.concat([Buffer.from([0, 98]), VP8_DELTA]) }));
    assert.deepEqual(sim.got.map((g) => [g.ssrc, g.seq, g.variant, g.pt]), [[0x7001, 100, 'm', pt], [0x7001, 99, 'm', pt], [0x7001, 98, 'm', pt]]);
    assert.equal(stats.rtxReceived, 2);
    listener.onRtp(rtp({ ssrc: 0x7102, pt: sim.codec.rtxPayloadType!, seq: 1, ext: [[MID, '2'], [RRID, 'h']], payload: Buffer.from([0, 1, 2]) }));
    assert.equal(sim.got.length, 3, 'no media stream h known yet: not forwarded');
  });

  test('audio (no nack offered) is never NACKed', () => {
    const { listener, publish } = setup();
    const audio = publish(AUDIO);
    listener.onRtp(rtp({ ssrc: AUDIO_SSRC, pt: audio.codec.payloadType, seq: 1 }));
    listener.onRtp(rtp({ ssrc: AUDIO_SSRC, pt: audio.codec.payloadType, seq: 5 }));
    assert.deepEqual(listener.feedback(performance.now()).flatMap((b) => parseRtcp(b)).filter((p) => p.type === 'nack'), []);
  });

  test('transport-wide sequence numbers of every packet (RTX and unknown SSRCs too) come back as transport-cc feedback', () => {
    const { listener, publish, stats } = setup();
    const video = publish(VIDEO);
    const TW = extId(VIDEO, EXT_TWCC);
    const tw = (n: number) => Buffer.from([n >> 8, n & 0xff]);
    listener.onRtp(rtp({ ssrc: VIDEO_SSRC, pt: video.codec.payloadType, seq: 1, ext: [[TW, tw(0xfffe)]] }));
    listener.onRtp(rtp({ ssrc: VIDEO_RTX_SSRC, pt: video.codec.rtxPayloadType!, seq: 1, ext: [[TW, tw(0xffff)]], payload: Buffer.alloc(0) }));
    listener.onRtp(rtp({ ssrc: 0x999, pt: 127, seq: 1, ext: [[TW, tw(1)]] })); // 0 lost
    const now = performance.now();
    const first = listener.feedback(now); // odd tick: NACKs only
    const second = [...first, ...listener.feedback(now + 25)];
    const fb = second.map((b) => parseTwccFeedback(b)).filter((f) => f !== undefined);
    assert.equal(fb.length, 1);
    assert.equal(fb[0]!.baseSeq, 0xfffe);
    assert.equal(fb[0]!.senderSsrc, 0xabcd);
    assert.deepEqual(fb[0]!.packets.map((p) => [p.seq, p.arrivalUs !== undefined]), [[0xfffe, true], [0xffff, true], [0, false], [1, true]]);
    assert.equal(stats.twccFeedbackSent, 1);
    const t0 = fb[0]!.packets[0]!.arrivalUs!;
    assert.ok(Math.abs(t0 - now * 1000) < 1_000_000, 'arrival times are the local clock');
    for (let i = 0; i < 2; i++) assert.equal(listener.feedback(now + 50 + i * 25).length, 0, 'nothing new: no feedback');
  });

  test('with sendRtcp, a new gap is NACKed at once (retries wait for the tick)', () => {
    const router = new Router('room', emptyMediaStats(), () => {});
    const sent: Buffer[] = [];
    const stats = emptyMediaStats();
    const listener = new RtpListener({ rtcpSsrc: 5, stats, sendRtcp: (p) => void sent.push(p) });
    const codec = chooseCodec(VIDEO, null)!;
    const producer = router.produce({ trackId: 't', peerId: 'p', kind: 'video', codec, rids: [] }, { sendPli: () => {} });
    listener.add(VIDEO, 't', producer);
    listener.onRtp(rtp({ ssrc: VIDEO_SSRC, pt: codec.payloadType, seq: 1 }));
    listener.onRtp(rtp({ ssrc: VIDEO_SSRC, pt: codec.payloadType, seq: 2 }));
    assert.equal(sent.length, 0);
    listener.onRtp(rtp({ ssrc: VIDEO_SSRC, pt: codec.payloadType, seq: 4 }));
    assert.deepEqual(sent.flatMap((b) => parseRtcp(b)), [{ type: 'nack', senderSsrc: 5, mediaSsrc: VIDEO_SSRC, lost: [3] }]);
    assert.equal(stats.nacksSent, 1);
    assert.deepEqual(listener.feedback(performance.now()).flatMap((b) => parseRtcp(b)), [], 'not again at the next tick');
  });
});
