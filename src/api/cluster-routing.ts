// Cluster mode's REST routing, one preHandler hook: `POST /room` is placed on the least loaded live node
// (fewest forwarded tracks, then fewest rooms) and forwarded there, or claimed here before the route
// creates it; room-scoped calls for a room that is not local go to the node holding its claim; `GET /room`
// gathers every live node's rooms. Forwarded requests carry FORWARDED_HEADER and are always handled
// locally (loop guard). It holds no room state and never waits unbounded: the cluster (Redis) and the
// other nodes are reached through the ClusterRouting functions server.ts hands it.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { badRequest, notFound, unavailable } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { ROOM_ID_MAX_LENGTH, ROOM_ID_PATTERN, type RoomRegistry } from '../room/room-registry.js';
import { CLUSTER_UNAVAILABLE_TEXT, FORWARDED_HEADER, FORWARD_TIMEOUT_MS, isClusterUnavailable, requestNode, sendForwarded, type Forwarded } from './node-forwarding.js';

export { FORWARDED_HEADER, FORWARD_TIMEOUT_MS } from './node-forwarding.js';
/** Most nodes one POST /room is offered to, when the first ones refuse it. */
export const PLACEMENT_ATTEMPTS = 3;
/** Headers of a routed REST answer passed back. */
const ANSWER_HEADERS = ['content-type', 'retry-after', 'location'] as const;

export interface RoutingNode {
  id: string;
  apiUrl: string;
  load: { rooms: number; forwardedTracks: number };
  draining: boolean;
}

/** What the hook needs from the cluster; each call may reject with a ClusterUnavailableError (→ 503). */
export interface ClusterRouting {
  selfId: string;
  liveNodes(): Promise<RoutingNode[]>;
  /** Claims a room id for this node: false when another claim holds it. */
  claim(roomId: string): Promise<boolean>;
  /** Drops this node's claim (a create that did not happen); best effort. */
  release(roomId: string): void;
  /** The room's claim: the holding node's id, and the node itself while it is live; undefined if unclaimed. */
  owner(roomId: string): Promise<{ id: string; node: RoutingNode | undefined } | undefined>;
  forwardTimeoutMs?: number;
  /** True while this node drains (SIGTERM): it takes no new room, its rooms finish. */
  draining?: () => boolean;
  /** The registration lease: nodes renew (with fresh load) every lease/3. */
  leaseMs: number;
  /** Records that this node holds WHIP/WHEP session `id` (bounded; a failure is logged, never thrown). */
  rememberResource?(id: string): Promise<void>;
  /** Drops the record of a session that ended here; best effort. */
  forgetResource?(id: string): void;
  /** The node holding WHIP/WHEP session `id`, undefined if none is known. */
  resourceOwner?(id: string): Promise<string | undefined>;
}

/** The least loaded node for a new room: fewest forwarded tracks, then fewest rooms, then id. */
export function pickNode<T extends RoutingNode>(nodes: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const n of nodes) {
    if (n.draining) continue;
    if (!best) best = n;
    else if (n.load.forwardedTracks !== best.load.forwardedTracks) best = n.load.forwardedTracks < best.load.forwardedTracks ? n : best;
    else if (n.load.rooms !== best.load.rooms) best = n.load.rooms < best.load.rooms ? n : best;
    else if (n.id < best.id) best = n;
  }
  return best;
}

/**
 * Rooms placed on each node since its registration last reported its room count: registrations renew every
 * lease/3, so without this a burst of creates would all go to the node that looked least loaded.
 */
export class Placement {
  private readonly placed = new Map<string, { reported: number; extra: number; at: number }>();

  /** `memoryMs`: how long a placement is counted at most (a renewal interval plus a round trip: by then the node's own count has it). */
  constructor(
    private readonly memoryMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The least loaded node, counting the rooms placed on each since its last reported count. */
  pick<T extends RoutingNode>(nodes: readonly T[]): T | undefined {
    const view = nodes.map((n) => {
      const p = this.placed.get(n.id);
      const stale = p !== undefined && (p.reported !== n.load.rooms || this.now() - p.at > this.memoryMs);
      if (stale) this.placed.delete(n.id); // a fresh count includes them
      const extra = p && !stale ? p.extra : 0;
      return { node: n, id: n.id, apiUrl: n.apiUrl, draining: n.draining, load: { forwardedTracks: n.load.forwardedTracks, rooms: n.load.rooms + extra } };
    });
    for (const id of this.placed.keys()) if (!nodes.some((n) => n.id === id)) this.placed.delete(id);
    return pickNode(view)?.node;
  }

  /** Records one room created on `node` (as reported in the listing it was picked from). */
  record(node: RoutingNode): void {
    const p = this.placed.get(node.id);
    if (p && p.reported === node.load.rooms) {
      p.extra++;
      p.at = this.now();
    } else this.placed.set(node.id, { reported: node.load.rooms, extra: 1, at: this.now() });
  }

  /** Takes back a record(): the room was not created on `node` after all. */
  forget(node: RoutingNode): void {
    const p = this.placed.get(node.id);
    if (p && p.reported === node.load.rooms && p.extra > 0) p.extra--;
  }
}

/** How long a placement is counted locally: a renewal interval (lease/3) and one Redis round trip. */
export const placementMemoryMs = (leaseMs: number) => Math.ceil(leaseMs / 3) + 1000;

const CLAIMED = Symbol('shoal.claimedRoom');
const PLACED = Symbol('shoal.placedHere');
type ClaimedRequest = FastifyRequest & { [CLAIMED]?: string; [PLACED]?: RoutingNode };

export function registerClusterRouting(app: FastifyInstance, cluster: ClusterRouting, rooms: RoomRegistry, baseLog: Logger): void {
  const log = baseLog.child({ module: 'cluster-routing' });
  const timeoutMs = cluster.forwardTimeoutMs ?? FORWARD_TIMEOUT_MS;
  const placement = new Placement(placementMemoryMs(cluster.leaseMs));

  /** Runs a cluster call; Redis trouble becomes a 503 with a clear text, anything else is rethrown. */
  async function ask<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!isClusterUnavailable(err)) throw err;
      log.warn({ err: (err as Error).message }, 'cluster store unavailable');
      throw unavailable(CLUSTER_UNAVAILABLE_TEXT);
    }
  }

  /** Sends `req` on to `node` (bounded), its body as JSON: the answer, or why none came. */
  function send(node: RoutingNode, req: FastifyRequest): Promise<Forwarded> {
    const headers: Record<string, string> = { [FORWARDED_HEADER]: cluster.selfId, accept: 'application/json' };
    if (req.headers.authorization !== undefined) headers.authorization = req.headers.authorization;
    let body: string | undefined;
    if (req.method !== 'GET' && req.method !== 'DELETE' && req.body !== undefined && req.body !== null) {
      body = JSON.stringify(req.body);
      headers['content-type'] = 'application/json';
    }
    return requestNode(`${node.apiUrl}${req.url}`, { method: req.method, headers, body }, timeoutMs, log, { node: node.id, url: req.url });
  }

  const answer = (reply: FastifyReply, res: Extract<Forwarded, { ok: true }>) => sendForwarded(reply, res, ANSWER_HEADERS);

  async function forward(node: RoutingNode, req: FastifyRequest, reply: FastifyReply, failText: string): Promise<FastifyReply> {
    const res = await send(node, req);
    if (!res.ok) throw unavailable(failText);
    return answer(reply, res);
  }

  /**
   * Places a new room: on the least loaded node, forwarded there; a node that refuses it (503: draining,
   * fenced, Redis trouble) or refuses the connection is left out and the next one tried, at most
   * PLACEMENT_ATTEMPTS in all. A timeout is not retried (the room may exist there). Resolves undefined
   * when the room is to be created here (the route does it).
   */
  async function place(req: ClaimedRequest, reply: FastifyReply, draining: boolean): Promise<FastifyReply | undefined> {
    let candidates = await ask(() => cluster.liveNodes());
    if (draining) candidates = candidates.filter((n) => n.id !== cluster.selfId);
    let refused: { node: RoutingNode; res: Forwarded } | undefined;
    for (let attempt = 0; attempt < PLACEMENT_ATTEMPTS; attempt++) {
      const target = placement.pick(candidates);
      if (!target) break;
      // Counted at once, so concurrent creates through this node see it; taken back if no room came of it.
      placement.record(target);
      if (target.id === cluster.selfId) {
        req[PLACED] = target;
        return undefined;
      }
      const res = await send(target, req);
      if (res.ok && res.status === 201) return answer(reply, res);
      placement.forget(target);
      if (!(res.ok ? res.status === 503 : res.refused)) {
        if (res.ok) return answer(reply, res);
        throw unavailable(`Unable to reach Fishjam instance ${target.id}`);
      }
      log.info({ node: target.id, status: res.ok ? res.status : 'connection refused' }, 'placement: the node refused the room; trying another');
      refused = { node: target, res };
      candidates = candidates.filter((n) => n.id !== target.id);
    }
    if (refused?.res.ok) return answer(reply, refused.res);
    if (refused) throw unavailable(`Unable to reach Fishjam instance ${refused.node.id}`);
    if (draining) throw unavailable('Shoal is shutting down and no other node takes new rooms');
    return undefined;
  }

  /** Claims the id of the room the route is about to create here (generating one when none was given). */
  async function claimForCreate(req: ClaimedRequest): Promise<void> {
    if (req.validationError) return; // the route answers its 400
    if (req.body === undefined || req.body === null) req.body = {};
    const body = req.body as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) return;
    if (body.roomId === undefined || body.roomId === null) body.roomId = randomUUID();
    if (typeof body.roomId !== 'string') return;
    const id = body.roomId;
    if (!(await ask(() => cluster.claim(id)))) throw badRequest(`Cannot add room with id "${id}" - room already exists`);
    req[CLAIMED] = id;
  }

  async function listAll(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const nodes = await ask(() => cluster.liveNodes());
    const local = rooms.list().map((r) => r.toJSON());
    const remote = await Promise.all(
      nodes
        .filter((n) => n.id !== cluster.selfId)
        .map(async (n) => {
          try {
            const res = await fetch(`${n.apiUrl}/room`, {
              headers: { [FORWARDED_HEADER]: cluster.selfId, accept: 'application/json', authorization: req.headers.authorization ?? '' },
              signal: AbortSignal.timeout(timeoutMs),
            });
            const json = (await res.json()) as { data?: unknown };
            if (res.status !== 200 || !Array.isArray(json.data)) throw new Error(`status ${res.status}`);
            return json.data as unknown[];
          } catch (err) {
            log.warn({ node: n.id, err: (err as Error).message }, 'room listing: node left out');
            return [];
          }
        }),
    );
    return reply.send({ data: [...local, ...remote.flat()] });
  }

  app.addHook('preHandler', async (req: ClaimedRequest, reply) => {
    const route = req.routeOptions.url;
    if (route !== '/room' && !route?.startsWith('/room/:room_id')) return;
    const forwarded = req.headers[FORWARDED_HEADER] !== undefined;
    if (route === '/room') {
      if (req.method === 'GET') return forwarded ? undefined : listAll(req, reply);
      if (req.method !== 'POST') return;
      const draining = cluster.draining?.() === true;
      if (draining && forwarded) throw unavailable('Shoal is shutting down: this node takes no new rooms');
      if (!forwarded && !req.validationError) {
        const placed = await place(req, reply, draining);
        if (placed) return placed;
      }
      return claimForCreate(req);
    }
    if (forwarded) return;
    const id = (req.params as { room_id?: string }).room_id;
    if (id === undefined || id.length > ROOM_ID_MAX_LENGTH || !ROOM_ID_PATTERN.test(id) || rooms.find(id)) return;
    const owner = await ask(() => cluster.owner(id));
    if (owner === undefined || owner.id === cluster.selfId) return; // the route answers 404
    if (!owner.node) throw notFound(`Room ${id} does not exist`);
    return forward(owner.node, req, reply, `Unable to reach Fishjam instance holding room ${id}`);
  });

  // A claim whose create did not happen (refused by the route) is given back.
  app.addHook('onResponse', async (req: ClaimedRequest, reply) => {
    const id = req[CLAIMED];
    if (id !== undefined && reply.statusCode !== 201) cluster.release(id);
    const placed = req[PLACED];
    if (placed && reply.statusCode !== 201) placement.forget(placed);
  });
}
