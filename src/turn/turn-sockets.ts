// The TURN server's transports: its one UDP socket and its optional TCP listener, and a ClientConn per
// client 5-tuple (a UDP source address, or one TCP connection) whose send() writes to that client. TCP
// streams are split into frames (RFC 5766 §2.1), bounded in queued output and closed when idle.
// What it must not do: open a socket per allocation or peer, parse STUN beyond framing, throw out of a
// socket handler, send before startServing() or after close(), or report a failed UDP send.
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import type { Logger } from '../log/logger.js';
import { StreamFramer } from './stream-framer.js';
import type { TransportAddress } from './stun-protocol.js';
import type { TurnStats } from './turn-stats.js';

/** A TCP connection silent for longer than the longest allocation lifetime is dead. */
const TCP_IDLE_TIMEOUT_MS = 3_660_000;
/** Beyond this much unsent data on a TCP client, outgoing packets are dropped (media tolerates loss). */
const TCP_MAX_QUEUED_BYTES = 4 * 1024 * 1024;
const UDP_BUFFER_BYTES = 4 * 1024 * 1024;

/** One client transport 5-tuple (a UDP source address, or one TCP connection). */
export interface ClientConn {
  key: string;
  transport: 'udp' | 'tcp';
  /** As reported in XOR-MAPPED-ADDRESS (IPv4-mapped IPv6 unwrapped). */
  remote: TransportAddress;
  send(frame: Buffer): void;
}

/** What the sockets hand to the server. */
export interface ClientTraffic {
  /** The connection already in use for the UDP 5-tuple `key` (an allocated client's), if any. */
  knownConn(key: string): ClientConn | undefined;
  /** One STUN message or ChannelData frame (or garbage) from `conn`. */
  packet(conn: ClientConn, frame: Buffer): void;
  /** A TCP connection has closed. */
  closed(conn: ClientConn): void;
}

function unwrapMappedIp(ip: string): string {
  return ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

export class TurnSockets {
  private readonly tcpSockets = new Set<net.Socket>();
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  private serving = false;
  private tcpSeq = 0;

  constructor(
    private readonly traffic: ClientTraffic,
    private readonly stats: TurnStats,
    private readonly log: Logger,
  ) {}

  /** Binds the UDP socket; resolves with its port. Packets are received at once, answers sent only once serving. */
  async bindUdp(port: number, ip: string): Promise<number> {
    const udp = dgram.createSocket({ type: net.isIPv6(ip) ? 'udp6' : 'udp4', lookup: literalFirstLookup });
    this.udp = udp;
    udp.on('message', (msg, rinfo) => this.onUdpMessage(msg, rinfo));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, ip, () => {
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
    return udp.address().port;
  }

  /** Starts the TCP listener; resolves with its port. Connections are accepted only once serving. */
  async listenTcp(port: number, ip: string): Promise<number> {
    const tcp = net.createServer((sock) => this.onTcpConnection(sock));
    this.tcp = tcp;
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ port, host: ip }, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    tcp.on('error', (err) => this.log.error({ err }, 'TURN TCP server error'));
    return (tcp.address() as net.AddressInfo).port;
  }

  startServing(): void {
    this.serving = true;
  }

  /** Stops sending, drops every TCP connection and closes both listeners (whichever were opened). */
  async close(): Promise<void> {
    this.serving = false;
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
  }

  private onUdpMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const key = `udp|${rinfo.address}|${rinfo.port}`;
    const conn: ClientConn = this.traffic.knownConn(key) ?? {
      key,
      transport: 'udp',
      remote: { address: unwrapMappedIp(rinfo.address), port: rinfo.port },
      send: (frame) => this.sendUdp(frame, rinfo.port, rinfo.address),
    };
    this.traffic.packet(conn, msg);
  }

  private sendUdp(frame: Buffer, port: number, address: string): void {
    const udp = this.udp;
    if (!udp || !this.serving) return;
    this.stats.packetsOut++;
    // No callback: with one, Node queues a next-tick call per datagram even when the send completed at once.
    // A failed send is a lost datagram either way (media tolerates loss); it is not reported.
    udp.send(frame, port, address);
  }

  private onTcpConnection(sock: net.Socket): void {
    if (!this.serving || !sock.remoteAddress || sock.remotePort === undefined) {
      sock.destroy();
      return;
    }
    const key = `tcp|${++this.tcpSeq}|${sock.remoteAddress}|${sock.remotePort}`;
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
        this.traffic.packet(conn, frame);
      }
    });
    sock.on('error', (err) => this.log.debug({ client: key, err: err.message }, 'TURN TCP connection error'));
    sock.on('close', () => {
      this.tcpSockets.delete(sock);
      this.traffic.closed(conn);
    });
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
