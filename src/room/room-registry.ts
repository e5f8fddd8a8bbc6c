// All rooms of this instance, by id. Creates, finds and stops rooms; owns nothing inside a room.
import { randomUUID } from 'node:crypto';
import { badRequest, notFound } from '../errors.js';
import type { MediaPort } from './media-port.js';
import type { NotificationBus } from './notifications.js';
import type { RoomConfig } from './room-config.js';
import { Room } from './room.js';

export const ROOM_ID_PATTERN = /^[a-zA-Z0-9\-_]+$/;
/** Longest room id (the REST schema and the HTTP router use the same bound; longer URLs get 414). */
export const ROOM_ID_MAX_LENGTH = 100;

export class RoomRegistry {
  private readonly rooms = new Map<string, Room>();

  constructor(
    private readonly bus: NotificationBus,
    private readonly onError: (err: unknown, context: string) => void,
    private readonly media?: MediaPort,
    private readonly livestreamIdleTimeoutMs?: number,
  ) {}

  /** `config.roomId` may be empty: a UUID is generated. */
  create(config: Omit<RoomConfig, 'roomId'> & { roomId: string | null }): Room {
    const id = config.roomId ?? randomUUID();
    if (this.rooms.has(id)) throw badRequest(`Cannot add room with id "${config.roomId ?? ''}" - room already exists`);
    const room = new Room(id, { ...config, roomId: id }, this.bus, {
      onPurge: (r) => this.delete(r.id),
      onError: this.onError,
      media: this.media,
      livestreamIdleTimeoutMs: this.livestreamIdleTimeoutMs,
    });
    this.rooms.set(id, room);
    room.start();
    return room;
  }

  /** Throws Fishjam's 400 for malformed ids and 404 for unknown ones. */
  get(id: string): Room {
    if (id.length > ROOM_ID_MAX_LENGTH || !ROOM_ID_PATTERN.test(id)) throw badRequest(`Invalid room ID: ${id}`);
    const room = this.rooms.get(id);
    if (!room) throw notFound(`Room ${id} does not exist`);
    return room;
  }

  find(id: string): Room | undefined {
    return this.rooms.get(id);
  }

  delete(id: string): void {
    const room = this.get(id);
    this.rooms.delete(id);
    room.stop();
  }

  list(): Room[] {
    return [...this.rooms.values()];
  }

  stopAll(): void {
    for (const id of [...this.rooms.keys()]) this.delete(id);
  }
}
