// The TURN server's one UDP socket, as the data plane provides it: bind, a callback per datagram with
// its source, send to a source it reported, close. This module is the contract and the TypeScript
// plane's socket (node:dgram); the native plane's (recvmmsg/sendmmsg) is src/dataplane/native-udp.ts.
// What it must not do: parse what it carries, keep per-packet state, throw out of a receive, or report
// a failed send (a lost datagram: media tolerates loss). A data plane may hand each datagram over with
// its TURN framing already decoded (PreFramed: the native plane decodes it in its receive batch); the
// server then does not parse it again, and decodes it itself (turn-framing.ts) when none is given.
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import type { Logger } from '../log/logger.js';
import type { UdpSocketCounters } from './turn-stats.js';

/** When the datagram being delivered reached the host (performance.now() ms), -1 when not known. */
let arrivalMs = -1;

/**
 * The arrival time of the datagram being handled now, on performance.now()'s clock: the kernel's receive
 * time on a socket that reports it (the native plane), so that a datagram that waited in the socket buffer
 * while the thread was busy does not look late (transport-cc arrival times); else, and outside a
 * delivery, performance.now().
 */
export function datagramArrivalMs(): number {
  return arrivalMs >= 0 ? arrivalMs : performance.now();
}

/** For a UdpSocket around one delivery: the datagram arrived at `ms` (performance.now() clock); -1 after it, or when not known. */
export function setDatagramArrival(ms: number): void {
  arrivalMs = ms;
}

/** Where a datagram came from; the same object may be handed out again for the same source. */
export interface UdpSource {
  /** Unique per source address and port on this socket (`udp|<address>|<port>`). */
  readonly key: string;
  /** IPv4-mapped IPv6 addresses unwrapped. */
  readonly address: string;
  readonly port: number;
}

/**
 * A datagram's TURN framing as the data plane decoded it on receipt (the TypeScript twin, and what each kind
 * means, is turn-framing.ts frameTurnDatagram). Views point into the datagram's bytes.
 */
export type PreFramed =
  | { readonly kind: 'channel-data'; readonly channel: number; readonly data: Buffer }
  /** `peerIp`: 4 or 16 bytes, XOR undone. */
  | { readonly kind: 'send-indication'; readonly peerIp: Buffer; readonly peerPort: number; readonly data: Buffer }
  /** Another well-formed STUN message (a request, a response, another indication): the server decodes it. */
  | { readonly kind: 'stun' }
  | { readonly kind: 'malformed'; readonly reason: string };

export interface UdpSocket {
  /** Binds to `ip`:`port` (0: any free port); resolves with the bound port. */
  bind(port: number, ip: string, bufferBytes: number): Promise<number>;
  /** Sends `frame` to a source this socket reported. */
  send(frame: Buffer, to: UdpSource): void;
  /** The socket's own counters, if its data plane keeps any (the native one does). */
  counters?(): UdpSocketCounters;
  /** The data plane's handle for writing to `to` without this object (the native plane's send path); undefined: none. */
  directTarget?(to: UdpSource): unknown;
  close(): Promise<void>;
}

/** What a UdpSocket calls per datagram: the datagram (a Buffer it may keep), its source, and its framing if the plane decoded it. */
export type UdpMessageHandler = (msg: Buffer, from: UdpSource, framing?: PreFramed) => void;

/** `onMessage` gets each datagram and its source (and, from a plane that frames, its PreFramed). */
export type UdpSocketFactory = (onMessage: UdpMessageHandler, log: Logger) => UdpSocket;

/** IPv4-mapped IPv6 (`::ffff:1.2.3.4`) as the IPv4 address it carries; any other address as it is. */
export function unwrapMappedIp(ip: string): string {
  return ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

interface DgramSource extends UdpSource {
  readonly rawAddress: string;
}

class DgramUdpSocket implements UdpSocket {
  private udp?: dgram.Socket;

  constructor(
    private readonly onMessage: UdpMessageHandler,
    private readonly log: Logger,
  ) {}

  async bind(port: number, ip: string, bufferBytes: number): Promise<number> {
    const udp = dgram.createSocket({ type: net.isIPv6(ip) ? 'udp6' : 'udp4', lookup: literalFirstLookup });
    this.udp = udp;
    udp.on('message', (msg, rinfo) => {
      const source: DgramSource = { key: `udp|${rinfo.address}|${rinfo.port}`, address: unwrapMappedIp(rinfo.address), port: rinfo.port, rawAddress: rinfo.address };
      this.onMessage(msg, source);
    });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, ip, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    udp.on('error', (err) => this.log.error({ err }, 'TURN UDP socket error'));
    try {
      udp.setRecvBufferSize(bufferBytes);
      udp.setSendBufferSize(bufferBytes);
    } catch (err) {
      this.log.debug({ err }, 'could not enlarge TURN UDP buffers');
    }
    return udp.address().port;
  }

  send(frame: Buffer, to: UdpSource): void {
    // No callback: with one, Node queues a next-tick call per datagram even when the send completed at once.
    this.udp?.send(frame, to.port, (to as DgramSource).rawAddress);
  }

  close(): Promise<void> {
    const udp = this.udp;
    if (!udp) return Promise.resolve();
    return new Promise((resolve) => {
      try {
        udp.close(() => resolve());
      } catch {
        resolve(); // never bound
      }
    });
  }
}

/** The TypeScript plane's UDP socket (node:dgram). */
export const dgramUdpSocket: UdpSocketFactory = (onMessage, log) => new DgramUdpSocket(onMessage, log);

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
