// Wires one Shoal instance together: config → tokens, rooms, notification bus, REST app, sockets,
// webhooks, metrics; and starts/stops it. The only place that knows every module.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApi } from './api/app.js';
import { PeerTokenService } from './auth/peer-token.js';
import { ConfigError, type Config, type LogLevel } from './config/config.js';
import { readFileSync } from 'node:fs';
import type { Logger } from './log/logger.js';
import { createMetrics, instrumentHttp, type Metrics } from './metrics/metrics.js';
import { totalCounter } from './metrics/scrape-counters.js';
import { LifecycleLog } from './notify/lifecycle-log.js';
import { NotificationHub } from './notify/notification-hub.js';
import { WebhookNotifier } from './notify/webhook-notifier.js';
import { WebhookSender } from './notify/webhook-sender.js';
import { encodeNotification } from './notify/server-message.js';
import { NotificationBus } from './room/notifications.js';
import { RoomRegistry } from './room/room-registry.js';
import { CLOSE_SHUTTING_DOWN } from './room/room.js';
import { AgentSocket } from './signaling/agent-socket.js';
import { PeerSocket } from './signaling/peer-socket.js';
import { ServerSocket } from './signaling/server-socket.js';
import { SocketRouter } from './signaling/socket-router.js';
import { VERSION } from './version.js';
import { hkdfSync } from 'node:crypto';
import { dtlsCertificate } from './media/transport/dtls-certificate.js';
import { LocalMediaPlane } from './media/plane/local-media-plane.js';
import type { MediaPlane } from './media/plane/media-plane.js';
import { WorkerMediaPlane } from './media/plane/worker-media-plane.js';
import type { EndpointRelay } from './signaling/endpoint-auth.js';
import { createClusterServices } from './cluster-services.js';
import type { ClusterNode } from './cluster/cluster-node.js';
import type { NotificationStream } from './cluster/notification-stream.js';
import type { IncomingMessage } from 'node:http';
import { chooseDataPlane, DataPlaneUnavailableError, type DataPlaneKind } from './dataplane/data-plane.js';

function hkdfSecret(secret: string, info: string): string {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), info, 32)).toString('base64');
}

export interface Shoal {
  config: Config;
  app: FastifyInstance;
  rooms: RoomRegistry;
  bus: NotificationBus;
  webhooks: WebhookSender;
  metrics: Metrics;
  /** The SFU: in this thread (FJ_MEDIA_WORKERS=0) or spread over media worker threads. */
  media: MediaPlane;
  /** Cluster mode (FJ_REDIS_URL): this node's membership; undefined on a single node. */
  cluster: ClusterNode | undefined;
  /** Cluster mode: the cluster-wide server notification stream (stats for tests and metrics). */
  clusterNotifications: NotificationStream | undefined;
  /** Resolves to the bound HTTP port. */
  listen(): Promise<number>;
  /**
   * Graceful stop, first half: refuse new rooms, peers and tokens (503) and new peer sockets; hang up every
   * peer with CLOSE_SHUTTING_DOWN (clients reconnect); stop the rooms, so the backend hears peerDeleted and
   * roomDeleted; then wait up to `timeoutMs` for the webhook queues to empty. Resolves true if they did.
   */
  drain(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** A PEM file named by a variable; unreadable is a ConfigError naming it. */
function readPem(path: string, variable: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(variable, `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** The data plane FJ_MEDIA_DATAPLANE names (auto: native if the addon loads, else js with one warning). */
function startDataPlane(config: Config, log: Logger): DataPlaneKind {
  try {
    const plane = chooseDataPlane(config.mediaDataPlane);
    if (plane.warning) log.warn(plane.warning);
    log.info({ dataPlane: plane.kind, mediaWorkers: config.mediaWorkers }, 'media data plane');
    return plane.kind;
  } catch (err) {
    if (err instanceof DataPlaneUnavailableError) throw new ConfigError('FJ_MEDIA_DATAPLANE', err.message);
    throw err;
  }
}

export async function createShoal(config: Config, log: Logger): Promise<Shoal> {
  const bus = new NotificationBus((err) => log.error({ err }, 'notification listener failed'));
  const tls = config.tls && { key: readPem(config.tls.keyPath, 'FJ_SSL_KEY_PATH'), cert: readPem(config.tls.certPath, 'FJ_SSL_CERT_PATH') };
  const turn = {
    listenIp: config.turnListenIp,
    udpPort: config.turnUdpPort,
    tcpPort: config.turnTcpPort,
    advertisedIp: config.turnIp,
    realm: config.turnRealm,
    secret: hkdfSecret(config.secretKeyBase[0], 'shoal turn credentials'),
    tls: tls && config.turnTlsPort !== undefined ? { ...tls, port: config.turnTlsPort } : undefined,
    tlsHost: config.turnTlsHost,
    tcpMaxPerIp: config.turnTcpMaxPerIp,
  };
  const certificate = await dtlsCertificate();
  const dataPlane = startDataPlane(config, log);
  const media: MediaPlane =
    config.mediaWorkers > 0
      ? new WorkerMediaPlane({
          workers: config.mediaWorkers,
          turn,
          certificate,
          credentialTtlSeconds: config.peerTokenTtlSeconds,
          log: log.child({ module: 'media' }),
          logLevel: log.level as LogLevel | 'silent',
          structuredLogging: config.structuredLogging,
          dataPlane,
        })
      : new LocalMediaPlane({ turn, certificate, credentialTtlSeconds: config.peerTokenTtlSeconds, log, dataPlane });
  const rooms = new RoomRegistry(bus, (err, context) => log.error({ err, context }, 'room error'), media, config.livestreamIdleTimeoutMs);
  const tokens = new PeerTokenService(config.secretKeyBase, config.nodeId, config.peerTokenTtlSeconds);
  const hub = new NotificationHub(bus, log);
  const lifecycleLog = new LifecycleLog(bus, log.child({ module: 'lifecycle' }));
  const webhooks = new WebhookSender({
    secret: config.webhookSecret,
    timeoutMs: config.webhookTimeoutMs,
    maxRetryMs: config.webhookMaxRetryMs,
    queueLimit: config.webhookQueueLimit,
    log: log.child({ module: 'webhook' }),
  });
  const webhookNotifier = new WebhookNotifier(bus, webhooks);
  const metrics = createMetrics(rooms, webhooks, media, config.cluster && { clusterNotifications: () => cluster?.notifications.stats() });
  let draining = false;
  const isDraining = () => draining;
  // Cluster mode (FJ_REDIS_URL) only; a single node never touches Redis.
  const cluster = config.cluster && createClusterServices({
    config: config.cluster,
    nodeId: config.nodeId,
    host: config.host,
    serverApiToken: config.serverApiToken,
    maxWsFrameBytes: config.maxWsFrameBytes,
    pingIntervalMs: config.pingIntervalMs,
    rooms,
    bus,
    hub,
    log,
    sendWebhook: (roomId, url, n) => webhooks.enqueue(roomId, url, encodeNotification(n)),
    addresses: () => {
      const port = (app.server.address() as AddressInfo).port;
      const ports = media instanceof LocalMediaPlane ? media.boundPorts : undefined;
      const wildcard = config.ip === '0.0.0.0' || config.ip === '::';
      const apiHost = wildcard ? config.host : `${config.ip.includes(':') ? `[${config.ip}]` : config.ip}:${port}`;
      return {
        apiUrl: `${config.tls ? 'https' : 'http'}://${apiHost}`,
        turn: { ip: config.turnIp, udpPort: ports?.udpPort ?? config.turnUdpPort, tcpPort: ports?.tcpPort ?? config.turnTcpPort, tlsPort: ports?.tlsPort ?? config.turnTlsPort },
      };
    },
  });
  const distribution = cluster && (() => cluster.node.distribution());
  const app = await buildApi({ config, rooms, tokens, log, startedAt: Date.now(), version: VERSION, isDraining, tls, distribution, cluster: cluster && cluster.routing });
  instrumentHttp(app, metrics.http);

  if (cluster) {
    totalCounter(metrics.registry, 'shoal_cluster_relayed_sockets_total', 'Peer and agent sockets relayed to the node owning their room', () => cluster.socketRelay.stats.relayed);
    totalCounter(metrics.registry, 'shoal_cluster_relay_failures_total', 'Sockets to relay closed before the owning node answered (not live, unreachable, too many waiting frames)', () => cluster.socketRelay.stats.failed);
  }
  const relayFor = (path: string, req: IncomingMessage): EndpointRelay | undefined => cluster?.relayFor(path, req);
  const sockets = new SocketRouter({
    maxFrameBytes: config.maxWsFrameBytes,
    checkOrigin: config.checkOrigin,
    log: log.child({ module: 'sockets' }),
    routes: {
      '/socket/peer/websocket': (ws, req) =>
        new PeerSocket(ws, { rooms, tokens, log, pingIntervalMs: config.pingIntervalMs, isDraining, joinRefused: metrics.joinRefused, relay: relayFor('/socket/peer/websocket', req) }),
      '/socket/server/websocket': (ws) =>
        new ServerSocket(ws, { serverApiToken: config.serverApiToken, hub, log, pingIntervalMs: config.pingIntervalMs }),
      '/socket/agent/websocket': (ws, req) => new AgentSocket(ws, { rooms, tokens, log, pingIntervalMs: config.pingIntervalMs, relay: relayFor('/socket/agent/websocket', req) }),
    },
  });
  sockets.attach(app.server);

  return {
    config,
    app,
    rooms,
    bus,
    webhooks,
    metrics,
    media,
    cluster: cluster && cluster.node,
    clusterNotifications: cluster && cluster.notifications,
    async listen() {
      // HTTP first: with FJ_WEBRTC_TURN_*_PORT=0 the TURN sockets take any free port, never FJ_PORT.
      await app.listen({ host: config.ip, port: config.port });
      await media.start();
      // Joins the cluster only once it can serve: the registration advertises the bound addresses.
      await cluster?.start();
      return (app.server.address() as AddressInfo).port;
    },
    async drain(timeoutMs) {
      // A cluster node first stops taking rooms (placed on the others) and lets its rooms finish.
      await cluster?.letRoomsFinish();
      draining = true;
      const open = rooms.list();
      log.info({ rooms: open.length, timeoutMs }, 'draining: new rooms and peers refused, peers told to reconnect');
      for (const room of open) room.hangUpAll(CLOSE_SHUTTING_DOWN.code, CLOSE_SHUTTING_DOWN.reason);
      cluster?.socketRelay.closeAll(CLOSE_SHUTTING_DOWN.code, CLOSE_SHUTTING_DOWN.reason);
      rooms.stopAll();
      const flushed = await webhooks.drain(timeoutMs);
      if (flushed) log.info('drained: every webhook event delivered');
      else log.warn({ timeoutMs }, 'drain timed out with webhook events undelivered');
      await cluster?.leave();
      return flushed;
    },
    async close() {
      rooms.stopAll();
      await cluster?.close();
      sockets.closeAll();
      await app.close();
      webhookNotifier.close();
      hub.close();
      lifecycleLog.close();
      webhooks.stop();
      metrics.close();
      await media.stop();
    },
  };
}
