// Per-track and per-peer quality gauges from the media plane's bounded snapshot (MediaPlane.quality()):
// bitrate in and out, the loss and jitter subscribers report, and each subscriber's round-trip time.
// Every scrape rebuilds the series from the snapshot, so a track, peer or room that is gone loses its
// series at once; the snapshot holds at most `limits` tracks and peers, and shoal_quality_left_out says
// how many did not fit. What it must not do: keep series of its own between scrapes, or ask the plane
// more than once per scrape.
import { Gauge, type Registry } from 'prom-client';
import type { QualitySnapshot, TrackQuality } from '../media/sfu/media-quality.js';

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
  new Gauge({
    name: 'shoal_peer_rtt_seconds',
    help: 'Round-trip time to a subscriber, from its receiver reports against the sender reports Shoal sent it',
    labelNames: ['room_id', 'peer_id'],
    registers: [registry],
    async collect() {
      const s = await snapshot();
      this.reset();
      for (const p of s.peers) this.set({ room_id: p.roomId, peer_id: p.peerId }, p.rttSeconds);
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
