// Wires one Shoal instance together: config → tokens, rooms, notification bus, REST app, sockets,
// webhooks, metrics; and starts/stops it. The only place that knows every module.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApi } from './api/app.js';
import { PeerTokenService } from './auth/peer-token.js';
import type { Config } from './config/config.js';
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

export interface Shoal {
  config: Config;
  app: FastifyInstance;
  rooms: RoomRegistry;
  bus: NotificationBus;
  webhooks: WebhookSender;
  metrics: Metrics;
  /** Resolves to the bound HTTP port. */
  listen(): Promise<number>;
  close(): Promise<void>;
}

export async function createShoal(config: Config, log: Logger): Promise<Shoal> {
  const bus = new NotificationBus((err) => log.error({ err }, 'notification listener failed'));
  const rooms = new RoomRegistry(bus, (err, context) => log.error({ err, context }, 'room error'));
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
  const metrics = createMetrics(rooms, webhooks);
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
    async listen() {
      await app.listen({ host: config.ip, port: config.port });
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
    },
  };
}
