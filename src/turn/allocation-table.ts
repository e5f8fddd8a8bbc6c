// The TURN server's live allocations, indexed by client 5-tuple and by id: creating one (with a relayed
// port from the shared pool), finding the one on a 5-tuple (deleting it first if it has expired),
// deleting one (releasing its port), and the periodic sweep. Keeps TurnStats.allocations in step.
// What it must not do: check credentials, parse or send packets, or run timers (the server calls sweep()).
import type { Logger } from '../log/logger.js';
import { Allocation } from './allocation.js';
import type { PortPool } from './port-pool.js';
import type { ClientConn } from './turn-sockets.js';
import type { TurnStats } from './turn-stats.js';
import { parseTurnUsername } from './turn-credentials.js';
import type { ClientRef, VirtualEndpoint, VirtualReply } from './virtual-endpoint.js';
import type { UdpRoute } from './udp-route.js';

/** The reply function handed to `endpoint` for an allocation's packets to one virtual port. */
export interface EndpointReply {
  endpoint: VirtualEndpoint;
  reply: VirtualReply;
  /** The fast-path route last handed out for it (udp-route.ts), marked dead with the allocation. */
  route?: UdpRoute;
}

/** Everything the server keeps for one allocation. */
export interface AllocationEntry {
  alloc: Allocation;
  /** The client 5-tuple the allocation lives on. */
  conn: ClientConn;
  /** What virtual endpoints are told about the sender; one frozen object for the allocation's life. */
  ref: ClientRef;
  /** Reply functions by virtual port, made once and reused for every packet (kept by the relay). */
  replies: Map<number, EndpointReply>;
  /** Set when the allocation is deleted (its fast-path routes die with it). */
  deleted?: boolean;
}

export interface NewAllocation {
  conn: ClientConn;
  username: string;
  key: Buffer;
  createTransactionId: Buffer;
  lifetimeSeconds: number;
  now: number;
}

export class AllocationTable {
  private readonly byClient = new Map<string, AllocationEntry>();
  private readonly byId = new Map<string, AllocationEntry>();
  private seq = 0;

  constructor(
    private readonly advertisedIp: string,
    private readonly ports: PortPool,
    private readonly stats: TurnStats,
    private readonly log: Logger,
  ) {}

  /** The allocation on 5-tuple `key`, even if it has expired. */
  onClient(key: string): AllocationEntry | undefined {
    return this.byClient.get(key);
  }

  /** The allocation on 5-tuple `key`, deleting it first if it has expired. */
  live(key: string, now: number): AllocationEntry | undefined {
    const entry = this.byClient.get(key);
    if (entry && entry.alloc.isExpired(now)) {
      this.delete(entry, 'expired');
      return undefined;
    }
    return entry;
  }

  /** False once `entry` has been deleted. */
  has(entry: AllocationEntry): boolean {
    return this.byId.get(entry.alloc.id) === entry;
  }

  entries(): IterableIterator<AllocationEntry> {
    return this.byId.values();
  }

  /** A new allocation with a relayed port from the pool, or undefined when the pool is exhausted. */
  create(init: NewAllocation): AllocationEntry | undefined {
    const relayPort = this.ports.acquire();
    if (relayPort === undefined) return undefined;
    const { conn, username, lifetimeSeconds } = init;
    const id = `turn-${++this.seq}`;
    const alloc = new Allocation({
      id,
      transport: conn.transport,
      client: conn.remote,
      username,
      key: init.key,
      relayed: { address: this.advertisedIp, port: relayPort },
      createTransactionId: init.createTransactionId,
      lifetimeSeconds,
      now: init.now,
    });
    const entry: AllocationEntry = {
      alloc,
      conn,
      ref: Object.freeze({
        allocationId: id,
        username,
        transport: conn.transport,
        relayed: Object.freeze({ ...alloc.relayed }),
      }),
      replies: new Map(),
    };
    this.byClient.set(conn.key, entry);
    this.byId.set(id, entry);
    this.stats.allocations = this.byId.size;
    this.log.debug(
      { allocationId: id, client: conn.key, peerId: parseTurnUsername(username)?.peerId, lifetime: lifetimeSeconds },
      'TURN allocation created',
    );
    return entry;
  }

  delete(entry: AllocationEntry, reason: string): void {
    if (this.byId.get(entry.alloc.id) !== entry) return;
    entry.deleted = true;
    for (const r of entry.replies.values()) if (r.route) r.route.dead = true;
    this.byId.delete(entry.alloc.id);
    if (this.byClient.get(entry.conn.key) === entry) this.byClient.delete(entry.conn.key);
    this.ports.release(entry.alloc.relayed.port);
    this.stats.allocations = this.byId.size;
    this.log.debug({ allocationId: entry.alloc.id, reason }, 'TURN allocation deleted');
  }

  deleteAll(reason: string): void {
    for (const entry of [...this.byId.values()]) this.delete(entry, reason);
  }

  /** Deletes expired allocations and lets the live ones forget expired permissions and bindings. */
  sweep(now: number): void {
    for (const entry of [...this.byId.values()]) {
      if (entry.alloc.isExpired(now)) this.delete(entry, 'expired');
      else entry.alloc.sweep(now);
    }
  }
}
