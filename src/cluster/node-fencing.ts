// What this node does when its own lease lapses ('fenced'): the survivors will report its rooms crashed and
// may create their ids again, so it must stop serving them — but when Redis is down for every node nobody
// can take them over, and live rooms should keep their media. It tells the two apart by asking the nodes it
// last saw (GET /health): once some node has reported its lease UP for `holdMs` in a row (longer than a
// reconnect after a Redis restart takes), this node hangs up its peers and stops its rooms (stopRooms,
// handed in by server.ts), before the survivors' reap grace ends. On recovery it calls onRecovered with the
// rooms it gave up (a claim that outlived them is released there and reported crashed then). It
// imports no rooms or sockets; every wait is bounded and nothing here throws from a timer.
import type { Logger } from '../log/logger.js';
import type { NodeStatus } from './node-registry.js';

/** The close a fenced node's peers get. C25 reads "node not found" as a join error and does not reconnect. */
export const CLOSE_FENCED = { code: 1011, reason: 'node not found: this node lost its cluster lease; the room ended' } as const;

export interface FenceTimings {
  /** How often a fenced node asks the others, ms. */
  probeEveryMs: number;
  /** Bound of one /health probe, ms. */
  probeTimeoutMs: number;
  /** How long another node must report UP before a fenced node stops its rooms, ms. */
  holdMs: number;
  /** How long survivors wait, after first seeing a node unregistered, before taking its claims, ms. */
  reapGraceMs: number;
  reapPeriodMs: number;
}

/** Redis reconnects within 2 s (redis-client's cap) plus a renewal retry: the hold outlasts that. */
export function fenceTimings(leaseMs: number): FenceTimings {
  const probeEveryMs = Math.max(200, Math.floor(leaseMs / 6));
  const probeTimeoutMs = 500;
  const holdMs = 3000 + Math.ceil(leaseMs / 3);
  // The fenced node stops within hold + a probe round after its own fence, which is no later than Redis
  // dropping its key: the survivors' grace starts after that, so the rooms stop before they are reaped.
  const reapGraceMs = holdMs + 2 * (probeEveryMs + probeTimeoutMs) + 500;
  return { probeEveryMs, probeTimeoutMs, holdMs, reapGraceMs, reapPeriodMs: Math.max(200, Math.floor(leaseMs / 4)) };
}

export interface PeerNode {
  id: string;
  apiUrl: string;
}

export interface NodeFencingOptions {
  selfId: string;
  status: () => NodeStatus;
  onStatus: (listener: (s: NodeStatus) => void) => () => void;
  /** The live nodes from Redis (rejects while unreachable): the last answer is who gets asked when fenced. */
  liveNodes: () => Promise<PeerNode[]>;
  /** True if the node at `apiUrl` reports its own lease UP; default GET /health with the server API token. */
  probe?: (apiUrl: string, timeoutMs: number) => Promise<boolean>;
  serverApiToken: string;
  timings: FenceTimings;
  leaseMs: number;
  /** Ids of the rooms this node serves now (remembered when they are given up). */
  roomIds: () => string[];
  stopRooms: () => void;
  /** The lease holds again; `givenUp`: the rooms stopped while fenced (their claims may have outlived them). */
  onRecovered: (givenUp: ReadonlySet<string>) => void;
  log: Logger;
  now?: () => number;
}

/** Most nodes asked per probe round. */
const MAX_PROBED = 16;
/** Most node addresses remembered (the nodes seen live, lapsed ones included). */
const MAX_SEEN = 1024;

export class NodeFencing {
  private peers: PeerNode[] = [];
  private readonly seen = new Map<string, string>();
  private snapshotTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private fenced = false;
  private stoppedRooms = false;
  private givenUp: string[] = [];
  private upSince: number | undefined;
  private readonly now: () => number;
  private readonly probe: (apiUrl: string, timeoutMs: number) => Promise<boolean>;

  constructor(private readonly o: NodeFencingOptions) {
    this.now = o.now ?? (() => performance.now());
    this.probe = o.probe ?? ((url, ms) => probeHealth(url, o.serverApiToken, ms));
  }

  start(): void {
    this.unsubscribe = this.o.onStatus((s) => this.onStatus(s));
    this.onStatus(this.o.status());
    this.refreshPeers();
  }

  stop(): void {
    this.unsubscribe?.();
    clearTimeout(this.snapshotTimer);
    clearTimeout(this.probeTimer);
  }

  /**
   * Whether node `id` (seen live earlier) answers HTTP at all within the probe bound: a lapsed node that does
   * is alive but cut off (it stops its rooms within the hold); one that does not, or was never seen, is dead.
   */
  async answers(id: string): Promise<boolean> {
    const url = this.seen.get(id);
    if (url === undefined) return false;
    try {
      await fetch(`${url}/health`, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(this.o.timings.probeTimeoutMs) }).then((r) => r.arrayBuffer());
      return true;
    } catch {
      return false;
    }
  }

  /** Whether node `id` was seen live (its address is known), so answers() can tell dead from cut off. */
  knows(id: string): boolean {
    return this.seen.has(id);
  }

  /** The nodes a fenced node would ask (tests). */
  knownPeers(): readonly PeerNode[] {
    return this.peers;
  }

  private onStatus(s: NodeStatus): void {
    if (s === 'fenced' && !this.fenced) {
      this.fenced = true;
      this.upSince = undefined;
      this.o.log.warn({ peers: this.peers.map((p) => p.id) }, 'fenced: asking the other nodes whether the cluster goes on without this node');
      void this.probeRound();
    } else if ((s === 'up' || s === 'degraded') && this.fenced) {
      this.fenced = false;
      clearTimeout(this.probeTimer);
      this.o.log.info({ roomsStopped: this.stoppedRooms }, 'cluster lease held again');
      this.stoppedRooms = false;
      const givenUp = this.givenUp;
      this.givenUp = [];
      try {
        this.o.onRecovered(new Set(givenUp));
      } catch (err) {
        this.o.log.error({ err }, 'fence recovery failed');
      }
    } else if (s === 'left') {
      this.stop();
    }
  }

  /** While the lease holds: remembers the other live nodes, every lease. */
  private refreshPeers(): void {
    clearTimeout(this.snapshotTimer);
    const s = this.o.status();
    if (s === 'left') return;
    const next = () => {
      this.snapshotTimer = setTimeout(() => this.refreshPeers(), this.o.leaseMs);
      this.snapshotTimer.unref();
    };
    if (s !== 'up' && s !== 'degraded') return next();
    this.o
      .liveNodes()
      .then((nodes) => {
        if (this.o.status() !== 'up' && this.o.status() !== 'degraded') return;
        this.peers = nodes.filter((n) => n.id !== this.o.selfId).map((n) => ({ id: n.id, apiUrl: n.apiUrl }));
        for (const p of this.peers) {
          this.seen.delete(p.id);
          this.seen.set(p.id, p.apiUrl);
          if (this.seen.size > MAX_SEEN) this.seen.delete(this.seen.keys().next().value!);
        }
      })
      .catch((err: Error) => this.o.log.debug({ err: err.message }, 'node snapshot failed'))
      .finally(next);
  }

  private async probeRound(): Promise<void> {
    if (!this.fenced) return;
    const asked = this.peers.slice(0, MAX_PROBED);
    const answers = await Promise.all(asked.map((p) => this.probe(p.apiUrl, this.o.timings.probeTimeoutMs).catch(() => false)));
    if (!this.fenced) return;
    if (answers.some(Boolean)) {
      this.upSince ??= this.now();
      if (!this.stoppedRooms && this.now() - this.upSince >= this.o.timings.holdMs) {
        this.stoppedRooms = true;
        this.o.log.error({ holdMs: this.o.timings.holdMs }, 'fenced while other nodes hold their leases: stopping every room here (the survivors report them crashed)');
        try {
          this.givenUp.push(...this.o.roomIds());
          this.o.stopRooms();
        } catch (err) {
          this.o.log.error({ err }, 'stopping rooms after fencing failed');
        }
      }
    } else {
      if (this.upSince !== undefined) this.o.log.info('no other node reports its lease up: Redis looks down for all, rooms kept');
      this.upSince = undefined;
    }
    this.probeTimer = setTimeout(() => void this.probeRound(), this.o.timings.probeEveryMs);
    this.probeTimer.unref();
  }
}

/** GET <apiUrl>/health: true if that node reports distribution.nodeStatus UP within `timeoutMs`. */
export async function probeHealth(apiUrl: string, token: string, timeoutMs: number): Promise<boolean> {
  const res = await fetch(`${apiUrl}/health`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200) return false;
  const text = await res.text();
  if (text.length > 64 * 1024) return false;
  const body = JSON.parse(text) as { data?: { distribution?: { nodeStatus?: unknown } } };
  return body.data?.distribution?.nodeStatus === 'UP';
}
