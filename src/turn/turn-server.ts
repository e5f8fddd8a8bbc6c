// Shoal's integrated ("fake") TURN server: one UDP port and one optional TCP port for all peers. Clients
// allocate with REST-API credentials (long-term mechanism: 401 + REALM/NONCE, then signed requests);
// what they send through an allocation to a *virtual* address (advertised IP + a registered, never bound
// port) is handed in-process to that address's VirtualEndpoint, whose replies go back to the client as
// Data indications or ChannelData appearing to come from the virtual address. Handles Binding, Allocate,
// Refresh (lifetime 0 deletes), CreatePermission, ChannelBind, Send indications and ChannelData.
// What it must not do: relay anything to the real network (addresses that are not registered virtual
// endpoints are dropped), open a socket per allocation or per peer, throw out of a socket handler on any
// input (malformed packets are counted in stats.malformed and answered 400/401/... or dropped as the
// RFCs say), let a throwing endpoint take it down, or log credentials.
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import type { Logger } from 'pino';
import { VERSION } from '../version.js';
import { Allocation, allocateLifetime, isValidChannelNumber, refreshLifetime } from './allocation.js';
import { NonceIssuer } from './nonce.js';
import { PortPool } from './port-pool.js';
import { StreamFramer } from './stream-framer.js';
import {
  Attr,
  StunClass,
  StunDecodeError,
  StunMethod,
  classifyPacket,
  decodeChannelData,
  decodeChannelNumber,
  decodeRequestedTransport,
  decodeStun,
  decodeU32,
  decodeXorAddress,
  encodeChannelData,
  encodeErrorCode,
  encodeStun,
  encodeU32,
  encodeUnknownAttributes,
  encodeXorAddress,
  getAttr,
  getAttrs,
  isComprehensionRequired,
  verifyFingerprint,
  verifyIntegrity,
  type DecodedStun,
  type StunAttribute,
  type TransportAddress,
} from './stun-message.js';
import { issueTurnCredentials, isTurnUsernameValid, longTermKey, parseTurnUsername, turnPassword } from './turn-credentials.js';

/**
 * Sends data back to a client, appearing to come from the virtual address. With `headroom` > 0 only
 * `data[headroom, end)` is sent and the bytes before it are the server's to overwrite: with
 * REPLY_HEADROOM of them, a UDP reply is framed as ChannelData in place, without a copy.
 */
export type VirtualReply = (data: Buffer, headroom?: number) => void;

/** Bytes in front of a reply's data that let the server write the ChannelData header in place. */
export const REPLY_HEADROOM = 4;

export interface VirtualEndpoint {
  /** A packet the client sent through its allocation to this virtual address; `reply` answers that client. */
  receive(data: Buffer, from: ClientRef, reply: VirtualReply): void;
}

export interface ClientRef {
  allocationId: string;
  username: string;
  transport: 'udp' | 'tcp';
  /** The allocation's relayed address: where the client's packets appear to come from. */
  relayed: TransportAddress;
}

export interface TurnServerOptions {
  listenIp: string;
  udpPort: number;
  /** 0 = random, undefined = no TCP. */
  tcpPort?: number;
  advertisedIp: string;
  realm: string;
  secret: string;
  log: Logger;
}

/** Fake relayed ports and virtual ports are drawn from the dynamic range. */
const PORT_MIN = 49152;
const PORT_MAX = 65535;
const PROTOCOL_UDP = 17;
const SWEEP_INTERVAL_MS = 5_000;
/** A TCP connection silent for longer than the longest allocation lifetime is dead. */
const TCP_IDLE_TIMEOUT_MS = 3_660_000;
/** Beyond this much unsent data on a TCP client, outgoing packets are dropped (media tolerates loss). */
const TCP_MAX_QUEUED_BYTES = 4 * 1024 * 1024;
const UDP_BUFFER_BYTES = 4 * 1024 * 1024;
/** DATA must fit in one STUN message next to XOR-PEER-ADDRESS. */
const MAX_REPLY_BYTES = 0xffff - 64;

/** Comprehension-required attributes the TURN request handlers understand (others get 420). */
const KNOWN_TURN_ATTRS = new Set<number>([
  Attr.MappedAddress,
  Attr.Username,
  Attr.ErrorCode,
  Attr.UnknownAttributes,
  Attr.ChannelNumber,
  Attr.Lifetime,
  Attr.XorPeerAddress,
  Attr.Data,
  Attr.Realm,
  Attr.Nonce,
  Attr.XorRelayedAddress,
  Attr.RequestedAddressFamily,
  Attr.RequestedTransport,
  Attr.DontFragment,
  Attr.XorMappedAddress,
  Attr.Priority,
  Attr.UseCandidate,
]);

/** One client transport 5-tuple (a UDP source address, or one TCP connection). */
interface ClientConn {
  key: string;
  transport: 'udp' | 'tcp';
  /** As reported in XOR-MAPPED-ADDRESS (IPv4-mapped IPv6 unwrapped). */
  remote: TransportAddress;
  send(frame: Buffer): void;
}

interface Entry {
  alloc: Allocation;
  conn: ClientConn;
  ref: ClientRef;
}

interface Auth {
  username: string;
  key: Buffer;
}

function unwrapMappedIp(ip: string): string {
  return ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

function unknownRequired(msg: DecodedStun, known: Set<number>): number[] {
  const out: number[] = [];
  for (const a of msg.attributes) {
    if (isComprehensionRequired(a.type) && !known.has(a.type) && !out.includes(a.type)) out.push(a.type);
  }
  return out;
}

export class TurnServer {
  readonly stats = { allocations: 0, packetsIn: 0, packetsOut: 0, malformed: 0 };

  private readonly opts: TurnServerOptions;
  private readonly log: Logger;
  private readonly software: Buffer;
  private readonly nonces = new NonceIssuer();
  private readonly ports = new PortPool(PORT_MIN, PORT_MAX);
  private readonly byClient = new Map<string, Entry>();
  private readonly byId = new Map<string, Entry>();
  private readonly virtuals = new Map<number, VirtualEndpoint>();
  private readonly tcpSockets = new Set<net.Socket>();
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  private sweepTimer?: NodeJS.Timeout;
  private state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  private seq = 0;
  private tidCounter = 0;
  private readonly tidPrefix = Buffer.from(Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, '0'), 'hex');

  constructor(opts: TurnServerOptions) {
    if (!net.isIPv4(opts.advertisedIp)) throw new Error(`TURN advertisedIp must be an IPv4 literal, got "${opts.advertisedIp}"`);
    if (!net.isIP(opts.listenIp)) throw new Error(`TURN listenIp must be an IP literal, got "${opts.listenIp}"`);
    if (!opts.realm) throw new Error('TURN realm must not be empty');
    if (!opts.secret) throw new Error('TURN secret must not be empty');
    this.opts = opts;
    this.log = opts.log.child({ component: 'turn' });
    this.software = Buffer.from(`Shoal ${VERSION}`, 'utf8');
  }

  async start(): Promise<{ udpPort: number; tcpPort?: number }> {
    if (this.state !== 'new') throw new Error('TurnServer already started');
    this.state = 'starting';
    const { listenIp } = this.opts;
    try {
      const udp = dgram.createSocket({ type: net.isIPv6(listenIp) ? 'udp6' : 'udp4', lookup: literalFirstLookup });
      this.udp = udp;
      udp.on('message', (msg, rinfo) => this.onUdpMessage(msg, rinfo));
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(this.opts.udpPort, listenIp, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      udp.on('error', (err) => this.log.error({ err }, 'TURN UDP socket error'));
      try {
        udp.setRecvBufferSize(UDP_BUFFER_BYTES);
        udp.setSendBufferSize(UDP_BUFFER_BYTES);
      } catch (err) {
        this.log.debug({ err }, 'could not enlarge TURN UDP buffers');
      }
      const udpPort = udp.address().port;
      this.ports.reserve(udpPort);

      let tcpPort: number | undefined;
      if (this.opts.tcpPort !== undefined) {
        const tcp = net.createServer((sock) => this.onTcpConnection(sock));
        this.tcp = tcp;
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen({ port: this.opts.tcpPort, host: listenIp }, () => {
            tcp.off('error', reject);
            resolve();
          });
        });
        tcp.on('error', (err) => this.log.error({ err }, 'TURN TCP server error'));
        tcpPort = (tcp.address() as net.AddressInfo).port;
        this.ports.reserve(tcpPort);
      }

      this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
      this.sweepTimer.unref();
      this.state = 'running';
      this.log.info({ listenIp, udpPort, tcpPort, advertisedIp: this.opts.advertisedIp }, 'TURN server listening');
      return tcpPort === undefined ? { udpPort } : { udpPort, tcpPort };
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  credentials(peerId: string, ttlSeconds: number): { username: string; password: string } {
    return issueTurnCredentials(this.opts.secret, peerId, ttlSeconds);
  }

  /** Reserve a virtual port (never bound) on advertisedIp; packets sent to advertisedIp:port through any allocation go to `endpoint`. */
  registerVirtual(endpoint: VirtualEndpoint): { ip: string; port: number; release(): void } {
    const port = this.ports.acquire();
    if (port === undefined) throw new Error('no free TURN virtual ports');
    this.virtuals.set(port, endpoint);
    let released = false;
    return {
      ip: this.opts.advertisedIp,
      port,
      release: () => {
        if (released) return;
        released = true;
        if (this.virtuals.get(port) === endpoint) this.virtuals.delete(port);
        this.ports.release(port);
      },
    };
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const entry of [...this.byId.values()]) this.deleteAllocation(entry, 'server stopped');
    for (const sock of this.tcpSockets) sock.destroy();
    this.tcpSockets.clear();
    const closing: Promise<void>[] = [];
    const tcp = this.tcp;
    if (tcp?.listening) closing.push(new Promise((resolve) => tcp.close(() => resolve())));
    const udp = this.udp;
    if (udp) {
      closing.push(
        new Promise((resolve) => {
          try {
            udp.close(() => resolve());
          } catch {
            resolve(); // never bound
          }
        }),
      );
    }
    await Promise.all(closing);
    this.virtuals.clear();
  }

  // -------------------------------------------------------------------------------------------------
  // Transports
  // -------------------------------------------------------------------------------------------------

  private onUdpMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const key = `udp|${rinfo.address}|${rinfo.port}`;
    const conn: ClientConn = this.byClient.get(key)?.conn ?? {
      key,
      transport: 'udp',
      remote: { address: unwrapMappedIp(rinfo.address), port: rinfo.port },
      send: (frame) => this.sendUdp(frame, rinfo.port, rinfo.address),
    };
    this.onPacket(conn, msg);
  }

  private sendUdp(frame: Buffer, port: number, address: string): void {
    const udp = this.udp;
    if (!udp || this.state !== 'running') return;
    this.stats.packetsOut++;
    // No callback: with one, Node queues a next-tick call per datagram even when the send completed at once.
    // A failed send is a lost datagram either way (media tolerates loss); it is not reported.
    udp.send(frame, port, address);
  }

  private onTcpConnection(sock: net.Socket): void {
    if (this.state !== 'running' || !sock.remoteAddress || sock.remotePort === undefined) {
      sock.destroy();
      return;
    }
    const key = `tcp|${++this.seq}|${sock.remoteAddress}|${sock.remotePort}`;
    const conn: ClientConn = {
      key,
      transport: 'tcp',
      remote: { address: unwrapMappedIp(sock.remoteAddress), port: sock.remotePort },
      send: (frame) => {
        if (sock.destroyed || !sock.writable) return;
        if (sock.writableLength > TCP_MAX_QUEUED_BYTES) return;
        this.stats.packetsOut++;
        sock.write(frame);
      },
    };
    this.tcpSockets.add(sock);
    sock.setNoDelay(true);
    sock.setTimeout(TCP_IDLE_TIMEOUT_MS, () => sock.destroy());
    const framer = new StreamFramer();
    sock.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = framer.push(chunk);
      } catch (err) {
        this.stats.malformed++;
        this.log.debug({ client: key, reason: (err as Error).message }, 'TURN TCP stream unframeable; closing');
        sock.destroy();
        return;
      }
      for (const frame of frames) {
        if (sock.destroyed) break;
        this.onPacket(conn, frame);
      }
    });
    sock.on('error', (err) => this.log.debug({ client: key, err: err.message }, 'TURN TCP connection error'));
    sock.on('close', () => {
      this.tcpSockets.delete(sock);
      const entry = this.byClient.get(key);
      if (entry) this.deleteAllocation(entry, 'TCP connection closed');
    });
  }

  // -------------------------------------------------------------------------------------------------
  // Dispatch
  // -------------------------------------------------------------------------------------------------

  private onPacket(conn: ClientConn, buf: Buffer): void {
    this.stats.packetsIn++;
    try {
      switch (classifyPacket(buf[0])) {
        case 'stun':
          this.onStun(conn, buf);
          break;
        case 'channel-data':
          this.onChannelData(conn, buf);
          break;
        default:
          this.malformed(conn, 'neither STUN nor ChannelData');
      }
    } catch (err) {
      // A bug, not bad input: keep serving everyone else.
      this.log.error({ err, client: conn.key }, 'TURN packet handling failed');
    }
  }

  private malformed(conn: ClientConn, reason: string): void {
    this.stats.malformed++;
    this.log.debug({ client: conn.key, reason }, 'TURN malformed packet dropped');
  }

  private onStun(conn: ClientConn, buf: Buffer): void {
    let msg: DecodedStun;
    try {
      msg = decodeStun(buf);
    } catch (err) {
      this.malformed(conn, (err as Error).message);
      return;
    }
    if (msg.fingerprintOffset >= 0 && !verifyFingerprint(msg)) {
      this.malformed(conn, 'bad FINGERPRINT');
      return;
    }
    if (msg.cls === StunClass.Request) this.onRequest(conn, msg);
    else if (msg.cls === StunClass.Indication) this.onIndication(conn, msg);
    // Responses are never expected by a server: ignored.
  }

  private onRequest(conn: ClientConn, msg: DecodedStun): void {
    switch (msg.method) {
      case StunMethod.Binding:
        this.onBinding(conn, msg);
        return;
      case StunMethod.Allocate:
      case StunMethod.Refresh:
      case StunMethod.CreatePermission:
      case StunMethod.ChannelBind:
        break;
      default:
        this.stats.malformed++;
        this.sendError(conn, msg, 400, 'Bad Request: unsupported method');
        return;
    }
    const auth = this.authenticate(conn, msg);
    if (!auth) return;
    const unknown = unknownRequired(msg, KNOWN_TURN_ATTRS);
    if (unknown.length) {
      this.sendError(conn, msg, 420, 'Unknown Attribute', auth.key, [
        { type: Attr.UnknownAttributes, value: encodeUnknownAttributes(unknown) },
      ]);
      return;
    }
    try {
      switch (msg.method) {
        case StunMethod.Allocate:
          this.onAllocate(conn, msg, auth);
          break;
        case StunMethod.Refresh:
          this.onRefresh(conn, msg, auth);
          break;
        case StunMethod.CreatePermission:
          this.onCreatePermission(conn, msg, auth);
          break;
        case StunMethod.ChannelBind:
          this.onChannelBind(conn, msg, auth);
          break;
      }
    } catch (err) {
      if (!(err instanceof StunDecodeError)) throw err;
      this.stats.malformed++;
      this.sendError(conn, msg, 400, `Bad Request: ${err.message}`, auth.key);
    }
  }

  // -------------------------------------------------------------------------------------------------
  // Authentication (RFC 5389 §10.2.2, in its order)
  // -------------------------------------------------------------------------------------------------

  private authenticate(conn: ClientConn, msg: DecodedStun): Auth | undefined {
    const now = Date.now();
    const challenge = (code: number, reason: string) =>
      this.sendError(conn, msg, code, reason, undefined, [
        { type: Attr.Realm, value: Buffer.from(this.opts.realm, 'utf8') },
        { type: Attr.Nonce, value: Buffer.from(this.nonces.issue(conn.key, now), 'utf8') },
      ]);
    if (msg.integrityOffset < 0) {
      challenge(401, 'Unauthorized');
      return undefined;
    }
    const user = getAttr(msg, Attr.Username);
    const realm = getAttr(msg, Attr.Realm);
    const nonce = getAttr(msg, Attr.Nonce);
    if (!user || !realm || !nonce) {
      this.stats.malformed++;
      this.sendError(conn, msg, 400, 'Bad Request: missing USERNAME, REALM or NONCE');
      return undefined;
    }
    if (!this.nonces.check(nonce.toString('utf8'), conn.key, now)) {
      challenge(438, 'Stale Nonce');
      return undefined;
    }
    const username = user.toString('utf8');
    // Expiry gates new allocations only: an allocation keeps working (Refresh, permissions, channels)
    // for as long as its owner keeps it alive, since the client only ever gets one set of credentials.
    const existing = this.byClient.get(conn.key);
    const owner = msg.method !== StunMethod.Allocate && existing?.alloc.username === username ? existing : undefined;
    if (!parseTurnUsername(username) || (!owner && !isTurnUsernameValid(username, now))) {
      this.log.debug({ client: conn.key, username }, 'TURN username unknown or expired');
      challenge(401, 'Unauthorized');
      return undefined;
    }
    const key = owner ? owner.alloc.key : longTermKey(username, this.opts.realm, turnPassword(this.opts.secret, username));
    if (!verifyIntegrity(msg, key)) {
      this.log.debug({ client: conn.key, username }, 'TURN MESSAGE-INTEGRITY mismatch');
      challenge(401, 'Unauthorized');
      return undefined;
    }
    return { username, key };
  }

  // -------------------------------------------------------------------------------------------------
  // Requests
  // -------------------------------------------------------------------------------------------------

  private onBinding(conn: ClientConn, msg: DecodedStun): void {
    const unknown = unknownRequired(msg, KNOWN_TURN_ATTRS);
    if (unknown.length) {
      this.sendError(conn, msg, 420, 'Unknown Attribute', undefined, [
        { type: Attr.UnknownAttributes, value: encodeUnknownAttributes(unknown) },
      ]);
      return;
    }
    this.sendSuccess(conn, msg, [{ type: Attr.XorMappedAddress, value: encodeXorAddress(conn.remote, msg.transactionId) }]);
  }

  private onAllocate(conn: ClientConn, msg: DecodedStun, auth: Auth): void {
    const now = Date.now();
    const existing = this.liveEntry(conn.key, now);
    if (existing) {
      if (existing.alloc.createTransactionId.equals(msg.transactionId)) {
        this.sendAllocateSuccess(conn, msg, existing.alloc, existing.alloc.remainingSeconds(now));
      } else {
        this.sendError(conn, msg, 437, 'Allocation Mismatch', auth.key);
      }
      return;
    }
    const transport = getAttr(msg, Attr.RequestedTransport);
    if (!transport) throw new StunDecodeError('missing REQUESTED-TRANSPORT');
    if (decodeRequestedTransport(transport) !== PROTOCOL_UDP) {
      this.sendError(conn, msg, 442, 'Unsupported Transport Protocol', auth.key);
      return;
    }
    const family = getAttr(msg, Attr.RequestedAddressFamily);
    if (family) {
      if (family.length !== 4) throw new StunDecodeError('bad REQUESTED-ADDRESS-FAMILY length');
      if (family[0] !== 0x01) {
        this.sendError(conn, msg, 440, 'Address Family not Supported', auth.key);
        return;
      }
    }
    const lifetimeAttr = getAttr(msg, Attr.Lifetime);
    const lifetime = allocateLifetime(lifetimeAttr ? decodeU32(lifetimeAttr) : undefined);
    const relayPort = this.ports.acquire();
    if (relayPort === undefined) {
      this.sendError(conn, msg, 508, 'Insufficient Capacity', auth.key);
      return;
    }
    const id = `turn-${++this.seq}`;
    const alloc = new Allocation({
      id,
      transport: conn.transport,
      client: conn.remote,
      username: auth.username,
      key: auth.key,
      relayed: { address: this.opts.advertisedIp, port: relayPort },
      createTransactionId: msg.transactionId,
      lifetimeSeconds: lifetime,
      now,
    });
    const entry: Entry = {
      alloc,
      conn,
      ref: Object.freeze({
        allocationId: id,
        username: auth.username,
        transport: conn.transport,
        relayed: Object.freeze({ ...alloc.relayed }),
      }),
    };
    this.byClient.set(conn.key, entry);
    this.byId.set(id, entry);
    this.stats.allocations = this.byId.size;
    this.log.debug(
      { allocationId: id, client: conn.key, peerId: parseTurnUsername(auth.username)?.peerId, lifetime },
      'TURN allocation created',
    );
    this.sendAllocateSuccess(conn, msg, alloc, lifetime);
  }

  private sendAllocateSuccess(conn: ClientConn, msg: DecodedStun, alloc: Allocation, lifetime: number): void {
    this.sendSuccess(
      conn,
      msg,
      [
        { type: Attr.XorRelayedAddress, value: encodeXorAddress(alloc.relayed, msg.transactionId) },
        { type: Attr.Lifetime, value: encodeU32(lifetime) },
        { type: Attr.XorMappedAddress, value: encodeXorAddress(conn.remote, msg.transactionId) },
      ],
      alloc.key,
    );
  }

  /** The allocation on `conn` owned by `auth`, or sends 437/441 and returns undefined. */
  private ownedEntry(conn: ClientConn, msg: DecodedStun, auth: Auth): Entry | undefined {
    const entry = this.liveEntry(conn.key, Date.now());
    if (!entry) {
      this.sendError(conn, msg, 437, 'Allocation Mismatch', auth.key);
      return undefined;
    }
    if (entry.alloc.username !== auth.username) {
      this.sendError(conn, msg, 441, 'Wrong Credentials', auth.key);
      return undefined;
    }
    return entry;
  }

  private onRefresh(conn: ClientConn, msg: DecodedStun, auth: Auth): void {
    const entry = this.ownedEntry(conn, msg, auth);
    if (!entry) return;
    const lifetimeAttr = getAttr(msg, Attr.Lifetime);
    const lifetime = refreshLifetime(lifetimeAttr ? decodeU32(lifetimeAttr) : undefined);
    if (lifetime === 0) this.deleteAllocation(entry, 'refreshed with lifetime 0');
    else entry.alloc.refresh(lifetime, Date.now());
    this.sendSuccess(conn, msg, [{ type: Attr.Lifetime, value: encodeU32(lifetime) }], auth.key);
  }

  private onCreatePermission(conn: ClientConn, msg: DecodedStun, auth: Auth): void {
    const entry = this.ownedEntry(conn, msg, auth);
    if (!entry) return;
    const peers = getAttrs(msg, Attr.XorPeerAddress).map((v) => decodeXorAddress(v, msg.transactionId));
    if (peers.length === 0) throw new StunDecodeError('missing XOR-PEER-ADDRESS');
    if (peers.some((p) => p.family !== 4)) {
      this.sendError(conn, msg, 443, 'Peer Address Family Mismatch', auth.key);
      return;
    }
    const now = Date.now();
    for (const p of peers) entry.alloc.installPermission(p.address, now);
    this.sendSuccess(conn, msg, [], auth.key);
  }

  private onChannelBind(conn: ClientConn, msg: DecodedStun, auth: Auth): void {
    const entry = this.ownedEntry(conn, msg, auth);
    if (!entry) return;
    const channelAttr = getAttr(msg, Attr.ChannelNumber);
    const peerAttr = getAttr(msg, Attr.XorPeerAddress);
    if (!channelAttr || !peerAttr) throw new StunDecodeError('missing CHANNEL-NUMBER or XOR-PEER-ADDRESS');
    const channel = decodeChannelNumber(channelAttr);
    if (!isValidChannelNumber(channel)) throw new StunDecodeError('invalid channel number');
    const peer = decodeXorAddress(peerAttr, msg.transactionId);
    if (peer.family !== 4) {
      this.sendError(conn, msg, 443, 'Peer Address Family Mismatch', auth.key);
      return;
    }
    const result = entry.alloc.bindChannel(channel, peer, Date.now());
    if (result !== 'ok') {
      this.sendError(conn, msg, 400, `Bad Request: ${result.replace(/-/g, ' ')}`, auth.key);
      return;
    }
    this.log.debug({ allocationId: entry.alloc.id, channel, peer: `${peer.address}:${peer.port}` }, 'TURN channel bound');
    this.sendSuccess(conn, msg, [], auth.key);
  }

  // -------------------------------------------------------------------------------------------------
  // Data path
  // -------------------------------------------------------------------------------------------------

  private onIndication(conn: ClientConn, msg: DecodedStun): void {
    if (msg.method !== StunMethod.Send) return; // e.g. Binding indications (keepalives): nothing to do
    if (unknownRequired(msg, KNOWN_TURN_ATTRS).length) {
      this.malformed(conn, 'Send indication with unknown comprehension-required attribute');
      return;
    }
    const peerAttr = getAttr(msg, Attr.XorPeerAddress);
    const data = getAttr(msg, Attr.Data);
    if (!peerAttr || !data) {
      this.malformed(conn, 'Send indication without XOR-PEER-ADDRESS or DATA');
      return;
    }
    let peer: TransportAddress;
    try {
      peer = decodeXorAddress(peerAttr, msg.transactionId);
    } catch (err) {
      this.malformed(conn, (err as Error).message);
      return;
    }
    const now = Date.now();
    const entry = this.liveEntry(conn.key, now);
    if (!entry || !entry.alloc.hasPermission(peer.address, now)) {
      this.log.trace({ client: conn.key }, 'TURN Send indication without allocation/permission dropped');
      return;
    }
    this.deliver(entry, peer, data);
  }

  private onChannelData(conn: ClientConn, buf: Buffer): void {
    let cd: { channel: number; data: Buffer };
    try {
      cd = decodeChannelData(buf);
    } catch (err) {
      this.malformed(conn, (err as Error).message);
      return;
    }
    const now = Date.now();
    const entry = this.liveEntry(conn.key, now);
    const peer = entry?.alloc.peerOfChannel(cd.channel, now);
    if (!entry || !peer || !entry.alloc.hasPermission(peer.address, now)) {
      this.log.trace({ client: conn.key, channel: cd.channel }, 'TURN ChannelData on unbound channel dropped');
      return;
    }
    this.deliver(entry, peer, cd.data);
  }

  private deliver(entry: Entry, peer: TransportAddress, data: Buffer): void {
    const endpoint = peer.address === this.opts.advertisedIp ? this.virtuals.get(peer.port) : undefined;
    if (!endpoint) {
      this.log.trace({ allocationId: entry.alloc.id, peer: `${peer.address}:${peer.port}` }, 'TURN data to unknown peer dropped');
      return;
    }
    const port = peer.port;
    const reply: VirtualReply = (out, headroom = 0) => this.replyFromVirtual(entry, port, endpoint, out, headroom);
    try {
      endpoint.receive(data, entry.ref, reply);
    } catch (err) {
      this.log.error({ err, allocationId: entry.alloc.id, port }, 'TURN virtual endpoint threw');
    }
  }

  private replyFromVirtual(entry: Entry, port: number, endpoint: VirtualEndpoint, framed: Buffer, headroom: number): void {
    if (this.virtuals.get(port) !== endpoint) return; // released
    if (this.byId.get(entry.alloc.id) !== entry) return; // allocation gone
    const now = Date.now();
    if (entry.alloc.isExpired(now)) return;
    const length = framed.length - headroom;
    if (length > MAX_REPLY_BYTES || length < 0) {
      this.log.warn({ allocationId: entry.alloc.id, bytes: length }, 'TURN reply too large; dropped');
      return;
    }
    const peer = { address: this.opts.advertisedIp, port };
    const channel = entry.alloc.channelOfPeer(peer, now);
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
          { type: Attr.XorPeerAddress, value: encodeXorAddress(peer, tid) },
          { type: Attr.Data, value: data },
        ],
      }),
    );
  }

  // -------------------------------------------------------------------------------------------------
  // Helpers
  // -------------------------------------------------------------------------------------------------

  /** The allocation on 5-tuple `key`, deleting it first if it has expired. */
  private liveEntry(key: string, now: number): Entry | undefined {
    const entry = this.byClient.get(key);
    if (entry && entry.alloc.isExpired(now)) {
      this.deleteAllocation(entry, 'expired');
      return undefined;
    }
    return entry;
  }

  private deleteAllocation(entry: Entry, reason: string): void {
    if (this.byId.get(entry.alloc.id) !== entry) return;
    this.byId.delete(entry.alloc.id);
    if (this.byClient.get(entry.conn.key) === entry) this.byClient.delete(entry.conn.key);
    this.ports.release(entry.alloc.relayed.port);
    this.stats.allocations = this.byId.size;
    this.log.debug({ allocationId: entry.alloc.id, reason }, 'TURN allocation deleted');
  }

  private sweep(): void {
    const now = Date.now();
    for (const entry of [...this.byId.values()]) {
      if (entry.alloc.isExpired(now)) this.deleteAllocation(entry, 'expired');
      else entry.alloc.sweep(now);
    }
  }

  private nextTransactionId(): Buffer {
    const tid = Buffer.allocUnsafe(12);
    this.tidPrefix.copy(tid, 0);
    const n = ++this.tidCounter;
    tid.writeUInt32BE(Math.floor(n / 0x100000000) >>> 0, 4);
    tid.writeUInt32BE(n >>> 0, 8);
    return tid;
  }

  private sendSuccess(conn: ClientConn, req: DecodedStun, attributes: StunAttribute[], key?: Buffer): void {
    this.sendResponse(conn, req, StunClass.SuccessResponse, attributes, key);
  }

  private sendError(
    conn: ClientConn,
    req: DecodedStun,
    code: number,
    reason: string,
    key?: Buffer,
    extra: StunAttribute[] = [],
  ): void {
    this.sendResponse(conn, req, StunClass.ErrorResponse, [{ type: Attr.ErrorCode, value: encodeErrorCode(code, reason) }, ...extra], key);
  }

  private sendResponse(conn: ClientConn, req: DecodedStun, cls: StunClass, attributes: StunAttribute[], key?: Buffer): void {
    const msg = {
      method: req.method,
      cls,
      transactionId: req.transactionId,
      attributes: [...attributes, { type: Attr.Software, value: this.software }],
    };
    conn.send(encodeStun(msg, { integrityKey: key, fingerprint: true }));
  }
}

/**
 * dgram lookup that answers IP literals at once (every address Shoal sends to came from a received
 * packet), sparing each send the default lookup's deferral to the next tick; names go to dns.lookup.
 */
function literalFirstLookup(
  hostname: string,
  options: dns.LookupOneOptions | number,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const family = net.isIP(hostname);
  if (family !== 0) {
    callback(null, hostname, family);
    return;
  }
  dns.lookup(hostname, typeof options === 'number' ? { family: options } : options, callback);
}
