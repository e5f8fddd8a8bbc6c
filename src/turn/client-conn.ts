// What the TURN server's transports (turn-sockets.ts: UDP; stream-sockets.ts: TCP and TLS) hand to the
// server: a ClientConn per client 5-tuple, whose send() writes to that client, and the ClientTraffic
// callbacks through which packets and closed connections reach it.
// What it must not do: hold code; turn-sockets.ts re-exports these names for the rest of src/turn.
import type { TransportAddress } from './stun-protocol.js';
import type { PreFramed, UdpSocket, UdpSource } from './udp-socket.js';

/** One client transport 5-tuple (a UDP source address, or one TCP or TLS connection). */
export interface ClientConn {
  key: string;
  /** 'tcp' for TLS connections too: they carry the same framing. */
  transport: 'udp' | 'tcp';
  /** As reported in XOR-MAPPED-ADDRESS (IPv4-mapped IPv6 unwrapped). */
  remote: TransportAddress;
  send(frame: Buffer): void;
  /** UDP only: the socket and source behind send(), for the fast path's routes (udp-route.ts). */
  udp?: { socket: UdpSocket; source: UdpSource };
}

/** What the sockets hand to the server. */
export interface ClientTraffic {
  /** The connection of the allocation on 5-tuple `key`, if it has one (UDP: reuse it; TCP: it authenticated). */
  knownConn(key: string): ClientConn | undefined;
  /** One STUN message or ChannelData frame (or garbage) from `conn`, with its framing when the UDP data plane decoded it. */
  packet(conn: ClientConn, frame: Buffer, framing?: PreFramed): void;
  /** A TCP or TLS connection has closed. */
  closed(conn: ClientConn): void;
}
