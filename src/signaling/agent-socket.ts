// One agent's /socket/agent/websocket session (cloud js-server-sdk `createAgent`): authenticates the
// first AgentRequest against an agent token and marks the agent connected in its room. Agent media
// (track data) is not processed yet; such frames are accepted and ignored. Every refusal is logged with
// its close reason (never the token). Owns no room state.
import type { RawData, WebSocket } from 'ws';
import type { PeerTokenService } from '../auth/peer-token.js';
import { decodeAgentAuthToken, encodeAgentAuthenticated } from './codec/agent-frames.js';
import type { Logger } from '../log/logger.js';
import type { EndpointLink, ServerEndpointEvent } from '../room/endpoint-events.js';
import type { Room } from '../room/room.js';
import type { RoomRegistry } from '../room/room-registry.js';
import { lookUpEndpointToken, refusalLevel } from './endpoint-auth.js';
import { startHeartbeat } from './heartbeat.js';

export interface AgentSocketDeps {
  rooms: RoomRegistry;
  tokens: PeerTokenService;
  log: Logger;
  pingIntervalMs: number;
}

export class AgentSocket implements EndpointLink {
  private state: 'awaiting-auth' | 'authenticating' | 'authenticated' | 'closed' = 'awaiting-auth';
  private room: Room | undefined;
  private peerId = '';
  private stopHeartbeat: () => void = () => {};

  constructor(
    private readonly ws: WebSocket,
    private readonly deps: AgentSocketDeps,
  ) {
    ws.on('message', (data, isBinary) => {
      this.onFrame(data, isBinary).catch((err) => {
        deps.log.error({ err }, 'agent socket failed');
        this.close(1011, 'Internal server error');
      });
    });
    ws.on('close', () => this.detach());
    ws.on('error', (err) => deps.log.debug({ err: err.message }, 'agent socket error'));
  }

  send(_event: ServerEndpointEvent): void {
    // Agents receive media, not signaling; nothing to forward yet.
  }

  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.detach();
    this.ws.close(code, reason);
  }

  private async onFrame(data: RawData, isBinary: boolean): Promise<void> {
    if (this.state !== 'awaiting-auth') return;
    const token = isBinary ? decodeAgentAuthToken(data) : undefined;
    if (token === undefined) return this.refuse(1000, 'unauthenticated', { cause: 'first frame is not an auth request' });
    this.state = 'authenticating';
    const found = await lookUpEndpointToken(this.deps.tokens, this.deps.rooms, token, 'agent');
    if (this.state !== 'authenticating') return;
    if (!found.ok) return this.refuse(1000, found.reason, { roomId: found.roomId, peerId: found.peerId });
    const { room, peerId, claims } = found;
    const attached = room.attach(peerId, claims.tokenId, this);
    if (typeof attached === 'string') return this.refuse(1000, attached, { roomId: room.id, peerId });
    this.room = room;
    this.peerId = peerId;
    this.state = 'authenticated';
    this.ws.send(encodeAgentAuthenticated());
    this.stopHeartbeat = startHeartbeat(this.ws, this.deps.pingIntervalMs);
  }

  /** Closes an unauthenticated socket, logging why (warn for a bad token, info otherwise). */
  private refuse(code: number, reason: string, ids: { roomId?: string; peerId?: string; cause?: string }): void {
    if (this.state === 'closed') return;
    this.deps.log[refusalLevel(reason)]({ socket: 'agent', code, reason, ...ids }, 'socket refused');
    this.close(code, reason);
  }

  private detach(): void {
    this.state = 'closed';
    this.stopHeartbeat();
    const room = this.room;
    this.room = undefined;
    room?.detach(this.peerId, this);
  }
}
