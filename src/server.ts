// Wires one Shoal instance together: config → tokens, rooms, notification bus, REST app, sockets,
// webhooks, metrics; and starts/stops it. The only place that knows every module.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApi } from './api/app.js';
import { PeerTokenService } from './auth/peer-token.js';
import type { Config, LogLevel } from './config/config.js';
import type { Logger } from './log/logger.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { NotificationHub } from './notify/notification-hub.js';
import { WebhookNotifier } from './notify/webhook-notifier.js';
import { WebhookSender } from './notify/webhook-sender.js';
import { NotificationBus } from './room/notifications.js';
import { RoomRegistry } from './room/room-registry.js';
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
  /** Resolves to the bound HTTP port. */
  listen(): Promise<number>;
  close(): Promise<void>;
}

export async function createShoal(config: Config, log: Logger): Promise<Shoal> {
  const bus = new NotificationBus((err) => log.error({ err }, 'notification listener failed'));
  const turn = {
    listenIp: config.turnListenIp,
    udpPort: config.turnUdpPort,
    tcpPort: config.turnTcpPort,
    advertisedIp: config.turnIp,
    realm: config.turnRealm,
    secret: hkdfSecret(config.secretKeyBase[0], 'shoal turn credentials'),
  };
  const certificate = await dtlsCertificate();
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
        })
      : new LocalMediaPlane({ turn, certificate, credentialTtlSeconds: config.peerTokenTtlSeconds, log });
  const rooms = new RoomRegistry(bus, (err, context) => log.error({ err, context }, 'room error'), media);
  const tokens = new PeerTokenService(config.secretKeyBase, config.nodeId, config.peerTokenTtlSeconds);
  const hub = new NotificationHub(bus, log);
  const webhooks = new WebhookSender({
    secret: config.webhookSecret,
    timeoutMs: config.webhookTimeoutMs,
    maxRetryMs: config.webhookMaxRetryMs,
    queueLimit: config.webhookQueueLimit,
    log: log.child({ module: 'webhook' }),
  });
  const webhookNotifier = new WebhookNotifier(bus, webhooks);
  const metrics = createMetrics(rooms, webhooks, media);
  const app = await buildApi({ config, rooms, tokens, log, startedAt: Date.now(), version: VERSION });

  const sockets = new SocketRouter({
    maxFrameBytes: config.maxWsFrameBytes,
    checkOrigin: config.checkOrigin,
    routes: {
      '/socket/peer/websocket': (ws) => new PeerSocket(ws, { rooms, tokens, log, pingIntervalMs: config.pingIntervalMs }),
      '/socket/server/websocket': (ws) =>
        new ServerSocket(ws, { serverApiToken: config.serverApiToken, hub, log, pingIntervalMs: config.pingIntervalMs }),
      '/socket/agent/websocket': (ws) => new AgentSocket(ws, { rooms, tokens, log, pingIntervalMs: config.pingIntervalMs }),
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
    async listen() {
      // HTTP first: with FJ_WEBRTC_TURN_*_PORT=0 the TURN sockets take any free port, never FJ_PORT.
      await app.listen({ host: config.ip, port: config.port });
      await media.start();
      return (app.server.address() as AddressInfo).port;
    },
    async close() {
      rooms.stopAll();
      sockets.closeAll();
      await app.close();
      webhookNotifier.close();
      hub.close();
      webhooks.stop();
      metrics.close();
      await media.stop();
    },
  };
}
