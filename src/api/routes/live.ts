// WHIP ingest and WHEP playback for livestream rooms (RFC 9725 and the WHEP draft), at the paths the
// react-client 0.25 hooks call: POST /api/v1/live/api/whip (streamer token) and /whep[/<streamId>]
// (viewer token; a public room's stream without one) take an application/sdp offer and answer 201 with
// the SDP answer (the server's candidate inline), a Location resource, and the integrated TURN server as
// `Link: rel="ice-server"` (the only path to the media plane). PATCH trickle fragments on a resource get
// 204 (ICE-lite: the client's relay candidates need nothing), an ICE restart 405; DELETE ends it.
// OPTIONS with a valid token also carries the ICE-server Links (for clients that need TURN before offering).
// Refusals: 401 bad/expired/other-instance/wrong-kind token, 404 no room or no stream, 409 a streamer is
// already connected, 400 a bad offer. It keeps no state: the room's Livestream does; resource ids are
// unguessable (UUIDs) and name the session they control.
import { randomUUID } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TokenKind } from '../../auth/peer-token.js';
import type { TurnServerInfo } from '../../room/endpoint-events.js';
import type { LiveEndpoint, LivestreamRefusal } from '../../room/livestream.js';
import type { Room } from '../../room/room.js';
import type { ApiDeps } from '../api-deps.js';
import { HttpOfferLink, OfferRefused } from '../live/http-offer-link.js';
import { MAX_OFFER_BYTES, OfferError, offerLines, oneWay } from '../live/offer-lines.js';
import { logRefusal } from '../refusal-log.js';
import { errorReply, noContent } from '../schemas.js';

export const LIVE_PREFIX = '/api/v1/live/api';
const SDP = 'application/sdp';
const TRICKLE = 'application/trickle-ice-sdpfrag';

const REFUSAL_STATUS: Record<LivestreamRefusal, number> = {
  'streamer already connected': 409,
  'stream not found': 404,
  'too many viewers': 503,
  'media unavailable': 503,
};

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function liveRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { rooms, tokens } = deps;
  const log = deps.log.child({ module: 'live' });

  app.addContentTypeParser([SDP, TRICKLE], { parseAs: 'string', bodyLimit: MAX_OFFER_BYTES }, (_req, body, done) => done(null, body));
  app.addHook('onSend', async (req, reply) => {
    reply.header('access-control-expose-headers', 'Location, Link, ETag');
    // The app answers every OPTIONS (CORS preflight) itself; with a valid token it also gets the ICE
    // servers, for clients that must configure TURN before they make their offer (libdatachannel, GStreamer).
    if (req.method === 'OPTIONS' && req.headers.authorization !== undefined) {
      const links = preflightLinks(req);
      if (links.length > 0) reply.header('link', links);
    }
  });
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const status = err instanceof Refusal ? err.status : err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 413 : err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
    const text = status === 500 ? 'Internal Server Error' : err.message;
    if (status === 500) log.error({ err, url: req.url.split('?')[0] }, 'unhandled livestream error');
    else logRefusal(log, req, status, text);
    return reply.code(status).type('application/json').send(JSON.stringify({ errors: text }));
  });

  /** The room a token of `kind` admits to; 401 and 404 as the hooks read them. */
  const roomOf = (req: FastifyRequest, kind: TokenKind, streamId?: string): Room => {
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
    if (token === undefined || token === '') {
      const room = streamId === undefined ? undefined : rooms.find(streamId);
      if (kind === 'viewer' && room?.config.public) return room;
      throw new Refusal(401, 'Missing token');
    }
    const verified = tokens.verifySync(token);
    if (!verified.ok) throw new Refusal(401, verified.reason === 'expired token' ? 'Expired token' : 'Invalid token');
    const { claims } = verified;
    if (claims.kind !== kind) throw new Refusal(401, `Not a ${kind} token`);
    if (streamId !== undefined && claims.roomId !== streamId) throw new Refusal(401, 'Token is for another stream');
    const room = rooms.find(claims.roomId);
    if (!room || room.isStopped) throw new Refusal(404, 'Stream not found');
    return room;
  };

  /** Opens the endpoint, hands it the offer and replies with the answer. */
  const exchange = async (req: FastifyRequest, reply: FastifyReply, room: Room, role: 'streamer' | 'viewer', path: string) => {
    if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith(SDP)) throw new Refusal(415, `Content-Type must be ${SDP}`);
    let sdp = typeof req.body === 'string' ? req.body : '';
    let lines;
    try {
      sdp = oneWay(sdp, role === 'streamer' ? 'sendonly' : 'recvonly');
      lines = offerLines(sdp);
    } catch (err) {
      if (err instanceof OfferError) throw new Refusal(400, err.message);
      throw err;
    }
    const media = lines.filter((l) => l.kind === 'audio' || l.kind === 'video');
    if (media.length === 0) throw new Refusal(400, 'SDP offer has no audio or video m-line');
    const link = new HttpOfferLink();
    const opened: LiveEndpoint | LivestreamRefusal = role === 'streamer' ? room.livestream.connectStreamer(link) : room.livestream.connectViewer(link);
    if (typeof opened === 'string') throw new Refusal(REFUSAL_STATUS[opened], capitalize(opened));
    const midToTrackId: Record<string, string> = {};
    if (role === 'streamer') {
      for (const l of media) if (l.mid !== undefined && l.direction === 'sendonly') midToTrackId[l.mid] = `${opened.id}:${l.mid}`;
    }
    opened.session.handleOffer(sdp, {}, midToTrackId);
    let answer: string;
    try {
      answer = await link.answer;
    } catch (err) {
      room.livestream.disconnect(opened.id);
      if (err instanceof OfferRefused) throw new Refusal(400, err.message);
      throw new Refusal(503, `Could not answer the offer: ${(err as Error).message}`);
    }
    reply
      .code(201)
      .header('location', `${LIVE_PREFIX}/${path}/${opened.id}`)
      .header('etag', `"${opened.id}"`)
      .type(SDP);
    const links = iceServerLinks(room.livestream.turnServers(opened.id));
    if (links.length > 0) reply.header('link', links);
    return answer;
  };

  const preflightLinks = (req: FastifyRequest): string[] => {
    const route = req.routeOptions.url ?? '';
    const streamId = (req.params as { stream_id?: string } | undefined)?.stream_id;
    try {
      const room = roomOf(req, route.endsWith('/whip') ? 'streamer' : 'viewer', streamId);
      return iceServerLinks(room.livestream.turnServers(`preflight-${randomUUID()}`));
    } catch {
      return [];
    }
  };
  for (const path of ['whip', 'whep', 'whep/:stream_id']) app.options(`${LIVE_PREFIX}/${path}`, { schema: { hide: true } }, async (_req, reply) => reply.code(204).send());

  app.post(`${LIVE_PREFIX}/whip`, { schema: offerSchema('whip_publish', 'Publish a livestream (WHIP); Bearer streamer token') }, async (req, reply) =>
    exchange(req, reply, roomOf(req, 'streamer'), 'streamer', 'whip'),
  );
  app.post(`${LIVE_PREFIX}/whep`, { schema: offerSchema('whep_view', 'Watch a livestream (WHEP); Bearer viewer token') }, async (req, reply) =>
    exchange(req, reply, roomOf(req, 'viewer'), 'viewer', 'whep'),
  );
  app.post<{ Params: { stream_id: string } }>(
    `${LIVE_PREFIX}/whep/:stream_id`,
    { schema: { ...offerSchema('whep_view_stream', "Watch a room's livestream (WHEP); no token for a public room"), params: streamParams } },
    async (req, reply) => exchange(req, reply, roomOf(req, 'viewer', req.params.stream_id), 'viewer', 'whep'),
  );

  /** The room whose livestream has the resource `id` (404 if none). */
  const resource = (id: string): { room: Room; endpoint: LiveEndpoint } => {
    for (const room of rooms.list()) {
      const endpoint = room.livestream.find(id);
      if (endpoint) return { room, endpoint };
    }
    throw new Refusal(404, 'No such WHIP/WHEP session');
  };

  for (const path of ['whip', 'whep']) {
    const resourceSchema = (verb: string, ok: Record<number, unknown>) => ({
      tags: ['livestream'],
      operationId: `${path}_${verb}`,
      summary: `${verb === 'stop' ? 'End' : 'Trickle ICE for'} a ${path.toUpperCase()} session (its Location)`,
      params: { type: 'object', properties: { id: { type: 'string', description: 'Session id (from Location)' } } },
      response: { ...ok, 401: errorReply('Not used: the session id is the credential'), 404: errorReply('No such session') },
    });
    app.delete<{ Params: { id: string } }>(`${LIVE_PREFIX}/${path}/:id`, { schema: resourceSchema('stop', { 200: noContent('Session ended') }) }, async (req, reply) => {
      const { room, endpoint } = resource(req.params.id);
      if ((endpoint.role === 'streamer') !== (path === 'whip')) throw new Refusal(404, 'No such WHIP/WHEP session');
      room.livestream.disconnect(endpoint.id);
      return reply.code(200).send();
    });
    const patchReplies = { 204: noContent('Candidates accepted (ICE-lite: nothing to do)'), 405: errorReply('ICE restart: not supported'), 415: errorReply('Not a trickle-ice-sdpfrag') };
    app.patch<{ Params: { id: string } }>(`${LIVE_PREFIX}/${path}/:id`, { schema: resourceSchema('trickle', patchReplies) }, async (req, reply) => {
      resource(req.params.id);
      if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith(TRICKLE)) throw new Refusal(415, `Content-Type must be ${TRICKLE}`);
      // An ICE restart (RFC 9725 §4.4) asks for new server credentials: not supported.
      if (req.headers['if-match'] === '*') {
        reply.header('allow', 'POST, DELETE, OPTIONS');
        throw new Refusal(405, 'ICE restarts are not supported; start a new session');
      }
      return reply.code(204).send();
    });
  }
}

const streamParams = { type: 'object', properties: { stream_id: { type: 'string', description: 'Stream id (the room id)' } } } as const;

/** OpenAPI for an offer POST (the 201 body is the SDP answer, sent as text). */
function offerSchema(operationId: string, summary: string) {
  return {
    tags: ['livestream'],
    operationId,
    summary,
    response: {
      201: { description: 'SDP answer (application/sdp); Location names the session, Link the ICE servers', content: { [SDP]: { schema: { type: 'string' } } } },
      400: errorReply('Not an SDP offer, or no audio/video m-line'),
      401: errorReply('Missing, invalid, expired or wrong-kind token'),
      404: errorReply('Room gone or no stream yet'),
      409: errorReply('A streamer is already connected'),
      413: errorReply('Offer larger than 64 KiB'),
      415: errorReply('Content-Type is not application/sdp'),
      503: errorReply('Too many viewers, media unavailable, or no answer in time'),
    },
  };
}

/** RFC 9725 §4.6: one `Link: <url>; rel="ice-server"` per integrated TURN entry, with its credentials. */
export function iceServerLinks(servers: TurnServerInfo[]): string[] {
  return servers.map((s) => {
    const scheme = s.transport === 'tls' ? 'turns' : 'turn';
    const transport = s.transport === 'udp' ? 'udp' : 'tcp';
    return `<${scheme}:${s.serverAddr}:${s.serverPort}?transport=${transport}>; rel="ice-server"; username="${s.username}"; credential="${s.password}"; credential-type="password"`;
  });
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
