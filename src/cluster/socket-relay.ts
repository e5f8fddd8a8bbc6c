// Relays a client socket that landed on this node (one public URL behind a load balancer) to the node that
// owns its room: opens a WebSocket to that node's apiUrl + the same path (marked RELAYED_HEADER, so it is
// never relayed again), sends the client's frames in order (the auth request first) and pipes frames both
// ways unchanged (binary/text kept), close codes and reasons passed through. Everything is bounded: the
// lookup and connect (→ 1011 'Unable to reach Fishjam instance holding room <id>'), the frames waiting
// while it connects, frame size, bytes queued towards a slow side (the other side is paused), and an owner
// that stops answering pings is dropped. It never reads the frames or the token and holds no room state;
// the signaling sockets decide what to relay.
import { WebSocket, type RawData } from 'ws';
import type { Logger } from '../log/logger.js';

/** Marks a socket one node relayed to another: the receiver serves it locally, never relays it again. */
export const RELAYED_HEADER = 'x-shoal-relayed-by';
/** Bound of finding the owner and opening the socket to it, ms. */
export const RELAY_CONNECT_TIMEOUT_MS = 3000;
/** Frames (and bytes) a client may send before the owner's socket is open; more close the client. */
export const MAX_PENDING_FRAMES = 256;
export const MAX_PENDING_BYTES = 1024 * 1024;
/** Bytes queued towards one side before the other side's reading is paused (resumed below half). */
export const RELAY_HIGH_WATER_BYTES = 1024 * 1024;

/** What the client sees when its room's node is not live (the clients stop retrying on it). */
export const CLOSE_ROOM_NOT_FOUND = { code: 1000, reason: 'room not found' } as const;

export interface RelayNode {
  id: string;
  apiUrl: string;
}

export interface SocketRelayOptions {
  selfId: string;
  /** The live nodes now; may reject (Redis unreachable: the client is closed with a clear reason). */
  liveNodes(): Promise<readonly RelayNode[]>;
  /** Largest frame accepted from the owner (the socket router's bound for clients). */
  maxFrameBytes: number;
  connectTimeoutMs?: number;
  /** Keeps the owner's socket alive (signaling's heartbeat: one that misses a pong is dropped); returns its stop. Default: no pings. */
  keepAlive?: (ws: WebSocket) => () => void;
  log: Logger;
}

/** Where a client socket goes: the node that minted its token, for its room, on the same path. */
export interface RelayTarget {
  nodeId: string;
  roomId: string;
  /** e.g. /socket/peer/websocket */
  path: string;
}

/** One relayed client: the signaling socket hands it every frame it gets, in order. */
export interface RelayedSocket {
  forward(data: RawData, isBinary: boolean): void;
}

/** ws refuses to send 1004–1006 and 1015; 1005 is sent as a close without a code. */
function sendableCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

function asBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

/** Totals since start: sockets relayed (the owner's socket opened) and closed before they could be. */
export interface RelayStats {
  relayed: number;
  failed: number;
}

export class SocketRelay {
  private readonly relays = new Set<Relay>();
  readonly stats: RelayStats = { relayed: 0, failed: 0 };

  constructor(private readonly o: SocketRelayOptions) {}

  /** Sockets relayed now. */
  get size(): number {
    return this.relays.size;
  }

  /** Starts relaying `client` to `target`; frames already received go through forward(), in order. */
  start(client: WebSocket, target: RelayTarget): RelayedSocket {
    const relay = new Relay(client, target, this.o, this.stats, () => this.relays.delete(relay));
    this.relays.add(relay);
    return relay;
  }

  /** Closes every relayed client (drain, shutdown) and its owner socket. */
  closeAll(code: number, reason: string): void {
    for (const r of this.relays) r.closeBoth(code, reason);
  }
}

class Relay implements RelayedSocket {
  private upstream: WebSocket | undefined;
  private pending: { data: Buffer; isBinary: boolean }[] = [];
  private pendingBytes = 0;
  private done = false;
  private readonly timer: NodeJS.Timeout;
  private stopKeepAlive: () => void = () => {};
  private readonly log: Logger;
  private readonly unreachable: string;
  /** Bytes sent but not yet written, per direction. */
  private readonly queued = { toClient: 0, toUpstream: 0 };

  constructor(
    private readonly client: WebSocket,
    private readonly target: RelayTarget,
    private readonly o: SocketRelayOptions,
    private readonly stats: RelayStats,
    private readonly onEnd: () => void,
  ) {
    this.log = o.log.child({ module: 'socket-relay', roomId: target.roomId, node: target.nodeId });
    this.unreachable = `Unable to reach Fishjam instance holding room ${target.roomId}`;
    const timeoutMs = o.connectTimeoutMs ?? RELAY_CONNECT_TIMEOUT_MS;
    this.timer = setTimeout(() => this.fail(1011, this.unreachable, `owner did not answer within ${timeoutMs} ms`), timeoutMs);
    client.on('close', (code, reason) => this.clientClosed(code, reason));
    this.connect().catch((err) => this.fail(1011, this.unreachable, (err as Error).message));
  }

  forward(data: RawData, isBinary: boolean): void {
    if (this.done) return;
    const buf = asBuffer(data);
    const up = this.upstream;
    if (up && up.readyState === WebSocket.OPEN) return this.send(up, buf, isBinary, 'toUpstream', this.client);
    if (this.pending.length >= MAX_PENDING_FRAMES || this.pendingBytes + buf.length > MAX_PENDING_BYTES) {
      return this.fail(1008, 'too many messages before the room\'s node answered', 'pending buffer full');
    }
    this.pending.push({ data: buf, isBinary });
    this.pendingBytes += buf.length;
  }

  closeBoth(code: number, reason: string): void {
    if (this.done) return;
    this.finish();
    this.client.close(code, reason);
    const up = this.upstream;
    if (up?.readyState === WebSocket.OPEN) up.close(code, reason);
    else up?.terminate();
  }

  private async connect(): Promise<void> {
    const nodes = await this.o.liveNodes();
    if (this.done) return;
    const node = nodes.find((n) => n.id === this.target.nodeId);
    if (!node || node.id === this.o.selfId) {
      return this.fail(CLOSE_ROOM_NOT_FOUND.code, CLOSE_ROOM_NOT_FOUND.reason, 'the node that minted the token is not live');
    }
    const url = `${node.apiUrl.replace(/^http/, 'ws')}${this.target.path}`;
    const up = new WebSocket(url, {
      headers: { [RELAYED_HEADER]: this.o.selfId },
      maxPayload: this.o.maxFrameBytes,
      perMessageDeflate: false,
      handshakeTimeout: this.o.connectTimeoutMs ?? RELAY_CONNECT_TIMEOUT_MS,
    });
    this.upstream = up;
    up.on('open', () => this.upstreamOpen(up));
    up.on('message', (data, isBinary) => {
      if (!this.done) this.send(this.client, asBuffer(data), isBinary, 'toClient', up);
    });
    up.on('close', (code, reason) => this.upstreamClosed(code, reason));
    up.on('error', (err) => {
      if (up.readyState !== WebSocket.OPEN) this.fail(1011, this.unreachable, err.message);
      else this.log.debug({ err: err.message }, 'relayed owner socket error');
    });
  }

  private upstreamOpen(up: WebSocket): void {
    if (this.done) return void up.close(1001, 'client went away');
    clearTimeout(this.timer);
    this.stats.relayed++;
    const pending = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    for (const f of pending) this.send(up, f.data, f.isBinary, 'toUpstream', this.client);
    this.log.debug({ path: this.target.path }, 'socket relayed to the owner');
    // An owner that stops answering pings (hung, cut off) is dropped: the client hears 1011 and may retry.
    if (this.o.keepAlive) this.stopKeepAlive = this.o.keepAlive(up);
  }

  /** Sends towards `to`; while too much waits unwritten there, `from` is not read (backpressure). */
  private send(to: WebSocket, data: Buffer, isBinary: boolean, dir: 'toClient' | 'toUpstream', from: WebSocket): void {
    if (to.readyState !== WebSocket.OPEN) return;
    this.queued[dir] += data.length;
    if (this.queued[dir] > RELAY_HIGH_WATER_BYTES && !from.isPaused) from.pause();
    to.send(data, { binary: isBinary }, () => {
      this.queued[dir] -= data.length;
      if (this.queued[dir] <= RELAY_HIGH_WATER_BYTES / 2 && from.isPaused && !this.done) from.resume();
    });
  }

  private clientClosed(code: number, reason: Buffer): void {
    if (this.done) return;
    this.finish();
    const up = this.upstream;
    if (!up) return;
    if (up.readyState !== WebSocket.OPEN) return void up.terminate();
    if (code === 1005) up.close();
    else if (sendableCode(code)) up.close(code, reason);
    else up.close(1001, 'client went away');
  }

  private upstreamClosed(code: number, reason: Buffer): void {
    if (this.done) return;
    this.finish();
    if (code === 1005) this.client.close();
    else if (sendableCode(code)) this.client.close(code, reason);
    else this.client.close(1011, this.unreachable); // the owner vanished (1006): the client may retry
  }

  /** Closes the client with a clear reason before (or instead of) relaying it. */
  private fail(code: number, reason: string, cause: string): void {
    if (this.done) return;
    this.log[code === 1011 ? 'warn' : 'info']({ code, reason, cause }, 'relayed socket closed');
    if (this.upstream?.readyState !== WebSocket.OPEN) this.stats.failed++;
    this.finish();
    this.upstream?.terminate();
    this.client.close(code, reason);
  }

  private finish(): void {
    this.done = true;
    clearTimeout(this.timer);
    this.stopKeepAlive();
    this.pending = [];
    this.pendingBytes = 0;
    if (this.client.isPaused) this.client.resume();
    this.onEnd();
  }
}
