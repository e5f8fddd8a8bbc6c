// Which node owns which room, recorded in Redis: `room:<id>` → {node, epoch}, written by one Lua script so
// two concurrent claims of one id give exactly one winner (a claim held by a node whose registration has
// lapsed may be taken over). The epoch comes from one INCR counter and fences a release: only the claim
// with that epoch is deleted. Each node's claims are also indexed per node (a set per node, and a set of the
// nodes holding claims), so the claims of a node whose lease lapsed are found and reaped without a scan.
// Every Redis failure is a ClusterUnavailableError. It knows nothing of rooms' contents, of HTTP or of placement.
import type { RedisClient } from './redis-client.js';
import { KEY_PREFIX } from './registry-store.js';

export interface RoomClaim {
  node: string;
  epoch: number;
}

/** `tookOver`: the claim of an unregistered node (a lapsed lease) this claim replaced; that room has crashed. */
/** `lapsed`: the holder's lease lapsed less than the grace ago (it may still be stopping its rooms). */
export type ClaimResult = { won: true; claim: RoomClaim; tookOver?: RoomClaim } | { won: false; holder: RoomClaim; lapsed?: boolean };

export interface ClaimOptions {
  /** Take over a lapsed node's claim only once it has been seen lapsed this long (Redis time); default: at once. */
  lapsedGraceMs?: number;
}

export interface RoomDirectory {
  /** Claims `roomId` for `node`: won, or the claim that already holds it (by a node still registered). */
  claim(roomId: string, node: string, options?: ClaimOptions): Promise<ClaimResult>;
  /** The claim on `roomId`, if any. */
  owner(roomId: string): Promise<RoomClaim | undefined>;
  /** The claim and its node's registration value (undefined once its lease lapsed), in one round trip. */
  ownerWithNode(roomId: string): Promise<{ claim: RoomClaim; registration: string | undefined } | undefined>;
  /** Deletes the claim on `roomId` only if it is still `claim` (node and epoch); true if it did. */
  release(roomId: string, claim: RoomClaim): Promise<boolean>;
  /** Up to `max` claims, by room id. */
  listAll(max: number): Promise<Map<string, RoomClaim>>;
  /**
   * Removes up to `maxClaims` claims of nodes whose registration has been gone for at least `graceMs` (Redis
   * time, from the first call that saw it gone) and returns their room ids. Atomic: each claim is returned
   * to exactly one caller across the cluster.
   */
  reapLapsed(graceMs: number, maxClaims: number): Promise<string[]>;
}

export interface NodeClaimsReaper {
  /** Removes up to `max` claims `node` holds except those in `keep` (a fresh run's leftovers); returns their ids. */
  reapNode(node: string, max: number, keep: readonly string[]): Promise<string[]>;
  /** Up to `max` nodes that hold claims but are not registered (their lease lapsed). */
  lapsedClaimNodes(max: number): Promise<string[]>;
  /** If `node` is (still) not registered, removes up to `max` of its claims at once (no grace); their ids. */
  reapUnregistered(node: string, max: number): Promise<string[]>;
}

const INDEX = `${KEY_PREFIX}rooms`;
const EPOCH = `${KEY_PREFIX}room-epoch`;
const NODE_PREFIX = `${KEY_PREFIX}node:`;
/** A set of room ids per node, and the set of nodes that hold any claim. */
const NODE_ROOMS_PREFIX = `${KEY_PREFIX}node-rooms:`;
const CLAIM_NODES = `${KEY_PREFIX}claim-nodes`;
/** When a reaper first saw a node with claims unregistered (Redis time, ms). */
const LAPSED_PREFIX = `${KEY_PREFIX}lapsed:`;
/** Most nodes one reap call looks at. */
const MAX_REAP_NODES = 64;
export const roomKey = (id: string) => `${KEY_PREFIX}room:${id}`;
/** Longest claim value read back (anything longer is treated as malformed). */
const MAX_CLAIM_BYTES = 512;

/**
 * KEYS: room key, epoch counter, index, claim-nodes set. ARGV: node id, room id, node key prefix, node-rooms
 * prefix, lapsed prefix, grace ms (-1: none). Returns {1, value[, replaced value]} won, {0, value} held, or
 * {2, value} held by a node seen lapsed for less than the grace (the first look marks it, as the reaper does).
 */
const CLAIM_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, held = pcall(cjson.decode, cur)
  if ok and type(held) == 'table' and type(held.node) == 'string' then
    if redis.call('EXISTS', ARGV[3] .. held.node) == 1 then return {0, cur} end
    local grace = tonumber(ARGV[6])
    if grace >= 0 then
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      local since = redis.call('GET', ARGV[5] .. held.node)
      if not since then
        redis.call('SET', ARGV[5] .. held.node, string.format('%.0f', now), 'PX', 600000)
        return {2, cur}
      end
      if now - tonumber(since) < grace then return {2, cur} end
    end
    redis.call('SREM', ARGV[4] .. held.node, ARGV[2])
  end
end
local epoch = redis.call('INCR', KEYS[2])
local value = cjson.encode({node = ARGV[1], epoch = epoch})
redis.call('SET', KEYS[1], value)
redis.call('ZADD', KEYS[3], epoch, ARGV[2])
redis.call('SADD', ARGV[4] .. ARGV[1], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[1])
if cur then return {1, value, cur} end
return {1, value}`;

/** KEYS: room key, index. ARGV: node id, epoch, room id, node-rooms prefix. Returns 1 if deleted. */
const RELEASE_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, held = pcall(cjson.decode, cur)
if not ok or type(held) ~= 'table' or held.node ~= ARGV[1] or tostring(held.epoch) ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('SREM', ARGV[4] .. ARGV[1], ARGV[3])
return 1`;

/** Lua prelude of the reap scripts: take(prefix, index, id, node, out) deletes the claim on room `id` (key
 * prefix .. id) and its index entry if `node` still holds it, and appends `id` to `out`. */
const TAKE_CLAIM_LUA = `
local function take(prefix, index, id, node, out)
  local cur = redis.call('GET', prefix .. id)
  if not cur then return end
  local ok, held = pcall(cjson.decode, cur)
  if ok and type(held) == 'table' and held.node == node then
    redis.call('DEL', prefix .. id)
    redis.call('ZREM', index, id)
    out[#out + 1] = id
  end
end`;

/**
 * KEYS: claim-nodes set, index. ARGV: node key prefix, node-rooms prefix, room key prefix, lapsed prefix,
 * grace ms, max nodes, max claims. For each node holding claims: registered → its lapse mark is cleared
 * (and it leaves the set if it holds nothing); unregistered → marked with the Redis time on first sight,
 * and once marked for the grace its claims are taken (SPOP: each once) and deleted if still its own.
 */
const REAP_SCRIPT = `${TAKE_CLAIM_LUA}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local budget = tonumber(ARGV[7])
local out = {}
for _, node in ipairs(redis.call('SRANDMEMBER', KEYS[1], tonumber(ARGV[6]))) do
  local mark = ARGV[4] .. node
  local set = ARGV[2] .. node
  if redis.call('EXISTS', ARGV[1] .. node) == 1 then
    redis.call('DEL', mark)
    if redis.call('SCARD', set) == 0 then redis.call('SREM', KEYS[1], node) end
  else
    local since = redis.call('GET', mark)
    if not since then
      redis.call('SET', mark, string.format('%.0f', now), 'PX', 600000)
    elseif now - tonumber(since) >= tonumber(ARGV[5]) and budget > 0 then
      for _, id in ipairs(redis.call('SPOP', set, budget)) do
        budget = budget - 1
        take(ARGV[3], KEYS[2], id, node, out)
      end
      if redis.call('SCARD', set) == 0 then
        redis.call('SREM', KEYS[1], node)
        redis.call('DEL', mark)
      end
    end
  end
end
return out`;

/** KEYS: room key. ARGV: node key prefix. Returns {} (no claim), {claim} or {claim, registration or false}. */
const OWNER_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if not cur then return {} end
local ok, held = pcall(cjson.decode, cur)
if not ok or type(held) ~= 'table' or type(held.node) ~= 'string' then return {cur} end
return {cur, redis.call('GET', ARGV[1] .. held.node)}`;

/** KEYS: node-rooms set, index. ARGV: node id, room key prefix, max, kept ids…. Returns the ids deleted. */
const REAP_NODE_SCRIPT = `${TAKE_CLAIM_LUA}
local keep = {}
for i = 4, #ARGV do keep[ARGV[i]] = true end
local out = {}
for _, id in ipairs(redis.call('SPOP', KEYS[1], tonumber(ARGV[3]))) do
  if keep[id] then
    redis.call('SADD', KEYS[1], id)
  else
    take(ARGV[2], KEYS[2], id, ARGV[1], out)
  end
end
return out`;

/** KEYS: claim-nodes set. ARGV: node key prefix, max. Returns the unregistered nodes among up to max. */
const LAPSED_NODES_SCRIPT = `
local out = {}
for _, node in ipairs(redis.call('SRANDMEMBER', KEYS[1], tonumber(ARGV[2]))) do
  if redis.call('EXISTS', ARGV[1] .. node) == 0 then out[#out + 1] = node end
end
return out`;

/** KEYS: node-rooms set, index, claim-nodes set. ARGV: node id, room key prefix, max, node key prefix, lapsed prefix. */
const REAP_UNREGISTERED_SCRIPT = `${TAKE_CLAIM_LUA}
if redis.call('EXISTS', ARGV[4] .. ARGV[1]) == 1 then return {} end
local out = {}
for _, id in ipairs(redis.call('SPOP', KEYS[1], tonumber(ARGV[3]))) do
  take(ARGV[2], KEYS[2], id, ARGV[1], out)
end
if redis.call('SCARD', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[3], ARGV[1])
  redis.call('DEL', ARGV[5] .. ARGV[1])
end
return out`;

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

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

export function redisRoomDirectory(client: RedisClient): RoomDirectory & NodeClaimsReaper {
  return {
    claim: (roomId, node, options) =>
      client.run('room claim', async (r) => {
        const grace = options?.lapsedGraceMs === undefined ? '-1' : String(Math.max(0, Math.floor(options.lapsedGraceMs)));
        const [won, value, replaced] = (await r.eval(CLAIM_SCRIPT, 4, roomKey(roomId), EPOCH, INDEX, CLAIM_NODES, node, roomId, NODE_PREFIX, NODE_ROOMS_PREFIX, LAPSED_PREFIX, grace)) as [number, string, string?];
        const claim = parseClaim(value);
        if (!claim) throw new Error(`malformed claim for room ${roomId}`);
        if (won === 2) return { won: false, holder: claim, lapsed: true };
        if (won !== 1) return { won: false, holder: claim };
        const tookOver = parseClaim(replaced);
        return tookOver ? { won: true, claim, tookOver } : { won: true, claim };
      }),
    owner: (roomId) => client.run('room lookup', async (r) => parseClaim(await r.get(roomKey(roomId)))),
    ownerWithNode: (roomId) =>
      client.run('room lookup', async (r) => {
        const [value, registration] = (await r.eval(OWNER_SCRIPT, 1, roomKey(roomId), NODE_PREFIX)) as [string?, (string | null)?];
        const claim = parseClaim(value);
        return claim && { claim, registration: typeof registration === 'string' ? registration : undefined };
      }),
    release: (roomId, claim) =>
      client.run('room release', async (r) => Number(await r.eval(RELEASE_SCRIPT, 2, roomKey(roomId), INDEX, claim.node, String(claim.epoch), roomId, NODE_ROOMS_PREFIX)) === 1),
    reapLapsed: (graceMs, maxClaims) =>
      client.run('room reaping', async (r) => {
        const args = [NODE_PREFIX, NODE_ROOMS_PREFIX, roomKey(''), LAPSED_PREFIX, String(Math.max(0, Math.floor(graceMs))), String(MAX_REAP_NODES), String(Math.max(1, Math.floor(maxClaims)))];
        const ids = (await r.eval(REAP_SCRIPT, 2, CLAIM_NODES, INDEX, ...args)) as unknown;
        return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
      }),
    lapsedClaimNodes: (max) =>
      client.run('room reaping', async (r) => strings(await r.eval(LAPSED_NODES_SCRIPT, 1, CLAIM_NODES, NODE_PREFIX, String(Math.max(1, Math.floor(max)))))),
    reapUnregistered: (node, max) =>
      client.run('room reaping', async (r) =>
        strings(await r.eval(REAP_UNREGISTERED_SCRIPT, 3, NODE_ROOMS_PREFIX + node, INDEX, CLAIM_NODES, node, roomKey(''), String(Math.max(1, Math.floor(max))), NODE_PREFIX, LAPSED_PREFIX)),
      ),
    reapNode: (node, max, keep) =>
      client.run('room reaping', async (r) => {
        const ids = (await r.eval(REAP_NODE_SCRIPT, 2, NODE_ROOMS_PREFIX + node, INDEX, node, roomKey(''), String(Math.max(1, Math.floor(max))), ...keep)) as unknown;
        return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
      }),
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
