// The peer socket against hostile frames (issue 10), in both client generations: metadata nested 20k
// levels deep (or over 64 KiB) in connect / updateEndpointMetadata / updateTrackMetadata / sdpOffer is
// refused with an error event — the socket stays open, nothing is stored, GET /room keeps answering 200 —
// and a generative test (fast-check) sends random JSON media events, random protobuf media events and
// random bytes: the server never closes a socket with 1011, and another peer keeps working.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { MediaEventSchema as PeerMediaEventSchema } from '../../src/gen/fishjam/media_events/peer/peer_pb.js';
import { api, startShoal, type TestShoal } from '../helpers/server.js';
import { RawPeer, waitFor } from '../helpers/raw-peer.js';

type ProtoContent = MessageInitShape<typeof PeerMediaEventSchema>['content'];

let s: TestShoal;
before(async () => {
  s = await startShoal();
});
after(() => s.stop());

const nested = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

async function newPeer(roomId: string): Promise<{ peer: RawPeer; id: string; token: string }> {
  const res = await api(s, 'POST', `/room/${roomId}/peer`, { type: 'webrtc' });
  assert.equal(res.status, 201, res.text);
  return { peer: new RawPeer(s.wsUrl), id: res.json.data.peer.id, token: res.json.data.token };
}

async function listingIsHealthy(roomId: string): Promise<any> {
  assert.equal((await api(s, 'GET', '/room')).status, 200);
  const one = await api(s, 'GET', `/room/${roomId}`);
  assert.equal(one.status, 200, one.text.slice(0, 200));
  return one.json.data;
}

/** Server media events of the protobuf generation that a RawPeer received, by case. */
function protoEvents(peer: RawPeer, kind: string): any[] {
  return peer.messages.filter((m) => m.content.case === 'serverMediaEvent' && m.content.value.content.case === kind).map((m) => (m.content.value as any).content.value);
}

describe('nested metadata from sockets', () => {
  test('ts-client 0.5.0 (JSON events): refused with an error event, the socket stays, listings stay 200', async () => {
    const room = (await api(s, 'POST', '/room', {})).json.data.room;
    const a = await newPeer(room.id);
    const b = await newPeer(room.id);
    await a.peer.auth(a.token);
    await b.peer.join(b.token, { name: 'B' });
    a.peer.send({ content: { case: 'mediaEvent', value: { data: `{"type":"connect","data":{"metadata":${nested(20_000)}}}` } } });
    const refused = await a.peer.nextEvent('error');
    assert.match(refused.data.message, /nested deeper than \d+ levels/);
    await listingIsHealthy(room.id);
    a.peer.sendEvent('connect', { metadata: { name: 'A' } });
    await a.peer.nextEvent('connected');
    a.peer.send({ content: { case: 'mediaEvent', value: { data: `{"type":"updateEndpointMetadata","data":{"metadata":${nested(40)}}}` } } });
    await a.peer.nextEvent('error', 5000, (d) => d.message === 'Peer metadata is nested deeper than 32 levels');
    a.peer.sendEvent('updateEndpointMetadata', { metadata: { blob: 'x'.repeat(70_000) } });
    await a.peer.nextEvent('error', 5000, (d) => d.message === 'Peer metadata is larger than 65536 bytes');
    a.peer.send({ content: { case: 'mediaEvent', value: { data: `{"type":"updateTrackMetadata","data":{"trackId":"t","trackMetadata":${nested(40)}}}` } } });
    await a.peer.nextEvent('error', 5000, (d) => d.message === 'Track metadata is nested deeper than 32 levels');
    a.peer.sendEvent('updateEndpointMetadata', { metadata: { name: 'A2' } });
    await b.peer.nextEvent('endpointUpdated', 5000, (d) => d.metadata?.name === 'A2');
    assert.equal(a.peer.closed, undefined, 'the sender keeps its socket');
    const data = await listingIsHealthy(room.id);
    assert.deepEqual(data.peers.find((p: any) => p.id === a.id).metadata, { name: 'A2' });
    a.peer.close();
    b.peer.close();
  });

  test('ts-client 0.25 (protobuf events): refused with an error event, the socket stays, listings stay 200', async () => {
    const room = (await api(s, 'POST', '/room', {})).json.data.room;
    const a = await newPeer(room.id);
    await a.peer.opened();
    a.peer.send({ content: { case: 'authRequest', value: { token: a.token, sdkVersion: '0.25.1' } } });
    const proto = (content: ProtoContent) => a.peer.send({ content: { case: 'peerMediaEvent', value: { content } } });
    const errors = (n: number) => waitFor(a.peer.messages, () => protoEvents(a.peer, 'error').length >= n, 5000, `${n} error events`, (cb) => {
      a.peer.ws.on('message', cb);
      return () => a.peer.ws.off('message', cb);
    });
    proto({ case: 'connect', value: { metadataJson: nested(20_000) } });
    await errors(1);
    proto({ case: 'connect', value: { metadataJson: '{"name":"A"}' } });
    proto({ case: 'updateEndpointMetadata', value: { metadataJson: nested(40) } });
    proto({ case: 'updateTrackMetadata', value: { trackId: 't', metadataJson: JSON.stringify({ blob: 'x'.repeat(70_000) }) } });
    proto({ case: 'sdpOffer', value: { sdp: 'v=0', trackIdToMetadataJson: { t: nested(40) }, midToTrackId: {} } });
    await errors(4);
    assert.deepEqual(protoEvents(a.peer, 'error').map((e) => e.message), [
      'metadata_json is nested deeper than 32 levels',
      'metadata_json is nested deeper than 32 levels',
      'Track metadata is larger than 65536 bytes',
      'metadata_json is nested deeper than 32 levels',
    ]);
    assert.equal(a.peer.closed, undefined);
    const data = await listingIsHealthy(room.id);
    assert.equal(data.peers[0].status, 'connected');
    a.peer.close();
  });
});

describe('generative: random peer frames never take a socket or the server down', () => {
  const jsonEvent = fc.record({
    type: fc.constantFrom('connect', 'disconnect', 'updateEndpointMetadata', 'updateTrackMetadata', 'enableTrackEncoding', 'disableTrackEncoding', 'custom', 'unknown'),
    data: fc.oneof(
      fc.jsonValue({ maxDepth: 5 }),
      fc.record({
        type: fc.constantFrom('renegotiateTracks', 'sdpOffer', 'candidate', 'setTargetTrackVariant', 'other'),
        data: fc.jsonValue({ maxDepth: 4 }),
      }),
    ),
  });
  const text = fc.oneof(fc.string({ maxLength: 200 }), fc.json({ maxDepth: 4 }), fc.integer({ min: 30, max: 500 }).map(nested));
  const protoEvent: fc.Arbitrary<ProtoContent> = fc.oneof(
    text.map((metadataJson) => ({ case: 'connect' as const, value: { metadataJson } })),
    text.map((metadataJson) => ({ case: 'updateEndpointMetadata' as const, value: { metadataJson } })),
    fc.tuple(fc.string({ maxLength: 40 }), text).map(([trackId, metadataJson]) => ({ case: 'updateTrackMetadata' as const, value: { trackId, metadataJson } })),
    fc.tuple(fc.string({ maxLength: 400 }), fc.dictionary(fc.string({ maxLength: 10 }), text, { maxKeys: 3 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 10 }), { maxKeys: 3 })).map(
      ([sdp, trackIdToMetadataJson, midToTrackId]) => ({ case: 'sdpOffer' as const, value: { sdp, trackIdToMetadataJson, midToTrackId } }),
    ),
    fc.string({ maxLength: 200 }).map((candidate) => ({ case: 'candidate' as const, value: { candidate } })),
    fc.tuple(fc.string({ maxLength: 40 }), fc.integer({ min: -1, max: 5 })).map(([trackId, variant]) => ({ case: 'setTargetTrackVariant' as const, value: { trackId, variant } })),
    fc.constant({ case: 'renegotiateTracks' as const, value: {} }),
  );
  const frame = fc.oneof(
    jsonEvent.map((e) => ({ kind: 'json' as const, data: JSON.stringify(e) })),
    protoEvent.map((content) => ({ kind: 'proto' as const, content })),
    fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ kind: 'bytes' as const, bytes })),
  );

  test('JSON events, protobuf events and raw bytes after auth: no 1011, the other peer still hears', async () => {
    const room = (await api(s, 'POST', '/room', {})).json.data.room;
    const watcher = await newPeer(room.id);
    await watcher.peer.join(watcher.token, { name: 'W' });
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(frame, { minLength: 1, maxLength: 15 }), async (proto, frames) => {
        const a = await newPeer(room.id);
        await a.peer.opened();
        a.peer.send({ content: { case: 'authRequest', value: { token: a.token, sdkVersion: proto ? '0.25.1' : '' } } });
        for (const f of frames) {
          if (f.kind === 'json') a.peer.send({ content: { case: 'mediaEvent', value: { data: f.data } } });
          else if (f.kind === 'proto') a.peer.send({ content: { case: 'peerMediaEvent', value: { content: f.content } } });
          else a.peer.ws.send(f.bytes);
        }
        // A marker the server answers: once it arrives, every frame before it has been handled.
        const marker = `m${++round}`;
        a.peer.sendEvent('connect', { metadata: { marker } });
        await watcher.peer.nextEvent('endpointAdded', 5000, (d) => d.metadata?.marker === marker).catch(() =>
          watcher.peer.nextEvent('endpointUpdated', 5000, (d) => d.metadata?.marker === marker),
        );
        assert.notEqual(a.peer.closed?.code, 1011, `closed: ${JSON.stringify(a.peer.closed)}`);
        a.peer.close();
        await a.peer.waitClosed();
      }),
      { numRuns: 40 },
    );
    await listingIsHealthy(room.id);
    assert.equal(watcher.peer.closed, undefined);
    watcher.peer.close();
  });
});
