/**
 * What the test TURN clients share (not a test file itself): the STUN/TURN requests they send and how
 * they read what comes back, with each client keeping only its transport.
 *
 * - TurnRequestClient<R>: builds every request (Binding, Allocate, Refresh, CreatePermission,
 *   ChannelBind), signs it with the long-term key once learnt (USERNAME/REALM/NONCE +
 *   MESSAGE-INTEGRITY, FINGERPRINT always), runs the long-term-credential Allocate (unauthenticated →
 *   401 with REALM/NONCE → signed retry) and encodes Send indications and ChannelData. A subclass says
 *   how bytes go out and how a request's response comes back: R is DecodedStun for a client that gets
 *   the answer at once (test/turn/in-process-client.ts), Promise<DecodedStun> for one that waits for it.
 * - AsyncTurnClient: the waiting kind, over a socket or stream (test/helpers/turn-client.ts,
 *   test/turn/stream-turn-client.ts): responses matched to requests by transaction id (bounded waits),
 *   a queue of Data indications / ChannelData, everything else kept in `unsolicited`, close tracking,
 *   and RFC 5766 stream framing for TCP/TLS.
 * - describeResponse() / errorCode(): a response for assertion messages.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import {
  Attr,
  StunClass,
  StunMethod,
  classifyPacket,
  decodeChannelData,
  decodeErrorCode,
  decodeStun,
  decodeXorAddress,
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
import { StreamFramer } from '../../src/turn/stream-framer.js';
import { longTermKey } from '../../src/turn/turn-credentials.js';

/** REQUESTED-TRANSPORT: UDP, what an Allocate asks for by default. */
export const REQUESTED_UDP: StunAttribute = { type: Attr.RequestedTransport, value: encodeRequestedTransport(17) };

export interface RequestOptions {
  /** Sign with the long-term key and add USERNAME/REALM/NONCE (default: true once allocate() learnt them). */
  auth?: boolean;
  /** How long to wait for the response (clients that wait; default: the client's own). */
  timeoutMs?: number;
  transactionId?: Buffer;
}

export type InboundData =
  | { kind: 'data-indication'; peer: TransportAddress; data: Buffer; raw: Buffer }
  | { kind: 'channel-data'; channel: number; data: Buffer; raw: Buffer };

/** A Send indication carrying `data` to `peer`. */
export function encodeSendIndication(peer: TransportAddress, data: Buffer, tid = randomBytes(12)): Buffer {
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

/** Whether `msg` answers a request (success or error response). */
export function isResponse(msg: DecodedStun): boolean {
  return msg.cls === StunClass.SuccessResponse || msg.cls === StunClass.ErrorResponse;
}

/** "401 Unauthorized" or "success" for assertion messages. */
export function describeResponse(msg: DecodedStun): string {
  if (msg.cls === StunClass.SuccessResponse) return 'success';
  const ec = getAttr(msg, Attr.ErrorCode);
  return ec ? `${decodeErrorCode(ec).code} ${decodeErrorCode(ec).reason}` : `class ${msg.cls}`;
}

/** The ERROR-CODE number of an error response (undefined for success). */
export function errorCode(msg: DecodedStun): number | undefined {
  const ec = getAttr(msg, Attr.ErrorCode);
  return ec ? decodeErrorCode(ec).code : undefined;
}

/** The requests of a TURN client; R is what a request gives back (a response, or a promise of one). */
export abstract class TurnRequestClient<R extends DecodedStun | Promise<DecodedStun>> {
  username?: string;
  realm?: string;
  nonce?: string;
  key?: Buffer;

  /** Sends an encoded request whose transaction id is `tid` and gives back its response. */
  protected abstract exchange(method: number, tid: Buffer, bytes: Buffer, opts: RequestOptions): R;
  /** Sends bytes that get no response (indications, ChannelData, anything raw). */
  protected abstract sendBytes(bytes: Buffer): void;
  /** `next` applied to the response `r` stands for: at once, or once it has come. */
  protected abstract afterResponse(r: R, next: (msg: DecodedStun) => R): R;
  /** Whether ChannelData is padded to 4 bytes, as over a stream (TCP, TLS). */
  protected abstract streamFramed(): boolean;

  /** Sends a request and gives back its response (success or error). */
  request(method: number, attributes: StunAttribute[], opts: RequestOptions = {}): R {
    const tid = opts.transactionId ?? randomBytes(12);
    const auth = opts.auth ?? this.key !== undefined;
    const attrs = [...attributes];
    if (auth) {
      if (!this.username || !this.realm || !this.nonce || !this.key) throw new Error('no credentials yet');
      attrs.push(
        { type: Attr.Username, value: Buffer.from(this.username) },
        { type: Attr.Realm, value: Buffer.from(this.realm) },
        { type: Attr.Nonce, value: Buffer.from(this.nonce) },
      );
    }
    const bytes = encodeStun(
      { method, cls: StunClass.Request, transactionId: tid, attributes: attrs },
      { integrityKey: auth ? this.key : undefined, fingerprint: true },
    );
    return this.exchange(method, tid, bytes, opts);
  }

  /** Binding request; handy as an ordering barrier (the server answers in order). */
  binding(): R {
    return this.request(StunMethod.Binding, [], { auth: false });
  }

  /**
   * Allocate with the long-term mechanism: unauthenticated Allocate → 401 with REALM/NONCE (shown to
   * `onChallenge`) → the key learnt → signed Allocate, whose response this gives back. `extra`
   * attributes go into both requests.
   */
  protected longTermAllocate(username: string, password: string, extra: StunAttribute[], onChallenge?: (challenge: DecodedStun) => void): R {
    return this.afterResponse(this.request(StunMethod.Allocate, extra, { auth: false }), (challenge) => {
      onChallenge?.(challenge);
      const realm = getAttr(challenge, Attr.Realm);
      const nonce = getAttr(challenge, Attr.Nonce);
      if (!realm || !nonce) throw new Error(`Allocate challenge lacks REALM/NONCE: ${describeResponse(challenge)}`);
      this.username = username;
      this.realm = realm.toString();
      this.nonce = nonce.toString();
      this.key = longTermKey(username, this.realm, password);
      return this.request(StunMethod.Allocate, extra, { auth: true });
    });
  }

  createPermission(...peers: TransportAddress[]): R {
    const tid = randomBytes(12);
    return this.request(
      StunMethod.CreatePermission,
      peers.map((p) => ({ type: Attr.XorPeerAddress, value: encodeXorAddress(p, tid) })),
      { transactionId: tid },
    );
  }

  channelBind(channel: number, peer: TransportAddress): R {
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

  refresh(lifetime?: number): R {
    const attrs: StunAttribute[] = [];
    if (lifetime !== undefined) {
      const v = Buffer.alloc(4);
      v.writeUInt32BE(lifetime, 0);
      attrs.push({ type: Attr.Lifetime, value: v });
    }
    return this.request(StunMethod.Refresh, attrs);
  }

  sendIndication(peer: TransportAddress, data: Buffer): void {
    this.sendBytes(encodeSendIndication(peer, data));
  }

  sendChannelData(channel: number, data: Buffer): void {
    this.sendBytes(encodeChannelData(channel, data, this.streamFramed()));
  }
}

/**
 * A client that waits for what the server sends: inbound messages go to onMessage(), which settles the
 * pending request they answer, queues Data indications and ChannelData for nextData(), and keeps the
 * rest in `unsolicited`.
 */
export abstract class AsyncTurnClient extends TurnRequestClient<Promise<DecodedStun>> {
  /** Every inbound message that was neither a response to a pending request nor data. */
  readonly unsolicited: Buffer[] = [];
  /** Set once the transport has closed (a stream: by either side). */
  closed = false;
  private readonly pending = new Map<string, (msg: DecodedStun) => void>();
  private readonly data: InboundData[] = [];
  private dataWaiter?: () => void;
  private closeWaiters: (() => void)[] = [];

  /** `timeoutMs`: the default bound on waiting for a response or for data. */
  constructor(private readonly timeoutMs: number) {
    super();
  }

  protected override exchange(_method: number, tid: Buffer, bytes: Buffer, opts: RequestOptions): Promise<DecodedStun> {
    return this.sendAndWait(tid, bytes, opts.timeoutMs ?? this.timeoutMs);
  }

  protected override afterResponse(r: Promise<DecodedStun>, next: (msg: DecodedStun) => Promise<DecodedStun>): Promise<DecodedStun> {
    return r.then(next);
  }

  /** Sends pre-encoded bytes whose transaction id is `tid` and waits for the response. */
  sendAndWait(tid: Buffer, buf: Buffer, timeoutMs = this.timeoutMs): Promise<DecodedStun> {
    const key = tid.toString('hex');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        reject(new Error(`no response to transaction ${key} within ${timeoutMs}ms`));
      }, timeoutMs);
      this.pending.set(key, (msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
      this.sendBytes(buf);
    });
  }

  /** One inbound datagram / stream frame from the server. */
  protected onMessage(buf: Buffer): void {
    const kind = classifyPacket(buf[0]);
    if (kind === 'channel-data') {
      const { channel, data } = decodeChannelData(buf);
      this.pushData({ kind: 'channel-data', channel, data: Buffer.from(data), raw: Buffer.from(buf) });
      return;
    }
    if (kind === 'stun') {
      const msg = decodeStun(Buffer.from(buf));
      if (msg.cls === StunClass.Indication && msg.method === StunMethod.Data) {
        const peer = decodeXorAddress(getAttr(msg, Attr.XorPeerAddress)!, msg.transactionId);
        this.pushData({ kind: 'data-indication', peer: { address: peer.address, port: peer.port }, data: Buffer.from(getAttr(msg, Attr.Data)!), raw: msg.raw });
        return;
      }
      const resolve = this.pending.get(msg.transactionId.toString('hex'));
      if (resolve && isResponse(msg)) {
        this.pending.delete(msg.transactionId.toString('hex'));
        resolve(msg);
        return;
      }
    }
    this.unsolicited.push(Buffer.from(buf));
  }

  private pushData(d: InboundData): void {
    this.data.push(d);
    this.dataWaiter?.();
  }

  /** Next Data indication / ChannelData message (bounded wait; fails at once when closed with none queued). */
  async nextData(timeoutMs = this.timeoutMs): Promise<InboundData> {
    const deadline = Date.now() + timeoutMs;
    while (this.data.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) throw new Error(`no data from the TURN server within ${timeoutMs}ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.dataWaiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.dataWaiter = undefined;
    }
    return this.data.shift()!;
  }

  /** Data messages received and not yet consumed by nextData(). */
  get queuedData(): number {
    return this.data.length;
  }

  /** Resolves when the transport was closed (a stream: by either side), or rejects after timeoutMs. */
  waitClosed(timeoutMs = 2000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`connection not closed within ${timeoutMs}ms`)), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  protected markClosed(): void {
    this.closed = true;
    for (const w of this.closeWaiters.splice(0)) w();
    this.dataWaiter?.();
  }

  /** Reads a connected stream (TCP, TLS) with RFC 5766 framing; its close marks this client closed. */
  protected attachStream(sock: Duplex): void {
    const framer = new StreamFramer();
    sock.on('data', (chunk: Buffer) => {
      for (const frame of framer.push(chunk)) this.onMessage(frame);
    });
    sock.on('error', () => undefined);
    sock.on('close', () => this.markClosed());
  }

  /** Writes to a stream unless it is already destroyed. */
  protected static streamWriter(sock: Duplex): (bytes: Buffer) => void {
    return (bytes) => {
      if (!sock.destroyed) sock.write(bytes);
    };
  }
}
