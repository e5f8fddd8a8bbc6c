// Prometheus metrics (prom-client), one registry per Shoal: Fishjam's names where it has them (rooms, peers
// per room, WebRTC and HTTP traffic bytes), Shoal's webhook, media, RTCP, TURN, join and HTTP metrics,
// per-track quality (quality-metrics.ts) and the process_/nodejs_ defaults. Counters are Counters and
// gauges Gauges. Totals kept as plain numbers elsewhere are read on scrape (scrape-counters.ts), the
// media plane once per scrape for all of its metrics, so the hot paths never touch metrics.
// What it must not do: label by anything unbounded without a cap, or be reached from the packet path.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { CLOSE_SHUTTING_DOWN } from '../room/room.js';
import type { RoomRegistry } from '../room/room-registry.js';
import type { WebhookSender } from '../notify/webhook-sender.js';
import type { MediaPlane, PlaneStats } from '../media/plane/media-plane.js';
import { DEFAULT_QUALITY_LIMITS, type QualityLimits } from '../media/sfu/media-quality.js';
import type { TurnStats } from '../turn/turn-stats.js';
import { createHttpMetrics, type HttpMetrics } from './http-metrics.js';
import { registerQualityMetrics } from './quality-metrics.js';
import { labelledTotalCounter, oncePerScrape, totalCounter } from './scrape-counters.js';

export { instrumentHttp, type HttpMetrics, type HttpObservation } from './http-metrics.js';

/** Why a peer socket was closed before it joined (the values of shoal_peer_join_refusals_total's `reason`). */
export const JOIN_REFUSAL_REASONS = ['unauthenticated', 'missing_token', 'invalid_token', 'expired_token', 'room_not_found', 'peer_not_found', 'peer_already_connected', 'shutting_down', 'other'] as const;
export type JoinRefusalReason = (typeof JOIN_REFUSAL_REASONS)[number];

/** The close reasons the peer socket sends, as refusal labels. */
const REFUSAL_BY_CLOSE_REASON: Record<string, JoinRefusalReason> = {
  unauthenticated: 'unauthenticated',
  'missing token': 'missing_token',
  'invalid token': 'invalid_token',
  'expired token': 'expired_token',
  'room not found': 'room_not_found',
  'peer not found': 'peer_not_found',
  'peer already connected': 'peer_already_connected',
  [CLOSE_SHUTTING_DOWN.reason]: 'shutting_down',
};

/** A refusal label for a close reason text or a label; anything unknown is `other` (bounded). */
export function joinRefusalReason(reason: string): JoinRefusalReason {
  if ((JOIN_REFUSAL_REASONS as readonly string[]).includes(reason)) return reason as JoinRefusalReason;
  return REFUSAL_BY_CLOSE_REASON[reason] ?? 'other';
}

export interface MetricsOptions {
  /** At most this many tracks and peers get quality series (default 1000 each). */
  qualityLimits?: QualityLimits;
  /** prom-client's default process_ and nodejs_ metrics (default true). */
  processMetrics?: boolean;
  /** Cluster mode: the totals of the cluster notification stream (undefined: no such series). */
  clusterNotifications?: () => ClusterNotificationTotals | undefined;
}

/** The cluster notification stream's totals, as shoal_cluster_notifications_total's `outcome` values. */
export interface ClusterNotificationTotals {
  published: number;
  received: number;
  duplicates: number;
  droppedOverflow: number;
  droppedFenced: number;
}

export interface Metrics {
  registry: Registry;
  /** REST request metrics; instrumentHttp(app, metrics.http) feeds them. */
  http: HttpMetrics;
  /** A peer socket was closed before joining, with its close reason (or a JoinRefusalReason). */
  joinRefused(reason: string): void;
  close(): void;
}

export function createMetrics(rooms: RoomRegistry, webhooks: WebhookSender, media: MediaPlane, options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const cluster = options.clusterNotifications;
  if (cluster) {
    labelledTotalCounter(registry, 'shoal_cluster_notifications_total', 'Server notifications through the cluster stream, by outcome (published: own ones appended; received: other nodes\' delivered here; duplicate: skipped as seen; dropped_overflow, dropped_fenced: own ones never appended)', 'outcome', (): Record<string, number> => {
      const t = cluster();
      return t ? { published: t.published, received: t.received, duplicate: t.duplicates, dropped_overflow: t.droppedOverflow, dropped_fenced: t.droppedFenced } : {};
    });
  }
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
  new Gauge({
    name: 'shoal_livestream_viewers',
    help: 'WHEP viewers of a room\'s livestream (rooms with a streamer or viewers only)',
    labelNames: ['room_id'],
    registers: [registry],
    collect() {
      this.reset();
      for (const room of rooms.list()) if (room.livestream.streamerConnected || room.livestream.viewerCount > 0) this.set({ room_id: room.id }, room.livestream.viewerCount);
    },
  });
  totalCounter(registry, 'shoal_webhooks_delivered_total', 'Webhook requests delivered', () => webhooks.stats.delivered);
  totalCounter(registry, 'shoal_webhooks_failed_attempts_total', 'Webhook attempts that failed', () => webhooks.stats.failedAttempts);
  totalCounter(registry, 'shoal_webhooks_dropped_total', 'Webhook events dropped after retries or overflow', () => webhooks.stats.dropped);

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
  const dataPlane = new Gauge({ name: 'shoal_media_data_plane', help: 'The data plane carrying media packets (FJ_MEDIA_DATAPLANE): 1 for the one running', labelNames: ['plane'], registers: [registry] });
  for (const plane of ['native', 'js'] as const) dataPlane.set({ plane }, media.dataPlane === plane ? 1 : 0);
  totalCounter(registry, 'shoal_media_worker_restarts_total', 'Media workers started again after they died', () => media.load().workerRestarts);
  registerPlaneCounters(registry, oncePerScrape(() => media.stats()));
  const limits = options.qualityLimits ?? DEFAULT_QUALITY_LIMITS;
  registerQualityMetrics(
    registry,
    oncePerScrape(() => media.quality(limits)),
  );

  const refusals = new Counter({
    name: 'shoal_peer_join_refusals_total',
    help: 'Peer sockets closed before they joined a room, by reason',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of JOIN_REFUSAL_REASONS) refusals.inc({ reason }, 0);
  const http = createHttpMetrics(registry);
  return {
    registry,
    http,
    joinRefused: (reason) => refusals.inc({ reason: joinRefusalReason(reason) }),
    close: () => registry.clear(),
  };
}

/** Counters and gauges summed over the media threads (SFU and TURN), all from one plane call per scrape. */
function registerPlaneCounters(registry: Registry, stats: () => Promise<PlaneStats>): void {
  const plane = (name: string, help: string, read: (s: PlaneStats) => number) => totalCounter(registry, name, help, async () => read(await stats()));
  const turn = (name: string, help: string, key: keyof TurnStats) => plane(name, help, (s) => s.turn[key]);
  plane('shoal_rtp_received_total', 'RTP packets received from publishers', (s) => s.rtpReceived);
  plane('shoal_rtp_forwarded_total', 'RTP packets sent to subscribers', (s) => s.rtpForwarded);
  plane('shoal_rtp_dropped_unused_layer_total', 'Simulcast RTP packets of a layer no subscriber receives, dropped before per-subscriber work', (s) => s.rtpDroppedUnusedLayer);
  plane('shoal_rtp_retransmitted_total', 'RTP retransmissions answered from the buffer', (s) => s.rtpRetransmitted);
  plane('shoal_rtp_retransmitted_rtx_total', 'Retransmissions sent on subscribers\' RTX streams (RFC 4588)', (s) => s.rtpRetransmittedRtx);
  plane('shoal_rtp_retransmit_refused_total', 'NACKed packets not resent (unknown, too old, or over the per-packet NACK budget)', (s) => s.rtpRetransmitRefused);
  plane('shoal_transport_feedback_received_total', 'transport-cc feedback packets received from subscribers (their bandwidth estimates)', (s) => s.transportFeedbackReceived);
  plane('shoal_allocator_layer_changes_total', 'Simulcast layer changes made by subscribers\' bandwidth allocators', (s) => s.allocatorLayerChanges);
  labelledTotalCounter(registry, 'shoal_allocator_video_pauses_total', 'Video tracks paused (lowest layer did not fit the estimate) and resumed by subscribers\' allocators', 'change', async () => {
    const s = await stats();
    return { paused: s.allocatorPauses, resumed: s.allocatorResumes };
  });
  labelledTotalCounter(registry, 'shoal_bandwidth_probes_total', 'Bandwidth probes of subscribers\' downlinks (padding before an upgrade), by outcome (started, succeeded)', 'outcome', async () => {
    const s = await stats();
    return { started: s.probesStarted, succeeded: s.probesSucceeded };
  });
  plane('shoal_probe_padding_packets_total', 'Padding-only RTX packets sent to subscribers as bandwidth probes', (s) => s.paddingSent);
  plane('shoal_keyframe_requests_total', 'Keyframe requests (PLIs) sent to publishers', (s) => s.keyframeRequests);
  plane('shoal_rtcp_receiver_reports_total', 'Report blocks received from subscribers about the streams Shoal sends them', (s) => s.receiverReports);
  labelledTotalCounter(registry, 'shoal_rtcp_feedback_received_total', 'RTCP feedback received from subscribers, by type (nack, pli, fir)', 'type', async () => {
    const s = await stats();
    return { nack: s.nacksReceived, pli: s.plisReceived, fir: s.firsReceived };
  });
  labelledTotalCounter(registry, 'shoal_rtcp_feedback_sent_total', 'RTCP feedback sent to publishers, by type (nack, pli, transport_cc)', 'type', async () => {
    const s = await stats();
    return { nack: s.nacksSent, pli: s.keyframeRequests, transport_cc: s.twccFeedbackSent };
  });
  labelledTotalCounter(registry, 'shoal_srtp_dropped_total', 'Received SRTP/SRTCP packets dropped, by reason (malformed, auth, replay)', 'reason', async () => {
    const s = await stats();
    return { malformed: s.srtpDroppedMalformed, auth: s.srtpDroppedAuth, replay: s.srtpDroppedReplay };
  });
  plane('shoal_rtx_received_total', 'RTX retransmissions received from publishers (unwrapped into their streams)', (s) => s.rtxReceived);
  plane('shoal_data_messages_received_total', 'Data-channel messages published by peers and accepted', (s) => s.dataReceived);
  plane('shoal_data_messages_forwarded_total', 'Data-channel messages delivered to receivers (one per receiver)', (s) => s.dataForwarded);
  labelledTotalCounter(registry, 'shoal_data_messages_dropped_total', 'Data-channel messages dropped, by reason (not_allowed, too_large, slow_receiver)', 'reason', async () => {
    const s = await stats();
    return { not_allowed: s.dataDroppedNotAllowed, too_large: s.dataDroppedTooLarge, slow_receiver: s.dataDroppedSlowReceiver };
  });
  turn('fishjam_traffic_ingress_webrtc_total_bytes', 'WebRTC traffic received: bytes the TURN server received from clients', 'bytesIn');
  turn('fishjam_traffic_egress_webrtc_total_bytes', 'WebRTC traffic sent: bytes the TURN server sent to clients', 'bytesOut');
  turn('shoal_turn_packets_received_total', 'Packets (UDP datagrams, TCP/TLS frames) the TURN server received from clients', 'packetsIn');
  turn('shoal_turn_packets_sent_total', 'Packets the TURN server sent to clients', 'packetsOut');
  turn('shoal_turn_malformed_total', 'TURN packets dropped or refused as malformed', 'malformed');
  turn('shoal_udp_receive_batches_total', 'Reads of the TURN UDP sockets that returned datagrams (recvmmsg; native data plane only)', 'udpReceiveBatches');
  turn('shoal_udp_send_calls_total', 'Writes of the TURN UDP sockets (sendmmsg, each a batch; native data plane only)', 'udpSendCalls');
  labelledTotalCounter(registry, 'shoal_udp_dropped_total', 'UDP datagrams dropped by the native data plane, by reason (truncated: larger than a receive slot; send_error: refused by the kernel or invalid)', 'reason', async () => {
    const s = await stats();
    return { truncated: s.turn.udpTruncated, send_error: s.turn.udpSendErrors };
  });
  turn('shoal_turn_endpoint_errors_total', 'Relayed packets a media transport threw on (dropped)', 'endpointErrors');
  turn('shoal_turn_tcp_refused_total', 'TURN TCP/TLS connections refused: their IP had the maximum open', 'tcpRefused');
  turn('shoal_turn_tcp_unauthenticated_closed_total', 'TURN TCP/TLS connections closed without an allocation in time', 'tcpUnauthenticatedClosed');
  turn('shoal_turn_tcp_idle_closed_total', 'TURN TCP/TLS connections closed for being idle', 'tcpIdleClosed');
  for (const [name, help, key] of [
    ['shoal_turn_allocations', 'TURN allocations alive now', 'allocations'],
    ['shoal_turn_tcp_connections', 'TURN TCP and TLS client connections open now', 'tcpConnections'],
  ] as const) {
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.set((await stats()).turn[key]);
      },
    });
  }
}
