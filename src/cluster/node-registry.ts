// This node's membership of the cluster: registers { id, host, apiUrl, turn, load, startedAt, draining }
// with a lease, renews it every lease/3 with fresh load, keeps a cached view of the live nodes (so
// /health never waits on Redis), and reports its status: 'up', 'degraded' (a renewal failed, the lease
// may still hold), 'fenced' (no renewal acknowledged for a whole lease: the others count this node as
// dead) or 'left'. It owns no rooms and never throws from its timers; callers decide what fencing means.
import type { Logger } from '../log/logger.js';
import type { RegistryStore } from './registry-store.js';

export interface NodeLoad {
  rooms: number;
  peers: number;
  forwardedTracks: number;
  /** Share of one CPU core the process used since the previous renewal (0..cores). */
  cpu: number;
}

export interface NodeTurn {
  ip: string;
  udpPort: number;
  tcpPort?: number;
  tlsPort?: number;
}

export interface NodeInfo {
  id: string;
  /** FJ_HOST: the public address clients and backends reach this node by (no scheme). */
  host: string;
  /** Where other nodes reach this node's REST API, e.g. http://10.0.0.5:5002. */
  apiUrl: string;
  turn: NodeTurn;
  load: NodeLoad;
  startedAt: number;
  draining: boolean;
}

export type NodeStatus = 'starting' | 'up' | 'degraded' | 'fenced' | 'left';

export interface NodeRegistryOptions {
  store: RegistryStore;
  self: Omit<NodeInfo, 'load' | 'draining'>;
  load: () => NodeLoad | Promise<NodeLoad>;
  leaseMs: number;
  log: Logger;
  /** Monotonic clock, ms (tests inject a fake one). */
  now?: () => number;
}

/** Most nodes one listing reads (bounds the Redis reply and the work per renewal). */
export const MAX_NODES = 256;
/** Largest registration value accepted from Redis, bytes. */
const MAX_VALUE_BYTES = 16 * 1024;

export class NodeRegistry {
  private readonly now: () => number;
  private readonly renewEveryMs: number;
  private timer: NodeJS.Timeout | undefined;
  private fenceTimer: NodeJS.Timeout | undefined;
  private lastAckAt: number | undefined;
  private lastAttemptFailed = false;
  private draining = false;
  private stopped = false;
  private reported: NodeStatus = 'starting';
  private view: NodeInfo[] = [];
  private readonly listeners = new Set<(s: NodeStatus) => void>();
  private tick: Promise<void> = Promise.resolve();

  constructor(private readonly o: NodeRegistryOptions) {
    this.now = o.now ?? (() => performance.now());
    this.renewEveryMs = Math.max(50, Math.floor(o.leaseMs / 3));
  }

  get id(): string {
    return this.o.self.id;
  }

  /** Registers at once (a failure is logged and retried, not thrown), then renews every lease/3. */
  async start(): Promise<void> {
    this.o.log.info({ nodeId: this.id, leaseMs: this.o.leaseMs }, 'joining the cluster');
    await this.renewNow();
  }

  status(): NodeStatus {
    if (this.stopped) return 'left';
    if (this.lastAckAt === undefined) return this.lastAttemptFailed ? 'fenced' : 'starting';
    // Counted from the send time of the last acknowledged renewal: Redis set the key's expiry after it.
    // (A renewal whose answer never came may still have landed, at most one command timeout after it was
    // sent — the store refuses later ones — so Redis drops the key at most a lease after that.)
    if (this.now() - this.lastAckAt > this.o.leaseMs) return 'fenced';
    return this.lastAttemptFailed ? 'degraded' : 'up';
  }

  onStatus(listener: (s: NodeStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The live nodes (this one included while registered) as of the last renewal: no Redis round trip. */
  cachedNodes(): readonly NodeInfo[] {
    return this.view;
  }

  /** Reads the live nodes from Redis now; rejects with ClusterUnavailableError when it cannot. */
  async liveNodes(): Promise<NodeInfo[]> {
    const values = await this.o.store.list(MAX_NODES);
    const nodes = values.map(parseNode).filter((n): n is NodeInfo => n !== undefined);
    this.view = nodes;
    return nodes;
  }

  /** Marks this node draining (no new rooms should be placed here) and renews at once so others see it. */
  async setDraining(draining: boolean): Promise<void> {
    this.draining = draining;
    if (!this.stopped) await this.renewNow();
  }

  /** Stops renewing and deletes this node's registration (on shutdown); a failure is logged, the lease then lapses. */
  async leave(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.fenceTimer);
    await this.tick.catch(() => {});
    try {
      await this.o.store.remove(this.id);
      this.o.log.info({ nodeId: this.id }, 'left the cluster');
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'could not leave the cluster; the lease will lapse');
    }
    this.view = [];
    this.report();
  }

  /** One renewal now (serialised with the timer's), then the next one scheduled. */
  private renewNow(): Promise<void> {
    clearTimeout(this.timer);
    this.tick = this.tick.catch(() => {}).then(() => this.renew()).finally(() => this.schedule());
    return this.tick;
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    // After a failure retry sooner, so a short outage costs less than a third of the lease.
    const delay = this.lastAttemptFailed ? Math.max(50, Math.floor(this.renewEveryMs / 2)) : this.renewEveryMs;
    this.timer = setTimeout(() => void this.renewNow(), delay);
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    if (this.stopped) return;
    const sentAt = this.now();
    try {
      const info: NodeInfo = { ...this.o.self, load: await this.o.load(), draining: this.draining };
      await this.o.store.put(this.id, JSON.stringify(info), this.o.leaseMs);
      // The key's expiry was set after sentAt: counting the lease from sentAt is the cautious end.
      this.lastAckAt = sentAt;
      if (this.lastAttemptFailed) this.o.log.info({ nodeId: this.id }, 'cluster registration renewed again');
      this.lastAttemptFailed = false;
      this.armFenceTimer();
      this.report();
      await this.liveNodes().catch((err: Error) => this.o.log.debug({ err: err.message }, 'node listing failed'));
    } catch (err) {
      if (!this.lastAttemptFailed) this.o.log.warn({ err: (err as Error).message, nodeId: this.id }, 'cluster registration renewal failed; retrying');
      this.lastAttemptFailed = true;
    }
    if (this.status() === 'fenced') this.view = [];
    this.report();
  }

  /** Wakes up when the lease is certainly lapsed without a renewal, to report 'fenced' on time. */
  private armFenceTimer(): void {
    clearTimeout(this.fenceTimer);
    this.fenceTimer = setTimeout(() => {
      if (this.status() === 'fenced') this.view = [];
      this.report();
    }, this.o.leaseMs + 1);
    this.fenceTimer.unref();
  }

  private report(): void {
    const s = this.status();
    if (s === this.reported) return;
    const was = this.reported;
    this.reported = s;
    if (s === 'fenced') this.o.log.error({ nodeId: this.id, leaseMs: this.o.leaseMs }, 'cluster lease lapsed: this node is fenced off');
    else this.o.log.info({ nodeId: this.id, from: was, to: s }, 'cluster status');
    for (const l of this.listeners) {
      try {
        l(s);
      } catch (err) {
        this.o.log.error({ err }, 'cluster status listener failed');
      }
    }
  }
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isStr = (v: unknown, max = 512): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;

/** A registration read back from Redis, checked field by field; anything malformed is skipped. */
export function parseNode(value: string): NodeInfo | undefined {
  if (value.length > MAX_VALUE_BYTES) return undefined;
  let v: any;
  try {
    v = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const { id, host, apiUrl, turn, load, startedAt, draining } = v;
  if (!isStr(id, 128) || !isStr(host) || !isStr(apiUrl) || !isNum(startedAt) || typeof draining !== 'boolean') return undefined;
  if (typeof turn !== 'object' || turn === null || !isStr(turn.ip, 64) || !isInt(turn.udpPort)) return undefined;
  if (typeof load !== 'object' || load === null || !isInt(load.rooms) || !isInt(load.peers) || !isInt(load.forwardedTracks) || !isNum(load.cpu)) return undefined;
  const port = (p: unknown) => (isInt(p) ? p : undefined);
  return {
    id,
    host,
    apiUrl,
    turn: { ip: turn.ip, udpPort: turn.udpPort, tcpPort: port(turn.tcpPort), tlsPort: port(turn.tlsPort) },
    load: { rooms: load.rooms, peers: load.peers, forwardedTracks: load.forwardedTracks, cpu: load.cpu },
    startedAt,
    draining,
  };
}
