// REST against hostile bodies (issue 10): deeply nested or oversized JSON in room config and peer
// metadata is refused with 400 and never stored (so GET /room keeps answering 200 for everyone); room ids
// have one length limit in the schema and the router; long lifecycle timeouts are accepted and kept; and a
// generative test (fast-check) throws random JSON bodies and ids at the routes: never a 5xx, never a
// broken listing afterwards.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { api, startShoal, type TestShoal } from '../helpers/server.js';

let s: TestShoal;
before(async () => {
  s = await startShoal();
});
after(() => s.stop());

/** JSON text nesting `depth` objects: {"a":{"a":...1...}} (built as text: too deep for JSON.stringify's comfort). */
const nested = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

async function listingIsHealthy(): Promise<void> {
  const list = await api(s, 'GET', '/room');
  assert.equal(list.status, 200, list.text.slice(0, 200));
  for (const room of list.json.data) {
    const one = await api(s, 'GET', `/room/${room.id}`);
    assert.equal(one.status, 200, one.text.slice(0, 200));
  }
}

describe('nested and oversized JSON', () => {
  test('20k-level metadata in add-peer options: 400 with a clear text, no peer created, listings still 200', async () => {
    const room = (await api(s, 'POST', '/room', {})).json.data.room;
    const res = await api(s, 'POST', `/room/${room.id}/peer`, `{"type":"webrtc","options":{"metadata":${nested(20_000)}}}`);
    assert.equal(res.status, 400);
    assert.match(res.json.errors, /nested deeper than \d+ levels/);
    const after = await api(s, 'GET', `/room/${room.id}`);
    assert.equal(after.status, 200);
    assert.deepEqual(after.json.data.peers, []);
    await listingIsHealthy();
  });

  test('metadata 40 levels deep or over 64 KiB is refused; 30 levels and 60 KiB are kept', async () => {
    const room = (await api(s, 'POST', '/room', {})).json.data.room;
    const deep = await api(s, 'POST', `/room/${room.id}/peer`, `{"type":"webrtc","options":{"metadata":${nested(40)}}}`);
    assert.equal(deep.status, 400);
    assert.equal(deep.json.errors, 'Peer metadata is nested deeper than 32 levels');
    const big = await api(s, 'POST', `/room/${room.id}/peer`, { type: 'webrtc', options: { metadata: { blob: 'x'.repeat(70_000) } } });
    assert.equal(big.status, 400);
    assert.equal(big.json.errors, 'Peer metadata is larger than 65536 bytes');
    const ok = await api(s, 'POST', `/room/${room.id}/peer`, `{"type":"webrtc","options":{"metadata":${nested(30)}}}`);
    assert.equal(ok.status, 201, ok.text);
    const fine = await api(s, 'POST', `/room/${room.id}/peer`, { type: 'webrtc', options: { metadata: { blob: 'x'.repeat(60_000) } } });
    assert.equal(fine.status, 201, fine.text);
    await listingIsHealthy();
  });

  test('a 20k-level room-config field: 400, not 500', async () => {
    for (const field of ['roomId', 'maxPeers', 'webhookUrl', 'roomType']) {
      const res = await api(s, 'POST', '/room', `{"${field}":${nested(20_000)}}`);
      assert.equal(res.status, 400, `${field}: ${res.text.slice(0, 200)}`);
    }
    await listingIsHealthy();
  });
});

describe('room ids', () => {
  test('one length limit: 100 characters are created, read and deleted; 200 and 10,000 are refused at create', async () => {
    const id100 = 'r'.repeat(100);
    assert.equal((await api(s, 'POST', '/room', { roomId: id100 })).status, 201);
    assert.equal((await api(s, 'GET', `/room/${id100}`)).status, 200);
    assert.equal((await api(s, 'POST', `/room/${id100}/peer`, { type: 'webrtc' })).status, 201);
    assert.equal((await api(s, 'DELETE', `/room/${id100}`)).status, 204);
    for (const length of [101, 200, 10_000]) {
      const res = await api(s, 'POST', '/room', { roomId: 'r'.repeat(length) });
      assert.equal(res.status, 400, `length ${length}`);
      assert.match(res.json.errors, /roomId may be at most 100 characters long$/);
      assert.ok(res.json.errors.length < 300, 'the refusal does not echo the whole id');
    }
    await listingIsHealthy();
  });
});

describe('lifecycle timeouts', () => {
  test('a 30-day peerlessPurgeTimeout keeps the room (Node timers overflow past 24.8 days)', async () => {
    const room = (await api(s, 'POST', '/room', { peerlessPurgeTimeout: 30 * 86_400, peerDisconnectedTimeout: 30 * 86_400 })).json.data.room;
    await api(s, 'POST', `/room/${room.id}/peer`, { type: 'webrtc' });
    // An overflowing timer fires after 1 ms (Node's TimeoutOverflowWarning): 50 ms is plenty to see it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const again = await api(s, 'GET', `/room/${room.id}`);
    assert.equal(again.status, 200);
    assert.equal(again.json.data.peers.length, 1);
  });
});

describe('generative: random bodies and ids never give a 5xx or break a listing', () => {
  const json = fc.oneof(
    { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 6 }) },
    { weight: 1, arbitrary: fc.integer({ min: 30, max: 3000 }).map((d) => ({ raw: nested(d) })) },
  );
  const asBody = (v: unknown) => (typeof v === 'object' && v !== null && 'raw' in v ? (v as { raw: string }).raw : JSON.stringify(v));

  test('POST /room, POST /room/:id/peer, subscribe_tracks, unknown ids', async () => {
    const room = (await api(s, 'POST', '/room', {})).json.data.room;
    await fc.assert(
      fc.asyncProperty(
        fc.record({ config: json, peer: json, metadata: json, tracks: json, id: fc.string({ maxLength: 300 }) }),
        async ({ config, peer, metadata, tracks, id }) => {
          const statuses = [
            (await api(s, 'POST', '/room', asBody(config))).status,
            (await api(s, 'POST', `/room/${room.id}/peer`, asBody(peer))).status,
            (await api(s, 'POST', `/room/${room.id}/peer`, `{"type":"webrtc","options":{"metadata":${asBody(metadata)}}}`)).status,
            (await api(s, 'POST', `/room/${room.id}/peer/x/subscribe_tracks`, asBody(tracks))).status,
            (await api(s, 'GET', `/room/${encodeURIComponent(id)}`)).status,
          ];
          for (const status of statuses) assert.ok(status < 500, `statuses ${statuses.join(', ')}`);
        },
      ),
      { numRuns: 60 },
    );
    await listingIsHealthy();
    for (const r of (await api(s, 'GET', '/room')).json.data) await api(s, 'DELETE', `/room/${r.id}`);
  });
});
