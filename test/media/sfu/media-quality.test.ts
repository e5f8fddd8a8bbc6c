// Media quality bookkeeping: BitrateMeter (an average since creation until a full second has passed,
// then per window of at least a second, the previous value between), the collector's caps (tracks beyond
// the limit counted, never built; one RTT per peer, the latest wins), merging threads' snapshots under the
// same caps, a Router's snapshot (publisher's inbound track, each subscriber's outbound one, labelled by
// the right peer, with the bytes their packets carried), and a session counting the RTCP feedback its
// client sends (PLI, FIR, NACK) and its report blocks about streams it receives.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BitrateMeter, QualityCollector, mergeQuality, type QualitySnapshot, type TrackQuality } from '../../../src/media/sfu/media-quality.js';
import { emptyMediaStats } from '../../../src/media/sfu/media-stats.js';
import { Router } from '../../../src/media/sfu/router.js';
import { buildFir, buildNack, buildPli, buildRr, compound } from '../../../src/media/wire/rtcp.js';
import type { Codec } from '../../../src/media/wire/sdp.js';
import { room } from '../session/session-harness.js';
import { feed, rtp, VP8_DELTA, VP8_KEY } from './test-packets.js';

const VP8: Codec = { payloadType: 96, name: 'VP8', clockRate: 90000, rtcpFb: [] };

function track(i: number): TrackQuality {
  return { roomId: 'r', peerId: `p${i}`, trackId: `t${i}`, direction: 'in', bitrate: i };
}

describe('BitrateMeter', () => {
  test('averages since creation until a second has passed, then measures per window of at least a second', () => {
    const m = new BitrateMeter(0);
    assert.equal(m.sample(1000, 500), 16_000, '1000 B in 0.5 s');
    assert.equal(m.sample(2000, 1000), 16_000, '2000 B in 1 s: the first full window');
    assert.equal(m.sample(9999, 1500), 16_000, 'half a second later: the previous value');
    assert.equal(m.sample(4000, 2000), 16_000, '2000 B more in the next second');
    assert.equal(m.sample(4000, 4000), 0, 'nothing for two seconds');
  });
});

describe('QualityCollector and mergeQuality', () => {
  test('tracks over the limit are counted, not kept; one RTT per peer, the latest measurement wins', () => {
    const c = new QualityCollector({ tracks: 2, peers: 1 });
    for (let i = 0; i < 5; i++) if (c.roomForTrack()) c.track(track(i));
    c.rtt('r', 'a', 0.1, 10);
    c.rtt('r', 'a', 0.3, 30);
    c.rtt('r', 'a', 0.2, 20);
    c.rtt('r', 'b', 0.5, 40);
    const s = c.snapshot();
    assert.deepEqual(s.tracks.map((t) => t.trackId), ['t0', 't1']);
    assert.equal(s.droppedTracks, 3);
    assert.deepEqual(s.peers, [{ roomId: 'r', peerId: 'a', rttSeconds: 0.3 }]);
    assert.equal(s.droppedPeers, 1);
  });

  test('merging threads keeps the caps and adds up what each left out', () => {
    const snap = (from: number, n: number, dropped: number): QualitySnapshot => ({
      tracks: Array.from({ length: n }, (_, i) => track(from + i)),
      peers: [{ roomId: 'r', peerId: `p${from}`, rttSeconds: 0.01 }],
      droppedTracks: dropped,
      droppedPeers: 0,
      pausedTracks: from,
    });
    const merged = mergeQuality([snap(0, 3, 1), snap(10, 3, 2)], { tracks: 4, peers: 1 });
    assert.deepEqual(merged.tracks.map((t) => t.trackId), ['t0', 't1', 't2', 't10']);
    assert.equal(merged.droppedTracks, 1 + 2 + 2);
    assert.equal(merged.peers.length, 1);
    assert.equal(merged.droppedPeers, 1);
    assert.equal(merged.pausedTracks, 0 + 10, 'paused tracks are summed over threads, whatever the caps');
  });
});

describe('Router quality snapshot', () => {
  test('the publisher’s inbound track and each subscriber’s outbound copy, with the peers they belong to', () => {
    const router = new Router('room-q', emptyMediaStats(), () => {});
    const producer = router.produce({ trackId: 'tv', peerId: 'pub', kind: 'video', codec: VP8, rids: [] }, { sendPli: () => {} });
    producer.variantSsrcs.set('', 0x1111);
    for (const [i, sub] of ['sub-a', 'sub-b'].entries()) {
      router
        .consume(producer, { ssrc: 0x2000 + i, payloadType: 100, targetVariant: 'm', send: () => undefined, resend: () => {}, nack: false, onVariantSwitched: () => {}, subscriberId: sub })
        .start();
    }
    const packets = [rtp({ ssrc: 0x1111, pt: 96, seq: 1, payload: VP8_KEY }), rtp({ ssrc: 0x1111, pt: 96, seq: 2, payload: VP8_DELTA })];
    for (const p of packets) feed(producer, p);
    const c = new QualityCollector({ tracks: 10, peers: 10 }, performance.now() + 2000);
    router.collectQuality(c);
    const s = c.snapshot();
    assert.deepEqual(
      s.tracks.map((t) => [t.roomId, t.peerId, t.trackId, t.direction]),
      [
        ['room-q', 'pub', 'tv', 'in'],
        ['room-q', 'sub-a', 'tv', 'out'],
        ['room-q', 'sub-b', 'tv', 'out'],
      ],
    );
    const bytes = packets.reduce((n, p) => n + p.length, 0);
    for (const t of s.tracks) assert.ok(t.bitrate > 0 && t.bitrate <= (bytes * 8) / 2 + 1, `${t.direction} ${t.peerId}: ${t.bitrate} b/s over ~2 s`);
    assert.equal(s.tracks[1]!.lossRatio, undefined, 'no receiver report yet');
    assert.deepEqual(s.peers, []);

    const capped = new QualityCollector({ tracks: 2, peers: 10 });
    router.collectQuality(capped);
    assert.equal(capped.snapshot().tracks.length, 2);
    assert.equal(capped.snapshot().droppedTracks, 1);
    router.closeProducer(producer);
    const gone = new QualityCollector({ tracks: 10, peers: 10 });
    router.collectQuality(gone);
    assert.deepEqual(gone.snapshot().tracks, [], 'a closed track is no longer reported');
  });
});

describe('session RTCP counters', () => {
  test('PLI, FIR and NACK from the client are counted; report blocks only for streams it receives', async () => {
    const r = await room('room-rtcp');
    const { session } = r.open('peer-rtcp');
    const rtcp = compound([buildPli(1, 0x42), buildFir(1, 0x42, 1), buildNack(1, 0x42, [5, 6]), buildRr(1, [{ ssrc: 0x42, fractionLost: 0, cumulativeLost: 0, highestSeq: 0, jitter: 0, lsr: 0, dlsr: 0 }])]);
    session.transport.emit('rtcp', rtcp);
    session.transport.emit('rtcp', buildPli(1, 0x43));
    const { nacksReceived, plisReceived, firsReceived, receiverReports } = r.ctx.stats;
    assert.deepEqual({ nacksReceived, plisReceived, firsReceived, receiverReports }, { nacksReceived: 1, plisReceived: 2, firsReceived: 1, receiverReports: 0 });
    session.close();
  });
});
