// One client's /socket/peer/websocket session: authenticates the first frame against a peer token,
// attaches to the room, then turns frames into room calls and room events into frames in the client's
// generation (JSON in field 3 for ts-client 0.5.0, protobuf in fields 5/6 for 0.25.x). In a cluster, a
// socket whose valid token another node minted is handed to the relay (deps.relay) with every frame from
// its auth request on. Every refusal is logged with its close reason (never the token). It holds no room state; every decision about peers
// belongs to the Room.
import type { WebSocket, RawData } from 'ws';
import type { PeerTokenService } from '../auth/peer-token.js';
import type { Logger } from '../log/logger.js';
import type { EndpointLink, ServerEndpointEvent } from '../room/endpoint-events.js';
import { CLOSE_SHUTTING_DOWN, type Room } from '../room/room.js';
import type { RoomRegistry } from '../room/room-registry.js';
import { decodePeerFrame, encodeAuthenticated, encodePeerEvent, type Generation } from './codec/peer-frames.js';
import { lookUpEndpointToken, refusalLevel, type EndpointRelay } from './endpoint-auth.js';
import { startHeartbeat } from './heartbeat.js';

export interface PeerSocketDeps {
  rooms: RoomRegistry;
  tokens: PeerTokenService;
  log: Logger;
  pingIntervalMs: number;
  /** How long a socket may stay unauthenticated. */
  authTimeoutMs?: number;
  /** True while the server drains: a new peer is hung up with CLOSE_SHUTTING_DOWN (its client retries). */
  isDraining(): boolean;
  /** Counts a socket refused before it joined (by its close reason). */
  joinRefused?(reason: string): void;
  /** Cluster mode: where a socket whose token another node minted is relayed (see EndpointRelay). */
  relay?: EndpointRelay;
}

export class PeerSocket implements EndpointLink {
  private state: 'awaiting-auth' | 'authenticating' | 'authenticated' | 'relayed' | 'closed' = 'awaiting-auth';
  private relayed: ReturnType<EndpointRelay> | undefined;
  private generation: Generation | undefined;
  private room: Room | undefined;
  private peerId = '';
  private queue: Promise<void> = Promise.resolve();
  private readonly log: Logger;
  private stopHeartbeat: () => void = () => {};
  private readonly authTimer: NodeJS.Timeout;

  constructor(
    private readonly ws: WebSocket,
    private readonly deps: PeerSocketDeps,
  ) {
    this.log = deps.log.child({ socket: 'peer' });
    ws.on('message', (data, isBinary) => {
      // Frames are processed strictly in order, even though auth is asynchronous.
      this.queue = this.queue.then(() => this.onFrame(data, isBinary)).catch((err) => this.fail(err));
    });
    ws.on('close', () => this.onClose());
    ws.on('error', (err) => this.log.debug({ err: err.message }, 'peer socket error'));
    this.authTimer = setTimeout(() => this.refuse(1000, 'unauthenticated', { cause: 'no auth request in time' }), deps.authTimeoutMs ?? 30_000);
    this.authTimer.unref();
  }

  // ---- EndpointLink (called by the room) ----

  send(event: ServerEndpointEvent): void {
    if (this.state !== 'authenticated') return;
    this.sendBytes(encodePeerEvent(event, this.generation ?? 'json'));
  }

  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.detach();
    this.state = 'closed';
    this.ws.close(code, reason);
  }

  // ---- frames ----

  private async onFrame(data: RawData, isBinary: boolean): Promise<void> {
    if (this.state === 'closed') return;
    if (this.state === 'relayed') return this.relayed?.forward(data, isBinary);
    if (this.state === 'awaiting-auth') {
      const frame = isBinary ? decodePeerFrame(data) : undefined;
      if (frame?.type !== 'authRequest') return this.refuse(1000, 'unauthenticated', { cause: 'first frame is not an auth request' });
      this.state = 'authenticating';
      return this.authenticate(frame.token, frame.sdkVersion, data);
    }
    // Authenticated: text frames and unexpected messages are ignored (Fishjam's behaviour).
    if (!isBinary) return;
    const frame = decodePeerFrame(data);
    if (!frame) {
      this.log.warn({ peerId: this.peerId }, 'ignoring undecodable peer message');
      return;
    }
    // auth_request after auth, stats reports, server-only fields: ignored.
    if (frame.type === 'authRequest' || frame.type === 'other') return;
    this.generation ??= frame.generation;
    if (frame.type === 'malformedMediaEvent') {
      this.log.warn({ peerId: this.peerId, err: frame.reason }, 'ignoring malformed media event');
      return;
    }
    if (frame.type === 'refusedMediaEvent') {
      this.log.warn({ peerId: this.peerId, err: frame.reason }, 'refused media event');
      this.send({ type: 'error', message: frame.reason });
      return;
    }
    if (this.room) this.room.handle(this.peerId, this, frame.event);
  }

  private async authenticate(token: string, sdkVersion: string, authFrame: RawData): Promise<void> {
    const found = await lookUpEndpointToken(this.deps.tokens, this.deps.rooms, token, 'peer');
    if (this.state !== 'authenticating') return;
    if (!found.ok && found.mintedBy !== undefined && this.deps.relay) return this.relayTo(found.mintedBy, found.roomId ?? '', authFrame);
    if (!found.ok) return this.refuse(1000, found.reason, { roomId: found.roomId, peerId: found.peerId });
    const { room, peerId, claims } = found;
    if (this.deps.isDraining()) return this.refuse(CLOSE_SHUTTING_DOWN.code, CLOSE_SHUTTING_DOWN.reason, { roomId: room.id, peerId });
    const attached = room.attach(peerId, claims.tokenId, this);
    if (typeof attached === 'string') return this.refuse(1000, attached, { roomId: room.id, peerId });
    clearTimeout(this.authTimer);
    this.room = room;
    this.peerId = peerId;
    this.state = 'authenticated';
    if (sdkVersion !== '') this.generation = 'proto';
    this.sendBytes(encodeAuthenticated(room.config.roomType));
    this.stopHeartbeat = startHeartbeat(this.ws, this.deps.pingIntervalMs);
    this.log.debug({ roomId: room.id, peerId: this.peerId }, 'peer authenticated');
  }

  /** Hands the socket to the cluster relay towards the node that minted its token (this node keeps it alive). */
  private relayTo(nodeId: string, roomId: string, authFrame: RawData): void {
    if (this.deps.isDraining()) return this.refuse(CLOSE_SHUTTING_DOWN.code, CLOSE_SHUTTING_DOWN.reason, { roomId });
    clearTimeout(this.authTimer);
    this.state = 'relayed';
    this.relayed = this.deps.relay!(this.ws, { nodeId, roomId });
    this.relayed.forward(authFrame, true);
    this.stopHeartbeat = startHeartbeat(this.ws, this.deps.pingIntervalMs);
    this.log.debug({ roomId, node: nodeId }, 'peer socket relayed to its room\'s node');
  }

  /** Closes an unauthenticated socket, logging why (warn for a bad token, info otherwise). */
  private refuse(code: number, reason: string, ids: { roomId?: string; peerId?: string; cause?: string }): void {
    if (this.state === 'closed') return;
    this.deps.joinRefused?.(reason);
    this.log[refusalLevel(reason)]({ code, reason, ...ids }, 'socket refused');
    this.close(code, reason);
  }

  private sendBytes(bytes: Uint8Array): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(bytes);
  }

  private onClose(): void {
    clearTimeout(this.authTimer);
    this.detach();
    this.state = 'closed';
  }

  private detach(): void {
    this.stopHeartbeat();
    const room = this.room;
    this.room = undefined;
    if (room) room.detach(this.peerId, this);
  }

  private fail(err: unknown): void {
    this.log.error({ err, peerId: this.peerId }, 'peer socket failed');
    this.close(1011, 'Internal server error');
  }
}

