// Where node registrations live in Redis: one key per node (its JSON, SET … PX lease, so Redis's own
// clock ends a lapsed lease) and a sorted-set index of node ids scored by their last renewal, read newest
// first and bounded. Entries whose key has lapsed are pruned from the index on read. It stores strings
// only: what a registration means is node-registry.ts's business.
import type { RedisClient } from './redis-client.js';

export interface RegistryStore {
  /** Writes (or renews) one node's registration for `leaseMs`. */
  put(id: string, value: string, leaseMs: number): Promise<void>;
  /** The registrations whose lease has not lapsed, at most `max` (newest renewals first). */
  list(max: number): Promise<string[]>;
  /** Deletes one node's registration at once. */
  remove(id: string): Promise<void>;
}

export const KEY_PREFIX = 'shoal:cluster:';
const INDEX = `${KEY_PREFIX}nodes`;
const nodeKey = (id: string) => `${KEY_PREFIX}node:${id}`;

export function redisRegistryStore(client: RedisClient): RegistryStore {
  return {
    put: (id, value, leaseMs) =>
      client.run('node registration', async (r) => {
        const res = await r.multi().set(nodeKey(id), value, 'PX', leaseMs).zadd(INDEX, Date.now(), id).exec();
        const failed = res?.find(([err]) => err !== null);
        if (res === null || failed) throw failed?.[0] ?? new Error('transaction aborted');
      }),
    list: (max) =>
      client.run('node listing', async (r) => {
        const ids = await r.zrevrange(INDEX, 0, max - 1);
        if (ids.length === 0) return [];
        const values = await r.mget(ids.map(nodeKey));
        const lapsed = ids.filter((_, i) => values[i] === null);
        // Pruning is best effort: a node renewing between MGET and ZREM re-adds itself on its next renewal.
        if (lapsed.length > 0) await r.zrem(INDEX, ...lapsed).catch(() => 0);
        return values.filter((v): v is string => v !== null);
      }),
    remove: (id) =>
      client.run('node removal', async (r) => {
        await r.multi().del(nodeKey(id)).zrem(INDEX, id).exec();
      }),
  };
}
