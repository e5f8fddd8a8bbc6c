// The TURN server's transports: its one UDP socket, with a ClientConn per client source address whose
// send() writes to that address, and its optional TCP and TLS listeners (stream-sockets.ts: framing,
// per-IP cap, authentication and idle deadlines).
// What it must not do: open a socket per allocation or peer, parse STUN beyond framing, throw out of a
// socket handler, send before startServing() or after close(), or report a failed UDP send.
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import type { Logger } from '../log/logger.js';
import type { ClientConn, ClientTraffic } from './client-conn.js';
import { DEFAULT_STREAM_LIMITS, type StreamLimits } from './stream-guard.js';
import { StreamSockets, unwrapMappedIp, type TlsIdentity } from './stream-sockets.js';
import type { TurnStats } from './turn-stats.js';

export type { ClientConn, ClientTraffic } from './client-conn.js';

const UDP_BUFFER_BYTES = 4 * 1024 * 1024;

export class TurnSockets {
  private readonly streams: StreamSockets;
  private udp?: dgram.Socket;
  private serving = false;

  constructor(
    private readonly traffic: ClientTraffic,
    private readonly stats: TurnStats,
    private readonly log: Logger,
    streamLimits: StreamLimits = DEFAULT_STREAM_LIMITS,
  ) {
    this.streams = new StreamSockets(traffic, streamLimits, stats, log);
  }

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
  listenTcp(port: number, ip: string): Promise<number> {
    return this.streams.listen(port, ip);
  }

  /** Starts the TLS (TURNS) listener; resolves with its port. Connections are accepted only once serving. */
  listenTls(port: number, ip: string, identity: TlsIdentity): Promise<number> {
    return this.streams.listen(port, ip, identity);
  }

  startServing(): void {
    this.serving = true;
    this.streams.startServing();
  }

  /** Stops sending, drops every TCP/TLS connection and closes the listeners (whichever were opened). */
  async close(): Promise<void> {
    this.serving = false;
    const closing: Promise<void>[] = [this.streams.close()];
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
    this.stats.bytesOut += frame.length;
    // No callback: with one, Node queues a next-tick call per datagram even when the send completed at once.
    // A failed send is a lost datagram either way (media tolerates loss); it is not reported.
    udp.send(frame, port, address);
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
