// JSON schemas of the REST API: they validate request bodies and generate /openapi.json.
// Field order in `roomConfigBody` is the order in which Fishjam reports the first invalid field.
import { ROOM_TYPES } from '../room/room-config.js';
import { ROOM_ID_MAX_LENGTH } from '../room/room-registry.js';

export const anyJson = { description: 'Any JSON value' } as const;

export const errorBody = {
  type: 'object',
  properties: { errors: { type: 'string' } },
  required: ['errors'],
} as const;

export const roomConfigBody = {
  type: 'object',
  properties: {
    roomId: { type: ['string', 'null'], pattern: '^[a-zA-Z0-9\\-_]+$', maxLength: ROOM_ID_MAX_LENGTH, description: `Custom id (alphanumerics, hyphens, underscores; at most ${ROOM_ID_MAX_LENGTH} characters)` },
    maxPeers: { type: ['integer', 'null'], minimum: 0, description: 'Peer limit; disconnected peers count' },
    videoCodec: { type: ['string', 'null'], enum: ['h264', 'vp8', null] },
    webhookUrl: { type: ['string', 'null'], format: 'webhook-url', description: 'URL with scheme, host and path' },
    peerlessPurgeTimeout: { type: ['integer', 'null'], minimum: 1, description: 'Seconds without connected peers before the room is removed' },
    peerDisconnectedTimeout: { type: ['integer', 'null'], minimum: 1, description: 'Seconds a disconnected peer is kept' },
    roomType: { type: ['string', 'null'], enum: [...ROOM_TYPES, null] },
    public: { type: ['boolean', 'null'] },
  },
} as const;

export const ROOM_CONFIG_FIELDS = Object.keys(roomConfigBody.properties) as (keyof typeof roomConfigBody.properties)[];

const trackJson = {
  type: 'object',
  properties: { id: { type: 'string' }, type: { type: 'string', enum: ['audio', 'video'] }, metadata: anyJson },
} as const;

export const peerJson = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    type: { type: 'string', enum: ['webrtc', 'agent'] },
    status: { type: 'string', enum: ['connected', 'disconnected'] },
    tracks: { type: 'array', items: trackJson },
    metadata: anyJson,
    subscribeMode: { type: 'string', enum: ['auto', 'manual'] },
    subscriptions: {
      type: 'object',
      properties: { peers: { type: 'array', items: { type: 'string' } }, tracks: { type: 'array', items: { type: 'string' } } },
    },
    permissions: {
      type: 'object',
      properties: { canPublish: { type: 'boolean' }, canSubscribe: { type: 'boolean' }, canPublishData: { type: 'boolean' } },
    },
  },
} as const;

export const roomJson = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    config: {
      type: 'object',
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
    peers: { type: 'array', items: peerJson },
  },
} as const;

export const addPeerBody = {
  type: 'object',
  properties: {
    type: { type: 'string', enum: ['webrtc', 'agent'] },
    options: {
      type: 'object',
      properties: {
        enableSimulcast: { type: 'boolean' },
        metadata: { type: ['object', 'null'], description: "Initial server-side metadata (shown to others as metadata.server)" },
        subscribeMode: { type: 'string', enum: ['auto', 'manual'] },
        canPublish: { type: 'boolean' },
        canSubscribe: { type: 'boolean' },
        canPublishData: { type: 'boolean' },
      },
    },
  },
  required: ['type'],
} as const;

export const subscribeTracksBody = {
  type: 'object',
  properties: { track_ids: { type: 'array', items: { type: 'string' } } },
  required: ['track_ids'],
} as const;

export const roomIdParams = { type: 'object', properties: { room_id: { type: 'string' } } } as const;
export const peerParams = { type: 'object', properties: { room_id: { type: 'string' }, peer_id: { type: 'string' } } } as const;

const data = <T extends object>(schema: T) => ({ type: 'object', properties: { data: schema } }) as const;

export const responses = {
  roomCreated: data({ type: 'object', properties: { room: roomJson, fishjam_address: { type: 'string' } } }),
  room: data(roomJson),
  rooms: data({ type: 'array', items: roomJson }),
  peerCreated: data({
    type: 'object',
    properties: { peer: peerJson, token: { type: 'string' }, peer_websocket_url: { type: 'string' } },
  }),
  token: data({ type: 'object', properties: { token: { type: 'string' } } }),
  bareToken: { type: 'object', properties: { token: { type: 'string' } } },
  health: data({
    type: 'object',
    properties: {
      status: { type: 'string' },
      uptime: { type: 'integer' },
      distribution: {
        type: 'object',
        properties: { enabled: { type: 'boolean' }, nodeStatus: { type: 'string' }, nodesInCluster: { type: 'integer' } },
      },
      version: { type: 'string' },
      gitCommit: { type: 'string' },
    },
  }),
  empty: { type: 'null', description: 'No content' },
  error: errorBody,
} as const;
