// RtcpReporter (mock timers and Date): nothing while the transport is not connected; an SR compound (one
// SR per consumer that forwarded after its publisher's SR, closed by an SDES CNAME) and a REMB listing the
// published video SSRCs — several REMBs of at most 255 when more are published (one REMB's limit; the
// timer used to throw a RangeError); it reports every second on its own until close(); each consumer
// notes the SR it sent, so a receiver report naming it gives the round trip. Consumers are real, made by
// a Router; what is sent is read back with parseRtcp.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { RtcpReporter } from '../../../src/media/session/rtcp-reporter.js';
import type { Consumer } from '../../../src/media/sfu/consumer.js';
import { QualityCollector, compactNtp } from '../../../src/media/sfu/media-quality.js';
import { emptyMediaStats } from '../../../src/media/sfu/media-stats.js';
import { Router } from '../../../src/media/sfu/router.js';
import { parseRtcp, type RtcpPacket } from '../../../src/media/wire/rtcp.js';
import type { Codec } from '../../../src/media/wire/sdp.js';
import { feed, rtp, VP8_KEY } from '../sfu/test-packets.js';

const VP8: Codec = { payloadType: 96, name: 'VP8', clockRate: 90000, rtcpFb: [] };
const PUB_SSRC = 0x0a0a0a0a;
const RTCP_SSRC = 0x5e5e5e5e;
const CNAME = 'shoal-session-cname';

function setup(t: TestContext, opts: { connected?: boolean; video?: number[] } = {}) {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
  let connected = opts.connected ?? true;
  const router = new Router('room', emptyMediaStats(), () => {});
  const producer = router.produce({ trackId: 'tv', peerId: 'pub', kind: 'video', codec: VP8, rids: [] }, { sendPli: () => {} });
  producer.variantSsrcs.set('', PUB_SSRC);
  const consumers: Consumer[] = [];
  const consume = (ssrc: number) => {
    const c = router.consume(producer, { ssrc, payloadType: 100, targetVariant: 'm', send: () => undefined, resend: () => {}, nack: false, onVariantSwitched: () => {}, subscriberId: 'sub' });
    consumers.push(c);
    return c;
  };
  const sent: RtcpPacket[][] = [];
  const reporter = new RtcpReporter({
    connected: () => connected,
    sendRtcp: (p) => sent.push(parseRtcp(p)),
    consumers: () => consumers,
    publishedVideoSsrcs: () => opts.video ?? [],
    rtcpSsrc: RTCP_SSRC,
    cname: CNAME,
  });
  t.after(() => reporter.close());
  return {
    reporter,
    router,
    producer,
    consume,
    sent,
    setConnected: (v: boolean) => void (connected = v),
    publisherSr: () => producer.onSenderReport(PUB_SSRC, { ntpSec: 3_900_000_000, ntpFrac: 0, rtpTimestamp: 90_000 }),
    keyframe: (seq: number) => feed(producer, rtp({ ssrc: PUB_SSRC, pt: 96, seq, ts: 90_000, payload: VP8_KEY })),
    tick: (ms: number) => t.mock.timers.tick(ms),
  };
}

/** The CNAME and SSRC of an SDES packet with one chunk of one CNAME item. */
function sdesCname(p: RtcpPacket | undefined): { ssrc: number; cname: string } {
  assert.ok(p && p.type === 'sdes', 'an SDES packet');
  const raw = p.raw;
  assert.equal(raw[8], 1, 'item type CNAME');
  return { ssrc: raw.readUInt32BE(4), cname: raw.subarray(10, 10 + raw[9]!).toString('utf8') };
}

describe('RtcpReporter', () => {
  test('sends nothing while the transport is not connected', (t) => {
    const { reporter, consume, sent, publisherSr, keyframe, tick, setConnected } = setup(t, { connected: false, video: [PUB_SSRC] });
    consume(0xc1).start();
    publisherSr();
    keyframe(1);
    reporter.report();
    tick(5000);
    assert.deepEqual(sent, []);
    setConnected(true);
    reporter.report();
    assert.equal(sent.length, 2, 'the same state connected: SR compound and REMB');
  });

  test('an SR compound with SDES CNAME for the consumers that forwarded after a publisher SR', (t) => {
    const { reporter, consume, sent, publisherSr, keyframe, tick } = setup(t);
    const a = consume(0xc1);
    const idle = consume(0xc2); // never started: forwards nothing
    const b = consume(0xc3);
    a.start();
    b.start();
    keyframe(1);
    reporter.report();
    assert.equal(sent.length, 0, 'no publisher SR yet: no SR to derive');
    publisherSr();
    tick(500);
    keyframe(2);
    reporter.report();
    assert.equal(sent.length, 1, 'one compound packet, no REMB without published video');
    const [srA, srB, sdes, ...rest] = sent[0]!;
    assert.deepEqual(rest, []);
    assert.ok(srA?.type === 'sr' && srB?.type === 'sr');
    assert.equal(srA.ssrc, a.ssrc);
    assert.equal(srB.ssrc, b.ssrc);
    assert.equal(srA.packetCount, 2);
    assert.equal(srA.ntpSec, 3_900_000_000, 'NTP time moved on by 500 ms: still in the same second');
    assert.ok(srA.ntpFrac > 0x7f000000 && srA.ntpFrac < 0x81000000, 'half a second');
    assert.deepEqual(sdesCname(sdes), { ssrc: a.ssrc, cname: CNAME });
    assert.ok(idle.senderReport() === undefined);
  });

  test('a REMB from the session\'s RTCP SSRC listing the published video SSRCs', (t) => {
    const video = [0x111, 0x222, 0x333];
    const { reporter, sent } = setup(t, { video });
    reporter.report();
    assert.equal(sent.length, 1);
    const [remb, ...rest] = sent[0]!;
    assert.deepEqual(rest, []);
    assert.ok(remb?.type === 'remb');
    assert.equal(remb.senderSsrc, RTCP_SSRC);
    assert.deepEqual(remb.ssrcs, video);
    assert.ok(remb.bitrate >= 1_000_000, `a generous estimate (${remb.bitrate})`);
  });

  test('more than 255 published video SSRCs: several REMBs of at most 255 each, nothing thrown (also from the timer)', (t) => {
    const video = Array.from({ length: 600 }, (_, i) => 0x1000 + i);
    const { reporter, sent, tick } = setup(t, { video });
    assert.doesNotThrow(() => reporter.report());
    assert.deepEqual(
      sent.map((packets) => packets.map((p) => (p.type === 'remb' ? p.ssrcs.length : p.type))),
      [[255], [255], [90]],
    );
    assert.deepEqual(
      sent.flatMap((packets) => packets.flatMap((p) => (p.type === 'remb' ? p.ssrcs : []))),
      video,
    );
    for (const packets of sent) for (const p of packets) assert.ok(p.type === 'remb' && p.senderSsrc === RTCP_SSRC);
    assert.doesNotThrow(() => tick(1000));
    assert.equal(sent.length, 6);
  });

  test('255 published video SSRCs fit in one REMB', (t) => {
    const { reporter, sent } = setup(t, { video: Array.from({ length: 255 }, (_, i) => 0x1000 + i) });
    reporter.report();
    assert.equal(sent.length, 1);
    assert.ok(sent[0]![0]?.type === 'remb' && sent[0]![0].ssrcs.length === 255);
  });

  test('a receiver report naming the SR a consumer sent gives the round trip (DLSR subtracted); an unknown LSR gives none', (t) => {
    const { reporter, router, consume, sent, publisherSr, keyframe } = setup(t);
    const a = consume(0xc1);
    a.start();
    publisherSr();
    keyframe(1);
    const sentAt = performance.now();
    reporter.report();
    const sr = sent[0]![0]!;
    assert.ok(sr.type === 'sr');
    const block = { ssrc: a.ssrc, fractionLost: 64, cumulativeLost: 3, highestSeq: 1, jitter: 4500, lsr: 0x12345678, dlsr: 0 };
    a.onReceiverReport(block, sentAt + 300);
    const rttOf = () => {
      const c = new QualityCollector({ tracks: 10, peers: 10 });
      router.collectQuality(c);
      return c.snapshot();
    };
    let snap = rttOf();
    assert.deepEqual(snap.peers, [], 'an LSR no SR carried: no round trip');
    const out = snap.tracks.find((x) => x.direction === 'out');
    assert.deepEqual(
      { peerId: out?.peerId, trackId: out?.trackId, lossRatio: out?.lossRatio, lost: out?.lost, jitterSeconds: out?.jitterSeconds },
      { peerId: 'sub', trackId: 'tv', lossRatio: 0.25, lost: 3, jitterSeconds: 0.05 },
    );
    a.onReceiverReport({ ...block, lsr: compactNtp(sr.ntpSec, sr.ntpFrac), dlsr: 0.1 * 65536 }, sentAt + 300);
    snap = rttOf();
    assert.equal(snap.peers.length, 1);
    assert.equal(snap.peers[0]!.peerId, 'sub');
    assert.ok(Math.abs(snap.peers[0]!.rttSeconds! - 0.2) < 0.02, `300 ms after sending, 100 ms held: ${snap.peers[0]!.rttSeconds}`);
  });

  test('no published video: no REMB', (t) => {
    const { reporter, sent } = setup(t, { video: [] });
    reporter.report();
    assert.deepEqual(sent, []);
  });

  test('reports every second on its own; close() stops it', (t) => {
    const { reporter, sent, tick } = setup(t, { video: [0x111] });
    tick(999);
    assert.equal(sent.length, 0);
    tick(1);
    assert.equal(sent.length, 1);
    tick(1000);
    assert.equal(sent.length, 2);
    reporter.close();
    tick(5000);
    assert.equal(sent.length, 2);
  });
});
