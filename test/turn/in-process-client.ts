// A synchronous TURN client that talks to a TurnServer in process, without sockets (not a test file
// itself): it hands each packet straight to the server's packet handler with a fake ClientConn (a UDP
// 5-tuple or a TCP connection) whose send() records what the server answers. The server handles a packet
// synchronously, so request() returns the response at once. For property tests that feed thousands of
// packets, and for tests that mock Date.
import { classifyPacket, decodeStun, type DecodedStun, type StunAttribute } from '../../src/turn/stun-message.js';
import type { TurnServer } from '../../src/turn/turn-server.js';
import type { ClientConn } from '../../src/turn/turn-sockets.js';
import { REQUESTED_UDP, TurnRequestClient, isResponse } from '../helpers/turn-requests.js';

export { REQUESTED_UDP };

type PacketHandler = (conn: ClientConn, frame: Buffer) => void;

/** The server's (private) per-packet entry, the one its sockets call. */
export function packetHandler(server: TurnServer): PacketHandler {
  const handler = (server as unknown as { onPacket: PacketHandler }).onPacket;
  return handler.bind(server);
}

let nextPort = 40000;

/** The requests are test/helpers/turn-requests.ts; this feeds them to the server and picks out its answers. */
export class InProcessClient extends TurnRequestClient<DecodedStun> {
  /** Everything the server sent to this client, in order. */
  readonly received: Buffer[] = [];
  readonly conn: ClientConn;
  private readonly handle: PacketHandler;

  constructor(server: TurnServer, transport: 'udp' | 'tcp' = 'udp', address = '192.0.2.10') {
    super();
    this.handle = packetHandler(server);
    const port = nextPort++;
    this.conn = {
      key: transport === 'udp' ? `udp|${address}|${port}` : `tcp|x${port}|${address}|${port}`,
      transport,
      remote: { address, port },
      send: (frame) => void this.received.push(Buffer.from(frame)),
    };
  }

  /** Hands raw bytes to the server as one datagram / TCP frame. */
  feed(packet: Buffer): void {
    this.handle(this.conn, packet);
  }

  protected override sendBytes(bytes: Buffer): void {
    this.feed(bytes);
  }

  protected override streamFramed(): boolean {
    return this.conn.transport === 'tcp';
  }

  /** The server handles a packet synchronously: its response is there at once (throws if there is none). */
  protected override exchange(method: number, tid: Buffer, bytes: Buffer): DecodedStun {
    this.feed(bytes);
    const response = this.takeResponse(tid);
    if (!response) throw new Error(`no response to method 0x${method.toString(16)}`);
    return response;
  }

  protected override afterResponse(r: DecodedStun, next: (msg: DecodedStun) => DecodedStun): DecodedStun {
    return next(r);
  }

  /** The response with transaction id `tid` among what was received, removed from `received`. */
  takeResponse(tid: Buffer): DecodedStun | undefined {
    for (let i = 0; i < this.received.length; i++) {
      const b = this.received[i]!;
      if (classifyPacket(b[0]) !== 'stun') continue;
      const msg = decodeStun(b);
      if (isResponse(msg) && msg.transactionId.equals(tid)) {
        this.received.splice(i, 1);
        return msg;
      }
    }
    return undefined;
  }

  /** Unauthenticated Allocate → 401 (realm, nonce) → signed Allocate; returns the final response. */
  allocate(username: string, password: string, extra: StunAttribute[] = [REQUESTED_UDP]): DecodedStun {
    return this.longTermAllocate(username, password, extra);
  }
}

/** A pino destination keeping every log record (parsed), for asserting on what was logged. */
export function logRecorder(): { stream: { write(line: string): void }; records: Record<string, unknown>[]; at(level: number): Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  return {
    stream: { write: (line: string) => void records.push(JSON.parse(line) as Record<string, unknown>) },
    records,
    at: (level) => records.filter((r) => (r.level as number) >= level),
  };
}
