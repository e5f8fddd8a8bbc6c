// What the REST routes are given (the registry, the token service, config) and the AUTH route marker:
// the one module both the app and its routes import, so neither imports the other's file.
import type { PeerTokenService } from '../auth/peer-token.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import type { RoomRegistry } from '../room/room-registry.js';
import type { ClusterRouting } from './cluster-routing.js';

export interface ApiDeps {
  config: Config;
  rooms: RoomRegistry;
  tokens: PeerTokenService;
  log: Logger;
  startedAt: number;
  version: string;
  /** True once a drain has begun: requests that would create rooms, peers or tokens are refused with 503. */
  isDraining(): boolean;
  /** Built-in TLS: the app serves https (and the sockets wss) with this PEM key and certificate chain. */
  tls?: { key: string; cert: string };
  /** Cluster mode: what /health reports as `distribution` (read from memory, never waits on Redis). */
  distribution?: () => { enabled: boolean; nodeStatus: 'UP' | 'DOWN'; nodesInCluster: number };
  /** Cluster mode: placement of new rooms and routing of room-scoped calls to the owning node. */
  cluster?: ClusterRouting;
}

/** Marks a route as needing the server API token (checked by the app's onRequest hook). */
export const AUTH = { auth: true } as const;

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: boolean;
  }
}
