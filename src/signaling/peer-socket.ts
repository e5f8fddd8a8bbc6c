// One client's /socket/peer/websocket session: authenticates the first frame against a peer token,
// attaches to the room, then turns frames into room calls and room events into frames in the client's
// generation (JSON in field 3 for ts-client 0.5.0, protobuf in fields 5/6 for 0.25.x).
// It holds no room state; every decision about peers belongs to the Room.
import { create, toBinary } from '@bufbuild/protobuf';
import type { WebSocket, RawData } from 'ws';
import type { PeerTokenService } from '../auth/peer-token.js';
import {
  PeerMessageSchema,
  PeerMessage_RoomType,
  type PeerMessage,
} from '../gen/fishjam/peer_notifications_pb.js';
import type { Logger } from '../log/logger.js';
import type { ClientEndpointEvent, EndpointLink, ServerEndpointEvent } from '../room/endpoint-events.js';
import type { Room } from '../room/room.js';
import type { RoomType } from '../room/room-config.js';
import type { RoomRegistry } from '../room/room-registry.js';
import { encodeJsonMediaEvent, MediaEventParseError, parseJsonMediaEvent } from './json-media-events.js';
import { toClientEvent, toServerMediaEvent } from './proto-media-events.js';
import { lookUpEndpointToken } from './endpoint-auth.js';
import { decodeFrame } from './frames.js';
import { startHeartbeat } from './heartbeat.js';

/** Which client generation is on the other end; decided by sdk_version or the first media event. */
type Generation = 'json' | 'proto';

export interface PeerSocketDeps {
  rooms: RoomRegistry;
  tokens: PeerTokenService;
  log: Logger;
  pingIntervalMs: number;
  /** How long a socket may stay unauthenticated. */
  authTimeoutMs?: number;
}

const ROOM_TYPES: Record<RoomType, PeerMessage_RoomType> = {
  conference: PeerMessage_RoomType.CONFERENCE,
  full_feature: PeerMessage_RoomType.CONFERENCE,
  audio_only: PeerMessage_RoomType.AUDIO_ONLY,
  livestream: PeerMessage_RoomType.LIVESTREAM,
  broadcaster: PeerMessage_RoomType.LIVESTREAM,
  audio_only_livestream: PeerMessage_RoomType.LIVESTREAM,
};

export class PeerSocket implements EndpointLink {
  private state: 'awaiting-auth' | 'authenticating' | 'authenticated' | 'closed' = 'awaiting-auth';
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
    this.authTimer = setTimeout(() => this.close(1000, 'unauthenticated'), deps.authTimeoutMs ?? 30_000);
    this.authTimer.unref();
  }

  // ---- EndpointLink (called by the room) ----

  send(event: ServerEndpointEvent): void {
    if (this.state !== 'authenticated') return;
    const msg: PeerMessage =
      this.generation === 'proto'
        ? create(PeerMessageSchema, { content: { case: 'serverMediaEvent', value: toServerMediaEvent(event) } })
        : create(PeerMessageSchema, { content: { case: 'mediaEvent', value: { data: encodeJsonMediaEvent(event) } } });
    this.sendMessage(msg);
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
    if (this.state === 'awaiting-auth') {
      const msg = isBinary ? decodeFrame(PeerMessageSchema, data) : undefined;
      if (msg?.content.case !== 'authRequest') return this.close(1000, 'unauthenticated');
      this.state = 'authenticating';
      return this.authenticate(msg.content.value.token, msg.content.value.sdkVersion);
    }
    // Authenticated: text frames and unexpected messages are ignored (Fishjam's behaviour).
    if (!isBinary) return;
    const msg = decodeFrame(PeerMessageSchema, data);
    if (!msg) {
      this.log.warn({ peerId: this.peerId }, 'ignoring undecodable peer message');
      return;
    }
    const event = this.toEvent(msg);
    if (event && this.room) this.room.handle(this.peerId, this, event);
  }

  private toEvent(msg: PeerMessage): ClientEndpointEvent | undefined {
    try {
      switch (msg.content.case) {
        case 'mediaEvent':
          this.generation ??= 'json';
          return parseJsonMediaEvent(msg.content.value.data);
        case 'peerMediaEvent':
          this.generation ??= 'proto';
          return toClientEvent(msg.content.value);
        default:
          // auth_request after auth, stats reports, server-only fields: ignored.
          return undefined;
      }
    } catch (err) {
      if (!(err instanceof MediaEventParseError)) throw err;
      this.log.warn({ peerId: this.peerId, err: err.message }, 'ignoring malformed media event');
      return undefined;
    }
  }

  private async authenticate(token: string, sdkVersion: string): Promise<void> {
    const found = await lookUpEndpointToken(this.deps.tokens, this.deps.rooms, token, 'peer');
    if (this.state !== 'authenticating') return;
    if (!found.ok) return this.close(1000, found.reason);
    const { room, peerId, claims } = found;
    const attached = room.attach(peerId, claims.tokenId, this);
    if (typeof attached === 'string') return this.close(1000, attached);
    clearTimeout(this.authTimer);
    this.room = room;
    this.peerId = peerId;
    this.state = 'authenticated';
    if (sdkVersion !== '') this.generation = 'proto';
    this.sendMessage(
      create(PeerMessageSchema, {
        content: { case: 'authenticated', value: { roomType: ROOM_TYPES[room.config.roomType] } },
      }),
    );
    this.stopHeartbeat = startHeartbeat(this.ws, this.deps.pingIntervalMs);
    this.log.debug({ roomId: room.id, peerId: this.peerId }, 'peer authenticated');
  }

  private sendMessage(msg: PeerMessage): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(toBinary(PeerMessageSchema, msg));
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

