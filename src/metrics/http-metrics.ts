// REST request metrics: a latency histogram by method, route pattern and status, and Fishjam's HTTP traffic
// byte counters. instrumentHttp(app, http) adds the fastify onResponse hook that feeds them (the server
// calls it once, after building the app and before listening); observe() is the same entry for anything
// else that serves HTTP. Labels are bounded: the route is the pattern a request matched (`/room/:room_id`,
// never the raw URL; `unmatched` for 404s), the method one of a fixed list, the status a number.
// What it must not do: label by anything a client chooses freely (URL, header), or read request bodies.
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';

export interface HttpObservation {
  method: string;
  /** The route pattern the request matched; undefined if none did. */
  route: string | undefined;
  status: number;
  seconds: number;
  /** Bytes received: request line, headers and body. */
  requestBytes: number;
  /** Bytes sent: status line, headers and body. */
  responseBytes: number;
}

export interface HttpMetrics {
  observe(o: HttpObservation): void;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
export const UNMATCHED_ROUTE = 'unmatched';

export function createHttpMetrics(registry: Registry): HttpMetrics {
  const duration = new Histogram({
    name: 'shoal_http_request_duration_seconds',
    help: 'REST requests by method, route pattern and status, and how long they took (its _count counts requests)',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const ingress = new Counter({ name: 'fishjam_traffic_ingress_http_total_bytes', help: 'HTTP traffic received (REST requests: head and body)', registers: [registry] });
  const egress = new Counter({ name: 'fishjam_traffic_egress_http_total_bytes', help: 'HTTP traffic sent (REST responses: head and body)', registers: [registry] });
  ingress.inc(0);
  egress.inc(0);
  return {
    observe(o) {
      const method = METHODS.has(o.method) ? o.method : 'other';
      duration.observe({ method, route: o.route ?? UNMATCHED_ROUTE, status_code: String(o.status) }, Math.max(0, o.seconds));
      ingress.inc(Math.max(0, o.requestBytes));
      egress.inc(Math.max(0, o.responseBytes));
    },
  };
}

const instrumented = new WeakSet<FastifyInstance>();

/** Feeds `http` from every response `app` sends (idempotent per app; call before app.listen). */
export function instrumentHttp(app: FastifyInstance, http: HttpMetrics): void {
  if (instrumented.has(app)) return;
  instrumented.add(app);
  app.addHook('onResponse', (req, reply, done) => {
    http.observe({
      method: req.method,
      route: req.routeOptions.url,
      status: reply.statusCode,
      seconds: reply.elapsedTime / 1000,
      requestBytes: requestBytes(req.raw),
      responseBytes: responseBytes(reply.statusCode, reply.getHeaders()),
    });
    done();
  });
}

/** Request line + headers as received + Content-Length (a body without one counts 0). */
export function requestBytes(req: IncomingMessage): number {
  let n = (req.method?.length ?? 0) + 1 + (req.url?.length ?? 0) + ` HTTP/${req.httpVersion}\r\n`.length + 2;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) n += raw[i]!.length + 2 + raw[i + 1]!.length + 2;
  return n + contentLength(req.headers['content-length']);
}

/** Status line + the reply's headers + Content-Length (Node's own Date/Connection/Keep-Alive headers are not counted). */
export function responseBytes(status: number, headers: Record<string, unknown>): number {
  let n = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`.length + 2;
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) n += name.length + 2 + String(v).length + 2;
  }
  return n + contentLength(headers['content-length']);
}

function contentLength(value: unknown): number {
  const n = Number(Array.isArray(value) ? value[0] : value);
  return Number.isFinite(n) && n > 0 ? n : 0;
}
