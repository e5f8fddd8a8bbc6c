// Per-track and per-peer quality gauges from the media plane's bounded snapshot (MediaPlane.quality()):
// bitrate in and out (and retransmitted), the loss and jitter subscribers report, paused and simulcast
// layer of forwarded tracks, each subscriber's round-trip time and downlink estimate, and the number of
// tracks paused now.
// Every scrape rebuilds the series from the snapshot, so a track, peer or room that is gone loses its
// series at once; the snapshot holds at most `limits` tracks and peers, and shoal_quality_left_out says
// how many did not fit. What it must not do: keep series of its own between scrapes, or ask the plane
// more than once per scrape.
import { Gauge, type Registry } from 'prom-client';
import type { PeerQuality, QualitySnapshot, TrackQuality } from '../media/sfu/media-quality.js';

const TRACK_LABELS = ['room_id', 'peer_id', 'track_id', 'direction'] as const;

function trackLabels(t: TrackQuality): Record<(typeof TRACK_LABELS)[number], string> {
  return { room_id: t.roomId, peer_id: t.peerId, track_id: t.trackId, direction: t.direction };
}

/** Registers the quality gauges; `snapshot` must share one plane call per scrape (oncePerScrape). */
export function registerQualityMetrics(registry: Registry, snapshot: () => Promise<QualitySnapshot>): void {
  const trackGauge = (name: string, help: string, read: (t: TrackQuality) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: TRACK_LABELS,
      registers: [registry],
      async collect() {
        const s = await snapshot();
        this.reset();
        for (const t of s.tracks) {
          const v = read(t);
          if (v !== undefined) this.set(trackLabels(t), v);
        }
      },
    });
  trackGauge(
    'shoal_track_bitrate_bits',
    'Bits per second of a track: direction="in" as its publisher sends it to Shoal, "out" as Shoal sends it to the subscriber peer_id',
    (t) => t.bitrate,
  );
  trackGauge('shoal_track_packet_loss_ratio', 'Fraction of packets lost (0..1) in the subscriber’s latest receiver report of a track Shoal sends it', (t) => t.lossRatio);
  trackGauge('shoal_track_lost_packets', 'Cumulative packets lost in the subscriber’s latest receiver report of a track Shoal sends it', (t) => t.lost);
  trackGauge('shoal_track_jitter_seconds', 'Interarrival jitter in the subscriber’s latest receiver report of a track Shoal sends it', (t) => t.jitterSeconds);
  trackGauge('shoal_track_retransmit_bitrate_bits', 'Bits per second of retransmissions (NACKed packets resent, on RTX or not) of a track Shoal sends the subscriber peer_id', (t) => t.retransmitBitrate);
  trackGauge('shoal_track_paused', '1 while the subscriber’s bandwidth allocator has paused a video track Shoal sends it (its lowest layer does not fit), else 0', (t) =>
    t.paused === undefined ? undefined : t.paused ? 1 : 0,
  );
  trackGauge('shoal_track_layer', 'Simulcast layer Shoal forwards to the subscriber now: 0 = l, 1 = m, 2 = h (absent while paused or before the first keyframe)', (t) => t.layer);
  trackGauge('shoal_track_target_layer', 'Simulcast layer the subscriber asked for (0 = l, 1 = m, 2 = h); shoal_track_layer below it means lowered for bandwidth', (t) => t.targetLayer);
  const peerGauge = (name: string, help: string, read: (p: PeerQuality) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['room_id', 'peer_id'],
      registers: [registry],
      async collect() {
        const s = await snapshot();
        this.reset();
        for (const p of s.peers) {
          const v = read(p);
          if (v !== undefined) this.set({ room_id: p.roomId, peer_id: p.peerId }, v);
        }
      },
    });
  peerGauge('shoal_peer_rtt_seconds', 'Round-trip time to a subscriber, from its receiver reports against the sender reports Shoal sent it', (p) => p.rttSeconds);
  peerGauge(
    'shoal_peer_downlink_estimate_bits',
    'Bandwidth estimate (bits per second) of the link from Shoal to a subscriber, from its transport-cc feedback; its allocator fits the subscriber’s video into it',
    (p) => p.downlinkEstimateBits,
  );
  new Gauge({
    name: 'shoal_allocator_paused_tracks',
    help: 'Video tracks paused right now by subscribers’ bandwidth allocators, over all media threads (also those left out of the per-track series)',
    registers: [registry],
    async collect() {
      this.set((await snapshot()).pausedTracks);
    },
  });
  new Gauge({
    name: 'shoal_quality_left_out',
    help: 'Tracks (kind="track") and peers (kind="peer") with media left out of the quality series in this scrape: over the cap',
    labelNames: ['kind'],
    registers: [registry],
    async collect() {
      const s = await snapshot();
      this.set({ kind: 'track' }, s.droppedTracks);
      this.set({ kind: 'peer' }, s.droppedPeers);
    },
  });
}
