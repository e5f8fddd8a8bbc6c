// A TURN client over an already connected stream (a TLS socket, or a plain TCP one) for the TURNS tests
// (not a test file itself): RFC 5766 framing with the server's StreamFramer, requests matched to their
// responses by transaction id (bounded waits), the long-term-credential Allocate, permissions, channels,
// Send indications, ChannelData, and a queue of Data indications / ChannelData from the server.
// (test/helpers/turn-client.ts opens its own UDP or TCP socket, so it cannot run over TLS.)
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { StreamFramer } from '../../src/turn/stream-framer.js';
import {
  Attr,
  StunClass,
  StunMethod,
  classifyPacket,
  decodeChannelData,
  decodeStun,
  encodeChannelData,
  encodeChannelNumber,
  encodeStun,
  encodeXorAddress,
  getAttr,
  type DecodedStun,
  type StunAttribute,
  type TransportAddress,
} from '../../src/turn/stun-message.js';
import { longTermKey } from '../../src/turn/turn-credentials.js';
import { REQUESTED_UDP, sendIndication } from './in-process-client.js';

export interface Inbound {
  kind: 'data-indication' | 'channel-data';
  data: Buffer;
  raw: Buffer;
}

export class StreamTurnClient {
  username?: string;
  realm?: string;
  nonce?: string;
  key?: Buffer;
  closed = false;
  private readonly pending = new Map<string, (msg: DecodedStun) => void>();
  private readonly inbound: Inbound[] = [];
  private wake: (() => void) | undefined;

  constructor(private readonly sock: Duplex) {
    const framer = new StreamFramer();
    sock.on('data', (chunk: Buffer) => {
      for (const frame of framer.push(chunk)) this.onFrame(Buffer.from(frame));
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
  }

  private onFrame(frame: Buffer): void {
    if (classifyPacket(frame[0]) === 'channel-data') {
      this.push({ kind: 'channel-data', data: decodeChannelData(frame).data, raw: frame });
      return;
    }
    const msg = decodeStun(frame);
    if (msg.cls === StunClass.Indication && msg.method === StunMethod.Data) {
      this.push({ kind: 'data-indication', data: getAttr(msg, Attr.Data)!, raw: frame });
      return;
    }
    const key = msg.transactionId.toString('hex');
    this.pending.get(key)?.(msg);
    this.pending.delete(key);
  }

  private push(d: Inbound): void {
    this.inbound.push(d);
    this.wake?.();
  }

  write(bytes: Buffer): void {
    this.sock.write(bytes);
  }

  async request(method: number, attributes: StunAttribute[], opts: { auth?: boolean; transactionId?: Buffer } = {}): Promise<DecodedStun> {
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
    const bytes = encodeStun({ method, cls: StunClass.Request, transactionId: tid, attributes: attrs }, { integrityKey: auth ? this.key : undefined, fingerprint: true });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no response to method 0x${method.toString(16)}`)), 3000);
      this.pending.set(tid.toString('hex'), (msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
      this.write(bytes);
    });
  }

  async allocate(username: string, password: string): Promise<DecodedStun> {
    const challenge = await this.request(StunMethod.Allocate, [REQUESTED_UDP], { auth: false });
    this.username = username;
    this.realm = getAttr(challenge, Attr.Realm)!.toString();
    this.nonce = getAttr(challenge, Attr.Nonce)!.toString();
    this.key = longTermKey(username, this.realm, password);
    return this.request(StunMethod.Allocate, [REQUESTED_UDP]);
  }

  createPermission(peer: TransportAddress): Promise<DecodedStun> {
    const tid = randomBytes(12);
    return this.request(StunMethod.CreatePermission, [{ type: Attr.XorPeerAddress, value: encodeXorAddress(peer, tid) }], { transactionId: tid });
  }

  channelBind(channel: number, peer: TransportAddress): Promise<DecodedStun> {
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
    this.write(sendIndication(peer, data));
  }

  sendChannelData(channel: number, data: Buffer): void {
    this.write(encodeChannelData(channel, data, true));
  }

  /** The next Data indication or ChannelData (bounded wait). */
  async next(timeoutMs = 3000): Promise<Inbound> {
    const deadline = Date.now() + timeoutMs;
    while (this.inbound.length === 0) {
      if (Date.now() > deadline || this.closed) throw new Error('no data from the TURN server');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.inbound.shift()!;
  }
}
