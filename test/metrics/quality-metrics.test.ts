// The quality exporter on a fixed snapshot: each optional value of a track or peer becomes a series only
// where the snapshot has it (an estimate only for a peer whose transport had feedback, a layer only for a
// simulcast track being forwarded), paused as 0/1, layers as 0/1/2, the paused-track count as one
// unlabelled gauge, and every series is rebuilt per scrape (a track that is gone loses its series).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { QualitySnapshot } from '../../src/media/sfu/media-quality.js';
import { registerQualityMetrics } from '../../src/metrics/quality-metrics.js';
import { parseExposition } from './prom-text.js';

const out = (peerId: string, trackId: string) => ({ room_id: 'r', peer_id: peerId, track_id: trackId, direction: 'out' });

function snapshotWith(): QualitySnapshot {
  return {
    tracks: [
      { roomId: 'r', peerId: 'pub', trackId: 'v', direction: 'in', bitrate: 900_000 },
      { roomId: 'r', peerId: 'a', trackId: 'v', direction: 'out', bitrate: 150_000, paused: false, layer: 0, targetLayer: 1, retransmitBitrate: 12_000 },
      { roomId: 'r', peerId: 'b', trackId: 'v', direction: 'out', bitrate: 0, paused: true, targetLayer: 2, retransmitBitrate: 0 },
      { roomId: 'r', peerId: 'a', trackId: 'mic', direction: 'out', bitrate: 32_000 },
    ],
    peers: [
      { roomId: 'r', peerId: 'a', rttSeconds: 0.03, downlinkEstimateBits: 420_000 },
      { roomId: 'r', peerId: 'b', rttSeconds: 0.05 },
      { roomId: 'r', peerId: 'c', downlinkEstimateBits: 2_000_000 },
    ],
    droppedTracks: 0,
    droppedPeers: 0,
    pausedTracks: 3,
  };
}

describe('quality exporter: adaptation series', () => {
  test('estimate, paused, layer, target layer, retransmit bitrate and paused tracks, only where known', async () => {
    const registry = new Registry();
    let snap = snapshotWith();
    registerQualityMetrics(registry, async () => snap);
    let m = parseExposition(await registry.metrics());
    for (const name of ['shoal_peer_downlink_estimate_bits', 'shoal_track_paused', 'shoal_track_layer', 'shoal_track_target_layer', 'shoal_track_retransmit_bitrate_bits', 'shoal_allocator_paused_tracks']) {
      assert.equal(m.types.get(name), 'gauge', name);
    }
    assert.equal(m.value('shoal_peer_downlink_estimate_bits', { room_id: 'r', peer_id: 'a' }), 420_000);
    assert.equal(m.value('shoal_peer_downlink_estimate_bits', { room_id: 'r', peer_id: 'b' }), undefined, 'no feedback: no series');
    assert.equal(m.value('shoal_peer_downlink_estimate_bits', { room_id: 'r', peer_id: 'c' }), 2_000_000);
    assert.equal(m.value('shoal_peer_rtt_seconds', { room_id: 'r', peer_id: 'c' }), undefined, 'no round trip yet: no series');
    assert.equal(m.value('shoal_peer_rtt_seconds', { room_id: 'r', peer_id: 'b' }), 0.05);

    assert.equal(m.value('shoal_track_paused', out('a', 'v')), 0);
    assert.equal(m.value('shoal_track_paused', out('b', 'v')), 1);
    assert.equal(m.value('shoal_track_paused', out('a', 'mic')), undefined, 'audio is never paused: no series');
    assert.equal(m.find('shoal_track_paused', { direction: 'in' }).length, 0);
    assert.equal(m.value('shoal_track_layer', out('a', 'v')), 0);
    assert.equal(m.value('shoal_track_layer', out('b', 'v')), undefined, 'paused: no layer');
    assert.equal(m.value('shoal_track_target_layer', out('a', 'v')), 1);
    assert.equal(m.value('shoal_track_target_layer', out('b', 'v')), 2);
    assert.equal(m.value('shoal_track_retransmit_bitrate_bits', out('a', 'v')), 12_000);
    assert.equal(m.find('shoal_track_retransmit_bitrate_bits').length, 2);
    assert.equal(m.value('shoal_allocator_paused_tracks'), 3, 'the count, not the number of paused series');

    snap = { ...snapshotWith(), tracks: snapshotWith().tracks.filter((t) => t.peerId !== 'b'), peers: [], pausedTracks: 0 };
    m = parseExposition(await registry.metrics());
    assert.equal(m.find('shoal_track_paused', { peer_id: 'b' }).length, 0, 'a track that is gone loses its series');
    assert.equal(m.find('shoal_peer_downlink_estimate_bits').length, 0);
    assert.equal(m.value('shoal_allocator_paused_tracks'), 0);
  });
});
