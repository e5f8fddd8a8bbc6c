// RtcpReporter (mock timers and Date): nothing while the transport is not connected; an SR compound (one
// SR per consumer that forwarded after its publisher's SR, closed by an SDES CNAME) and a REMB listing the
// published video SSRCs; it reports every second on its own until close(). Consumers are real, made by a
// Router; what is sent is read back with parseRtcp.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { RtcpReporter } from '../../../src/media/session/rtcp-reporter.js';
import type { Consumer } from '../../../src/media/sfu/consumer.js';
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
    const c = router.consume(producer, { ssrc, payloadType: 100, targetVariant: 'm', send: () => undefined, resend: () => {}, nack: false, onVariantSwitched: () => {} });
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
