// A synchronous TURN client that talks to a TurnServer in process, without sockets (not a test file
// itself): it hands each packet straight to the server's packet handler with a fake ClientConn (a UDP
// 5-tuple or a TCP connection) whose send() records what the server answers. The server handles a packet
// synchronously, so request() returns the response at once. For property tests that feed thousands of
// packets, and for tests that mock Date.
import { randomBytes } from 'node:crypto';
import {
  Attr,
  StunClass,
  StunMethod,
  classifyPacket,
  decodeStun,
  encodeChannelData,
  encodeChannelNumber,
  encodeRequestedTransport,
  encodeStun,
  encodeXorAddress,
  getAttr,
  type DecodedStun,
  type StunAttribute,
  type TransportAddress,
} from '../../src/turn/stun-message.js';
import { longTermKey } from '../../src/turn/turn-credentials.js';
import type { TurnServer } from '../../src/turn/turn-server.js';
import type { ClientConn } from '../../src/turn/turn-sockets.js';

export const REQUESTED_UDP: StunAttribute = { type: Attr.RequestedTransport, value: encodeRequestedTransport(17) };

type PacketHandler = (conn: ClientConn, frame: Buffer) => void;

/** The server's (private) per-packet entry, the one its sockets call. */
export function packetHandler(server: TurnServer): PacketHandler {
  const handler = (server as unknown as { onPacket: PacketHandler }).onPacket;
  return handler.bind(server);
}

let nextPort = 40000;

export class InProcessClient {
  /** Everything the server sent to this client, in order. */
  readonly received: Buffer[] = [];
  readonly conn: ClientConn;
  username?: string;
  realm?: string;
  nonce?: string;
  key?: Buffer;
  private readonly handle: PacketHandler;

  constructor(server: TurnServer, transport: 'udp' | 'tcp' = 'udp', address = '192.0.2.10') {
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

  /** Sends a request and returns the server's response to it (throws if there is none). */
  request(method: number, attributes: StunAttribute[], opts: { auth?: boolean; transactionId?: Buffer } = {}): DecodedStun {
    const tid = opts.transactionId ?? randomBytes(12);
    const auth = opts.auth ?? this.key !== undefined;
    const attrs = [...attributes];
    if (auth) {
      attrs.push(
        { type: Attr.Username, value: Buffer.from(this.username!) },
        { type: Attr.Realm, value: Buffer.from(this.realm!) },
        { type: Attr.Nonce, value: Buffer.from(this.nonce!) },
      );
    }
    this.feed(encodeStun({ method, cls: StunClass.Request, transactionId: tid, attributes: attrs }, { integrityKey: auth ? this.key : undefined, fingerprint: true }));
    const response = this.takeResponse(tid);
    if (!response) throw new Error(`no response to method 0x${method.toString(16)}`);
    return response;
  }

  /** The response with transaction id `tid` among what was received, removed from `received`. */
  takeResponse(tid: Buffer): DecodedStun | undefined {
    for (let i = 0; i < this.received.length; i++) {
      const b = this.received[i]!;
      if (classifyPacket(b[0]) !== 'stun') continue;
      const msg = decodeStun(b);
      if ((msg.cls === StunClass.SuccessResponse || msg.cls === StunClass.ErrorResponse) && msg.transactionId.equals(tid)) {
        this.received.splice(i, 1);
        return msg;
      }
    }
    return undefined;
  }

  /** Unauthenticated Allocate → 401 (realm, nonce) → signed Allocate; returns the final response. */
  allocate(username: string, password: string, extra: StunAttribute[] = [REQUESTED_UDP]): DecodedStun {
    const challenge = this.request(StunMethod.Allocate, extra, { auth: false });
    this.username = username;
    this.realm = getAttr(challenge, Attr.Realm)!.toString();
    this.nonce = getAttr(challenge, Attr.Nonce)!.toString();
    this.key = longTermKey(username, this.realm, password);
    return this.request(StunMethod.Allocate, extra);
  }

  createPermission(peer: TransportAddress): DecodedStun {
    const tid = randomBytes(12);
    return this.request(StunMethod.CreatePermission, [{ type: Attr.XorPeerAddress, value: encodeXorAddress(peer, tid) }], { transactionId: tid });
  }

  channelBind(channel: number, peer: TransportAddress): DecodedStun {
    const tid = randomBytes(12);
    return this.request(
      StunMethod.ChannelBind,
      [
        { type: Attr.ChannelNumber, value: encodeChannelNumber(channel) },
        { type: Attr.XorPeerAddress, value: encodeXorAddress(peer, tid) },
      ],
      { transactionId: tid },
    );
  }

  sendIndication(peer: TransportAddress, data: Buffer): void {
    this.feed(sendIndication(peer, data));
  }

  sendChannelData(channel: number, data: Buffer): void {
    this.feed(encodeChannelData(channel, data, this.conn.transport === 'tcp'));
  }
}

export function sendIndication(peer: TransportAddress, data: Buffer, tid = randomBytes(12)): Buffer {
  return encodeStun({
    method: StunMethod.Send,
    cls: StunClass.Indication,
    transactionId: tid,
    attributes: [
      { type: Attr.XorPeerAddress, value: encodeXorAddress(peer, tid) },
      { type: Attr.Data, value: data },
    ],
  });
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
