// Wires cluster mode (FJ_REDIS_URL) into one Shoal node: membership, room claims and REST routing, node
// loss (the reaper reports a dead node's rooms crashed, fencing stops a cut-off node's rooms), re-claiming
// after a Redis restart, cluster-wide server notifications, the peer/agent socket relay and the cluster
// drain phase. server.ts builds it only when FJ_REDIS_URL is set; a single node never reaches this file.
// It holds no room state: it reads the registry and the bus it is handed and hangs rooms up through them.
import type { IncomingMessage } from 'node:http';
import type { ClusterRouting } from './api/cluster-routing.js';
import { ClusterNode } from './cluster/cluster-node.js';
import { CLOSE_FENCED, NodeFencing, fenceTimings } from './cluster/node-fencing.js';
import { LiveResources } from './cluster/live-resources.js';
import { NodeReaper } from './cluster/node-reaper.js';
import { parseNode, type NodeTurn } from './cluster/node-registry.js';
import { NotificationStream } from './cluster/notification-stream.js';
import { ClusterUnavailableError } from './cluster/redis-client.js';
import { redisRoomDirectory } from './cluster/room-directory.js';
import { RoomOwnership } from './cluster/room-ownership.js';
import { RoomReassert } from './cluster/room-reassert.js';
import { roomsEnded } from './cluster/rooms-ended.js';
import { RoomWebhookUrls } from './cluster/room-webhook-urls.js';
import { RELAYED_HEADER, SocketRelay } from './cluster/socket-relay.js';
import type { ClusterConfig } from './config/cluster-config.js';
import type { Logger } from './log/logger.js';
import type { NotificationHub } from './notify/notification-hub.js';
import { encodeNotification } from './notify/server-message.js';
import type { Notification, NotificationBus } from './room/notifications.js';
import type { RoomRegistry } from './room/room-registry.js';
import type { EndpointRelay } from './signaling/endpoint-auth.js';
import { startHeartbeat } from './signaling/heartbeat.js';

export interface ClusterServicesOptions {
  config: ClusterConfig;
  nodeId: string;
  host: string;
  serverApiToken: string;
  maxWsFrameBytes: number;
  pingIntervalMs: number;
  rooms: RoomRegistry;
  bus: NotificationBus;
  hub: NotificationHub;
  log: Logger;
  /** The node's REST base URL and TURN addresses, known once the HTTP server and TURN sockets are bound. */
  addresses: () => { apiUrl: string; turn: NodeTurn };
  /** Queues one webhook (the RoomCrashed this node reports for a dead node's room). */
  sendWebhook: (roomId: string, url: string, n: Notification) => void;
}

export interface ClusterServices {
  node: ClusterNode;
  notifications: NotificationStream;
  socketRelay: SocketRelay;
  /** What the REST routing hook needs (api/cluster-routing.ts). */
  routing: ClusterRouting;
  /** The relay for a peer/agent socket on `path`, unless the socket was itself relayed here. */
  relayFor(path: string, req: IncomingMessage): EndpointRelay | undefined;
  /** Joins the cluster (after the HTTP server listens) and starts the background parts. */
  start(): Promise<void>;
  /** Drain, first phase: nothing new placed here; the rooms here may finish, up to FJ_CLUSTER_DRAIN_TIMEOUT_MS. */
  letRoomsFinish(): Promise<void>;
  /** Drain, last step: the notification stream flushed (bounded), the registry left. */
  leave(): Promise<void>;
  close(): Promise<void>;
}

export function createClusterServices(o: ClusterServicesOptions): ClusterServices {
  const { config, rooms, bus, log } = o;
  const clusterLog = log.child({ module: 'cluster' });
  let draining = false;
  const node = new ClusterNode({ config, nodeId: o.nodeId, host: o.host, log, load: () => roomLoad(rooms), addresses: o.addresses });
  const directory = redisRoomDirectory(node.redis);
  const timings = fenceTimings(config.leaseMs);

  // Each room's webhook URL is kept in Redis while the room lives here, so the survivor reporting it crashed
  // can send its RoomCrashed webhook (the owner sends all the others).
  const hooks = new RoomWebhookUrls(node.redis, clusterLog);
  const hooked = new Set<string>();
  const trackHooks = bus.subscribe((n) => {
    if (n.type === 'roomCreated' && n.webhookUrl) {
      hooked.add(n.roomId);
      hooks.remember(n.roomId, n.webhookUrl);
    } else if ((n.type === 'roomDeleted' || n.type === 'roomCrashed') && hooked.delete(n.roomId)) hooks.forget(n.roomId);
  });
  const rememberHooks = node.redis.onReconnect(() => {
    const entries = rooms.list().flatMap((r) => (r.config.webhookUrl && hooked.has(r.id) ? [[r.id, r.config.webhookUrl] as const] : []));
    void hooks.rememberAll(entries);
  });
  // A claim won over a dead node's claim, or reaped from one: that room crashed (reported once, by this node,
  // on every server socket and to its webhook).
  const reportCrashed = (roomId: string) => {
    bus.publish({ type: 'roomCrashed', roomId });
    void hooks.take(roomId).then((url) => url !== undefined && o.sendWebhook(roomId, url, { type: 'roomCrashed', roomId }));
  };
  // A lapsed node that still answers HTTP is cut off and stopping its rooms: its claims hold for the reap grace.
  const lapsedHolders = { graceMs: timings.reapGraceMs, answers: (id: string) => fencing.answers(id) };
  const ownership = new RoomOwnership(directory, o.nodeId, clusterLog, () => node.status() !== 'fenced', reportCrashed, lapsedHolders);
  // A room that ends here gives back its claim, so its id can be created again anywhere.
  const releaseClaims = bus.subscribe((n) => (n.type === 'roomDeleted' || n.type === 'roomCrashed') && ownership.release(n.roomId));

  // Node loss: every node reaps the claims of nodes whose lease lapsed; a fenced node stops its own rooms.
  const reaper = new NodeReaper({
    directory,
    mayRun: () => node.status() === 'up',
    self: { id: o.nodeId, held: () => ownership.heldIds() },
    // A lapsed node seen before that does not answer is dead: its rooms are reported without the grace.
    isDead: (id: string) => (fencing.knows(id) ? fencing.answers(id).then((a) => !a) : Promise.resolve(false)),
    onCrashed: reportCrashed,
    periodMs: timings.reapPeriodMs,
    graceMs: timings.reapGraceMs,
    log: clusterLog,
  });
  const fencing: NodeFencing = new NodeFencing({
    selfId: o.nodeId,
    status: () => node.status(),
    onStatus: (l) => node.onStatus(l),
    liveNodes: () => node.liveNodes(),
    serverApiToken: o.serverApiToken,
    timings,
    leaseMs: config.leaseMs,
    roomIds: () => rooms.list().map((r) => r.id),
    stopRooms: () => {
      // The survivors report these rooms crashed: nothing more of them goes to the cluster's server sockets.
      notifications.suppressUntilUp();
      for (const room of rooms.list()) room.hangUpAll(CLOSE_FENCED.code, CLOSE_FENCED.reason);
      rooms.stopAll();
    },
    // A given-up room whose claim outlived it (back before a survivor reaped it) is reported crashed here.
    onRecovered: (givenUp) =>
      void ownership
        .retryReleases()
        .then((released) => released.filter((id) => givenUp.has(id)).forEach(reportCrashed))
        .catch(() => {}),
    log: clusterLog,
  });

  // Server notifications are cluster-wide: own ones go to the stream (local sockets got them from the hub
  // already), the other nodes' reach the local sockets only (webhooks stay with each room's owner).
  const notifications = new NotificationStream({
    redis: node.redis,
    url: config.redisUrl,
    nodeId: o.nodeId,
    log: log.child({ module: 'cluster-notifications' }),
    deliver: (bytes) => o.hub.deliver(bytes),
    status: () => node.status(),
  });
  const streamNotifications = bus.subscribe((n) => notifications.publish(encodeNotification(n)));
  // Rooms given up (fenced while the others are up) end with the survivors' RoomCrashed on every socket, here too.
  o.hub.setLocalGate(() => !notifications.suppressing);

  // After Redis comes back (restarted empty), this node registers again and claims the rooms it serves.
  const reassert = new RoomReassert({
    onReconnect: (listener) => node.redis.onReconnect(listener),
    reregister: () => node.reregister(),
    ownership,
    roomIds: () => rooms.list().map((r) => r.id),
    serves: (id) => rooms.find(id) !== undefined,
    runId: () => node.redis.run('run id', async (r) => /run_id:(\w+)/.exec(await r.info('server'))?.[1]),
    log: clusterLog,
  });
  // Which node holds each WHIP/WHEP session, so a DELETE/PATCH landing on any node reaches it.
  const liveResources = new LiveResources(node.redis, clusterLog);
  const recoveringError = (operation: string) => new ClusterUnavailableError(operation, new Error('Redis restarted; the nodes are re-claiming their rooms'));

  const routing: ClusterRouting = {
    selfId: o.nodeId,
    liveNodes: () => node.liveNodes(),
    claim: (id) => (reassert.recovering() ? Promise.reject(recoveringError('room claim')) : ownership.claim(id)),
    release: (id) => ownership.release(id),
    owner: async (id) => {
      const owner = await ownership.ownerWithNode(id);
      // Right after a Redis restart an unclaimed room may be one whose owner has not re-claimed it yet.
      if (!owner && reassert.recovering()) throw recoveringError('room lookup');
      return owner && { id: owner.node, node: owner.registration === undefined ? undefined : parseNode(owner.registration) };
    },
    leaseMs: config.leaseMs,
    draining: () => draining,
    rememberResource: (id) => liveResources.remember(id, o.nodeId),
    forgetResource: (id) => liveResources.forget(id),
    resourceOwner: (id) => liveResources.owner(id),
  };

  // A peer/agent socket whose token another node minted is relayed there (unless it was relayed here).
  const socketRelay = new SocketRelay({ selfId: o.nodeId, liveNodes: () => node.liveNodes(), maxFrameBytes: o.maxWsFrameBytes, keepAlive: (ws) => startHeartbeat(ws, o.pingIntervalMs), log });

  return {
    node,
    notifications,
    socketRelay,
    routing,
    relayFor: (path, req) => (req.headers[RELAYED_HEADER] === undefined ? (ws, target) => socketRelay.start(ws, { ...target, path }) : undefined),
    async start() {
      await node.start();
      reaper.start();
      fencing.start();
      reassert.start();
      notifications.start();
    },
    async letRoomsFinish() {
      draining = true;
      await node.setDraining();
      const waitMs = config.drainTimeoutMs;
      log.info({ rooms: rooms.list().length, waitMs }, 'draining: no new rooms placed here; the rooms here may finish');
      const ended = await roomsEnded({
        count: () => rooms.list().length,
        onRoomEnded: (listener) => bus.subscribe((n) => (n.type === 'roomDeleted' || n.type === 'roomCrashed') && listener()),
        timeoutMs: waitMs,
      });
      if (ended) log.info('draining: every room here ended');
      else log.info({ rooms: rooms.list().length, waitMs }, 'draining: time is up; hanging up the rooms left');
      reassert.stop();
    },
    async leave() {
      await notifications.close();
      await node.close();
    },
    async close() {
      releaseClaims();
      trackHooks();
      rememberHooks();
      reaper.stop();
      fencing.stop();
      reassert.stop();
      await notifications.close();
      streamNotifications();
      await node.close();
      socketRelay.closeAll(1001, 'Server shutting down');
    },
  };
}

/** Rooms, peers and forwarded tracks on this node now (what placement compares). */
function roomLoad(rooms: RoomRegistry): { rooms: number; peers: number; forwardedTracks: number } {
  let peers = 0;
  let forwardedTracks = 0;
  const open = rooms.list();
  for (const room of open) {
    peers += room.peers.size;
    for (const p of room.peers.values()) forwardedTracks += p.tracks.size;
  }
  return { rooms: open.length, peers, forwardedTracks };
}
