// Shoal's integrated ("fake") TURN server: one UDP port and optional TCP and TLS (TURNS) ports for all
// peers (TCP and TLS connections are capped per IP and closed when unauthenticated or idle). Clients
// allocate with REST-API credentials (long-term mechanism: 401 + REALM/NONCE, then signed requests);
// what they send through an allocation to a *virtual* address (advertised IP + a registered, never bound
// port) is handed in-process to that address's VirtualEndpoint, whose replies go back to the client as
// Data indications or ChannelData appearing to come from the virtual address. This module composes the
// parts — turn-sockets (transports), turn-auth + turn-requests (STUN requests), allocation-table, and
// turn-relay (the data path) — owns start/stop and the sweep timer, dispatches each packet, and is the
// public entry other code imports (TurnServer and the VirtualEndpoint contract).
// What it must not do: relay anything to the real network, open a socket per allocation or per peer,
// throw out of a socket handler on any input (malformed packets are counted in stats.malformed and
// answered 400/401/... or dropped as the RFCs say), let a throwing endpoint take it down, or log
// credentials.
import net from 'node:net';
import type { Logger } from '../log/logger.js';
import { AllocationTable } from './allocation-table.js';
import { PortPool } from './port-pool.js';
import type { DecodedStun } from './stun-message.js';
import { StunClass } from './stun-protocol.js';
import { LongTermAuth } from './turn-auth.js';
import { issueTurnCredentials } from './turn-credentials.js';
import { VirtualRelay, type VirtualRegistration } from './turn-relay.js';
import { frameTurnDatagram, fromPreFramed } from './turn-framing.js';
import { TurnRequests } from './turn-requests.js';
import { StunResponder } from './turn-responses.js';
import { TurnSockets, type ClientConn } from './turn-sockets.js';
import { DEFAULT_STREAM_LIMITS } from './stream-guard.js';
import { emptyTurnStats, type TurnStats } from './turn-stats.js';
import type { VirtualEndpoint } from './virtual-endpoint.js';
import type { PreFramed, UdpSocketFactory } from './udp-socket.js';

export { REPLY_HEADROOM, type ClientRef, type VirtualEndpoint, type VirtualReply } from './virtual-endpoint.js';
export type { VirtualRegistration } from './turn-relay.js';

export interface TurnServerOptions {
  listenIp: string;
  udpPort: number;
  /** 0 = random, undefined = no TCP. */
  tcpPort?: number;
  /** TURN over TLS on its own port with this key and certificate chain (PEM); port 0 = random; undefined = no TLS. */
  tls?: { port: number; key: string | Buffer; cert: string | Buffer };
  /** TCP/TLS connections without an authenticated Allocate this long after connecting are closed (default 10 000). */
  tcpAuthTimeoutMs?: number;
  /** TCP/TLS connections that send nothing for this long are closed (default 60 000). */
  tcpIdleTimeoutMs?: number;
  /** At most this many TCP and TLS connections at once from one client IP (default 64). */
  tcpMaxPerIp?: number;
  advertisedIp: string;
  realm: string;
  secret: string;
  log: Logger;
  /** The UDP socket's implementation (the data plane's; default node:dgram). */
  udpSocket?: UdpSocketFactory;
}

/** The ports start() bound. */
export interface TurnPorts {
  udpPort: number;
  tcpPort?: number;
  tlsPort?: number;
}

/** Fake relayed ports and virtual ports are drawn from the dynamic range. */
const PORT_MIN = 49152;
const PORT_MAX = 65535;
const SWEEP_INTERVAL_MS = 5_000;

export class TurnServer {
  readonly stats: TurnStats = emptyTurnStats();

  /** The counters with the UDP socket's own read in (a copy). */
  snapshot(): TurnStats {
    const u = this.sockets.udpCounters();
    return { ...this.stats, udpReceiveBatches: u.batches, udpSendCalls: u.sendCalls, udpTruncated: u.truncated, udpSendErrors: u.sendErrors };
  }

  private readonly opts: TurnServerOptions;
  private readonly log: Logger;
  private readonly ports = new PortPool(PORT_MIN, PORT_MAX);
  private readonly allocations: AllocationTable;
  private readonly sockets: TurnSockets;
  private readonly requests: TurnRequests;
  private readonly relay: VirtualRelay;
  private sweepTimer?: NodeJS.Timeout;
  private state: 'new' | 'starting' | 'running' | 'stopped' = 'new';

  constructor(opts: TurnServerOptions) {
    if (!net.isIPv4(opts.advertisedIp)) throw new Error(`TURN advertisedIp must be an IPv4 literal, got "${opts.advertisedIp}"`);
    if (!net.isIP(opts.listenIp)) throw new Error(`TURN listenIp must be an IP literal, got "${opts.listenIp}"`);
    if (!opts.realm) throw new Error('TURN realm must not be empty');
    if (!opts.secret) throw new Error('TURN secret must not be empty');
    this.opts = opts;
    const log = opts.log.child({ component: 'turn' });
    this.log = log;
    const stats = this.stats;
    const allocations = new AllocationTable(opts.advertisedIp, this.ports, stats, log);
    this.allocations = allocations;
    this.sockets = new TurnSockets(
      {
        knownConn: (key) => allocations.onClient(key)?.conn,
        packet: (conn, frame, framing) => this.onPacket(conn, frame, framing),
        closed: (conn) => {
          const entry = allocations.onClient(conn.key);
          if (entry) allocations.delete(entry, 'TCP connection closed');
        },
      },
      stats,
      log,
      {
        authTimeoutMs: opts.tcpAuthTimeoutMs ?? DEFAULT_STREAM_LIMITS.authTimeoutMs,
        idleTimeoutMs: opts.tcpIdleTimeoutMs ?? DEFAULT_STREAM_LIMITS.idleTimeoutMs,
        maxPerIp: opts.tcpMaxPerIp ?? DEFAULT_STREAM_LIMITS.maxPerIp,
      },
      opts.udpSocket,
    );
    const respond = new StunResponder();
    const auth = new LongTermAuth({ realm: opts.realm, secret: opts.secret, allocations, respond, stats, log });
    this.requests = new TurnRequests({ auth, allocations, respond, stats, log });
    this.relay = new VirtualRelay({
      advertisedIp: opts.advertisedIp,
      ports: this.ports,
      allocations,
      stats,
      log,
    });
  }

  async start(): Promise<TurnPorts> {
    if (this.state !== 'new') throw new Error('TurnServer already started');
    this.state = 'starting';
    const { listenIp, tls } = this.opts;
    try {
      const ports: TurnPorts = { udpPort: await this.sockets.bindUdp(this.opts.udpPort, listenIp) };
      this.ports.reserve(ports.udpPort);
      if (this.opts.tcpPort !== undefined) {
        ports.tcpPort = await this.sockets.listenTcp(this.opts.tcpPort, listenIp);
        this.ports.reserve(ports.tcpPort);
      }
      if (tls !== undefined) {
        ports.tlsPort = await this.sockets.listenTls(tls.port, listenIp, tls);
        this.ports.reserve(ports.tlsPort);
      }
      this.sweepTimer = setInterval(() => this.allocations.sweep(Date.now()), SWEEP_INTERVAL_MS);
      this.sweepTimer.unref();
      this.state = 'running';
      this.sockets.startServing();
      this.log.info({ listenIp, ...ports, advertisedIp: this.opts.advertisedIp }, 'TURN server listening');
      return ports;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  credentials(peerId: string, ttlSeconds: number): { username: string; password: string } {
    return issueTurnCredentials(this.opts.secret, peerId, ttlSeconds);
  }

  /** Reserve a virtual port (never bound) on advertisedIp; packets sent to advertisedIp:port through any allocation go to `endpoint`. */
  registerVirtual(endpoint: VirtualEndpoint): VirtualRegistration {
    return this.relay.register(endpoint);
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.allocations.deleteAll('server stopped');
    await this.sockets.close();
    this.relay.clear();
  }

  /** One datagram or stream frame; `pre`: its framing as the UDP data plane decoded it (else it is framed here). */
  private onPacket(conn: ClientConn, buf: Buffer, pre?: PreFramed): void {
    this.stats.packetsIn++;
    this.stats.bytesIn += buf.length;
    try {
      const framing = pre === undefined ? frameTurnDatagram(buf) : fromPreFramed(pre, buf);
      switch (framing.kind) {
        case 'channel-data':
          this.relay.onChannelData(conn, framing.channel, framing.data);
          break;
        case 'send-indication':
          this.relay.onSendIndication(conn, framing.peer, framing.data);
          break;
        case 'stun':
          this.onStun(conn, framing.msg);
          break;
        default:
          this.malformed(conn, framing.reason);
      }
    } catch (err) {
      // A bug, not bad input: keep serving everyone else.
      this.log.error({ err, client: conn.key }, 'TURN packet handling failed');
    }
  }

  /** A well-formed STUN message other than a Send indication: requests are answered, the rest ignored. */
  private onStun(conn: ClientConn, msg: DecodedStun): void {
    if (msg.cls === StunClass.Request) this.requests.handle(conn, msg);
    // Other indications (Binding keepalives) and responses (never expected by a server) are ignored.
  }

  private malformed(conn: ClientConn, reason: string): void {
    this.stats.malformed++;
    this.log.debug({ client: conn.key, reason }, 'TURN malformed packet dropped');
  }
}
