// /metrics as Prometheus reads it: counters declared as counters (named *_total, or Fishjam's *_total_bytes)
// and current values as gauges; counters follow totals kept elsewhere (and restart when a total goes
// down, as when a media worker restarts); prom-client's process_/nodejs_ metrics; Fishjam's WebRTC
// traffic bytes and Shoal's TURN counters from a real TURN socket; join refusals by a bounded reason;
// REST requests by method, route pattern (never the raw URL) and status, and Fishjam's HTTP traffic bytes,
// through instrumentHttp on a real Shoal app (wired here the way server.ts is to wire it).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/log/logger.js';
import { LocalMediaPlane } from '../../src/media/plane/local-media-plane.js';
import { emptyPlaneStats, type MediaPlane, type PlaneStats } from '../../src/media/plane/media-plane.js';
import { emptyQualitySnapshot } from '../../src/media/sfu/media-quality.js';
import { createMetrics, instrumentHttp, joinRefusalReason } from '../../src/metrics/metrics.js';
import type { WebhookSender } from '../../src/notify/webhook-sender.js';
import type { RoomRegistry } from '../../src/room/room-registry.js';
import { createShoal, type Shoal } from '../../src/server.js';
import { API_TOKEN, SECRET, api, freePort, startShoal, type TestShoal } from '../helpers/server.js';
import { parseExposition } from './prom-text.js';

const COUNTERS = [
  'shoal_webhooks_delivered_total',
  'shoal_webhooks_failed_attempts_total',
  'shoal_webhooks_dropped_total',
  'shoal_media_worker_restarts_total',
  'shoal_rtp_received_total',
  'shoal_rtp_forwarded_total',
  'shoal_rtp_retransmitted_total',
  'shoal_bandwidth_probes_total',
  'shoal_probe_padding_packets_total',
  'shoal_keyframe_requests_total',
  'shoal_rtcp_receiver_reports_total',
  'shoal_rtcp_feedback_received_total',
  'fishjam_traffic_ingress_webrtc_total_bytes',
  'fishjam_traffic_egress_webrtc_total_bytes',
  'fishjam_traffic_ingress_http_total_bytes',
  'fishjam_traffic_egress_http_total_bytes',
  'shoal_turn_packets_received_total',
  'shoal_turn_packets_sent_total',
  'shoal_turn_malformed_total',
  'shoal_turn_endpoint_errors_total',
  'shoal_turn_tcp_refused_total',
  'shoal_turn_tcp_unauthenticated_closed_total',
  'shoal_turn_tcp_idle_closed_total',
  'shoal_peer_join_refusals_total',
];
const GAUGES = [
  'fishjam_rooms',
  'fishjam_room_peers',
  'shoal_media_thread_rooms',
  'shoal_media_thread_sessions',
  'shoal_turn_allocations',
  'shoal_turn_tcp_connections',
  'shoal_track_bitrate_bits',
  'shoal_track_packet_loss_ratio',
  'shoal_track_lost_packets',
  'shoal_track_jitter_seconds',
  'shoal_peer_rtt_seconds',
  'shoal_peer_downlink_estimate_bits',
  'shoal_track_paused',
  'shoal_track_layer',
  'shoal_track_target_layer',
  'shoal_track_retransmit_bitrate_bits',
  'shoal_allocator_paused_tracks',
  'shoal_quality_left_out',
];

/** A media plane whose counters the test sets. */
function fakePlane(stats: PlaneStats): MediaPlane {
  return {
    stats: async () => structuredClone(stats),
    quality: async () => emptyQualitySnapshot(),
    load: () => ({ threads: [{ thread: 'main', rooms: 0, sessions: 0 }], workerRestarts: 0 }),
  } as unknown as MediaPlane;
}

describe('metric types and names', () => {
  let s: TestShoal;
  before(async () => {
    s = await startShoal();
  });
  after(() => s?.stop());

  test('counters are counters, current values gauges; every counter is named *_total (Fishjam’s: *_total_bytes)', async () => {
    const m = parseExposition(await s.shoal.metrics.registry.metrics());
    for (const name of COUNTERS) assert.equal(m.types.get(name), 'counter', name);
    for (const name of GAUGES) assert.equal(m.types.get(name), 'gauge', name);
    for (const [name, type] of m.types) {
      if (name.startsWith('shoal_') && name.endsWith('_total')) assert.equal(type, 'counter', `${name} is named like a counter`);
      if (type === 'counter') assert.match(name, /_total(_bytes)?$/, `counter ${name}`);
    }
    assert.equal(m.types.get('shoal_http_request_duration_seconds'), 'histogram');
  });

  test('process and Node.js metrics under prom-client’s default names', async () => {
    const m = parseExposition(await s.shoal.metrics.registry.metrics());
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      assert.ok(m.find(name).length > 0, name);
    }
  });

  test('WebRTC traffic bytes and TURN counters come from the TURN sockets', async () => {
    const plane = s.shoal.media as LocalMediaPlane;
    const port = plane.boundPorts!.udpPort;
    const before = parseExposition(await s.shoal.metrics.registry.metrics());
    const sock = dgram.createSocket('udp4');
    sock.bind(0, '127.0.0.1');
    await once(sock, 'listening');
    // A STUN Binding request (20-byte header, no attributes) is answered; one byte of garbage is malformed.
    const binding = Buffer.alloc(20);
    binding.writeUInt16BE(0x0001, 0);
    binding.writeUInt32BE(0x2112a442, 4);
    binding.fill(7, 8);
    const answered = once(sock, 'message');
    sock.send(binding, port, '127.0.0.1');
    const [reply] = (await answered) as [Buffer];
    sock.send(Buffer.from([0xff]), port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 100));
    sock.close();
    const m = parseExposition(await s.shoal.metrics.registry.metrics());
    const delta = (name: string) => m.value(name)! - before.value(name)!;
    assert.equal(delta('fishjam_traffic_ingress_webrtc_total_bytes'), 21);
    assert.equal(delta('fishjam_traffic_egress_webrtc_total_bytes'), reply.length);
    assert.equal(delta('shoal_turn_packets_received_total'), 2);
    assert.equal(delta('shoal_turn_packets_sent_total'), 1);
    assert.equal(delta('shoal_turn_malformed_total'), 1);
  });
});

describe('counters read from totals kept elsewhere', () => {
  test('follow the totals on each scrape, and restart from the new total when one goes down', async () => {
    const stats = emptyPlaneStats();
    const webhooks = { stats: { delivered: 3, failedAttempts: 0, dropped: 0 } } as unknown as WebhookSender;
    const rooms = { list: () => [] } as unknown as RoomRegistry;
    const metrics = createMetrics(rooms, webhooks, fakePlane(stats), { processMetrics: false });
    const read = async () => parseExposition(await metrics.registry.metrics());
    stats.rtpForwarded = 10;
    stats.plisReceived = 2;
    stats.turn.bytesIn = 500;
    stats.turn.allocations = 4;
    let m = await read();
    assert.equal(m.value('shoal_webhooks_delivered_total'), 3);
    assert.equal(m.value('shoal_rtp_forwarded_total'), 10);
    assert.equal(m.value('shoal_rtcp_feedback_received_total', { type: 'pli' }), 2);
    assert.equal(m.value('fishjam_traffic_ingress_webrtc_total_bytes'), 500);
    assert.equal(m.value('shoal_turn_allocations'), 4);
    (webhooks.stats as { delivered: number }).delivered = 5;
    stats.rtpForwarded = 25;
    stats.turn.allocations = 1;
    m = await read();
    assert.equal(m.value('shoal_webhooks_delivered_total'), 5);
    assert.equal(m.value('shoal_rtp_forwarded_total'), 25);
    assert.equal(m.value('shoal_turn_allocations'), 1, 'a gauge goes down');
    stats.rtpForwarded = 4; // a worker restarted: its counters began again
    m = await read();
    assert.equal(m.value('shoal_rtp_forwarded_total'), 4, 'a counter reset');
    stats.rtpForwarded = 6;
    m = await read();
    assert.equal(m.value('shoal_rtp_forwarded_total'), 6);
    metrics.close();
  });

  test('join refusals are counted under a small fixed set of reasons', async () => {
    const metrics = createMetrics({ list: () => [] } as unknown as RoomRegistry, { stats: { delivered: 0, failedAttempts: 0, dropped: 0 } } as unknown as WebhookSender, fakePlane(emptyPlaneStats()), {
      processMetrics: false,
    });
    for (const reason of ['invalid token', 'invalid token', 'expired token', 'room not found', 'Server is shutting down', 'unauthenticated', 'peer_not_found', 'something a client made up']) metrics.joinRefused(reason);
    const m = parseExposition(await metrics.registry.metrics());
    const counts = Object.fromEntries(m.find('shoal_peer_join_refusals_total').map((x) => [x.labels.reason, x.value]));
    assert.deepEqual(counts, { unauthenticated: 1, missing_token: 0, invalid_token: 2, expired_token: 1, room_not_found: 1, peer_not_found: 1, peer_already_connected: 0, shutting_down: 1, other: 1 });
    assert.equal(joinRefusalReason('peer already connected'), 'peer_already_connected');
    metrics.close();
  });
});

describe('HTTP metrics through instrumentHttp', () => {
  let shoal: Shoal;
  let base: string;
  before(async () => {
    const port = await freePort();
    const config = loadConfig({ FJ_SERVER_API_TOKEN: API_TOKEN, FJ_SECRET_KEY_BASE: SECRET, FJ_PORT: String(port), FJ_WEBRTC_TURN_PORT: '0', FJ_WEBRTC_TURN_TCP_PORT: '0' });
    shoal = await createShoal(config, createLogger('silent', false));
    // The wiring server.ts is to get (twice here: it is idempotent, nothing is counted twice).
    instrumentHttp(shoal.app, shoal.metrics.http);
    instrumentHttp(shoal.app, shoal.metrics.http);
    await shoal.listen();
    base = `http://127.0.0.1:${port}`;
  });
  after(() => shoal?.close());

  test('requests by method, route pattern and status; bytes in and out', async () => {
    const t = { httpUrl: base, apiToken: API_TOKEN } as TestShoal;
    const responses = [
      await api(t, 'POST', '/room', {}),
      await api(t, 'GET', '/room'),
      await api(t, 'GET', '/room/no-such-room-4242'),
      await api(t, 'GET', '/no/such/path/zzz'),
      await api(t, 'GET', '/room', undefined, { auth: false }),
    ];
    assert.deepEqual(responses.map((r) => r.status), [201, 200, 404, 404, 401]);
    const text = await shoal.metrics.registry.metrics();
    const m = parseExposition(text);
    const count = (method: string, route: string, status_code: string) => m.value('shoal_http_request_duration_seconds_count', { method, route, status_code });
    assert.equal(count('POST', '/room', '201'), 1);
    assert.equal(count('GET', '/room', '200'), 1);
    assert.equal(count('GET', '/room', '401'), 1);
    assert.equal(count('GET', '/room/:room_id', '404'), 1);
    assert.equal(count('GET', 'unmatched', '404'), 1);
    assert.ok(!text.includes('no-such-room-4242') && !text.includes('zzz'), 'no raw URL in any label');
    const bodies = responses.reduce((n, r) => n + Buffer.byteLength(r.text), 0);
    assert.ok(m.value('fishjam_traffic_egress_http_total_bytes')! > bodies, 'egress covers the response bodies and heads');
    assert.ok(m.value('fishjam_traffic_ingress_http_total_bytes')! > 5 * 'GET / HTTP/1.1\r\n'.length);
  });
});

describe('wired in the server (createShoal)', () => {
  let s: TestShoal;
  before(async () => {
    s = await startShoal();
  });
  after(() => s?.stop());

  test('REST requests and refused peer sockets are counted without any extra wiring', async () => {
    assert.equal((await api(s, 'GET', '/room')).status, 200);
    const { RawPeer } = await import('../helpers/raw-peer.js');
    const peer = new RawPeer(s.wsUrl);
    await peer.opened();
    peer.send({ content: { case: 'authRequest', value: { token: 'not-a-token' } } });
    assert.equal((await peer.waitClosed()).reason, 'invalid token');
    const m = parseExposition(await s.shoal.metrics.registry.metrics());
    assert.equal(m.value('shoal_http_request_duration_seconds_count', { method: 'GET', route: '/room', status_code: '200' }), 1);
    assert.equal(m.value('shoal_peer_join_refusals_total', { reason: 'invalid_token' }), 1);
  });
});
