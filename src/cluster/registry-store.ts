// Where node registrations live in Redis: one key per node (its JSON, SET … PX lease, so Redis's own
// clock ends a lapsed lease) and a sorted-set index of node ids scored by their last renewal, read newest
// first and bounded. Entries whose key has lapsed are pruned from the index on read. A registration is
// written by a script that refuses it when it reaches Redis more than the command timeout after it was
// sent (Redis TIME against this node's clock offset), so a write stuck behind a frozen link cannot bring
// a node back long after it gave up. It stores strings only: what they mean is node-registry.ts's business.
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

/** KEYS: node key, index. ARGV: value, lease ms, node id, latest Redis time (ms) it may run at. Returns Redis time, or 0 if too late. */
const PUT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now > tonumber(ARGV[4]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[3])
return now`;

/** Refused by PUT_SCRIPT: the registration reached Redis too late. */
export class LateWriteError extends Error {
  constructor() {
    super('registration reached Redis later than the command timeout and was refused');
    this.name = 'LateWriteError';
  }
}

export function redisRegistryStore(client: RedisClient, clock: () => number = () => performance.now()): RegistryStore {
  // Redis time minus this clock, a lower bound (the reply's arrival is after Redis read its clock), so the
  // deadline given to the script is never later than meant.
  let offset: number | undefined;
  const learn = (redisMs: number, replyAt: number) => {
    offset = redisMs - replyAt;
  };
  return {
    put: (id, value, leaseMs) =>
      client.run('node registration', async (r) => {
        if (offset === undefined) {
          const [sec, usec] = await r.time();
          learn(Number(sec) * 1000 + Math.floor(Number(usec) / 1000), clock());
        }
        const sentAt = clock();
        const notAfter = Math.floor(sentAt + offset! + client.commandTimeoutMs);
        const at = Number(await r.eval(PUT_SCRIPT, 2, nodeKey(id), INDEX, value, leaseMs, id, notAfter));
        if (at === 0) {
          offset = undefined; // re-learnt on the next try, in case this estimate was off
          throw new LateWriteError();
        }
        learn(at, clock());
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
