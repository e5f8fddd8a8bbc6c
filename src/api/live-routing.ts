// Cluster mode's routing of the livestream HTTP paths (WHIP/WHEP, routes/live.ts): clients use one base
// URL, so an offer, a DELETE or a PATCH may land on any node. An offer with a streamer/viewer token another
// live node minted goes to that node; a public room's WHEP offer by stream id goes to the room's claim
// holder; DELETE/PATCH on a session this node does not have goes to the node Redis names for it (the node
// that creates a session records it). A preflight with another node's token gets that node's ICE-server
// Links (media goes to the owner). Requests and answers pass unchanged (raw SDP, Location, ETag, Link).
// Forwarded requests carry FORWARDED_HEADER and are handled locally. Every wait is bounded; failures are
// 404/503 with a clear text, never a 500. It holds no state and never touches a room.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { VerifyResult } from '../auth/peer-token.js';
import type { Logger } from '../log/logger.js';
import { ROOM_ID_MAX_LENGTH, ROOM_ID_PATTERN, type RoomRegistry } from '../room/room-registry.js';
import type { ClusterRouting, RoutingNode } from './cluster-routing.js';
import { CLUSTER_UNAVAILABLE_TEXT, FORWARDED_HEADER, FORWARD_TIMEOUT_MS, isClusterUnavailable, requestNode, sendForwarded, type Forwarded } from './node-forwarding.js';
import { logRefusal } from './refusal-log.js';
import { LIVE_PREFIX } from './routes/live.js';

const OFFER_ROUTES = new Set([`${LIVE_PREFIX}/whip`, `${LIVE_PREFIX}/whep`, `${LIVE_PREFIX}/whep/:stream_id`]);
const RESOURCE_ROUTES = new Set([`${LIVE_PREFIX}/whip/:id`, `${LIVE_PREFIX}/whep/:id`]);
/** Request headers a forwarded livestream request keeps (besides the loop guard). */
const REQUEST_HEADERS = ['authorization', 'content-type', 'accept', 'if-match'] as const;
/** Answer headers passed back unchanged. */
const ANSWER_HEADERS = ['content-type', 'location', 'etag', 'link', 'allow', 'retry-after'] as const;
const RESOURCE_ID_MAX_LENGTH = 64;
const PROXIED = Symbol('shoal.liveProxied');
type LiveRequest = FastifyRequest & { [PROXIED]?: true };

/** Thrown inside the hook: answered with `status` and `{errors: text}` (the livestream routes' body shape). */
class LiveRouteError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function registerLiveRouting(app: FastifyInstance, cluster: ClusterRouting, rooms: RoomRegistry, verify: (token: string) => VerifyResult, baseLog: Logger): void {
  const log = baseLog.child({ module: 'live-routing' });
  const timeoutMs = cluster.forwardTimeoutMs ?? FORWARD_TIMEOUT_MS;

  async function ask<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!isClusterUnavailable(err)) throw err;
      log.warn({ err: (err as Error).message }, 'cluster store unavailable');
      throw new LiveRouteError(503, CLUSTER_UNAVAILABLE_TEXT);
    }
  }

  const liveNode = async (id: string): Promise<RoutingNode | undefined> => (await ask(() => cluster.liveNodes())).find((n) => n.id === id);

  /** The claims of a valid token another node minted (undefined: no token, this node's token, or not valid at all). */
  const foreignClaims = (req: FastifyRequest) => {
    const header = req.headers.authorization;
    if (header === undefined || !header.startsWith('Bearer ')) return undefined;
    const token = header.slice('Bearer '.length).trim();
    if (token === '') return undefined;
    const v = verify(token);
    return !v.ok && v.foreign && v.foreign.nodeId !== cluster.selfId ? v.foreign : undefined;
  };

  /** Sends `req` to `node` unchanged, its raw body included (bounded): the answer, or why none came. */
  function send(node: RoutingNode, req: FastifyRequest, method = req.method): Promise<Forwarded> {
    const headers: Record<string, string> = { [FORWARDED_HEADER]: cluster.selfId };
    for (const h of REQUEST_HEADERS) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    const body = method !== 'GET' && method !== 'DELETE' && method !== 'OPTIONS' && typeof req.body === 'string' ? req.body : undefined;
    return requestNode(`${node.apiUrl}${req.url}`, { method, headers, body }, timeoutMs, log, { node: node.id, route: req.routeOptions.url });
  }

  async function forward(node: RoutingNode, req: LiveRequest, reply: FastifyReply, failText: string): Promise<FastifyReply> {
    const res = await send(node, req);
    if (!res.ok) throw new LiveRouteError(503, failText);
    req[PROXIED] = true;
    return sendForwarded(reply, res, ANSWER_HEADERS);
  }

  /** Whether a session `id` lives on this node. */
  const localSession = (id: string) => rooms.list().some((room) => room.livestream.find(id) !== undefined);

  /** The node to forward this request to, or undefined to handle it here. */
  async function route(req: LiveRequest, reply: FastifyReply, pattern: string): Promise<FastifyReply | undefined> {
    if (OFFER_ROUTES.has(pattern) && req.method === 'POST') {
      const claims = foreignClaims(req);
      if (claims) {
        const node = await liveNode(claims.nodeId);
        if (!node) throw new LiveRouteError(404, 'Stream not found');
        return forward(node, req, reply, `Unable to reach Fishjam instance holding room ${claims.roomId}`);
      }
      const streamId = (req.params as { stream_id?: string }).stream_id;
      if (streamId === undefined || req.headers.authorization !== undefined) return undefined;
      if (streamId.length > ROOM_ID_MAX_LENGTH || !ROOM_ID_PATTERN.test(streamId) || rooms.find(streamId)) return undefined;
      const owner = await ask(() => cluster.owner(streamId));
      if (owner === undefined || owner.id === cluster.selfId) return undefined; // the route answers as today
      if (!owner.node) throw new LiveRouteError(404, 'Stream not found');
      return forward(owner.node, req, reply, `Unable to reach Fishjam instance holding room ${streamId}`);
    }
    if (RESOURCE_ROUTES.has(pattern) && (req.method === 'DELETE' || req.method === 'PATCH') && cluster.resourceOwner) {
      const id = (req.params as { id?: string }).id;
      if (id === undefined || id.length > RESOURCE_ID_MAX_LENGTH || localSession(id)) return undefined;
      const lookup = cluster.resourceOwner;
      const holder = await ask(() => lookup(id));
      if (holder === undefined || holder === cluster.selfId) return undefined; // 404 as today
      const node = await liveNode(holder);
      if (!node) throw new LiveRouteError(404, 'No such WHIP/WHEP session');
      return forward(node, req, reply, `Unable to reach Fishjam instance ${holder} holding WHIP/WHEP session ${id}`);
    }
    return undefined;
  }

  app.addHook('preHandler', async (req: LiveRequest, reply) => {
    const pattern = req.routeOptions.url;
    if (pattern === undefined || !pattern.startsWith(LIVE_PREFIX) || req.headers[FORWARDED_HEADER] !== undefined) return;
    try {
      return await route(req, reply, pattern);
    } catch (err) {
      if (!(err instanceof LiveRouteError)) throw err;
      logRefusal(log, req, err.status, err.message);
      return reply.code(err.status).type('application/json').send(JSON.stringify({ errors: err.message }));
    }
  });

  app.addHook('onSend', async (req: LiveRequest, reply, payload) => {
    const pattern = req.routeOptions.url;
    if (pattern === undefined || !pattern.startsWith(LIVE_PREFIX) || req[PROXIED]) return payload;
    // A session created here: recorded, so a DELETE/PATCH landing on any node reaches it.
    if (req.method === 'POST' && reply.statusCode === 201 && OFFER_ROUTES.has(pattern)) {
      const location = reply.getHeader('location');
      const id = typeof location === 'string' ? location.slice(location.lastIndexOf('/') + 1) : '';
      if (id !== '' && cluster.rememberResource) await cluster.rememberResource(id);
    } else if (req.method === 'DELETE' && reply.statusCode === 200 && RESOURCE_ROUTES.has(pattern)) {
      cluster.forgetResource?.((req.params as { id: string }).id);
    } else if (req.method === 'OPTIONS' && req.headers[FORWARDED_HEADER] === undefined && OFFER_ROUTES.has(pattern)) {
      // Another node's token: that node's TURN servers (media goes there), when it answers in time.
      const claims = foreignClaims(req);
      const node = claims && (await liveNode(claims.nodeId).catch(() => undefined));
      const res = node && (await send(node, req, 'OPTIONS'));
      const links = res && res.ok ? res.headers.get('link') : undefined;
      if (links) reply.header('link', links);
    }
    return payload;
  });
}
