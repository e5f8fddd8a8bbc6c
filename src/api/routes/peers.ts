// REST routes for peers: add (mints the peer token), delete, refresh token, manual subscriptions,
// and livestream viewer/streamer tokens. Check order and texts follow Fishjam; rooms own the peers.
import type { FastifyInstance } from 'fastify';
import { DEFAULT_PERMISSIONS, type PeerPermissions } from '../../auth/peer-token.js';
import { badRequest } from '../../errors.js';
import { JsonLimitError, checkMetadata } from '../../input/json-limits.js';
import type { PeerType } from '../../room/notifications.js';
import type { SubscribeMode } from '../../room/peer.js';
import type { AgentOutput } from '../../room/media-port.js';
import { AUTH, type ApiDeps } from '../api-deps.js';
import { DRAINING, UNAUTHORIZED, errorReply, jsonReply, noContent, peerParams, ref, roomIdParams } from '../schemas.js';

interface AddPeerOptions {
  enableSimulcast?: boolean;
  metadata?: Record<string, unknown> | null;
  subscribeMode?: SubscribeMode;
  canPublish?: boolean;
  canSubscribe?: boolean;
  canPublishData?: boolean;
  /** Agents: the audio they hear (cloud PeerOptionsAgent.output). */
  output?: { audioFormat?: unknown; audioSampleRate?: unknown };
}

const PEER_TYPES: readonly string[] = ['webrtc', 'agent'];

/** An agent's `output` option: pcm16 (default) at 16000 (default), 24000 or 48000 Hz, or opus. */
function parseAgentOutput(output: AddPeerOptions['output']): AgentOutput {
  if (output === undefined || output === null) return { format: 'pcm16', sampleRate: 16000 };
  if (typeof output !== 'object' || Array.isArray(output)) throw badRequest('Invalid agent output: must be an object');
  const format = output.audioFormat ?? 'pcm16';
  if (format !== 'pcm16' && format !== 'opus') throw badRequest('Invalid agent output: audioFormat must be pcm16 or opus');
  const rate = output.audioSampleRate ?? (format === 'opus' ? 48000 : 16000);
  if (rate !== 16000 && rate !== 24000 && rate !== 48000) throw badRequest('Invalid agent output: audioSampleRate must be 16000, 24000 or 48000');
  return { format, sampleRate: rate };
}

export async function peerRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { rooms, tokens, config } = deps;

  app.post<{ Params: { room_id: string }; Body: { type?: unknown; options?: AddPeerOptions } }>(
    '/room/:room_id/peer',
    {
      config: AUTH,
      attachValidation: true,
      schema: {
        tags: ['room'],
        operationId: 'add_peer',
        summary: 'Add a peer; returns its token',
        params: roomIdParams,
        body: ref('PeerConfig'),
        response: {
          201: jsonReply('PeerDetailsResponse', 'Peer created'),
          400: errorReply('Invalid peer type or options, invalid room id, or peers of this type disabled'),
          ...UNAUTHORIZED,
          404: errorReply('Room not found'),
          503: errorReply('Peer limit of the room reached, or Shoal is shutting down'),
        },
      },
    },
    async (req, reply) => {
      const body = req.body ?? {};
      if (typeof body !== 'object' || Array.isArray(body) || !('type' in body)) throw badRequest('Invalid request body structure');
      if (typeof body.type !== 'string' || !PEER_TYPES.includes(body.type)) throw badRequest('Invalid peer type');
      const type = body.type as PeerType;
      const room = rooms.get(req.params.room_id);
      if (type === 'webrtc' && !config.webrtcUsed) throw badRequest('Peers of type webrtc are disabled on this Fishjam');
      room.checkCapacity(type);
      if (req.validationError) throw badRequest('Invalid request body structure');
      const options: AddPeerOptions = body.options ?? {};
      try {
        checkMetadata(options.metadata ?? null, 'Peer metadata');
      } catch (err) {
        if (err instanceof JsonLimitError) throw badRequest(err.message);
        throw err;
      }
      const permissions: PeerPermissions = {
        canPublish: options.canPublish ?? DEFAULT_PERMISSIONS.canPublish,
        canSubscribe: options.canSubscribe ?? DEFAULT_PERMISSIONS.canSubscribe,
        canPublishData: options.canPublishData ?? DEFAULT_PERMISSIONS.canPublishData,
      };
      const agentOutput = type === 'agent' ? parseAgentOutput(options.output) : undefined;
      const peer = room.addPeer({
        agentOutput,
        type,
        enableSimulcast: options.enableSimulcast ?? true,
        metadata: options.metadata ?? null,
        subscribeMode: options.subscribeMode ?? 'auto',
        permissions,
      });
      const { token, claims } = await tokens.mint({ kind: type === 'agent' ? 'agent' : 'peer', roomId: room.id, peerId: peer.id, permissions });
      room.setPeerToken(peer.id, claims.tokenId);
      reply.code(201);
      return {
        data: {
          peer: peer.toJSON(),
          token,
          peer_websocket_url: `${config.host}/socket/${type === 'agent' ? 'agent' : 'peer'}/websocket`,
        },
      };
    },
  );

  app.delete<{ Params: { room_id: string; peer_id: string } }>(
    '/room/:room_id/peer/:peer_id',
    {
      config: AUTH,
      schema: {
        tags: ['room'],
        operationId: 'delete_peer',
        summary: 'Delete a peer',
        params: peerParams,
        response: { 204: noContent('Peer deleted'), 400: errorReply('Invalid room id'), ...UNAUTHORIZED, 404: errorReply('Room or peer not found') },
      },
    },
    async (req, reply) => {
      rooms.get(req.params.room_id).removePeer(req.params.peer_id);
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { room_id: string; peer_id: string } }>(
    '/room/:room_id/peer/:peer_id/refresh_token',
    {
      config: AUTH,
      schema: {
        tags: ['room'],
        operationId: 'refresh_token',
        summary: 'Mint a new token for a peer; the old one stops working',
        params: peerParams,
        response: {
          201: jsonReply('PeerRefreshTokenResponse', 'New token minted'),
          400: errorReply('Invalid room id'),
          ...UNAUTHORIZED,
          404: errorReply('Room or peer not found'),
          ...DRAINING,
        },
      },
    },
    async (req, reply) => {
      const room = rooms.get(req.params.room_id);
      const peer = room.getPeer(req.params.peer_id);
      const { token, claims } = await tokens.mint({
        kind: peer.type === 'agent' ? 'agent' : 'peer',
        roomId: room.id,
        peerId: peer.id,
        permissions: peer.options.permissions,
      });
      room.setPeerToken(peer.id, claims.tokenId);
      reply.code(201);
      return { data: { token } };
    },
  );

  app.post<{ Params: { room_id: string; peer_id: string }; Querystring: { peer_id?: string } }>(
    '/room/:room_id/peer/:peer_id/subscribe_peer',
    {
      config: AUTH,
      schema: {
        tags: ['room'],
        operationId: 'subscribe_peer',
        summary: 'Subscribe a peer to all tracks of another peer',
        params: peerParams,
        querystring: { type: 'object', properties: { peer_id: { type: 'string', description: 'Id of the publishing peer' } } },
        response: {
          200: noContent('Subscribed'),
          400: errorReply('No publisher peer_id, or invalid room id'),
          ...UNAUTHORIZED,
          404: errorReply('Room, peer or publisher not found'),
          ...DRAINING,
        },
      },
    },
    async (req, reply) => {
      const publisher = req.query.peer_id ?? (req.body as { peer_id?: unknown } | undefined)?.peer_id;
      if (typeof publisher !== 'string' || publisher === '') throw badRequest('Invalid request body structure');
      rooms.get(req.params.room_id).setSubscriptions(req.params.peer_id, { peers: [publisher] });
      return reply.code(200).send();
    },
  );

  app.post<{ Params: { room_id: string; peer_id: string }; Body: { track_ids: string[] } }>(
    '/room/:room_id/peer/:peer_id/subscribe_tracks',
    {
      config: AUTH,
      schema: {
        tags: ['room'],
        operationId: 'subscribe_tracks',
        summary: 'Subscribe a peer to specific tracks',
        params: peerParams,
        body: ref('SubscribeTracksRequest'),
        response: {
          200: noContent('Subscribed'),
          400: errorReply('Invalid request body, or invalid room id'),
          ...UNAUTHORIZED,
          404: errorReply('Room or peer not found'),
          ...DRAINING,
        },
      },
    },
    async (req, reply) => {
      rooms.get(req.params.room_id).setSubscriptions(req.params.peer_id, { tracks: req.body.track_ids });
      return reply.code(200).send();
    },
  );

  for (const kind of ['viewer', 'streamer'] as const) {
    app.post<{ Params: { room_id: string } }>(
      `/room/:room_id/${kind}`,
      {
        config: AUTH,
        schema: {
          tags: ['room'],
          operationId: `generate_${kind}_token`,
          summary: `Mint a livestream ${kind} token`,
          params: roomIdParams,
          response: {
            201: jsonReply(kind === 'viewer' ? 'ViewerToken' : 'StreamerToken', `${kind === 'viewer' ? 'Viewer' : 'Streamer'} token minted`),
            400: errorReply('Invalid room id'),
            ...UNAUTHORIZED,
            404: errorReply('Room not found'),
            ...DRAINING,
          },
        },
      },
      async (req, reply) => {
        const room = rooms.get(req.params.room_id);
        const { token } = await tokens.mint({ kind, roomId: room.id });
        reply.code(201);
        return { token };
      },
    );
  }
}
