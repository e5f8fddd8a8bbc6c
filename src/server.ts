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
import { ClusterNode } from './cluster/cluster-node.js';
import { parseNode } from './cluster/node-registry.js';
import { redisRoomDirectory } from './cluster/room-directory.js';
import { RoomOwnership } from './cluster/room-ownership.js';
import { NodeReaper } from './cluster/node-reaper.js';
import { CLOSE_FENCED, NodeFencing, fenceTimings } from './cluster/node-fencing.js';
import { RoomReassert } from './cluster/room-reassert.js';
import { ClusterUnavailableError } from './cluster/redis-client.js';
import { roomsEnded } from './cluster/rooms-ended.js';
import { NotificationStream } from './cluster/notification-stream.js';
import { encodeNotification } from './notify/server-message.js';
import { RELAYED_HEADER, SocketRelay } from './cluster/socket-relay.js';
import type { EndpointRelay } from './signaling/endpoint-auth.js';
import type { IncomingMessage } from 'node:http';

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
  const metrics = createMetrics(rooms, webhooks, media, config.cluster && { clusterNotifications: () => notificationStream?.stats() });
  let draining = false;
  const isDraining = () => draining;
  // Cluster drain, first phase: no new room here, the rooms here keep running (peers may still join them).
  let clusterDraining = false;
  const cluster = config.cluster && new ClusterNode({
    config: config.cluster,
    nodeId: config.nodeId,
    host: config.host,
    log,
    load: () => {
      let peers = 0;
      let forwardedTracks = 0;
      const open = rooms.list();
      for (const room of open) {
        peers += room.peers.size;
        for (const p of room.peers.values()) forwardedTracks += p.tracks.size;
      }
      return { rooms: open.length, peers, forwardedTracks };
    },
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
  const distribution = cluster && (() => cluster.distribution());
  // A claim won over a dead node's claim, or reaped from one: that room crashed (reported once, by this node).
  const reportCrashed = (roomId: string) => bus.publish({ type: 'roomCrashed', roomId });
  // A lapsed node that still answers HTTP is cut off and stopping its rooms: its claims hold for the reap grace.
  const lapsedHolders = cluster && { graceMs: fenceTimings(config.cluster!.leaseMs).reapGraceMs, answers: (id: string): Promise<boolean> => fencing?.answers(id) ?? Promise.resolve(false) };
  const ownership = cluster && new RoomOwnership(redisRoomDirectory(cluster.redis), config.nodeId, log.child({ module: 'cluster' }), () => cluster.status() !== 'fenced', reportCrashed, lapsedHolders);
  // A room that ends here gives back its claim, so its id can be created again anywhere.
  const releaseClaims = ownership && bus.subscribe((n) => (n.type === 'roomDeleted' || n.type === 'roomCrashed') && ownership.release(n.roomId));
  // Node loss: every node reaps the claims of nodes whose lease lapsed; a fenced node stops its own rooms.
  const timings = cluster && fenceTimings(config.cluster!.leaseMs);
  const reaper = cluster && timings && new NodeReaper({
    directory: redisRoomDirectory(cluster.redis),
    mayRun: () => cluster.status() === 'up',
    self: { id: config.nodeId, held: () => ownership?.heldIds() ?? [] },
    // A lapsed node seen before that does not answer is dead: its rooms are reported without the grace.
    isDead: (id: string): Promise<boolean> => (fencing?.knows(id) ? fencing.answers(id).then((a) => !a) : Promise.resolve(false)),
    onCrashed: reportCrashed,
    periodMs: timings.reapPeriodMs,
    graceMs: timings.reapGraceMs,
    log: log.child({ module: 'cluster' }),
  });
  const fencing = cluster && ownership && timings && new NodeFencing({
    selfId: config.nodeId,
    status: () => cluster.status(),
    onStatus: (l) => cluster.onStatus(l),
    liveNodes: () => cluster.liveNodes(),
    serverApiToken: config.serverApiToken,
    timings,
    leaseMs: config.cluster!.leaseMs,
    roomIds: () => rooms.list().map((r) => r.id),
    stopRooms: () => {
      // The survivors report these rooms crashed: nothing more of them goes to the cluster's server sockets.
      notificationStream?.suppressUntilUp();
      for (const room of rooms.list()) room.hangUpAll(CLOSE_FENCED.code, CLOSE_FENCED.reason);
      rooms.stopAll();
    },
    // A given-up room whose claim outlived it (back before a survivor reaped it) is reported crashed here.
    onRecovered: (givenUp) =>
      void ownership
        .retryReleases()
        .then((released) => released.filter((id) => givenUp.has(id)).forEach(reportCrashed))
        .catch(() => {}),
    log: log.child({ module: 'cluster' }),
  });
  // Server notifications are cluster-wide: own ones go to the stream (local sockets got them from the hub
  // already), the other nodes' reach the local sockets only (webhooks stay with each room's owner).
  const notificationStream = cluster && new NotificationStream({
    redis: cluster.redis,
    url: config.cluster!.redisUrl,
    nodeId: config.nodeId,
    log: log.child({ module: 'cluster-notifications' }),
    deliver: (bytes) => hub.deliver(bytes),
    status: () => cluster.status(),
  });
  const streamNotifications = notificationStream && bus.subscribe((n) => notificationStream.publish(encodeNotification(n)));
  // Rooms given up (fenced while the others are up) end with the survivors' RoomCrashed on every socket, here too.
  if (notificationStream) hub.setLocalGate(() => !notificationStream.suppressing);
  const clusterRouting = cluster && ownership && {
    selfId: config.nodeId,
    liveNodes: () => cluster.liveNodes(),
    claim: (id: string) => (reassert?.recovering() ? Promise.reject(recoveringError('room claim')) : ownership.claim(id)),
    release: (id: string) => ownership.release(id),
    owner: async (id: string) => {
      const o = await ownership.ownerWithNode(id);
      // Right after a Redis restart an unclaimed room may be one whose owner has not re-claimed it yet.
      if (!o && reassert?.recovering()) throw recoveringError('room lookup');
      return o && { id: o.node, node: o.registration === undefined ? undefined : parseNode(o.registration) };
    },
    leaseMs: config.cluster!.leaseMs,
    draining: () => clusterDraining,
  };
  // After Redis comes back (restarted empty), this node registers again and claims the rooms it serves.
  const reassert = cluster && ownership && new RoomReassert({
    onReconnect: (listener) => cluster.redis.onReconnect(listener),
    reregister: () => cluster.reregister(),
    ownership,
    roomIds: () => rooms.list().map((r) => r.id),
    serves: (id) => rooms.find(id) !== undefined,
    runId: () => cluster.redis.run('run id', async (r) => /run_id:(\w+)/.exec(await r.info('server'))?.[1]),
    log: log.child({ module: 'cluster' }),
  });
  const recoveringError = (operation: string) => new ClusterUnavailableError(operation, new Error('Redis restarted; the nodes are re-claiming their rooms'));
  const app = await buildApi({ config, rooms, tokens, log, startedAt: Date.now(), version: VERSION, isDraining, tls, distribution, cluster: clusterRouting });
  instrumentHttp(app, metrics.http);

  // A peer/agent socket whose token another node minted is relayed there (unless it was relayed here).
  const socketRelay = cluster && new SocketRelay({ selfId: config.nodeId, liveNodes: () => cluster.liveNodes(), maxFrameBytes: config.maxWsFrameBytes, pingIntervalMs: config.pingIntervalMs, log });
  if (socketRelay) {
    totalCounter(metrics.registry, 'shoal_cluster_relayed_sockets_total', 'Peer and agent sockets relayed to the node owning their room', () => socketRelay.stats.relayed);
    totalCounter(metrics.registry, 'shoal_cluster_relay_failures_total', 'Sockets to relay closed before the owning node answered (not live, unreachable, too many waiting frames)', () => socketRelay.stats.failed);
  }
  const relayFor = (path: string, req: IncomingMessage): EndpointRelay | undefined =>
    socketRelay && req.headers[RELAYED_HEADER] === undefined ? (ws, target) => socketRelay.start(ws, { ...target, path }) : undefined;
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
    cluster,
    clusterNotifications: notificationStream,
    async listen() {
      // HTTP first: with FJ_WEBRTC_TURN_*_PORT=0 the TURN sockets take any free port, never FJ_PORT.
      await app.listen({ host: config.ip, port: config.port });
      await media.start();
      // Joins the cluster only once it can serve: the registration advertises the bound addresses.
      await cluster?.start();
      reaper?.start();
      fencing?.start();
      reassert?.start();
      notificationStream?.start();
      return (app.server.address() as AddressInfo).port;
    },
    async drain(timeoutMs) {
      if (cluster) {
        // A cluster node stops taking rooms (they are placed on the others) and lets its rooms finish, up to
        // FJ_CLUSTER_DRAIN_TIMEOUT_MS; whatever is left is then hung up as on a single node.
        clusterDraining = true;
        await cluster.setDraining();
        const waitMs = config.cluster!.drainTimeoutMs;
        log.info({ rooms: rooms.list().length, waitMs }, 'draining: no new rooms placed here; the rooms here may finish');
        const ended = await roomsEnded({
          count: () => rooms.list().length,
          onRoomEnded: (listener) => bus.subscribe((n) => (n.type === 'roomDeleted' || n.type === 'roomCrashed') && listener()),
          timeoutMs: waitMs,
        });
        if (ended) log.info('draining: every room here ended');
        else log.info({ rooms: rooms.list().length, waitMs }, 'draining: time is up; hanging up the rooms left');
        reassert?.stop();
      }
      draining = true;
      await cluster?.setDraining();
      const open = rooms.list();
      log.info({ rooms: open.length, timeoutMs }, 'draining: new rooms and peers refused, peers told to reconnect');
      for (const room of open) room.hangUpAll(CLOSE_SHUTTING_DOWN.code, CLOSE_SHUTTING_DOWN.reason);
      socketRelay?.closeAll(CLOSE_SHUTTING_DOWN.code, CLOSE_SHUTTING_DOWN.reason);
      rooms.stopAll();
      const flushed = await webhooks.drain(timeoutMs);
      if (flushed) log.info('drained: every webhook event delivered');
      else log.warn({ timeoutMs }, 'drain timed out with webhook events undelivered');
      await notificationStream?.close();
      await cluster?.close();
      return flushed;
    },
    async close() {
      rooms.stopAll();
      releaseClaims?.();
      reaper?.stop();
      fencing?.stop();
      reassert?.stop();
      await notificationStream?.close();
      streamNotifications?.();
      await cluster?.close();
      socketRelay?.closeAll(1001, 'Server shutting down');
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
