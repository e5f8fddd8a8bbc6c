// REST routes for rooms: list, create, get, delete. Validation messages follow Fishjam's texts and
// field order; the RoomRegistry owns the rooms.
import type { FastifyInstance, FastifySchemaValidationError } from 'fastify';
import { badRequest } from '../../errors.js';
import type { RoomConfig, RoomType, VideoCodec } from '../../room/room-config.js';
import { ROOM_ID_MAX_LENGTH } from '../../room/room-registry.js';
import { AUTH, type ApiDeps } from '../api-deps.js';
import { DRAINING, ROOM_CONFIG_FIELDS, UNAUTHORIZED, errorReply, noContent, ref, jsonReply, roomConfigBody, roomIdParams } from '../schemas.js';

type RoomConfigBody = Partial<{
  roomId: string | null;
  maxPeers: number | null;
  videoCodec: VideoCodec | null;
  webhookUrl: string | null;
  peerlessPurgeTimeout: number | null;
  peerDisconnectedTimeout: number | null;
  roomType: RoomType | null;
  public: boolean | null;
}>;

/** How Elixir would interpolate the raw value into an error text. */
export function rawText(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function fieldError(field: string, body: Record<string, unknown>): string {
  const raw = rawText(body[field]);
  switch (field) {
    case 'roomId':
      return `Cannot add room with id "${raw}" - roomId may contain only alphanumeric characters, hyphens and underscores`;
    case 'maxPeers':
      return `Expected maxPeers to be a number, got: ${raw}`;
    case 'videoCodec':
      return `Expected videoCodec to be 'h264' or 'vp8', got: ${raw}`;
    case 'webhookUrl':
      return `Expected webhookUrl to be valid URL, got: ${raw}`;
    case 'peerlessPurgeTimeout':
    case 'peerDisconnectedTimeout':
      return `Expected ${field} to be a positive integer, got: ${raw}`;
    case 'roomType':
      return `Expected roomType to be one of ${roomConfigBody.properties.roomType.enum.filter(Boolean).join(', ')}, got: ${raw}`;
    case 'public':
      return `Expected public to be a boolean, got: ${raw}`;
    default:
      return 'Invalid request body structure';
  }
}

function validationMessage(errors: FastifySchemaValidationError[], body: Record<string, unknown>): string {
  const first = errors[0];
  const field = first?.instancePath.split('/')[1];
  if (field === 'roomId' && first?.keyword === 'maxLength') {
    return `Cannot add room with id "${rawText(body.roomId).slice(0, ROOM_ID_MAX_LENGTH)}..." - roomId may be at most ${ROOM_ID_MAX_LENGTH} characters long`;
  }
  if (field && (ROOM_CONFIG_FIELDS as string[]).includes(field)) return fieldError(field, body);
  return 'Invalid request body structure';
}

export async function roomRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { rooms, config } = deps;

  app.get('/room', { config: AUTH, schema: { tags: ['room'], operationId: 'get_all_rooms', summary: 'List rooms', response: { 200: jsonReply('RoomsListingResponse', 'All rooms'), ...UNAUTHORIZED } } }, async () => ({
    data: rooms.list().map((r) => r.toJSON()),
  }));

  app.post<{ Body: RoomConfigBody }>(
    '/room',
    {
      config: AUTH,
      attachValidation: true,
      schema: {
        tags: ['room'],
        operationId: 'create_room',
        summary: 'Create a room',
        body: ref('RoomConfig'),
        response: {
          201: jsonReply('RoomCreateDetailsResponse', 'Room created'),
          400: errorReply('Invalid room configuration, or a room with that id exists'),
          ...UNAUTHORIZED,
          ...DRAINING,
        },
      },
    },
    async (req, reply) => {
      const body = (req.body ?? {}) as RoomConfigBody & Record<string, unknown>;
      if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('Invalid request body structure');
      // No body (or JSON null) means all defaults; the schema only judges a body that was sent.
      if (req.validationError && req.body != null) throw badRequest(validationMessage(req.validationError.validation, body));
      const roomConfig: Omit<RoomConfig, 'roomId'> & { roomId: string | null } = {
        roomId: body.roomId ?? null,
        maxPeers: body.maxPeers ?? null,
        videoCodec: body.videoCodec ?? null,
        webhookUrl: body.webhookUrl ?? null,
        peerlessPurgeTimeout: body.peerlessPurgeTimeout ?? null,
        peerDisconnectedTimeout: body.peerDisconnectedTimeout ?? null,
        roomType: body.roomType ?? 'conference',
        public: body.public ?? false,
      };
      const room = rooms.create(roomConfig);
      reply.code(201);
      return { data: { room: room.toJSON(), fishjam_address: config.host } };
    },
  );

  app.get<{ Params: { room_id: string } }>(
    '/room/:room_id',
    {
      config: AUTH,
      schema: {
        tags: ['room'],
        operationId: 'get_room',
        summary: 'Get a room',
        params: roomIdParams,
        response: { 200: jsonReply('RoomDetailsResponse', 'The room'), 400: errorReply('Invalid room id'), ...UNAUTHORIZED, 404: errorReply('Room not found') },
      },
    },
    async (req) => ({ data: rooms.get(req.params.room_id).toJSON() }),
  );

  app.delete<{ Params: { room_id: string } }>(
    '/room/:room_id',
    {
      config: AUTH,
      schema: {
        tags: ['room'],
        operationId: 'delete_room',
        summary: 'Delete a room',
        params: roomIdParams,
        response: { 204: noContent('Room deleted'), 400: errorReply('Invalid room id'), ...UNAUTHORIZED, 404: errorReply('Room not found') },
      },
    },
    async (req, reply) => {
      rooms.delete(req.params.room_id);
      return reply.code(204).send();
    },
  );
}
