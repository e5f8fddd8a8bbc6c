// The TURN data path to in-process endpoints: the registry of virtual addresses (advertised IP + a
// port from the shared pool, never bound), the data of Send indications and ChannelData from allocations
// (framed by turn-framing.ts, or by the data plane) handed to the endpoint registered at their peer address, and the endpoint's replies sent back to the client as
// ChannelData (framed in place when the reply leaves REPLY_HEADROOM bytes in front, over UDP) or as Data
// indications. The reply function for an (allocation, virtual port) is made once and reused; for UDP with
// a channel bound it also offers a fast-path route (udp-route.ts) that the native plane writes to directly.
// What it must not do: relay anything to the real network (peers that are not registered virtual
// addresses are dropped), deliver without a live allocation and permission, allocate a closure per
// packet, let a throwing endpoint escape (it is counted in stats.endpointErrors and logged at most once
// a second: relayed garbage must not flood the log), or send on a released address or a deleted allocation.
import type { Logger } from '../log/logger.js';
import type { AllocationEntry, AllocationTable, EndpointReply } from './allocation-table.js';
import { routeUsable, type UdpRoute } from './udp-route.js';
import { encodeChannelData } from './channel-data.js';
import { encodeXorAddress } from './stun-attributes.js';
import { encodeStun } from './stun-message.js';
import { Attr, StunClass, StunMethod, type TransportAddress } from './stun-protocol.js';
import { LogThrottle } from './log-throttle.js';
import type { PortPool } from './port-pool.js';
import type { ClientConn } from './turn-sockets.js';
import type { TurnStats } from './turn-stats.js';
import type { VirtualEndpoint, VirtualReply } from './virtual-endpoint.js';

/** A fast-path route is re-checked at least this often (allocation, channel and permission state). */
const ROUTE_TTL_MS = 1000;

/** DATA must fit in one STUN message next to XOR-PEER-ADDRESS. */
const MAX_REPLY_BYTES = 0xffff - 64;

/** A registered virtual address; release() frees the port (idempotent). */
export interface VirtualRegistration {
  ip: string;
  port: number;
  release(): void;
}

export interface VirtualRelayOptions {
  advertisedIp: string;
  ports: PortPool;
  allocations: AllocationTable;
  stats: TurnStats;
  log: Logger;
}

export class VirtualRelay {
  private readonly virtuals = new Map<number, VirtualEndpoint>();
  private readonly advertisedIp: string;
  private readonly ports: PortPool;
  private readonly allocations: AllocationTable;
  private readonly stats: TurnStats;
  private readonly log: Logger;
  private readonly endpointErrorLog = new LogThrottle(1000);
  private tidCounter = 0;
  private readonly tidPrefix = Buffer.from(Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, '0'), 'hex');

  constructor(opts: VirtualRelayOptions) {
    this.advertisedIp = opts.advertisedIp;
    this.ports = opts.ports;
    this.allocations = opts.allocations;
    this.stats = opts.stats;
    this.log = opts.log;
  }

  /** Reserves a virtual port on the advertised IP; packets sent to it through any allocation go to `endpoint`. */
  register(endpoint: VirtualEndpoint): VirtualRegistration {
    const port = this.ports.acquire();
    if (port === undefined) throw new Error('no free TURN virtual ports');
    this.virtuals.set(port, endpoint);
    let released = false;
    return {
      ip: this.advertisedIp,
      port,
      release: () => {
        if (released) return;
        released = true;
        if (this.virtuals.get(port) === endpoint) this.virtuals.delete(port);
        this.ports.release(port);
        this.forgetReplies(port, endpoint);
      },
    };
  }

  /** Forgets every virtual address (the server has stopped). */
  clear(): void {
    this.virtuals.clear();
  }

  /** What a Send indication carried (turn-framing.ts framed it): delivered when the allocation has a permission for `peer`. */
  onSendIndication(conn: ClientConn, peer: TransportAddress, data: Buffer): void {
    const now = Date.now();
    const entry = this.allocations.live(conn.key, now);
    if (!entry || !entry.alloc.hasPermission(peer.address, now)) {
      this.log.trace({ client: conn.key }, 'TURN Send indication without allocation/permission dropped');
      return;
    }
    this.deliver(entry, peer, data);
  }

  /** What a ChannelData message carried (turn-framing.ts framed it): delivered when `channel` is bound and permitted. */
  onChannelData(conn: ClientConn, channel: number, data: Buffer): void {
    const now = Date.now();
    const entry = this.allocations.live(conn.key, now);
    const peer = entry?.alloc.peerOfChannel(channel, now);
    if (!entry || !peer || !entry.alloc.hasPermission(peer.address, now)) {
      this.log.trace({ client: conn.key, channel }, 'TURN ChannelData on unbound channel dropped');
      return;
    }
    this.deliver(entry, peer, data);
  }

  private deliver(entry: AllocationEntry, peer: TransportAddress, data: Buffer): void {
    const endpoint = peer.address === this.advertisedIp ? this.virtuals.get(peer.port) : undefined;
    if (!endpoint) {
      this.log.trace({ allocationId: entry.alloc.id, peer: `${peer.address}:${peer.port}` }, 'TURN data to unknown peer dropped');
      return;
    }
    const port = peer.port;
    try {
      endpoint.receive(data, entry.ref, this.replyFor(entry, port, endpoint));
    } catch (err) {
      this.stats.endpointErrors++;
      const suppressed = this.endpointErrorLog.take();
      if (suppressed !== undefined) {
        this.log.error({ err, allocationId: entry.alloc.id, port, suppressed }, 'TURN virtual endpoint threw (packet dropped; at most one such line a second)');
      }
    }
  }

  /** The reply function for `entry`'s packets to `endpoint` on `port`: made on first use, then reused. */
  private replyFor(entry: AllocationEntry, port: number, endpoint: VirtualEndpoint): VirtualReply {
    const cached = entry.replies.get(port);
    if (cached !== undefined && cached.endpoint === endpoint) return cached.reply;
    const from: TransportAddress = { address: this.advertisedIp, port };
    const cachedReply: EndpointReply = { endpoint, reply: undefined as unknown as VirtualReply };
    cachedReply.reply = Object.assign((framed: Buffer, headroom = 0) => this.sendReply(entry, from, endpoint, framed, headroom), {
      route: () => this.routeFor(entry, from, cachedReply),
    });
    entry.replies.set(port, cachedReply);
    return cachedReply.reply;
  }

  /**
   * The fast-path route of `entry`'s replies from `from` (the checks sendReply makes, done once for up to
   * ROUTE_TTL_MS): UDP with a live channel binding only; undefined otherwise (replies go through sendReply).
   */
  private routeFor(entry: AllocationEntry, from: TransportAddress, cached: EndpointReply): UdpRoute | undefined {
    const now = Date.now();
    if (routeUsable(cached.route, now)) return cached.route;
    cached.route = undefined;
    if (this.virtuals.get(from.port) !== cached.endpoint || !this.allocations.has(entry) || entry.alloc.isExpired(now)) return undefined;
    const udp = entry.conn.udp;
    const binding = entry.alloc.bindingOfPeer(from, now);
    if (udp === undefined || binding === undefined) return undefined;
    const target = udp.socket.directTarget?.(udp.source);
    if (target === undefined) return undefined;
    cached.route = {
      socket: udp.socket,
      to: udp.source,
      channel: binding.channel,
      until: Math.min(now + ROUTE_TTL_MS, entry.alloc.expiresAt, binding.expiresAt),
      dead: false,
      target,
      stats: this.stats,
    };
    return cached.route;
  }

  /** Drops the cached reply functions of a released registration (those already handed out stay inert). */
  private forgetReplies(port: number, endpoint: VirtualEndpoint): void {
    for (const entry of this.allocations.entries()) {
      const cached = entry.replies.get(port);
      if (cached?.endpoint !== endpoint) continue;
      if (cached.route) cached.route.dead = true;
      entry.replies.delete(port);
    }
  }

  /** Sends `framed[headroom, end)` to `entry`'s client, appearing to come from the virtual address `from`. */
  private sendReply(entry: AllocationEntry, from: TransportAddress, endpoint: VirtualEndpoint, framed: Buffer, headroom: number): void {
    if (this.virtuals.get(from.port) !== endpoint) return; // released
    if (!this.allocations.has(entry)) return; // allocation gone
    const now = Date.now();
    if (entry.alloc.isExpired(now)) return;
    const length = framed.length - headroom;
    if (length > MAX_REPLY_BYTES || length < 0) {
      this.log.warn({ allocationId: entry.alloc.id, bytes: length }, 'TURN reply too large; dropped');
      return;
    }
    const channel = entry.alloc.channelOfPeer(from, now);
    if (channel !== undefined && headroom >= 4 && entry.conn.transport === 'udp') {
      const at = headroom - 4;
      framed[at] = channel >>> 8;
      framed[at + 1] = channel & 0xff;
      framed[at + 2] = length >>> 8;
      framed[at + 3] = length & 0xff;
      entry.conn.send(at === 0 ? framed : framed.subarray(at));
      return;
    }
    const data = headroom === 0 ? framed : framed.subarray(headroom);
    if (channel !== undefined) {
      entry.conn.send(encodeChannelData(channel, data, entry.conn.transport === 'tcp'));
      return;
    }
    const tid = this.nextTransactionId();
    entry.conn.send(
      encodeStun({
        method: StunMethod.Data,
        cls: StunClass.Indication,
        transactionId: tid,
        attributes: [
          { type: Attr.XorPeerAddress, value: encodeXorAddress(from, tid) },
          { type: Attr.Data, value: data },
        ],
      }),
    );
  }

  private nextTransactionId(): Buffer {
    const tid = Buffer.allocUnsafe(12);
    this.tidPrefix.copy(tid, 0);
    const n = ++this.tidCounter;
    tid.writeUInt32BE(Math.floor(n / 0x100000000) >>> 0, 4);
    tid.writeUInt32BE(n >>> 0, 8);
    return tid;
  }
}
