// JSON schemas of the REST API: they validate request bodies, shape responses and generate /openapi.json.
// The named ones (SHARED_SCHEMAS) are registered with app.addSchema and referenced by `$ref`, so they appear
// under components.schemas with Fishjam's names. Field order in `roomConfigBody` is the order in which
// Fishjam reports the first invalid field: it must not be reordered.
import { ROOM_TYPES } from '../room/room-config.js';
import { ROOM_ID_MAX_LENGTH } from '../room/room-registry.js';

export const anyJson = { description: 'Any JSON value' } as const;

/** `{ $ref }` to a named schema. */
export const ref = (id: SchemaId) => ({ $ref: `${id}#` }) as const;
/** A response: its OpenAPI description and the named schema of its body. */
export const jsonReply = (id: SchemaId, description: string) => ({ description, $ref: `${id}#` }) as const;
/** An error response (`{"errors": "<text>"}`) with its description. */
export const errorReply = (description: string) => jsonReply('Error', description);
/** A response without a body. */
export const noContent = (description: string) => ({ type: 'null', description }) as const;

export const errorBody = {
  $id: 'Error',
  type: 'object',
  description: 'Error message',
  properties: { errors: { type: 'string', description: 'What was wrong with the request' } },
  required: ['errors'],
} as const;

export const roomConfigBody = {
  $id: 'RoomConfig',
  type: 'object',
  description: 'Room configuration; every field is optional, unknown fields are ignored',
  properties: {
    roomId: { type: ['string', 'null'], pattern: '^[a-zA-Z0-9\\-_]+$', maxLength: ROOM_ID_MAX_LENGTH, description: `Custom id (alphanumerics, hyphens, underscores; at most ${ROOM_ID_MAX_LENGTH} characters)` },
    maxPeers: { type: ['integer', 'null'], minimum: 0, description: 'Peer limit; disconnected peers count' },
    videoCodec: { type: ['string', 'null'], enum: ['h264', 'vp8', null], description: 'Enforced video codec' },
    webhookUrl: { type: ['string', 'null'], format: 'webhook-url', description: 'URL with scheme, host and path' },
    peerlessPurgeTimeout: { type: ['integer', 'null'], minimum: 1, description: 'Seconds without connected peers before the room is removed' },
    peerDisconnectedTimeout: { type: ['integer', 'null'], minimum: 1, description: 'Seconds a disconnected peer is kept' },
    roomType: { type: ['string', 'null'], enum: [...ROOM_TYPES, null], description: 'Room type (Fishjam Cloud); default conference' },
    public: { type: ['boolean', 'null'], description: 'Livestream viewers may join without a token' },
  },
} as const;

export const ROOM_CONFIG_FIELDS = Object.keys(roomConfigBody.properties) as (keyof typeof roomConfigBody.properties)[];

const track = {
  $id: 'Track',
  type: 'object',
  description: 'A track published by a peer',
  properties: { id: { type: 'string' }, type: { type: 'string', enum: ['audio', 'video'] }, metadata: anyJson },
} as const;

const peer = {
  $id: 'Peer',
  type: 'object',
  description: 'A peer of a room',
  properties: {
    id: { type: 'string', description: 'Assigned peer id' },
    type: { type: 'string', enum: ['webrtc', 'agent'] },
    status: { type: 'string', enum: ['connected', 'disconnected'], description: 'Whether its socket is connected' },
    tracks: { type: 'array', items: ref('Track') },
    metadata: anyJson,
    subscribeMode: { type: 'string', enum: ['auto', 'manual'] },
    subscriptions: {
      type: 'object',
      description: 'Manual subscriptions (subscribeMode manual)',
      properties: { peers: { type: 'array', items: { type: 'string' } }, tracks: { type: 'array', items: { type: 'string' } } },
    },
    permissions: {
      type: 'object',
      properties: { canPublish: { type: 'boolean' }, canSubscribe: { type: 'boolean' }, canPublishData: { type: 'boolean' } },
    },
  },
} as const;

const room = {
  $id: 'Room',
  type: 'object',
  description: 'A room: its effective configuration, components and peers',
  properties: {
    id: { type: 'string', description: 'Room id' },
    config: {
      type: 'object',
      description: 'The configuration in effect (all six Fishjam keys always present)',
      properties: {
        roomId: { type: 'string' },
        maxPeers: { type: ['integer', 'null'] },
        videoCodec: { type: ['string', 'null'] },
        webhookUrl: { type: ['string', 'null'] },
        peerlessPurgeTimeout: { type: ['integer', 'null'] },
        peerDisconnectedTimeout: { type: ['integer', 'null'] },
        roomType: { type: 'string' },
        public: { type: 'boolean' },
      },
    },
    components: { type: 'array', items: { type: 'object', additionalProperties: true } },
    peers: { type: 'array', items: ref('Peer') },
  },
} as const;

const peerOptions = {
  $id: 'PeerOptions',
  type: 'object',
  description: 'Options of a new peer; every field is optional',
  properties: {
    enableSimulcast: { type: 'boolean', description: 'Accept simulcast from this peer (default true)' },
    metadata: { type: ['object', 'null'], description: 'Initial server-side metadata (shown to others as metadata.server)' },
    subscribeMode: { type: 'string', enum: ['auto', 'manual'], description: 'auto: receive every track; manual: only subscribed ones' },
    canPublish: { type: 'boolean' },
    canSubscribe: { type: 'boolean' },
    canPublishData: { type: 'boolean' },
    // Checked by the route (its 400 names the allowed values), so the schema only documents it.
    output: {
      description:
        'Agent peers: the format of the room audio the agent hears, {audioFormat: "pcm16" (default) | "opus", audioSampleRate: 16000 (default) | 24000 | 48000}',
    },
  },
} as const;

export const addPeerBody = {
  $id: 'PeerConfig',
  type: 'object',
  description: 'Type and options of a new peer',
  properties: {
    type: { type: 'string', enum: ['webrtc', 'agent'] },
    options: ref('PeerOptions'),
  },
  required: ['type'],
} as const;

export const subscribeTracksBody = {
  $id: 'SubscribeTracksRequest',
  type: 'object',
  description: 'Track ids to subscribe to',
  properties: { track_ids: { type: 'array', items: { type: 'string' } } },
  required: ['track_ids'],
} as const;

export const roomIdParams = { type: 'object', properties: { room_id: { type: 'string', description: 'Room id' } } } as const;
export const peerParams = {
  type: 'object',
  properties: { room_id: { type: 'string', description: 'Room id' }, peer_id: { type: 'string', description: 'Peer id' } },
} as const;

const data = <T extends object>($id: SchemaId, description: string, schema: T) =>
  ({ $id, type: 'object', description, properties: { data: schema } }) as const;
const bareToken = ($id: SchemaId, description: string) =>
  ({ $id, type: 'object', description, properties: { token: { type: 'string' } } }) as const;

const responseSchemas = [
  data('RoomCreateDetailsResponse', 'The created room and the address of the instance hosting it', {
    type: 'object',
    properties: { room: ref('Room'), fishjam_address: { type: 'string', description: 'Host (no scheme) of the instance hosting the room' } },
  }),
  data('RoomDetailsResponse', 'A room', ref('Room')),
  data('RoomsListingResponse', 'All rooms of this instance', { type: 'array', items: ref('Room') }),
  data('PeerDetailsResponse', 'The new peer, its token and the socket address to give its client', {
    type: 'object',
    properties: {
      peer: ref('Peer'),
      token: { type: 'string', description: 'Peer token, for the client only' },
      peer_websocket_url: { type: 'string', description: 'Socket address (no scheme)' },
    },
  }),
  data('PeerRefreshTokenResponse', 'A new peer token', { type: 'object', properties: { token: { type: 'string' } } }),
  bareToken('ViewerToken', 'Livestream viewer token (not wrapped in data)'),
  bareToken('StreamerToken', 'Livestream streamer token (not wrapped in data)'),
  data('HealthcheckResponse', 'Server health', {
    type: 'object',
    properties: {
      status: { type: 'string', enum: ['UP', 'DOWN'] },
      uptime: { type: 'integer', description: 'Seconds since start' },
      distribution: {
        type: 'object',
        properties: {
          enabled: { type: 'boolean', description: 'True in a cluster (FJ_REDIS_URL)' },
          nodeStatus: { type: 'string', enum: ['UP', 'DOWN'], description: 'UP while this node holds its cluster lease' },
          nodesInCluster: { type: 'integer', description: 'Live nodes, this one included (0 when DOWN or single)' },
        },
      },
      version: { type: 'string' },
      gitCommit: { type: 'string' },
    },
  }),
] as const;

/** Every named schema, for app.addSchema before the routes are registered. */
export const SHARED_SCHEMAS = [errorBody, roomConfigBody, track, peer, room, peerOptions, addPeerBody, subscribeTracksBody, ...responseSchemas] as const;

export type SchemaId =
  | 'Error'
  | 'RoomConfig'
  | 'Track'
  | 'Peer'
  | 'Room'
  | 'PeerOptions'
  | 'PeerConfig'
  | 'SubscribeTracksRequest'
  | 'RoomCreateDetailsResponse'
  | 'RoomDetailsResponse'
  | 'RoomsListingResponse'
  | 'PeerDetailsResponse'
  | 'PeerRefreshTokenResponse'
  | 'ViewerToken'
  | 'StreamerToken'
  | 'HealthcheckResponse';

/** Error responses every authenticated route can give. */
export const UNAUTHORIZED = { 401: errorReply('Missing token or invalid token (the server API token)') } as const;
/** A POST while the server drains. */
export const DRAINING = { 503: errorReply('Shoal is shutting down') } as const;
