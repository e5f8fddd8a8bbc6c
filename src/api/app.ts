// Builds the fastify HTTP app: Fishjam's transport rules (duplicate slashes, empty form bodies,
// Accept check, CORS, bearer auth, error body shapes), the REST routes, /openapi.json and the /docs page
// (no auth), and a log line for every refusal. Holds no room state: routes call the RoomRegistry.
// WebSocket upgrades are attached separately (signaling/socket-router).
import { fastify, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { secretsEqual } from '../auth/secret.js';
import { ShoalError, badRequest } from '../errors.js';
import { MAX_ENVELOPE_DEPTH, jsonTextTooDeep } from '../input/json-limits.js';
import { ROOM_ID_MAX_LENGTH } from '../room/room-registry.js';
import type { ApiDeps } from './api-deps.js';
import { registerClusterRouting } from './cluster-routing.js';
import { registerLiveRouting } from './live-routing.js';
import { logRefusal } from './refusal-log.js';
import { healthRoutes } from './routes/health.js';
import { LIVE_PREFIX, liveRoutes } from './routes/live.js';
import { peerRoutes } from './routes/peers.js';
import { roomRoutes } from './routes/rooms.js';
import { SHARED_SCHEMAS } from './schemas.js';

const STATUS: Record<ShoalError['kind'], number> = { bad_request: 400, not_found: 404, unavailable: 503 };

/** Fishjam's URL rule: scheme, host and path must all be present (`https://h` fails, `https://h/` passes). */
export function isWebhookUrl(s: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]+\/[^?#]*(\?[^#]*)?(#.*)?$/.test(s);
}

/** Where the docs page is served (Swagger UI, its assets and the spec it reads), without auth. */
export const DOCS_PREFIX = '/docs';

export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const log = deps.log.child({ module: 'rest' });
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
    // Named schemas (app.addSchema) appear under components.schemas by their $id, not as def-N.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    // POST /room takes no body at all as "all defaults".
    transformObject: (doc) => {
      if (!('openapiObject' in doc)) return doc.swaggerObject;
      const createRoom = doc.openapiObject.paths?.['/room']?.post;
      if (createRoom?.requestBody && 'required' in createRoom.requestBody) createRoom.requestBody.required = false;
      return doc.openapiObject;
    },
  });
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  // Static assets shipped in the package; the page reads the spec from /docs/json.
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX });

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
    if (isDocs(req)) return;
    // WHIP/WHEP clients accept application/sdp answers.
    if (!acceptsJson(req.headers.accept) && !req.url.startsWith(LIVE_PREFIX)) {
      logRefusal(log, req, 406, 'Not Acceptable');
      reply.code(406).send({ errors: { detail: 'Not Acceptable' } });
      return reply;
    }
    if (req.routeOptions.config.auth) {
      const refusal = checkBearer(req, config.serverApiToken);
      if (refusal) {
        logRefusal(log, req, 401, refusal);
        reply.code(401).send({ errors: refusal });
        return reply;
      }
    }
    if (req.method === 'POST' && deps.isDraining()) {
      logRefusal(log, req, 503, 'Shoal is shutting down');
      reply.code(503).header('retry-after', '5').send({ errors: 'Shoal is shutting down' });
      return reply;
    }
  });

  app.setNotFoundHandler((req, reply) => {
    logRefusal(log, req, 404, 'Not Found');
    reply.code(404).send({ errors: { detail: 'Not Found' } });
  });

  app.setErrorHandler((err: FastifyError | ShoalError, req, reply) => {
    /** A 4xx (or a ShoalError's 503): logged with its text, then sent as `{errors: text}`. */
    const refuse = (status: number, text: string) => {
      logRefusal(log, req, status, text);
      return reply.code(status).send({ errors: text });
    };
    if (err instanceof ShoalError) return refuse(STATUS[err.kind], err.message);
    const code = (err as FastifyError).code;
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return refuse(413, `Request body is larger than ${config.maxRequestBodyBytes} bytes`);
    if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return refuse(415, 'Unsupported content type');
    if ((err as FastifyError).validation) return refuse(400, 'Invalid request body structure');
    if (err instanceof SyntaxError || code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
      logRefusal(log, req, 400, 'Bad Request (malformed JSON)');
      // Own serializer: the route's 400 response schema (errors: string) would turn the object into "[object Object]".
      return reply.code(400).serializer(JSON.stringify).send({ errors: { detail: 'Bad Request' } });
    }
    const status = (err as FastifyError).statusCode;
    if (status !== undefined && status >= 400 && status < 500) return refuse(status, err.message);
    deps.log.error({ err, url: req.url }, 'unhandled REST error');
    return reply.code(500).send({ errors: { detail: 'Internal Server Error' } });
  });

  if (deps.cluster) {
    registerClusterRouting(app, deps.cluster, deps.rooms, deps.log);
    // WHIP/WHEP offers go to the node that minted their token (plain function: routing needs no token service).
    registerLiveRouting(app, deps.cluster, deps.rooms, (token) => deps.tokens.verifySync(token), deps.log);
  }
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(healthRoutes, deps);
  await app.register(roomRoutes, deps);
  await app.register(peerRoutes, deps);
  await app.register(liveRoutes, deps);
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

/** The docs page and its assets: served to browsers as they are, no Accept check, no auth. */
function isDocs(req: FastifyRequest): boolean {
  const route = req.routeOptions.url;
  return route !== undefined && (route === DOCS_PREFIX || route.startsWith(`${DOCS_PREFIX}/`));
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
