// Builds the fastify HTTP app: Fishjam's transport rules (duplicate slashes, empty form bodies,
// Accept check, CORS, bearer auth, error body shapes) and the REST routes. Holds no room state:
// routes call the RoomRegistry. WebSocket upgrades are attached separately (signaling/socket-router).
import { fastify, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import { secretsEqual } from '../auth/secret.js';
import { ShoalError, badRequest } from '../errors.js';
import { MAX_ENVELOPE_DEPTH, jsonTextTooDeep } from '../input/json-limits.js';
import { ROOM_ID_MAX_LENGTH } from '../room/room-registry.js';
import type { ApiDeps } from './api-deps.js';
import { healthRoutes } from './routes/health.js';
import { peerRoutes } from './routes/peers.js';
import { roomRoutes } from './routes/rooms.js';

const STATUS: Record<ShoalError['kind'], number> = { bad_request: 400, not_found: 404, unavailable: 503 };

/** Fishjam's URL rule: scheme, host and path must all be present (`https://h` fails, `https://h/` passes). */
export function isWebhookUrl(s: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]+\/[^?#]*(\?[^#]*)?(#.*)?$/.test(s);
}

export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = fastify({
    ...(deps.tls ? { https: deps.tls } : {}),
    logger: false,
    bodyLimit: config.maxRequestBodyBytes,
    routerOptions: { ignoreDuplicateSlashes: true, ignoreTrailingSlash: true, maxParamLength: ROOM_ID_MAX_LENGTH },
    ajv: {
      customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false, formats: { 'webhook-url': isWebhookUrl } },
    },
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Shoal media server', version: deps.version, description: 'Fishjam-compatible REST API' },
      components: { securitySchemes: { token: { type: 'http', scheme: 'bearer' } } },
      security: [{ token: [] }],
    },
  });

  registerBodyParsers(app);

  app.addHook('onRequest', async (req, reply) => {
    reply.header('access-control-allow-origin', '*');
    if (req.method === 'OPTIONS') {
      reply
        .header('access-control-allow-methods', 'GET,POST,PUT,PATCH,DELETE,OPTIONS')
        .header('access-control-allow-headers', req.headers['access-control-request-headers'] ?? 'authorization,content-type')
        .header('access-control-max-age', '86400')
        .code(204)
        .send();
      return reply;
    }
    if (!acceptsJson(req.headers.accept)) {
      reply.code(406).send({ errors: { detail: 'Not Acceptable' } });
      return reply;
    }
    if (req.routeOptions.config.auth) {
      const refusal = checkBearer(req, config.serverApiToken);
      if (refusal) {
        reply.code(401).send({ errors: refusal });
        return reply;
      }
    }
    if (req.method === 'POST' && deps.isDraining()) {
      reply.code(503).header('retry-after', '5').send({ errors: 'Shoal is shutting down' });
      return reply;
    }
  });

  app.setNotFoundHandler((_req, reply) => {
    reply.code(404).send({ errors: { detail: 'Not Found' } });
  });

  app.setErrorHandler((err: FastifyError | ShoalError, req, reply) => {
    if (err instanceof ShoalError) return reply.code(STATUS[err.kind]).send({ errors: err.message });
    const code = (err as FastifyError).code;
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send({ errors: `Request body is larger than ${config.maxRequestBodyBytes} bytes` });
    if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.code(415).send({ errors: 'Unsupported content type' });
    if ((err as FastifyError).validation) return reply.code(400).send({ errors: 'Invalid request body structure' });
    // Own serializer: the route's 400 response schema (errors: string) would turn the object into "[object Object]".
    if (err instanceof SyntaxError || code === 'FST_ERR_CTP_INVALID_JSON_BODY') return reply.code(400).serializer(JSON.stringify).send({ errors: { detail: 'Bad Request' } });
    const status = (err as FastifyError).statusCode;
    if (status !== undefined && status >= 400 && status < 500) return reply.code(status).send({ errors: err.message });
    deps.log.error({ err, url: req.url }, 'unhandled REST error');
    return reply.code(500).send({ errors: { detail: 'Internal Server Error' } });
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(healthRoutes, deps);
  await app.register(roomRoutes, deps);
  await app.register(peerRoutes, deps);
  return app;
}

/** Fishjam's two 401 texts: no usable header vs a wrong token. */
function checkBearer(req: FastifyRequest, expected: string): string | undefined {
  let count = 0;
  for (let i = 0; i < req.raw.rawHeaders.length; i += 2) {
    if (req.raw.rawHeaders[i].toLowerCase() === 'authorization') count++;
  }
  const header = req.headers.authorization;
  if (count !== 1 || header === undefined || !header.startsWith('Bearer ')) return 'Missing token';
  return secretsEqual(header.slice('Bearer '.length), expected) ? undefined : 'Invalid token';
}

function acceptsJson(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  return accept.split(',').some((part) => {
    const type = part.split(';')[0].trim().toLowerCase();
    return type === '*/*' || type === 'application/*' || type === 'application/json' || type.endsWith('+json');
  });
}

/** JSON (empty allowed), form-urlencoded (the SDK's empty POSTs), anything else ignored as Fishjam does. */
function registerBodyParsers(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, {});
    if (jsonTextTooDeep(text, MAX_ENVELOPE_DEPTH)) return done(badRequest(`Request body is nested deeper than ${MAX_ENVELOPE_DEPTH} levels`), undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, _body, done) => done(null, {}));
}
