// Which node holds each WHIP/WHEP session (the resource id its Location names), kept in Redis with a TTL
// so a DELETE or PATCH that a load balancer sends to any node can be forwarded to the session's node.
// The node that creates a session writes it; a session that ends here deletes it (best effort: the TTL
// bounds what a lost delete leaves). Every call is bounded by the RedisClient; lookups reject with its
// ClusterUnavailableError. It knows no rooms or sessions, only ids.
import type { Logger } from '../log/logger.js';
import { KEY_PREFIX } from './registry-store.js';
import type { RedisClient } from './redis-client.js';

export const liveResourceKey = (id: string) => `${KEY_PREFIX}live:${id}`;
/** How long a session's node is remembered: longer than any livestream session is expected to last. */
export const LIVE_RESOURCE_TTL_S = 24 * 60 * 60;
/** Resource ids are UUIDs; anything else is never stored or looked up. */
const RESOURCE_ID = /^[0-9a-f-]{8,64}$/;

export const isResourceId = (id: string): boolean => RESOURCE_ID.test(id);

export class LiveResources {
  constructor(
    private readonly redis: RedisClient,
    private readonly log: Logger,
  ) {}

  /** Records that `nodeId` holds session `id`; resolves once written (or the write failed: logged). */
  async remember(id: string, nodeId: string): Promise<void> {
    if (!isResourceId(id)) return;
    try {
      await this.redis.run('live session node', (r) => r.set(liveResourceKey(id), nodeId, 'EX', LIVE_RESOURCE_TTL_S));
    } catch (err) {
      this.log.warn({ id, err: (err as Error).message }, 'WHIP/WHEP session node not stored; a DELETE/PATCH on another node gets 404');
    }
  }

  forget(id: string): void {
    if (!isResourceId(id)) return;
    this.redis.run('live session node', (r) => r.del(liveResourceKey(id))).catch((err: Error) => this.log.debug({ id, err: err.message }, 'WHIP/WHEP session node not deleted'));
  }

  /** The node holding session `id`, undefined when none is known; rejects with ClusterUnavailableError. */
  async owner(id: string): Promise<string | undefined> {
    if (!isResourceId(id)) return undefined;
    return (await this.redis.run('live session lookup', (r) => r.get(liveResourceKey(id)))) ?? undefined;
  }
}
