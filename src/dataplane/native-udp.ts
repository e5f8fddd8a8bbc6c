// The native plane's UDP socket for the TURN server (the UdpSocket contract of turn/udp-socket.ts) on the
// addon's UdpPort: datagrams arrive a batch per recvmmsg, as views into the port's receive arena (no copy
// in JavaScript), and sends are queued natively and written with sendmmsg — after each received batch
// (the replies and forwarded packets it caused go out together), or at the end of the current task for
// sends made outside one (timers, DTLS). Sources are cached per address, so a datagram costs no strings.
// Each datagram's TURN framing is decoded natively in the batch (native/src/turn_framing.cc) and handed
// over with it as a PreFramed (udp-socket.ts), so the TURN server does not parse it again.
// What it must not do: parse datagrams (the port's meta entry says what they are), hold them past the
// held-back queue, or let a throwing handler stop the batch.
import { SocketAddress } from 'node:net';
import type { Logger } from '../log/logger.js';
import { setDatagramArrival, type PreFramed, type UdpMessageHandler, type UdpSocket, type UdpSocketFactory, type UdpSource } from '../turn/udp-socket.js';
import type { UdpSocketCounters } from '../turn/turn-stats.js';
import {
  TURN_FRAMING_CHANNEL_DATA,
  TURN_FRAMING_MALFORMED,
  TURN_FRAMING_OTHER_STUN,
  TURN_FRAMING_REASONS,
  TURN_FRAMING_SEND_INDICATION,
  UDP_AGE_WORD,
  UDP_FRAMING_WORD,
  UDP_MAX_BATCH,
  UDP_META_WORDS,
  type NativeAddon,
  type NativeUdpCounters,
  type NativeUdpPort,
} from './native-addon.js';

/** Datagrams held back at most (see NativeUdpSocket.pending); beyond, dropped (DTLS and SCTP resend). */
const MAX_PENDING = 4096;
/** The marker that starts a held-back run (its datagram was delivered; what follows waits). */
const BARRIER: HeldBack = [Buffer.alloc(0), { key: '', address: '', port: 0 }, undefined];

type HeldBack = [Buffer, UdpSource, PreFramed | undefined];

/** Other STUN: the same answer for every such datagram. */
const OTHER_STUN: PreFramed = { kind: 'stun' };

/** True for TURN ChannelData carrying a DTLS record (RFC 7983: first byte 20–63) and for STUN Send indications (which may). */
function carriesDtls(msg: Buffer): boolean {
  const b0 = msg[0]!;
  if (b0 >= 0x40 && b0 <= 0x7f) {
    const d = msg[4];
    return d !== undefined && d >= 20 && d <= 63;
  }
  return b0 === 0x00 && msg[1] === 0x16;
}

/** Source objects kept at most (a flood of spoofed sources only costs a rebuild after this many). */
const MAX_SOURCES = 65_536;

/** The direct-send target of an IPv4 source (NativeSrtp writes SRTP straight into the port's queue). */
export interface NativeUdpTarget {
  readonly socket: NativeUdpSocket;
  readonly port: NativeUdpPort;
  readonly ip4: number;
  readonly destPort: number;
}

interface NativeSource extends UdpSource {
  /** IPv4 address (host order), or -1 for IPv6. */
  readonly ip4: number;
  /** IPv6 address bytes (IPv6 only). */
  readonly ip6: Buffer | undefined;
}

function ip4Text(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

function ip6Text(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

export class NativeUdpSocket implements UdpSocket {
  private readonly meta = new Int32Array(UDP_MAX_BATCH * UDP_META_WORDS);
  private readonly port: NativeUdpPort;
  private readonly v4 = new Map<number, NativeSource>();
  private readonly v6 = new Map<string, NativeSource>();
  private inBatch = false;
  /**
   * Datagrams held back after a DTLS one until the next turn of the loop. node:dgram hands over one datagram
   * per callback, so werift's DTLS and SCTP finish the asynchronous part of each record before the next one
   * arrives; handing it several records in one synchronous batch lost an unordered data-channel message.
   * Only a batch with a DTLS datagram that is not its last is split (media is SRTP: never held back).
   */
  private readonly pending: HeldBack[] = [];
  private pendingScheduled = false;
  private readonly drainPending = (): void => {
    this.pendingScheduled = false;
    const pending = this.pending;
    while (pending.length > 0) {
      const [msg, from, framing] = pending.shift()!;
      if (msg === BARRIER[0]) continue;
      this.deliver(msg, from, framing);
      if (pending.length > 0 && carriesDtls(msg)) break;
    }
    if (this.closed) pending.length = 0;
    this.schedulePending();
  };
  private flushQueued = false;
  private closed = false;
  private readonly flushNow = (): void => {
    this.flushQueued = false;
    if (!this.closed) this.port.flush();
  };

  constructor(
    addon: NativeAddon,
    private readonly onMessage: UdpMessageHandler,
    private readonly log: Logger,
    /** false: datagrams are handed over without their framing (the server decodes them itself: a benchmark's baseline). */
    turnFraming = true,
  ) {
    this.port = new addon.UdpPort((arena, count) => this.onBatch(arena, count), this.meta);
    this.port.turnFraming(turnFraming);
  }

  async bind(port: number, ip: string, bufferBytes: number): Promise<number> {
    try {
      return this.port.bind(ip, port, bufferBytes);
    } catch (err) {
      // As node:dgram reports it: the address and port that could not be bound (the start-up message names them).
      Object.assign(err as object, { address: ip, port });
      throw err;
    }
  }

  send(frame: Buffer, to: UdpSource): void {
    if (this.closed) return;
    const s = to as NativeSource;
    if (s.ip6 === undefined) this.port.send(frame, 0, frame.length, s.ip4, s.port);
    else this.port.send6(frame, 0, frame.length, s.ip6, s.port);
    if (!this.inBatch && !this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushNow);
    }
  }

  /** IPv4 sources only (the send path writes ChannelData to an IPv4 destination). */
  directTarget(to: UdpSource): NativeUdpTarget | undefined {
    const s = to as NativeSource;
    if (this.closed || s.ip6 !== undefined || s.ip4 === undefined) return undefined;
    return { socket: this, port: this.port, ip4: s.ip4, destPort: s.port };
  }

  /** Something was queued on the port directly: make sure it is written (after this batch, or at the end of this task). */
  queuedDirect(): void {
    if (!this.inBatch && !this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushNow);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.port.close();
  }

  /** The port's own counters, as the TURN server reports them (recvmmsg and sendmmsg calls, truncated and refused datagrams). */
  counters(): UdpSocketCounters {
    const c = this.port.counters();
    return { batches: c.batches, sendCalls: c.sendCalls, truncated: c.truncated, sendErrors: c.sendErrors + c.sendDropped };
  }

  /** Everything the port counts. */
  portCounters(): NativeUdpCounters {
    return this.port.counters();
  }

  private onBatch(arena: Buffer, count: number): void {
    const meta = this.meta;
    const pending = this.pending;
    const batchAt = performance.now();
    this.inBatch = true;
    try {
      for (let i = 0; i < count; i++) {
        const m = i * UDP_META_WORDS;
        const age = meta[m + UDP_AGE_WORD]!;
        setDatagramArrival(age >= 0 ? batchAt - age / 1000 : -1);
        const offset = meta[m]!;
        const from = meta[m + 2] === 4 ? this.source4(meta[m + 4]! >>> 0, meta[m + 3]!) : this.source6(m);
        const msg = arena.subarray(offset, offset + meta[m + 1]!);
        const framing = this.framingOf(arena, m);
        if (pending.length > 0) {
          if (pending.length < MAX_PENDING) pending.push([msg, from, framing]);
          continue;
        }
        this.deliver(msg, from, framing);
        // What follows a DTLS datagram waits for the next turn of the loop (see `pending`).
        if (i < count - 1 && carriesDtls(msg)) pending.push(BARRIER);
      }
    } finally {
      this.inBatch = false;
      setDatagramArrival(-1);
    }
    this.schedulePending();
  }

  /** The framing the port wrote into meta entry `m` (see UDP_META_WORDS); undefined when it wrote none. */
  private framingOf(arena: Buffer, m: number): PreFramed | undefined {
    const meta = this.meta;
    const f = m + UDP_FRAMING_WORD;
    switch (meta[f]) {
      case TURN_FRAMING_CHANNEL_DATA:
        return { kind: 'channel-data', channel: meta[f + 1]!, data: arena.subarray(meta[f + 3]!, meta[f + 3]! + meta[f + 4]!) };
      case TURN_FRAMING_SEND_INDICATION: {
        const v4 = meta[f + 1] === 4;
        const peerIp = Buffer.allocUnsafe(v4 ? 4 : 16);
        for (let w = 0; w < peerIp.length / 4; w++) peerIp.writeUInt32BE(meta[f + 5 + w]! >>> 0, w * 4);
        return { kind: 'send-indication', peerIp, peerPort: meta[f + 2]!, data: arena.subarray(meta[f + 3]!, meta[f + 3]! + meta[f + 4]!) };
      }
      case TURN_FRAMING_OTHER_STUN:
        return OTHER_STUN;
      case TURN_FRAMING_MALFORMED:
        return { kind: 'malformed', reason: TURN_FRAMING_REASONS[meta[f + 1]!] ?? 'malformed' };
      default:
        return undefined;
    }
  }

  private deliver(msg: Buffer, from: UdpSource, framing: PreFramed | undefined): void {
    try {
      this.onMessage(msg, from, framing);
    } catch (err) {
      this.log.error({ err }, 'TURN UDP handler threw (datagram dropped)');
    }
  }

  private schedulePending(): void {
    if (this.pending.length > 0 && !this.pendingScheduled) {
      this.pendingScheduled = true;
      setImmediate(this.drainPending);
    }
  }

  private source4(ip4: number, port: number): NativeSource {
    const id = ip4 * 65536 + port;
    let s = this.v4.get(id);
    if (s === undefined) {
      if (this.v4.size >= MAX_SOURCES) this.v4.clear();
      const address = ip4Text(ip4);
      s = { key: `udp|${address}|${port}`, address, port, ip4, ip6: undefined };
      this.v4.set(id, s);
    }
    return s;
  }

  private source6(m: number): NativeSource {
    const meta = this.meta;
    const port = meta[m + 3]!;
    const bytes = Buffer.allocUnsafe(16);
    for (let w = 0; w < 4; w++) bytes.writeUInt32BE(meta[m + 4 + w]! >>> 0, w * 4);
    const id = `${bytes.toString('hex')}|${port}`;
    let s = this.v6.get(id);
    if (s === undefined) {
      if (this.v6.size >= MAX_SOURCES) this.v6.clear();
      const address = ip6Text(bytes);
      s = { key: `udp|${address}|${port}`, address, port, ip4: -1, ip6: bytes };
      this.v6.set(id, s);
    }
    return s;
  }
}

/** The native plane's TURN UDP socket. */
export function nativeUdpSocketFactory(addon: NativeAddon): UdpSocketFactory {
  return (onMessage, log) => new NativeUdpSocket(addon, onMessage, log);
}
