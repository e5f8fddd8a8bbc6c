// Where a room's webhook URL is kept for the rest of the cluster: its owner writes it when the room is
// created (and again after a Redis restart), deletes it when the room ends, and the one survivor that
// reports a dead node's room crashed takes it (read and delete in one step), so that survivor can send
// the room's last webhook, RoomCrashed, exactly once. Every call is bounded and best effort: a failure is
// logged and never fails a REST call or a room. It knows no rooms, only ids and URLs.
import type { Logger } from '../log/logger.js';
import { KEY_PREFIX } from './registry-store.js';
import type { RedisClient } from './redis-client.js';

export const webhookKey = (roomId: string) => `${KEY_PREFIX}hook:${roomId}`;
/** Longest URL kept (the REST schema bounds it already; this bounds what Redis holds if that changes). */
const MAX_URL_LENGTH = 2048;
/** Most URLs written in one pipeline when they are all written again after a Redis restart. */
const BATCH = 256;

export class RoomWebhookUrls {
  constructor(
    private readonly redis: RedisClient,
    private readonly log: Logger,
  ) {}

  remember(roomId: string, url: string): void {
    if (url.length > MAX_URL_LENGTH) return;
    this.redis.run('room webhook url', (r) => r.set(webhookKey(roomId), url)).catch((err: Error) => this.log.warn({ roomId, err: err.message }, 'room webhook URL not stored; a crash of this node would send no RoomCrashed webhook'));
  }

  forget(roomId: string): void {
    this.redis.run('room webhook url', (r) => r.del(webhookKey(roomId))).catch((err: Error) => this.log.debug({ roomId, err: err.message }, 'room webhook URL not deleted'));
  }

  /** The URL of a room this node reports crashed, deleted as it is read (so only one node sends it). */
  async take(roomId: string): Promise<string | undefined> {
    try {
      return (await this.redis.run('room webhook url', (r) => r.getdel(webhookKey(roomId)))) ?? undefined;
    } catch (err) {
      this.log.warn({ roomId, err: (err as Error).message }, 'room webhook URL not read; its RoomCrashed webhook is not sent');
      return undefined;
    }
  }

  /** Writes every (room, URL) again, in bounded batches: Redis came back empty. */
  async rememberAll(entries: ReadonlyArray<readonly [string, string]>): Promise<void> {
    for (let i = 0; i < entries.length; i += BATCH) {
      const batch = entries.slice(i, i + BATCH).filter(([, url]) => url.length <= MAX_URL_LENGTH);
      try {
        await this.redis.run('room webhook urls', async (r) => {
          const p = r.pipeline();
          for (const [roomId, url] of batch) p.set(webhookKey(roomId), url);
          await p.exec();
        });
      } catch (err) {
        this.log.warn({ rooms: batch.length, err: (err as Error).message }, 'room webhook URLs not stored again');
        return;
      }
    }
  }
}
