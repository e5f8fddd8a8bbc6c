// One agent's /socket/agent/websocket session (cloud js-server-sdk `createAgent`): authenticates the
// first AgentRequest against an agent token and attaches the agent to its room, then hands each agent
// request (addTrack, removeTrack, trackData, interruptTrack) to the room for the agent's media session
// and sends the agent the audio it hears (AgentResponse.TrackData). The SDK sends requests right after
// its auth request without waiting for the reply, so requests that arrive while the token is checked
// wait (at most MAX_EARLY_FRAMES). A refused request is logged (rate-limited; the protocol has no error
// reply) and the socket stays open; audio for an agent that does not read is dropped past
// MAX_AGENT_SOCKET_BUFFER. In a cluster, a socket whose valid token another node minted is handed to the
// relay (deps.relay) with its auth request and the requests that waited. Every refusal is logged with its close reason (never the token). Owns no room state.
import type { RawData, WebSocket } from 'ws';
import type { PeerTokenService } from '../auth/peer-token.js';
import { decodeAgentAuthToken, decodeAgentFrame, encodeAgentAuthenticated, encodeAgentTrackData } from './codec/agent-frames.js';
import type { Logger } from '../log/logger.js';
import type { AgentLink } from '../room/agent-link.js';
import type { ServerEndpointEvent } from '../room/endpoint-events.js';
import type { AgentAudio } from '../room/media-port.js';
import type { Room } from '../room/room.js';
import type { RoomRegistry } from '../room/room-registry.js';
import { lookUpEndpointToken, refusalLevel, type EndpointRelay } from './endpoint-auth.js';
import { startHeartbeat } from './heartbeat.js';

/** Requests kept while the auth request is being checked; more are dropped. */
export const MAX_EARLY_FRAMES = 256;
/** Bytes of audio that may wait in the socket for a slow agent before more is dropped. */
export const MAX_AGENT_SOCKET_BUFFER = 1024 * 1024;
/** At most one refused-request log line per this many ms (the others are counted into it). */
const ERROR_LOG_INTERVAL_MS = 1000;

export interface AgentSocketDeps {
  rooms: RoomRegistry;
  tokens: PeerTokenService;
  log: Logger;
  pingIntervalMs: number;
  /** Cluster mode: where a socket whose token another node minted is relayed (see EndpointRelay). */
  relay?: EndpointRelay;
}

export class AgentSocket implements AgentLink {
  private state: 'awaiting-auth' | 'authenticating' | 'authenticated' | 'relayed' | 'closed' = 'awaiting-auth';
  private relayed: ReturnType<EndpointRelay> | undefined;
  private room: Room | undefined;
  private peerId = '';
  private stopHeartbeat: () => void = () => {};
  private early: { data: RawData; isBinary: boolean }[] = [];
  private earlyDropped = 0;
  private lastErrorLog = -Infinity;
  private errorsUnlogged = 0;
  private audioDropped = 0;

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

  /** The room's events for this agent: only errors concern it (it negotiates nothing). */
  send(event: ServerEndpointEvent): void {
    if (event.type === 'error') this.refused(event.message);
  }

  /** Audio of a room track the agent hears. */
  agentAudio(audio: AgentAudio): void {
    if (this.state !== 'authenticated') return;
    if (this.ws.bufferedAmount > MAX_AGENT_SOCKET_BUFFER) {
      if (this.audioDropped++ === 0) this.deps.log.warn({ roomId: this.room?.id, peerId: this.peerId }, 'agent does not keep up: dropping its audio');
      return;
    }
    if (this.audioDropped > 0) {
      this.deps.log.info({ roomId: this.room?.id, peerId: this.peerId, dropped: this.audioDropped }, 'agent keeps up again');
      this.audioDropped = 0;
    }
    this.ws.send(encodeAgentTrackData(audio));
  }

  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.detach();
    this.ws.close(code, reason);
  }

  private async onFrame(data: RawData, isBinary: boolean): Promise<void> {
    if (this.state === 'authenticated') return this.onRequest(data, isBinary);
    if (this.state === 'relayed') return this.relayed?.forward(data, isBinary);
    if (this.state === 'authenticating') {
      if (this.early.length < MAX_EARLY_FRAMES) this.early.push({ data, isBinary });
      else this.earlyDropped++;
      return;
    }
    if (this.state !== 'awaiting-auth') return;
    const token = isBinary ? decodeAgentAuthToken(data) : undefined;
    if (token === undefined) return this.refuse(1000, 'unauthenticated', { cause: 'first frame is not an auth request' });
    this.state = 'authenticating';
    const found = await lookUpEndpointToken(this.deps.tokens, this.deps.rooms, token, 'agent');
    if (this.state !== 'authenticating') return;
    if (!found.ok && found.mintedBy !== undefined && this.deps.relay) return this.relayTo(found.mintedBy, found.roomId ?? '', data);
    if (!found.ok) return this.refuse(1000, found.reason, { roomId: found.roomId, peerId: found.peerId });
    const { room, peerId, claims } = found;
    this.room = room;
    this.peerId = peerId;
    const attached = room.attach(peerId, claims.tokenId, this);
    if (typeof attached === 'string') {
      this.room = undefined;
      return this.refuse(1000, attached, { roomId: room.id, peerId });
    }
    this.state = 'authenticated';
    this.ws.send(encodeAgentAuthenticated());
    this.stopHeartbeat = startHeartbeat(this.ws, this.deps.pingIntervalMs);
    const early = this.early;
    this.early = [];
    if (this.earlyDropped > 0) this.refused(`${this.earlyDropped} requests sent before authentication completed were dropped (at most ${MAX_EARLY_FRAMES} wait)`);
    for (const frame of early) this.onRequest(frame.data, frame.isBinary);
  }

  private onRequest(data: RawData, isBinary: boolean): void {
    if (this.state !== 'authenticated' || !this.room) return;
    if (!isBinary) return this.refused('text frames are not AgentRequests');
    const frame = decodeAgentFrame(data);
    switch (frame.type) {
      case 'auth':
        return; // already authenticated
      case 'ignored':
        return this.refused(`${frame.what} is not supported`);
      case 'invalid':
        return this.refused(frame.reason);
      default:
        this.room.agentCommand(this.peerId, this, frame);
    }
  }

  /** A refused request: logged at most once per ERROR_LOG_INTERVAL_MS, with how many were not logged. */
  private refused(message: string): void {
    const now = performance.now();
    if (now - this.lastErrorLog < ERROR_LOG_INTERVAL_MS) {
      this.errorsUnlogged++;
      return;
    }
    this.lastErrorLog = now;
    const alsoRefused = this.errorsUnlogged;
    this.errorsUnlogged = 0;
    this.deps.log.warn({ roomId: this.room?.id, peerId: this.peerId, reason: message, ...(alsoRefused > 0 ? { alsoRefused } : {}) }, 'agent request refused');
  }

  /** Hands the socket to the cluster relay towards the node that minted its token, with the requests that waited. */
  private relayTo(nodeId: string, roomId: string, authFrame: RawData): void {
    this.state = 'relayed';
    const relayed = this.deps.relay!(this.ws, { nodeId, roomId });
    this.relayed = relayed;
    const early = this.early;
    this.early = [];
    relayed.forward(authFrame, true);
    for (const frame of early) relayed.forward(frame.data, frame.isBinary);
    this.stopHeartbeat = startHeartbeat(this.ws, this.deps.pingIntervalMs);
    this.deps.log.debug({ socket: 'agent', roomId, node: nodeId, dropped: this.earlyDropped }, 'agent socket relayed to its room\'s node');
  }

  /** Closes an unauthenticated socket, logging why (warn for a bad token, info otherwise). */
  private refuse(code: number, reason: string, ids: { roomId?: string; peerId?: string; cause?: string }): void {
    if (this.state === 'closed') return;
    this.deps.log[refusalLevel(reason)]({ socket: 'agent', code, reason, ...ids }, 'socket refused');
    this.close(code, reason);
  }

  private detach(): void {
    this.state = 'closed';
    this.early = [];
    this.stopHeartbeat();
    const room = this.room;
    this.room = undefined;
    room?.detach(this.peerId, this);
  }
}
