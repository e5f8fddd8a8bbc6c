// Logs the REST API's refusals, one line each: 401s at warn, every other 4xx (and 503) at info, unknown
// routes at debug — method, route pattern, status, reason, room/peer ids and the client address. It must
// never log a header value, a request body or a query string (a token may be in any of them).
import type { FastifyRequest } from 'fastify';
import type { Logger } from '../log/logger.js';

/** The error text without the echoed request value (`..., got: <raw>` may hold anything the client sent). */
export function loggableReason(reason: unknown): string {
  const text = typeof reason === 'string' ? reason : JSON.stringify(reason);
  const cut = text.indexOf(', got: ');
  return (cut < 0 ? text : `${text.slice(0, cut)} (value not logged)`).slice(0, 300);
}

export function logRefusal(log: Logger, req: FastifyRequest, status: number, reason: unknown): void {
  const route = req.routeOptions.url;
  const level = route === undefined ? 'debug' : status === 401 ? 'warn' : 'info';
  if (!log.isLevelEnabled(level)) return;
  const params = (req.params ?? {}) as { room_id?: unknown; peer_id?: unknown };
  log[level](
    {
      method: req.method,
      route: route ?? req.url.split('?')[0].slice(0, 200),
      status,
      reason: loggableReason(reason),
      ...(typeof params.room_id === 'string' ? { roomId: params.room_id } : {}),
      ...(typeof params.peer_id === 'string' ? { peerId: params.peer_id } : {}),
      ip: req.ip,
    },
    route === undefined ? 'REST request to an unknown route' : 'REST request refused',
  );
}
