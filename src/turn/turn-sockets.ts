// The TURN server's transports: its one UDP socket (udp-socket.ts: node:dgram, or the native plane's),
// with a ClientConn per client source address whose send() writes to that address, and its optional TCP
// and TLS listeners (stream-sockets.ts: framing, per-IP cap, authentication and idle deadlines).
// What it must not do: open a socket per allocation or peer, parse STUN beyond framing, throw out of a
// socket handler, send before startServing() or after close(), or report a failed UDP send.
import type { Logger } from '../log/logger.js';
import type { ClientConn, ClientTraffic } from './client-conn.js';
import { DEFAULT_STREAM_LIMITS, type StreamLimits } from './stream-guard.js';
import { StreamSockets, type TlsIdentity } from './stream-sockets.js';
import type { TurnStats, UdpSocketCounters } from './turn-stats.js';
import { dgramUdpSocket, type PreFramed, type UdpSocket, type UdpSocketFactory, type UdpSource } from './udp-socket.js';

export type { ClientConn, ClientTraffic } from './client-conn.js';

const UDP_BUFFER_BYTES = 4 * 1024 * 1024;

export class TurnSockets {
  private readonly streams: StreamSockets;
  private udp?: UdpSocket;
  private serving = false;

  constructor(
    private readonly traffic: ClientTraffic,
    private readonly stats: TurnStats,
    private readonly log: Logger,
    streamLimits: StreamLimits = DEFAULT_STREAM_LIMITS,
    private readonly udpSocket: UdpSocketFactory = dgramUdpSocket,
  ) {
    this.streams = new StreamSockets(traffic, streamLimits, stats, log);
  }

  /** Binds the UDP socket; resolves with its port. Packets are received at once, answers sent only once serving. */
  async bindUdp(port: number, ip: string): Promise<number> {
    const udp = this.udpSocket((msg, from, framing) => this.onUdpMessage(msg, from, framing), this.log);
    this.udp = udp;
    return udp.bind(port, ip, UDP_BUFFER_BYTES);
  }
  /** The UDP socket's own counters (zeros on a socket that keeps none). */
  udpCounters(): UdpSocketCounters {
    return this.udp?.counters?.() ?? { batches: 0, sendCalls: 0, truncated: 0, sendErrors: 0 };
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
    if (this.udp) closing.push(this.udp.close());
    await Promise.all(closing);
  }

  private onUdpMessage(msg: Buffer, from: UdpSource, framing: PreFramed | undefined): void {
    const conn: ClientConn = this.traffic.knownConn(from.key) ?? {
      key: from.key,
      transport: 'udp',
      remote: { address: from.address, port: from.port },
      send: (frame) => this.sendUdp(frame, from),
      udp: { socket: this.udp!, source: from },
    };
    this.traffic.packet(conn, msg, framing);
  }

  private sendUdp(frame: Buffer, to: UdpSource): void {
    const udp = this.udp;
    if (!udp || !this.serving) return;
    this.stats.packetsOut++;
    this.stats.bytesOut += frame.length;
    udp.send(frame, to);
  }
}
