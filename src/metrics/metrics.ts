// Prometheus metrics (prom-client): rooms, peers per room, webhook delivery counters. Values are
// collected on scrape from the registry, so the hot paths never touch metrics.
import { Gauge, Registry } from 'prom-client';
import type { RoomRegistry } from '../room/room-registry.js';
import type { WebhookSender } from '../notify/webhook-sender.js';
import type { MediaPlane } from '../media/plane/media-plane.js';
import type { MediaStats } from '../media/sfu/media-stats.js';

export interface Metrics {
  registry: Registry;
  close(): void;
}

export function createMetrics(rooms: RoomRegistry, webhooks: WebhookSender, media: MediaPlane): Metrics {
  const registry = new Registry();
  new Gauge({
    name: 'fishjam_rooms',
    help: 'Number of rooms',
    registers: [registry],
    collect() {
      this.set(rooms.list().length);
    },
  });
  new Gauge({
    name: 'fishjam_room_peers',
    help: 'Number of peers in a room',
    labelNames: ['room_id'],
    registers: [registry],
    collect() {
      this.reset();
      for (const room of rooms.list()) this.set({ room_id: room.id }, room.peers.size);
    },
  });
  /** A gauge that reads a plain process counter at scrape time. */
  const counterGauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  counterGauge('shoal_webhooks_delivered_total', 'Webhook requests delivered', () => webhooks.stats.delivered);
  counterGauge('shoal_webhooks_failed_attempts_total', 'Webhook attempts that failed', () => webhooks.stats.failedAttempts);
  counterGauge('shoal_webhooks_dropped_total', 'Webhook events dropped after retries or overflow', () => webhooks.stats.dropped);
  // Media counters live in the threads that forward; one scrape asks the plane once for all four.
  let scrape: Promise<MediaStats> | undefined;
  const mediaGauge = (name: string, help: string, read: (s: MediaStats) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        scrape ??= media.stats().finally(() => setImmediate(() => (scrape = undefined)));
        this.set(read(await scrape));
      },
    });
  for (const [key, help] of [
    ['rooms', 'Rooms with media on each media thread (main, or worker-<i> with FJ_MEDIA_WORKERS)'],
    ['sessions', 'Peer media sessions on each media thread'],
  ] as const) {
    new Gauge({
      name: `shoal_media_thread_${key}`,
      help,
      labelNames: ['thread'],
      registers: [registry],
      collect() {
        this.reset();
        for (const t of media.load().threads) this.set({ thread: t.thread }, t[key]);
      },
    });
  }
  counterGauge('shoal_media_worker_restarts_total', 'Media workers started again after they died', () => media.load().workerRestarts);
  mediaGauge('shoal_rtp_received_total', 'RTP packets received from publishers', (s) => s.rtpReceived);
  mediaGauge('shoal_rtp_forwarded_total', 'RTP packets sent to subscribers', (s) => s.rtpForwarded);
  mediaGauge('shoal_rtp_retransmitted_total', 'RTP retransmissions answered from the buffer', (s) => s.rtpRetransmitted);
  mediaGauge('shoal_keyframe_requests_total', 'Keyframe requests sent to publishers', (s) => s.keyframeRequests);
  return { registry, close: () => registry.clear() };
}
