// Early drop of unused simulcast layers: a producer feeds its per-sink loop only the variants some sink
// needs (consumers say which, on every switch, pause, resume, start and close), while counting, keyframe
// tracking and the per-layer bitrate meter still see every packet, and sinks that do not choose (agents,
// recorders) still get every variant.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { layerMeterFor } from '../../../src/media/sfu/bwe/layer-meter.js';
import type { Consumer } from '../../../src/media/sfu/consumer.js';
import { emptyMediaStats } from '../../../src/media/sfu/media-stats.js';
import { Router } from '../../../src/media/sfu/router.js';
import { VARIANT_BIT, type RtpSink } from '../../../src/media/sfu/rtp-sink.js';
import type { StreamVariant } from '../../../src/media/sfu/stream-variant.js';
import type { Variant } from '../../../src/room/track.js';
import type { Codec } from '../../../src/media/wire/sdp.js';
import { feed, recordingSink, rtp, VP8_DELTA, VP8_KEY } from './test-packets.js';

const VP8: Codec = { payloadType: 96, name: 'VP8', clockRate: 90000, rtcpFb: [] };
const SSRC: Record<Variant, number> = { l: 11, m: 22, h: 33 };

function setup() {
  const stats = emptyMediaStats();
  const router = new Router('room', stats, () => {});
  const plis: number[] = [];
  const producer = router.produce({ trackId: 't', peerId: 'pub', kind: 'video', codec: VP8, rids: ['l', 'm', 'h'] }, { sendPli: (ssrc) => plis.push(ssrc) });
  for (const v of ['l', 'm', 'h'] as const) producer.variantSsrcs.set(v, SSRC[v]);
  const seqs: Record<Variant, number> = { l: 100, m: 200, h: 300 };
  /** One packet of `v` (a keyframe start when `key`). */
  const send = (v: Variant, key = false) => feed(producer, rtp({ ssrc: SSRC[v], pt: 96, seq: seqs[v]++, ts: 1000 * seqs[v], payload: key ? VP8_KEY : VP8_DELTA }), v);
  /** A started consumer on `target`, with a count of what reached its forward() per variant and what it sent. */
  const subscribe = (target: Variant) => {
    const sent: number[] = [];
    const consumer = router.consume(producer, {
      ssrc: 0x1000 + Math.floor(Math.random() * 0xffff),
      payloadType: 100,
      targetVariant: target,
      send: (_p, length) => void sent.push(length),
      resend: () => {},
      nack: false,
      onVariantSwitched: () => {},
    });
    const reached: Record<StreamVariant, number> = { l: 0, m: 0, h: 0, '': 0 };
    const forward = consumer.forward.bind(consumer);
    consumer.forward = (buf, h, variant, keyframe) => {
      reached[variant]++;
      forward(buf, h, variant, keyframe);
    };
    consumer.start();
    return { consumer, reached, sent };
  };
  /** Every variant's keyframe, then `frames` delta packets of each. */
  const round = (frames: number, keyframes = true) => {
    for (const v of ['l', 'm', 'h'] as const) {
      if (keyframes) send(v, true);
      for (let i = 0; i < frames; i++) send(v);
    }
  };
  return { stats, router, producer, plis, send, subscribe, round };
}

describe('Producer: layers no sink needs are dropped before the sink loop', () => {
  test('two consumers on l and one on m: h packets never reach a consumer, l and m do; the drop is counted', () => {
    const { stats, producer, subscribe, round } = setup();
    const a = subscribe('l');
    const b = subscribe('l');
    const c = subscribe('m');
    assert.equal(producer.neededVariants, VARIANT_BIT.l | VARIANT_BIT.m);
    round(10);
    for (const s of [a, b, c]) assert.equal(s.reached.h, 0, 'no h packet reaches a consumer');
    assert.equal(a.reached.l, 11);
    assert.equal(b.reached.l, 11);
    assert.equal(c.reached.m, 11);
    assert.equal(a.sent.length, 11, 'l is forwarded from its keyframe on');
    assert.equal(c.sent.length, 11);
    assert.equal(stats.rtpDroppedUnusedLayer, 11, 'the h keyframe and its 10 deltas');
    assert.equal(stats.rtpReceived, 33, 'every packet is still counted as received');
    assert.equal(stats.rtpForwarded, 33);
    producer.close();
  });

  test('a consumer switching l → h gets h packets at once and forwards from the next h keyframe; l stops once no one needs it', () => {
    const { stats, producer, plis, send, subscribe, round } = setup();
    const s = subscribe('l');
    round(2);
    assert.equal(s.sent.length, 3);
    plis.length = 0;
    s.consumer.setTargetVariant('h');
    assert.deepEqual(plis, [SSRC.h], 'a keyframe of h is asked for');
    assert.equal(producer.neededVariants, VARIANT_BIT.l | VARIANT_BIT.h, 'l while waiting, h to switch to');
    send('h');
    assert.equal(s.reached.h, 1, 'h delta packets reach the consumer while it waits for a keyframe');
    send('l');
    assert.equal(s.sent.length, 4, 'still on l until the h keyframe');
    send('h', true);
    assert.equal(s.consumer.currentVariant, 'h');
    assert.equal(s.sent.length, 5, 'the h keyframe is forwarded');
    assert.equal(producer.neededVariants, VARIANT_BIT.h);
    const dropped = stats.rtpDroppedUnusedLayer;
    const reachedL = s.reached.l;
    send('l');
    send('l', true);
    assert.equal(s.reached.l, reachedL, 'l no longer reaches the consumer');
    assert.equal(stats.rtpDroppedUnusedLayer, dropped + 2);
    producer.close();
  });

  test('the per-layer bitrate meter still measures every layer, and sinks that do not choose get every variant', () => {
    const { producer, subscribe, round } = setup();
    const meter = layerMeterFor(producer);
    const agent = recordingSink();
    producer.addSink(agent.sink);
    subscribe('l');
    assert.equal(meter.bitrate('h', 0), 0);
    round(5);
    assert.ok(meter.bitrate('h', 1000) > 0, 'h measured although no consumer receives it');
    assert.ok(meter.bitrate('m', 1000) > 0);
    assert.deepEqual(
      ['l', 'm', 'h'].map((v) => agent.got.filter((g) => g.variant === v).length),
      [6, 6, 6],
      'a sink without neededVariants gets every packet of every variant',
    );
    assert.equal(producer.neededVariants & VARIANT_BIT.h, VARIANT_BIT.h, 'such a sink makes every variant needed');
    producer.removeSink(agent.sink);
    assert.equal(producer.neededVariants, VARIANT_BIT.l, 'and only it did');
    assert.equal(producer.sinkCount, 2, 'the consumer and the meter');
    producer.close();
  });

  test('a sink that declares its variants gets only those', () => {
    const { producer, round } = setup();
    const got: StreamVariant[] = [];
    const sink: RtpSink = { forward: (_b, _h, v) => void got.push(v), close: () => {}, neededVariants: () => VARIANT_BIT.m };
    producer.addSink(sink);
    producer.addSink(sink);
    round(1);
    assert.deepEqual(got, ['m', 'm']);
    producer.removeSink(sink);
    producer.removeSink(sink);
    assert.equal(producer.neededVariants, 0, 'counts stay right when a sink is added or removed twice');
    producer.close();
  });

  test('paused, not yet started and closed consumers need nothing; resuming needs the layer again and asks for a keyframe', () => {
    const { stats, router, producer, plis, round } = setup();
    const early = router.consume(producer, { ssrc: 5, payloadType: 100, targetVariant: 'm', send: () => undefined, resend: () => {}, nack: false, onVariantSwitched: () => {} });
    assert.equal(producer.neededVariants, 0, 'a consumer whose transport is not ready needs nothing');
    round(1);
    assert.equal(stats.rtpDroppedUnusedLayer, 6);
    early.start();
    assert.equal(producer.neededVariants, VARIANT_BIT.m);
    round(1);
    assert.equal(early.currentVariant, 'm');
    early.allocate(null);
    assert.equal(producer.neededVariants, 0, 'a paused track needs no layer');
    plis.length = 0;
    early.allocate('l');
    assert.equal(producer.neededVariants, VARIANT_BIT.l, 'resumed on l (nothing is forwarded while paused, so only l)');
    assert.deepEqual(plis, [SSRC.l]);
    round(1);
    assert.equal(early.currentVariant, 'l');
    early.allocate(undefined);
    assert.equal(producer.neededVariants, VARIANT_BIT.l | VARIANT_BIT.m, 'back to the target m, still on l until its keyframe');
    (early as Consumer).close();
    assert.equal(producer.neededVariants, 0);
    assert.equal(producer.sinkCount, 0);
    producer.close();
  });
});
