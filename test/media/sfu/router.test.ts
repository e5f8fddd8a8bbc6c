// Router: producers are registered by track id (a second produce of an id by the same peer replaces the
// first; by another peer it throws TrackIdInUseError and the owner's producer stays — ownerOf tells);
// closeProducer forgets only the current producer of its id and closes the consumers it feeds; consume
// wires a consumer the producer feeds; join/leave empty the router once; the MediaStats object handed to
// the Router is the one its producers and consumers count on.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Consumer } from '../../../src/media/sfu/consumer.js';
import { emptyMediaStats, type MediaStats } from '../../../src/media/sfu/media-stats.js';
import { Router, TrackIdInUseError } from '../../../src/media/sfu/router.js';
import type { Producer } from '../../../src/media/sfu/producer.js';
import type { Codec } from '../../../src/media/wire/sdp.js';
import { feed, header, recordingSink, rtp, VP8_DELTA, VP8_KEY } from './test-packets.js';

const VP8: Codec = { payloadType: 96, name: 'VP8', clockRate: 90000, rtcpFb: ['nack', 'nack pli'] };
const PUB_SSRC = 0x11111111;
const SUB_SSRC = 0x22222222;

function setup(stats: MediaStats = emptyMediaStats()) {
  const emptied: Router[] = [];
  const router = new Router('room-1', stats, (r) => emptied.push(r));
  const plis: number[] = [];
  const produce = (trackId = 'track') => router.produce({ trackId, peerId: 'pub', kind: 'video', codec: VP8, rids: [] }, { sendPli: (s) => plis.push(s) });
  const sent: Buffer[] = [];
  const resent: Buffer[] = [];
  const consume = (producer: Producer, ssrc = SUB_SSRC): Consumer =>
    router.consume(producer, {
      ssrc,
      payloadType: 100,
      targetVariant: 'm',
      send: (p, length) => {
        const copy = Buffer.from(p.subarray(0, length));
        sent.push(copy);
        return copy;
      },
      resend: (kept) => resent.push(kept as Buffer),
      nack: true,
      onVariantSwitched: () => {},
    });
  return { router, stats, emptied, plis, produce, consume, sent, resent };
}

const key = (seq: number) => rtp({ ssrc: PUB_SSRC, pt: 96, seq, payload: VP8_KEY });
const delta = (seq: number) => rtp({ ssrc: PUB_SSRC, pt: 96, seq, payload: VP8_DELTA });

describe('Router', () => {
  test('produce registers the producer by track id; a second produce of the id replaces it', () => {
    const { router, produce } = setup();
    assert.equal(router.producer('track'), undefined);
    const first = produce();
    assert.equal(router.producer('track'), first);
    assert.equal(first.trackId, 'track');
    const other = produce('other');
    const second = produce();
    assert.notEqual(second, first);
    assert.equal(router.producer('track'), second);
    assert.equal(router.producer('other'), other);
  });

  test("a track id belongs to its publisher: another peer's produce of it throws and the owner's producer stays", () => {
    const { router, produce } = setup();
    const first = produce();
    assert.equal(router.ownerOf('track'), 'pub');
    assert.equal(router.ownerOf('nothing'), undefined);
    assert.throws(
      () => router.produce({ trackId: 'track', peerId: 'impostor', kind: 'video', codec: VP8, rids: [] }, { sendPli: () => {} }),
      (err: unknown) => err instanceof TrackIdInUseError && err.trackId === 'track' && err.message === 'Track id track is already in use',
    );
    assert.equal(router.producer('track'), first);
    assert.equal(router.ownerOf('track'), 'pub');
    // Once the owner's producer is closed the id is free for anyone.
    router.closeProducer(first);
    const taken = router.produce({ trackId: 'track', peerId: 'impostor', kind: 'video', codec: VP8, rids: [] }, { sendPli: () => {} });
    assert.equal(router.producer('track'), taken);
    assert.equal(router.ownerOf('track'), 'impostor');
  });

  test('closeProducer of a replaced producer closes it but keeps the newer one registered', () => {
    const { router, produce } = setup();
    const first = produce();
    const firstSink = recordingSink();
    first.addSink(firstSink.sink);
    const second = produce();
    const secondSink = recordingSink();
    second.addSink(secondSink.sink);
    router.closeProducer(first);
    assert.equal(router.producer('track'), second, 'the newer producer keeps the track id');
    assert.equal(firstSink.closed(), 1, 'the old producer closed its sinks');
    assert.equal(first.sinkCount, 0);
    feed(first, key(1));
    feed(second, key(1));
    assert.equal(firstSink.got.length, 0);
    assert.equal(secondSink.got.length, 1, 'the newer producer still forwards');
    assert.equal(secondSink.closed(), 0);
    router.closeProducer(second);
    assert.equal(router.producer('track'), undefined, 'closing the current producer forgets the track');
    assert.equal(secondSink.closed(), 1);
  });

  test('closeProducer closes the consumers it feeds: they stop forwarding and the producer has no sinks', () => {
    const { router, produce, consume, sent } = setup();
    const producer = produce();
    const a = consume(producer, 0xa);
    const b = consume(producer, 0xb);
    a.start();
    b.start();
    feed(producer, key(1));
    assert.equal(sent.length, 2);
    assert.equal(producer.sinkCount, 2);
    router.closeProducer(producer);
    assert.equal(producer.sinkCount, 0);
    feed(producer, key(2));
    const pkt = key(3);
    a.forward(pkt, header(pkt), '', true);
    b.forward(pkt, header(pkt), '', true);
    assert.equal(sent.length, 2, 'closed consumers forward nothing, even when fed directly');
    producer.addSink(recordingSink().sink);
    assert.equal(producer.sinkCount, 0, 'a closed producer takes no new sinks');
  });

  test('consume wires a consumer that receives the producer\'s packets (rewritten for the subscriber)', () => {
    const { router, produce, consume, sent } = setup();
    const producer = produce();
    const consumer = consume(producer);
    assert.equal(producer.sinkCount, 1);
    assert.equal(consumer.producer, producer);
    consumer.start();
    feed(producer, delta(1));
    assert.equal(sent.length, 0, 'a consumer starts at a keyframe');
    feed(producer, key(2));
    feed(producer, delta(3));
    assert.equal(sent.length, 2);
    const h = header(sent[0]!);
    assert.equal(h.ssrc, SUB_SSRC);
    assert.equal(h.payloadType, 100);
    assert.equal(header(sent[1]!).sequenceNumber, (h.sequenceNumber + 1) & 0xffff);
    consumer.close();
    assert.equal(producer.sinkCount, 0, 'a closed consumer leaves its producer');
    assert.equal(router.producer('track'), producer);
  });

  test('join/leave: onEmpty is called once, when the last session leaves', () => {
    const { router, emptied } = setup();
    router.join();
    router.join();
    assert.equal(router.sessions, 2);
    router.leave();
    assert.deepEqual(emptied, []);
    assert.equal(router.sessions, 1);
    router.leave();
    assert.deepEqual(emptied, [router]);
    assert.equal(router.sessions, 0);
    assert.equal(router.roomId, 'room-1');
  });

  test('the stats object given to the Router is the one its producers and consumers count on', () => {
    const stats = emptyMediaStats();
    const { produce, consume, plis, sent, resent } = setup(stats);
    const producer = produce();
    producer.variantSsrcs.set('', PUB_SSRC);
    const consumer = consume(producer);
    consumer.start();
    assert.deepEqual(plis, [PUB_SSRC], 'start asks the publisher for a keyframe');
    feed(producer, key(10));
    feed(producer, delta(11));
    consumer.retransmit([header(sent[1]!).sequenceNumber]);
    assert.equal(resent.length, 1);
    assert.deepEqual(stats, { ...emptyMediaStats(), rtpReceived: 2, rtpForwarded: 2, rtpRetransmitted: 1, keyframeRequests: 1 });
  });

  test('two routers with their own stats count apart', () => {
    const one = setup();
    const two = setup();
    const p = one.produce();
    one.consume(p).start();
    feed(p, key(1));
    assert.equal(one.stats.rtpReceived, 1);
    assert.equal(one.stats.rtpForwarded, 1);
    assert.deepEqual(two.stats, emptyMediaStats());
  });

  test('data messages reach every other peer of the room on the same label, each delivery counted', () => {
    const stats = emptyMediaStats();
    const router = new Router('room-d', stats, () => {});
    const got: string[] = [];
    router.addDataSink('a', (label, data) => (got.push(`a:${label}:${data}`), true));
    router.addDataSink('b', (label, data) => (got.push(`b:${label}:${data}`), true));
    router.addDataSink('slow', () => false);
    router.publishData('a', 'reliable', Buffer.from('x'));
    router.publishData('b', 'lossy', Buffer.from('y'));
    router.dataRefused('notAllowed');
    router.dataRefused('tooLarge');
    router.removeDataSink('slow');
    router.publishData('a', 'reliable', Buffer.from('z'));
    assert.deepEqual(got, ['b:reliable:x', 'a:lossy:y', 'b:reliable:z']);
    assert.deepEqual(
      { r: stats.dataReceived, f: stats.dataForwarded, slow: stats.dataDroppedSlowReceiver, na: stats.dataDroppedNotAllowed, big: stats.dataDroppedTooLarge },
      { r: 3, f: 3, slow: 2, na: 1, big: 1 },
    );
  });
});
