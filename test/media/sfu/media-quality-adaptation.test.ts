// The network-adaptation part of the quality snapshot: each subscriber's downlink estimate (only once its
// transport had feedback, one value per peer, peers over the cap counted once), whether the allocator
// paused a forwarded video track and which simulcast layer it gets against the one asked for, the
// retransmission bitrate of a forwarded track, and the paused-track count, which includes tracks left out
// of the capped series and adds up over threads.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SendHistory } from '../../../src/media/sfu/bwe/send-history.js';
import type { Consumer, ConsumerParams } from '../../../src/media/sfu/consumer.js';
import { QualityCollector, mergeQuality, type QualitySnapshot, type TrackQuality } from '../../../src/media/sfu/media-quality.js';
import { emptyMediaStats } from '../../../src/media/sfu/media-stats.js';
import { Router } from '../../../src/media/sfu/router.js';
import type { StreamVariant } from '../../../src/media/sfu/stream-variant.js';
import { parseRtpHeader } from '../../../src/media/wire/rtp.js';
import type { Codec } from '../../../src/media/wire/sdp.js';
import { feed, rtp, VP8_DELTA, VP8_KEY } from './test-packets.js';

const VP8: Codec = { payloadType: 96, name: 'VP8', clockRate: 90000, rtcpFb: [] };
const SSRC: Record<StreamVariant, number> = { l: 0x10, m: 0x20, h: 0x30, '': 0x40 };

function setup(rids: ('l' | 'm' | 'h')[]) {
  const router = new Router('room-a', emptyMediaStats(), () => {});
  const producer = router.produce({ trackId: 'tv', peerId: 'pub', kind: 'video', codec: VP8, rids }, { sendPli: () => {} });
  for (const v of rids.length > 0 ? rids : ([''] as const)) producer.variantSsrcs.set(v, SSRC[v]);
  const sent: Buffer[] = [];
  let nextSsrc = 0x5000;
  const consume = (subscriberId: string, extra: Partial<ConsumerParams> = {}): Consumer => {
    const c = router.consume(producer, {
      ssrc: nextSsrc++,
      payloadType: 100,
      targetVariant: 'm',
      send: (p, length) => {
        const copy = Buffer.from(p.subarray(0, length));
        sent.push(copy);
        return copy;
      },
      resend: () => {},
      nack: false,
      onVariantSwitched: () => {},
      subscriberId,
      ...extra,
    });
    c.start();
    return c;
  };
  let seq = 100;
  const send = (v: StreamVariant, key: boolean) => feed(producer, rtp({ ssrc: SSRC[v], pt: 96, seq: seq++, payload: key ? VP8_KEY : VP8_DELTA }), v);
  const snapshot = (limits = { tracks: 10, peers: 10 }, now = performance.now()): QualitySnapshot => {
    const c = new QualityCollector(limits, now);
    router.collectQuality(c);
    return c.snapshot();
  };
  const out = (s: QualitySnapshot, peerId: string): TrackQuality | undefined => s.tracks.find((t) => t.direction === 'out' && t.peerId === peerId);
  return { router, producer, consume, send, snapshot, out, sent };
}

describe('QualityCollector: peers and paused tracks', () => {
  test('a peer may have an estimate without a round trip and the reverse; absent values are absent keys', () => {
    const c = new QualityCollector({ tracks: 10, peers: 10 });
    c.downlinkEstimate('r', 'a', 800_000);
    c.rtt('r', 'b', 0.04, 5);
    c.rtt('r', 'c', 0.02, 5);
    c.downlinkEstimate('r', 'c', 1_500_000);
    assert.deepEqual(c.snapshot().peers, [
      { roomId: 'r', peerId: 'a', downlinkEstimateBits: 800_000 },
      { roomId: 'r', peerId: 'b', rttSeconds: 0.04 },
      { roomId: 'r', peerId: 'c', rttSeconds: 0.02, downlinkEstimateBits: 1_500_000 },
    ]);
  });

  test('a peer over the cap is counted once however many of its streams report; paused tracks are counted past the track cap', () => {
    const c = new QualityCollector({ tracks: 0, peers: 1 });
    c.rtt('r', 'a', 0.01, 1);
    for (let i = 0; i < 3; i++) {
      c.rtt('r', 'b', 0.01, i);
      c.downlinkEstimate('r', 'b', 1);
    }
    c.downlinkEstimate('r', 'z', 1);
    for (let i = 0; i < 4; i++) c.pausedTrack();
    assert.equal(c.roomForTrack(), false);
    const s = c.snapshot();
    assert.equal(s.peers.length, 1);
    assert.equal(s.droppedPeers, 2, 'b and z');
    assert.equal(s.pausedTracks, 4);
    assert.equal(s.droppedTracks, 1);
  });

  test('paused tracks add up over threads even when the merged series are capped', () => {
    const thread = (pausedTracks: number): QualitySnapshot => ({ tracks: [], peers: [], droppedTracks: 0, droppedPeers: 0, pausedTracks });
    assert.equal(mergeQuality([thread(2), thread(0), thread(3)], { tracks: 0, peers: 0 }).pausedTracks, 5);
  });
});

describe('Consumer quality: estimate, paused, layer, retransmissions', () => {
  test('the downlink estimate appears once the transport says it has one, under the subscriber', () => {
    const { consume, snapshot, send } = setup([]);
    let estimate: number | undefined;
    consume('sub', { transportCc: { extId: 3, history: new SendHistory(), estimate: () => estimate } });
    send('', true);
    assert.deepEqual(snapshot().peers, [], 'no feedback yet: no estimate');
    estimate = 1_234_000;
    assert.deepEqual(snapshot().peers, [{ roomId: 'room-a', peerId: 'sub', downlinkEstimateBits: 1_234_000 }]);
  });

  test('single-stream video: paused 0 and no layer; paused by the allocator: paused 1, counted', () => {
    const { consume, snapshot, send, out } = setup([]);
    const c = consume('sub');
    send('', true);
    let t = out(snapshot(), 'sub')!;
    assert.equal(t.paused, false);
    assert.equal(t.layer, undefined, 'no simulcast: no layer');
    assert.equal(t.targetLayer, undefined);
    assert.equal(snapshot().pausedTracks, 0);
    c.allocate(null);
    const s = snapshot();
    t = out(s, 'sub')!;
    assert.equal(t.paused, true);
    assert.equal(s.pausedTracks, 1);
    c.allocate(undefined);
    assert.equal(out(snapshot(), 'sub')!.paused, false);
    assert.equal(snapshot().pausedTracks, 0, 'resumed');
  });

  test('simulcast: the layer forwarded now and the one asked for; none while paused; paused tracks counted past the cap', () => {
    const { consume, snapshot, send, out } = setup(['l', 'm', 'h']);
    const lowered = consume('sub-low');
    const full = consume('sub-full');
    lowered.allocate('l');
    send('m', true);
    send('l', true);
    let s = snapshot();
    assert.deepEqual([out(s, 'sub-full')!.layer, out(s, 'sub-full')!.targetLayer], [1, 1], 'gets m as asked');
    assert.deepEqual([out(s, 'sub-low')!.layer, out(s, 'sub-low')!.targetLayer], [0, 1], 'lowered to l below m');
    full.setTargetVariant('h');
    send('h', true);
    assert.deepEqual([out(snapshot(), 'sub-full')!.layer, out(snapshot(), 'sub-full')!.targetLayer], [2, 2]);

    lowered.allocate(null);
    full.allocate(null);
    s = snapshot();
    assert.equal(out(s, 'sub-low')!.paused, true);
    assert.equal(out(s, 'sub-low')!.layer, undefined, 'paused: no layer');
    assert.equal(out(s, 'sub-low')!.targetLayer, 1);
    assert.equal(s.pausedTracks, 2);
    const capped = snapshot({ tracks: 1, peers: 10 });
    assert.equal(capped.tracks.length, 1, 'only the inbound track fits');
    assert.equal(capped.pausedTracks, 2, 'both paused tracks counted anyway');
  });

  test('audio has no paused flag and no layer', () => {
    const router = new Router('room-a', emptyMediaStats(), () => {});
    const opus: Codec = { payloadType: 111, name: 'opus', clockRate: 48000, channels: 2, rtcpFb: [] };
    const producer = router.produce({ trackId: 'ta', peerId: 'pub', kind: 'audio', codec: opus, rids: [] }, { sendPli: () => {} });
    router.consume(producer, { ssrc: 9, payloadType: 111, targetVariant: 'm', send: () => undefined, resend: () => {}, nack: false, onVariantSwitched: () => {}, subscriberId: 's' }).start();
    const c = new QualityCollector({ tracks: 10, peers: 10 });
    router.collectQuality(c);
    const t = c.snapshot().tracks.find((x) => x.direction === 'out')!;
    assert.deepEqual([t.paused, t.layer, t.targetLayer, t.retransmitBitrate], [undefined, undefined, undefined, undefined]);
  });

  test('retransmission bitrate: what was resent between two scrapes; only for consumers that answer NACKs', () => {
    const { consume, snapshot, send, out, sent } = setup([]);
    const c = consume('sub-nack', { nack: true });
    consume('sub-plain');
    for (let i = 0; i < 5; i++) send('', i === 0);
    const t0 = performance.now();
    assert.equal(out(snapshot(undefined, t0), 'sub-nack')!.retransmitBitrate, 0, 'first scrape: the meter starts');
    assert.equal(out(snapshot(undefined, t0), 'sub-plain')!.retransmitBitrate, undefined, 'no NACK negotiated: no series');
    const mine = sent.filter((p) => p.readUInt32BE(8) === c.ssrc);
    assert.equal(mine.length, 5);
    const seqs = mine.slice(0, 3).map((p) => parseRtpHeader(p)!.sequenceNumber);
    c.retransmit(seqs);
    const resentBytes = mine.slice(0, 3).reduce((n, p) => n + p.length, 0);
    assert.equal(c.retransmittedBytes, resentBytes);
    const bps = out(snapshot(undefined, t0 + 2000), 'sub-nack')!.retransmitBitrate!;
    assert.ok(Math.abs(bps - (resentBytes * 8) / 2) < 1e-6, `${bps} b/s: ${resentBytes} bytes resent over 2 s`);
    assert.equal(out(snapshot(undefined, t0 + 3000), 'sub-nack')!.retransmitBitrate, 0, 'nothing resent since');
  });
});
