// The TURN server's stream transports: the TCP listener and the TLS (TURNS) listener, which carry the
// same STUN/ChannelData framing (RFC 5766 §2.1; TLS per RFC 8656 §3.1), and a ClientConn per accepted
// connection whose send() writes to it (bounded in queued output). Every connection is admitted and
// timed by one StreamGuard (per-IP cap, authentication deadline, idle timeout) across both listeners;
// the TLS handshake counts against the authentication deadline.
// What it must not do: parse STUN beyond framing, throw out of a socket handler, accept before
// startServing() or after close(), or keep a connection the guard has closed.
import { unwrapMappedIp } from './udp-socket.js';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../log/logger.js';
import { StreamFramer } from './stream-framer.js';
import { StreamGuard, type GuardedStream, type StreamLimits } from './stream-guard.js';
import type { ClientConn, ClientTraffic } from './client-conn.js';
import type { TurnStats } from './turn-stats.js';

/** Beyond this much unsent data on a connection, outgoing packets are dropped (media tolerates loss). */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

/** TURN over TLS: the server's key and certificate chain (PEM). */
export interface TlsIdentity {
  key: string | Buffer;
  cert: string | Buffer;
}


export class StreamSockets {
  private readonly sockets = new Set<net.Socket>();
  private readonly servers: net.Server[] = [];
  private readonly guard: StreamGuard;
  private sweepTimer: NodeJS.Timeout | undefined;
  private serving = false;
  private seq = 0;

  constructor(
    private readonly traffic: ClientTraffic,
    limits: StreamLimits,
    private readonly stats: TurnStats,
    private readonly log: Logger,
  ) {
    this.guard = new StreamGuard(limits, stats);
  }

  /** Starts a listener (TLS when `identity` is given); resolves with its port. Accepts only once serving. */
  async listen(port: number, ip: string, identity?: TlsIdentity): Promise<number> {
    // The context is made before listening so a bad key or certificate fails start().
    const secure = identity ? tls.createSecureContext({ key: identity.key, cert: identity.cert }) : undefined;
    const server = net.createServer((sock) => this.onConnection(sock, secure));
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: ip }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const kind = secure ? 'TLS' : 'TCP';
    server.on('error', (err) => this.log.error({ err }, `TURN ${kind} server error`));
    return (server.address() as net.AddressInfo).port;
  }

  startServing(): void {
    this.serving = true;
    if (this.servers.length === 0) return;
    this.sweepTimer = setInterval(() => this.guard.sweep(Date.now()), this.guard.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  /** Stops accepting, drops every connection and closes the listeners. */
  async close(): Promise<void> {
    this.serving = false;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const sock of this.sockets) sock.destroy();
    this.sockets.clear();
    this.guard.clear();
    await Promise.all(this.servers.filter((s) => s.listening).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private onConnection(raw: net.Socket, secure: tls.SecureContext | undefined): void {
    raw.on('error', (err) => this.log.debug({ err: err.message }, 'TURN TCP connection error'));
    if (!this.serving || !raw.remoteAddress || raw.remotePort === undefined) {
      raw.destroy();
      return;
    }
    const address = unwrapMappedIp(raw.remoteAddress);
    const guarded = this.guard.admit(address, Date.now(), (reason) => {
      this.log.debug({ client: `${address}|${raw.remotePort}`, reason }, 'TURN TCP connection closed by the server');
      sock.destroy();
    });
    if (!guarded) {
      this.log.debug({ ip: address }, 'TURN TCP connection refused: too many from this IP');
      raw.destroy();
      return;
    }
    raw.setNoDelay(true);
    const sock: net.Socket = secure ? new tls.TLSSocket(raw, { isServer: true, secureContext: secure }) : raw;
    const key = `${secure ? 'tls' : 'tcp'}|${++this.seq}|${raw.remoteAddress}|${raw.remotePort}`;
    const conn: ClientConn = {
      key,
      transport: 'tcp',
      remote: { address, port: raw.remotePort },
      send: (frame) => {
        if (sock.destroyed || !sock.writable) return;
        if (sock.writableLength > MAX_QUEUED_BYTES) return;
        this.stats.packetsOut++;
        this.stats.bytesOut += frame.length;
        sock.write(frame);
      },
    };
    this.sockets.add(raw);
    if (sock !== raw) sock.on('error', (err) => this.log.debug({ client: key, err: err.message }, 'TURN TLS connection error'));
    const framer = new StreamFramer();
    sock.on('data', (chunk: Buffer) => this.onData(conn, sock, guarded, framer, chunk));
    let closed = false;
    const onClose = () => {
      if (closed) return;
      closed = true;
      this.sockets.delete(raw);
      this.guard.release(guarded);
      if (sock !== raw) sock.destroy();
      this.traffic.closed(conn);
    };
    sock.on('close', onClose);
    raw.on('close', onClose);
  }

  private onData(conn: ClientConn, sock: net.Socket, guarded: GuardedStream, framer: StreamFramer, chunk: Buffer): void {
    guarded.active = true;
    let frames: Buffer[];
    try {
      frames = framer.push(chunk);
    } catch (err) {
      this.stats.malformed++;
      this.log.debug({ client: conn.key, reason: (err as Error).message }, 'TURN TCP stream unframeable; closing');
      sock.destroy();
      return;
    }
    for (const frame of frames) {
      if (sock.destroyed) break;
      this.traffic.packet(conn, frame);
    }
    if (!guarded.allocated && this.traffic.knownConn(conn.key)) guarded.allocated = true;
  }
}
