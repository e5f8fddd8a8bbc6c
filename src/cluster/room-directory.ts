// Which node owns which room, recorded in Redis: `room:<id>` → {node, epoch}, written by one Lua script so
// two concurrent claims of one id give exactly one winner (a claim held by a node whose registration has
// lapsed may be taken over). The epoch comes from one INCR counter and fences a release: only the claim
// with that epoch is deleted. Every Redis failure is a ClusterUnavailableError. It knows nothing of rooms'
// contents, of HTTP or of placement.
import type { RedisClient } from './redis-client.js';
import { KEY_PREFIX } from './registry-store.js';

export interface RoomClaim {
  node: string;
  epoch: number;
}

export type ClaimResult = { won: true; claim: RoomClaim } | { won: false; holder: RoomClaim };

export interface RoomDirectory {
  /** Claims `roomId` for `node`: won, or the claim that already holds it (by a node still registered). */
  claim(roomId: string, node: string): Promise<ClaimResult>;
  /** The claim on `roomId`, if any. */
  owner(roomId: string): Promise<RoomClaim | undefined>;
  /** The claim and its node's registration value (undefined once its lease lapsed), in one round trip. */
  ownerWithNode(roomId: string): Promise<{ claim: RoomClaim; registration: string | undefined } | undefined>;
  /** Deletes the claim on `roomId` only if it is still `claim` (node and epoch); true if it did. */
  release(roomId: string, claim: RoomClaim): Promise<boolean>;
  /** Up to `max` claims, by room id. */
  listAll(max: number): Promise<Map<string, RoomClaim>>;
}

const INDEX = `${KEY_PREFIX}rooms`;
const EPOCH = `${KEY_PREFIX}room-epoch`;
const NODE_PREFIX = `${KEY_PREFIX}node:`;
export const roomKey = (id: string) => `${KEY_PREFIX}room:${id}`;
/** Longest claim value read back (anything longer is treated as malformed). */
const MAX_CLAIM_BYTES = 512;

/** KEYS: room key, epoch counter, index. ARGV: node id, room id, node key prefix. Returns {1, value} won or {0, value} held. */
const CLAIM_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, held = pcall(cjson.decode, cur)
  if ok and type(held) == 'table' and type(held.node) == 'string' and redis.call('EXISTS', ARGV[3] .. held.node) == 1 then
    return {0, cur}
  end
end
local epoch = redis.call('INCR', KEYS[2])
local value = cjson.encode({node = ARGV[1], epoch = epoch})
redis.call('SET', KEYS[1], value)
redis.call('ZADD', KEYS[3], epoch, ARGV[2])
return {1, value}`;

/** KEYS: room key, index. ARGV: node id, epoch, room id. Returns 1 if deleted. */
const RELEASE_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, held = pcall(cjson.decode, cur)
if not ok or type(held) ~= 'table' or held.node ~= ARGV[1] or tostring(held.epoch) ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[3])
return 1`;

/** KEYS: room key. ARGV: node key prefix. Returns {} (no claim), {claim} or {claim, registration or false}. */
const OWNER_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if not cur then return {} end
local ok, held = pcall(cjson.decode, cur)
if not ok or type(held) ~= 'table' or type(held.node) ~= 'string' then return {cur} end
return {cur, redis.call('GET', ARGV[1] .. held.node)}`;

export function parseClaim(value: string | null | undefined): RoomClaim | undefined {
  if (typeof value !== 'string' || value.length > MAX_CLAIM_BYTES) return undefined;
  try {
    const v = JSON.parse(value);
    if (typeof v?.node === 'string' && v.node.length > 0 && Number.isSafeInteger(v.epoch) && v.epoch > 0) return { node: v.node, epoch: v.epoch };
  } catch {
    // malformed: no claim
  }
  return undefined;
}

export function redisRoomDirectory(client: RedisClient): RoomDirectory {
  return {
    claim: (roomId, node) =>
      client.run('room claim', async (r) => {
        const [won, value] = (await r.eval(CLAIM_SCRIPT, 3, roomKey(roomId), EPOCH, INDEX, node, roomId, NODE_PREFIX)) as [number, string];
        const claim = parseClaim(value);
        if (!claim) throw new Error(`malformed claim for room ${roomId}`);
        return won === 1 ? { won: true, claim } : { won: false, holder: claim };
      }),
    owner: (roomId) => client.run('room lookup', async (r) => parseClaim(await r.get(roomKey(roomId)))),
    ownerWithNode: (roomId) =>
      client.run('room lookup', async (r) => {
        const [value, registration] = (await r.eval(OWNER_SCRIPT, 1, roomKey(roomId), NODE_PREFIX)) as [string?, (string | null)?];
        const claim = parseClaim(value);
        return claim && { claim, registration: typeof registration === 'string' ? registration : undefined };
      }),
    release: (roomId, claim) =>
      client.run('room release', async (r) => Number(await r.eval(RELEASE_SCRIPT, 2, roomKey(roomId), INDEX, claim.node, String(claim.epoch), roomId)) === 1),
    listAll: (max) =>
      client.run('room listing', async (r) => {
        const ids = await r.zrange(INDEX, '0', String(Math.max(0, max - 1)));
        const out = new Map<string, RoomClaim>();
        if (ids.length === 0) return out;
        const values = await r.mget(ids.map(roomKey));
        ids.forEach((id, i) => {
          const c = parseClaim(values[i]);
          if (c) out.set(id, c);
        });
        return out;
      }),
  };
}
