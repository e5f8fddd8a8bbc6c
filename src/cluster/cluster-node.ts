// One Shoal node's cluster membership, assembled: the Redis connection, the node registry on it, the
// CPU sampler for its load, and the `distribution` block /health reports. Built by server.ts only when
// FJ_REDIS_URL is set (a single node never touches Redis). It must not import rooms, media or the API:
// the server hands it plain functions for the load and the node's addresses.
import type { ClusterConfig } from '../config/cluster-config.js';
import type { Logger } from '../log/logger.js';
import { NodeRegistry, type NodeInfo, type NodeLoad, type NodeStatus, type NodeTurn } from './node-registry.js';
import { DEFAULTS, createRedisClient, type RedisClient } from './redis-client.js';
import { redisRegistryStore } from './registry-store.js';

export interface Distribution {
  enabled: boolean;
  nodeStatus: 'UP' | 'DOWN';
  nodesInCluster: number;
}

export interface ClusterNodeOptions {
  config: ClusterConfig;
  nodeId: string;
  host: string;
  log: Logger;
  /** Rooms, peers and forwarded tracks now (the CPU share is measured here). */
  load: () => Omit<NodeLoad, 'cpu'>;
  /** Known once the HTTP server and TURN sockets are bound: called by start(). */
  addresses: () => { apiUrl: string; turn: NodeTurn };
}

export class ClusterNode {
  readonly redis: RedisClient;
  private registry: NodeRegistry | undefined;
  private cpuAt = { wall: performance.now(), usage: process.cpuUsage() };
  private draining = false;

  constructor(private readonly o: ClusterNodeOptions) {
    this.redis = createRedisClient({ url: o.config.redisUrl, log: o.log, name: o.nodeId });
    if (o.config.routingFlag === true) o.log.info('FJ_FEATURE_FLAG_REQUEST_ROUTING_ENABLED=true: routing is always on in a Shoal cluster');
  }

  /** Registers this node (after the HTTP server listens) and keeps the lease renewed. */
  async start(): Promise<void> {
    const { apiUrl, turn } = this.o.addresses();
    const self: Omit<NodeInfo, 'load' | 'draining'> = { id: this.o.nodeId, host: this.o.host, apiUrl, turn, startedAt: Date.now() };
    this.registry = new NodeRegistry({
      store: redisRegistryStore(this.redis),
      self,
      load: () => ({ ...this.o.load(), cpu: this.cpuShare() }),
      leaseMs: this.o.config.leaseMs,
      log: this.o.log.child({ module: 'cluster' }),
    });
    // The first registration waits (bounded) for the connection; without Redis it starts DOWN and retries.
    await this.redis.waitReady(DEFAULTS.connectTimeoutMs);
    await this.registry.start();
  }

  status(): NodeStatus {
    return this.registry?.status() ?? 'starting';
  }

  onStatus(listener: (s: NodeStatus) => void): () => void {
    if (!this.registry) throw new Error('cluster node not started');
    return this.registry.onStatus(listener);
  }

  /** The live nodes read from Redis now (ClusterUnavailableError when it cannot be reached in time). */
  liveNodes(): Promise<NodeInfo[]> {
    if (!this.registry) return Promise.resolve([]);
    return this.registry.liveNodes();
  }

  /** What /health reports: UP while the lease holds, with the live nodes seen at the last renewal. */
  distribution(): Distribution {
    const s = this.status();
    const up = s === 'up' || s === 'degraded';
    return { enabled: true, nodeStatus: up ? 'UP' : 'DOWN', nodesInCluster: up ? Math.max(1, this.registry?.cachedNodes().length ?? 0) : 0 };
  }

  async setDraining(): Promise<void> {
    this.draining = true;
    await this.registry?.setDraining(true);
  }

  /** Renews the registration now (after Redis came back, possibly empty); a failure is retried by the registry. */
  async reregister(): Promise<void> {
    await this.registry?.setDraining(this.draining);
  }

  /** Leaves the registry (bounded by the command timeout) and closes the connection. */
  async close(): Promise<void> {
    await this.registry?.leave();
    await this.redis.close();
  }

  /** Share of one core the whole process (worker threads included) used since the last call. */
  private cpuShare(): number {
    const now = { wall: performance.now(), usage: process.cpuUsage() };
    const wallUs = (now.wall - this.cpuAt.wall) * 1000;
    const used = now.usage.user - this.cpuAt.usage.user + (now.usage.system - this.cpuAt.usage.system);
    this.cpuAt = now;
    return wallUs > 0 ? Math.round((used / wallUs) * 1000) / 1000 : 0;
  }
}
