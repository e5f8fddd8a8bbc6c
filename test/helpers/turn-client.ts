/**
 * A small TURN client for tests, over UDP or TCP (RFC 5766 framing), built on src/turn/stun-message.
 *
 * - request(): sends a STUN request (optionally signed with the long-term key learnt in allocate())
 *   and resolves with the response matching its transaction id (bounded by a timeout).
 * - allocate(): the full long-term-credential dance (unauthenticated Allocate → 401 + REALM/NONCE →
 *   signed Allocate).
 * - sendIndication() / sendChannelData() / sendRaw(): the data path and arbitrary bytes.
 * - nextData(): bounded wait for the next Data indication or ChannelData message from the server.
 * - unsolicited: every inbound message that was neither a response to a pending request nor data.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
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

export type InboundData =
  | { kind: 'data-indication'; peer: TransportAddress; data: Buffer; raw: Buffer }
  | { kind: 'channel-data'; channel: number; data: Buffer; raw: Buffer };

export interface RequestOptions {
  /** Sign with the long-term key and add USERNAME/REALM/NONCE (default: true once allocate() learnt them). */
  auth?: boolean;
  timeoutMs?: number;
  transactionId?: Buffer;
}

export class TestTurnClient {
  username?: string;
  realm?: string;
  nonce?: string;
  key?: Buffer;
  readonly unsolicited: Buffer[] = [];
  private readonly pending = new Map<string, (msg: DecodedStun) => void>();
  private readonly data: InboundData[] = [];
  private dataWaiter?: () => void;
  private closed = false;
  private closeWaiters: (() => void)[] = [];

  private constructor(
    readonly transport: 'udp' | 'tcp',
    private readonly sendBytes: (buf: Buffer) => void,
    private readonly closeTransport: () => void,
    readonly local: TransportAddress,
  ) {}

  static async open(transport: 'udp' | 'tcp', host: string, port: number): Promise<TestTurnClient> {
    if (transport === 'udp') {
      const sock = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(0, '127.0.0.1', () => resolve());
      });
      const client: TestTurnClient = new TestTurnClient(
        'udp',
        (buf) => sock.send(buf, port, host),
        () => sock.close(),
        { address: '127.0.0.1', port: sock.address().port },
      );
      sock.on('message', (msg) => client.onMessage(msg));
      return client;
    }
    const sock = net.connect({ host, port });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.once('connect', () => resolve());
    });
    sock.setNoDelay(true);
    const client: TestTurnClient = new TestTurnClient(
      'tcp',
      (buf) => {
        if (!sock.destroyed) sock.write(buf);
      },
      () => sock.destroy(),
      { address: sock.localAddress!, port: sock.localPort! },
    );
    const framer = new StreamFramer();
    sock.on('data', (chunk: Buffer) => {
      for (const frame of framer.push(chunk)) client.onMessage(frame);
    });
    sock.on('error', () => undefined);
    sock.on('close', () => client.markClosed());
    return client;
  }

  /** Resolves when the transport was closed (TCP: by either side), or rejects after timeoutMs. */
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

  private markClosed(): void {
    this.closed = true;
    for (const w of this.closeWaiters.splice(0)) w();
  }

  private onMessage(buf: Buffer): void {
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
      if (resolve && (msg.cls === StunClass.SuccessResponse || msg.cls === StunClass.ErrorResponse)) {
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

  sendRaw(buf: Buffer): void {
    this.sendBytes(buf);
  }

  /** Sends a request and resolves with its response (success or error). */
  request(method: number, attributes: StunAttribute[], opts: RequestOptions = {}): Promise<DecodedStun> {
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
    const buf = encodeStun(
      { method, cls: StunClass.Request, transactionId: tid, attributes: attrs },
      { integrityKey: auth ? this.key : undefined, fingerprint: true },
    );
    return this.sendAndWait(tid, buf, opts.timeoutMs ?? 2000);
  }

  /** Sends pre-encoded bytes whose transaction id is `tid` and waits for the response. */
  sendAndWait(tid: Buffer, buf: Buffer, timeoutMs = 2000): Promise<DecodedStun> {
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

  /** Binding request; handy as an ordering barrier (the server answers in order). */
  async binding(): Promise<DecodedStun> {
    return this.request(StunMethod.Binding, [], { auth: false });
  }

  /**
   * Allocate with the long-term mechanism. Returns the unauthenticated 401 and the final response.
   * `extra` attributes go into both requests.
   */
  async allocate(
    username: string,
    password: string,
    extra: StunAttribute[] = [{ type: Attr.RequestedTransport, value: encodeRequestedTransport(17) }],
  ): Promise<{ challenge: DecodedStun; response: DecodedStun }> {
    const challenge = await this.request(StunMethod.Allocate, extra, { auth: false });
    const realm = getAttr(challenge, Attr.Realm);
    const nonce = getAttr(challenge, Attr.Nonce);
    if (!realm || !nonce) throw new Error(`Allocate challenge lacks REALM/NONCE: ${describeResponse(challenge)}`);
    this.username = username;
    this.realm = realm.toString();
    this.nonce = nonce.toString();
    this.key = longTermKey(username, this.realm, password);
    const response = await this.request(StunMethod.Allocate, extra, { auth: true });
    return { challenge, response };
  }

  createPermission(...peers: TransportAddress[]): Promise<DecodedStun> {
    const tid = randomBytes(12);
    return this.request(
      StunMethod.CreatePermission,
      peers.map((p) => ({ type: Attr.XorPeerAddress, value: encodeXorAddress(p, tid) })),
      { transactionId: tid },
    );
  }

  channelBind(channel: number, peer: TransportAddress): Promise<DecodedStun> {
    const tid = randomBytes(12);
    const num = Buffer.alloc(4);
    num.writeUInt16BE(channel, 0);
    return this.request(
      StunMethod.ChannelBind,
      [
        { type: Attr.ChannelNumber, value: num },
        { type: Attr.XorPeerAddress, value: encodeXorAddress(peer, tid) },
      ],
      { transactionId: tid },
    );
  }

  refresh(lifetime?: number): Promise<DecodedStun> {
    const attrs: StunAttribute[] = [];
    if (lifetime !== undefined) {
      const v = Buffer.alloc(4);
      v.writeUInt32BE(lifetime, 0);
      attrs.push({ type: Attr.Lifetime, value: v });
    }
    return this.request(StunMethod.Refresh, attrs);
  }

  sendIndication(peer: TransportAddress, data: Buffer): void {
    const tid = randomBytes(12);
    this.sendBytes(
      encodeStun({
        method: StunMethod.Send,
        cls: StunClass.Indication,
        transactionId: tid,
        attributes: [
          { type: Attr.XorPeerAddress, value: encodeXorAddress(peer, tid) },
          { type: Attr.Data, value: data },
        ],
      }),
    );
  }

  sendChannelData(channel: number, data: Buffer): void {
    this.sendBytes(encodeChannelData(channel, data, this.transport === 'tcp'));
  }

  /** Next Data indication / ChannelData message (bounded wait). */
  async nextData(timeoutMs = 2000): Promise<InboundData> {
    const deadline = Date.now() + timeoutMs;
    while (this.data.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no data from the TURN server within ${timeoutMs}ms`);
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

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeTransport();
  }
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
