// One peer's WebRTC data channels: SCTP (werift's association, as the server side) over the peer's
// existing DTLS association, and DCEP (RFC 8832) on top: the client opens its channels in-band, we
// acknowledge them and remember each one's label, stream and reliability. Emits each message received with
// its channel's label; sends on the channel of a label, bounding what waits in the association.
// What it must not do: know about rooms, peers or permissions, parse the payloads, or buffer without a
// bound (a lossy message past the bound is dropped; a reliable one closes that channel).
import { createRequire } from 'node:module';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import type { Logger } from '../../log/logger.js';

const PPID_DCEP = 50;
const PPID_STRING = 51;
const PPID_BINARY = 53;
const PPID_STRING_EMPTY = 56;
const PPID_BINARY_EMPTY = 57;
const DCEP_OPEN = 0x03;
const DCEP_ACK = 0x02;
/** Most user data one SCTP DATA chunk carries before the association knows its own (a 1,200-byte MTU). */
const MAX_CHUNK_BYTES = 1200;

/** The part of werift's SCTP association used here. */
interface SctpAssociation {
  onReceive: { subscribe(cb: (streamId: number, ppId: number, data: Buffer) => void): unknown };
  /** Streams reset: by the peer (it closed those channels) or by us, once the peer confirmed. */
  onReconfigStreams: { subscribe(cb: (streamIds: number[]) => void): unknown };
  send(streamId: number, ppId: number, data: Buffer, opts: { ordered?: boolean; maxRetransmits?: number }): Promise<void>;
  start(remotePort?: number): Promise<void>;
  stop(): Promise<void>;
  outboundQueue: { userData: Buffer }[];
  /** User data bytes per DATA chunk (set once the association is configured). */
  maxPayloadSize?: number;
  reconfigQueue: number[];
  transmitReconfigRequest(): Promise<void>;
  /** Fired after each transmit; every pending send() waits on it until the outbound queue is empty. */
  flush: { execute(): void; asPromise(): Promise<unknown> };
}
interface SctpTransport {
  onData?: (buf: Buffer) => void;
  send: (buf: Buffer) => Promise<void>;
  close: () => void;
}
type SctpClass = { server(t: SctpTransport, port?: number): SctpAssociation };

let sctpClass: SctpClass | undefined;
/** werift's SCTP class: shipped in the package but not among its exports, so loaded from its file. */
function loadSctp(): SctpClass {
  if (!sctpClass) {
    const req = createRequire(import.meta.url);
    const entry = req.resolve('werift'); // …/werift/lib/webrtc/src/index.js
    const mod = req(path.join(path.dirname(entry), '../../sctp/src/index.js')) as { SCTP: SctpClass };
    sctpClass = mod.SCTP;
  }
  return sctpClass;
}

export interface DataChannelInfo {
  label: string;
  streamId: number;
  ordered: boolean;
  maxRetransmits: number | undefined;
  closed: boolean;
}

interface DataChannelEvents {
  open: [DataChannelInfo];
  /** A channel is gone: the peer reset its stream, or we closed it for a slow receiver (emitted once). */
  close: [DataChannelInfo];
  message: [string, Buffer];
}

export interface DataChannelLimits {
  /** Bytes that may wait in the association before lossy messages are dropped / reliable channels closed. */
  maxBuffered: number;
}

export type SendResult = 'sent' | 'dropped' | 'closed';

export class DataChannels extends EventEmitter<DataChannelEvents> {
  private readonly sctp: SctpAssociation;
  private readonly transport: SctpTransport;
  private readonly byStream = new Map<number, DataChannelInfo>();
  private readonly byLabel = new Map<string, DataChannelInfo>();
  private started = false;

  constructor(
    sendDtls: (buf: Buffer) => void,
    private readonly limits: DataChannelLimits,
    private readonly log: Logger,
    localPort = 5000,
  ) {
    super();
    this.transport = { send: async (buf) => sendDtls(buf), close: () => {} };
    this.sctp = loadSctp().server(this.transport, localPort);
    // werift's send() resolves only once the whole outbound queue has drained, each waiting send() holding a
    // subscription that is removed by filtering the subscriber list: O(n²) in the queued messages (3 ms of
    // CPU per message in a 1,000-message burst). Nothing here awaits a send, so its wait never settles and
    // the suspended call, referenced by nothing, is collected.
    this.sctp.flush = { execute: () => {}, asPromise: () => new Promise<never>(() => {}) };
    this.sctp.onReceive.subscribe((streamId, ppId, data) => this.onReceive(streamId, ppId, data));
    this.sctp.onReconfigStreams.subscribe((streamIds) => {
      for (const id of streamIds) {
        const ch = this.byStream.get(id);
        if (ch) this.forget(ch);
      }
    });
  }

  /** Waits for the client's INIT from `remotePort` (its a=sctp-port). */
  start(remotePort: number): void {
    if (this.started) return;
    this.started = true;
    this.sctp.start(remotePort).catch((err: Error) => this.log.debug({ err: err.message }, 'SCTP start failed'));
  }

  /** An SCTP packet out of DTLS application data. */
  receive(buf: Buffer): void {
    this.transport.onData?.(buf);
  }

  channel(label: string): DataChannelInfo | undefined {
    return this.byLabel.get(label);
  }

  /** Bytes queued in the association and not yet handed to DTLS. */
  get buffered(): number {
    let n = 0;
    for (const chunk of this.sctp.outboundQueue) n += chunk.userData?.length ?? 0;
    return n;
  }

  /** Would `size` more bytes pass the bound? O(1) while the queue is short (a chunk carries at most one MTU). */
  private overBound(size: number): boolean {
    const { maxBuffered } = this.limits;
    const perChunk = Math.max(this.sctp.maxPayloadSize ?? 0, MAX_CHUNK_BYTES);
    if (this.sctp.outboundQueue.length * perChunk + size <= maxBuffered) return false;
    return this.buffered + size > maxBuffered;
  }

  /** Sends `data` (binary) on the channel labelled `label`. */
  send(label: string, data: Buffer): SendResult {
    const ch = this.byLabel.get(label);
    if (!ch || ch.closed) return 'closed';
    if (this.overBound(data.length)) {
      if (ch.maxRetransmits !== undefined || !ch.ordered) return 'dropped';
      this.log.warn({ label }, 'data channel receiver too slow: channel closed');
      // An outgoing stream reset (RFC 8831 §6.7) is how a data channel is closed.
      this.sctp.reconfigQueue.push(ch.streamId);
      this.sctp.transmitReconfigRequest().catch(() => {});
      this.forget(ch);
      return 'closed';
    }
    const ppId = data.length === 0 ? PPID_BINARY_EMPTY : PPID_BINARY;
    const payload = data.length === 0 ? Buffer.alloc(1) : data;
    this.sctp
      .send(ch.streamId, ppId, payload, { ordered: ch.ordered, maxRetransmits: ch.maxRetransmits })
      .catch((err: Error) => this.log.debug({ err: err.message }, 'SCTP send failed'));
    return 'sent';
  }

  close(): void {
    this.sctp.stop().catch(() => {});
  }

  /** The channel is closed: reported once, and its label and stream may be opened again. */
  private forget(ch: DataChannelInfo): void {
    if (ch.closed) return;
    ch.closed = true;
    if (this.byStream.get(ch.streamId) === ch) this.byStream.delete(ch.streamId);
    if (this.byLabel.get(ch.label) === ch) this.byLabel.delete(ch.label);
    this.emit('close', ch);
  }

  private onReceive(streamId: number, ppId: number, data: Buffer): void {
    if (ppId === PPID_DCEP) return this.onDcep(streamId, data);
    const ch = this.byStream.get(streamId);
    if (!ch || ch.closed) return;
    if (ppId === PPID_BINARY || ppId === PPID_STRING) this.emit('message', ch.label, data);
    else if (ppId === PPID_BINARY_EMPTY || ppId === PPID_STRING_EMPTY) this.emit('message', ch.label, Buffer.alloc(0));
  }

  private onDcep(streamId: number, data: Buffer): void {
    if (data.length < 12 || data[0] !== DCEP_OPEN) return;
    const channelType = data.readUInt8(1);
    const reliability = data.readUInt32BE(4);
    const labelLength = data.readUInt16BE(8);
    if (data.length < 12 + labelLength) return;
    const label = data.subarray(12, 12 + labelLength).toString('utf8');
    const ordered = (channelType & 0x80) === 0;
    const maxRetransmits = (channelType & 0x03) === 1 ? reliability : undefined;
    const info: DataChannelInfo = { label, streamId, ordered, maxRetransmits, closed: false };
    const previous = this.byStream.get(streamId) ?? this.byLabel.get(label);
    if (previous) this.forget(previous);
    this.byStream.set(streamId, info);
    this.byLabel.set(label, info);
    this.sctp
      .send(streamId, PPID_DCEP, Buffer.from([DCEP_ACK]), { ordered: true })
      .catch((err: Error) => this.log.debug({ err: err.message }, 'DCEP ack failed'));
    this.emit('open', info);
  }
}
