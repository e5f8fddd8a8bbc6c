// /openapi.json as a client generator reads it (issue 10, OpenAPI): every operation has a unique,
// Fishjam-named operationId, every response a real description, the bodies are named component schemas
// (Room, Peer, Track, RoomConfig, PeerOptions, Error, ...) referenced by $ref; and the /docs page (Swagger
// UI from the package's own assets) is served without auth, its script and the spec it reads included.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, startShoal, type TestShoal } from '../helpers/server.js';

let s: TestShoal;
let doc: any;
before(async () => {
  s = await startShoal();
  const res = await api(s, 'GET', '/openapi.json');
  assert.equal(res.status, 200);
  doc = res.json;
});
after(async () => {
  await s?.stop();
});

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'];

function operations(): { path: string; method: string; op: any }[] {
  return Object.entries<any>(doc.paths).flatMap(([path, item]) =>
    Object.entries<any>(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ path, method, op })),
  );
}

/** Every $ref string anywhere under `v`. */
function refs(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => refs(x, out));
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref' && typeof x === 'string') out.push(x);
      else refs(x, out);
    }
  }
  return out;
}

const op = (method: string, path: string) => doc.paths[path][method];
const bodyRef = (o: any, status: string) => o.responses[status].content['application/json'].schema.$ref;

describe('/openapi.json', () => {
  it('every path and method has a unique operationId, with the names the Fishjam SDKs use', () => {
    const ids = operations().map(({ op }) => op.operationId);
    assert.ok(ids.length >= 12, `${ids.length} operations`);
    for (const { path, method, op } of operations()) assert.equal(typeof op.operationId, 'string', `${method} ${path} has no operationId`);
    assert.equal(new Set(ids).size, ids.length, `duplicate operationIds: ${ids.join(', ')}`);
    const expected: [string, string, string][] = [
      ['get', '/health', 'healthcheck'],
      ['get', '/room', 'get_all_rooms'],
      ['post', '/room', 'create_room'],
      ['get', '/room/{room_id}', 'get_room'],
      ['delete', '/room/{room_id}', 'delete_room'],
      ['post', '/room/{room_id}/peer', 'add_peer'],
      ['delete', '/room/{room_id}/peer/{peer_id}', 'delete_peer'],
      ['post', '/room/{room_id}/peer/{peer_id}/refresh_token', 'refresh_token'],
      ['post', '/room/{room_id}/peer/{peer_id}/subscribe_peer', 'subscribe_peer'],
      ['post', '/room/{room_id}/peer/{peer_id}/subscribe_tracks', 'subscribe_tracks'],
      ['post', '/room/{room_id}/viewer', 'generate_viewer_token'],
      ['post', '/room/{room_id}/streamer', 'generate_streamer_token'],
    ];
    for (const [method, path, id] of expected) assert.equal(op(method, path)?.operationId, id, `${method} ${path}`);
  });

  it('every response of every operation has a real description', () => {
    for (const { path, method, op } of operations()) {
      assert.ok(Object.keys(op.responses ?? {}).length > 0, `${method} ${path} has no responses`);
      for (const [status, res] of Object.entries<any>(op.responses)) {
        assert.equal(typeof res.description, 'string', `${method} ${path} ${status}`);
        assert.notEqual(res.description, 'Default Response', `${method} ${path} ${status}`);
        assert.ok(res.description.length > 3, `${method} ${path} ${status}: "${res.description}"`);
      }
      assert.ok(op.responses['401'], `${method} ${path} documents no 401`);
    }
  });

  it('components.schemas has the named schemas, and the operations reference them', () => {
    const schemas = doc.components.schemas;
    for (const name of ['Room', 'Peer', 'Track', 'RoomConfig', 'PeerOptions', 'PeerConfig', 'Error', 'SubscribeTracksRequest', 'RoomCreateDetailsResponse', 'RoomDetailsResponse', 'RoomsListingResponse', 'PeerDetailsResponse', 'PeerRefreshTokenResponse', 'ViewerToken', 'StreamerToken', 'HealthcheckResponse']) {
      assert.ok(schemas[name], `components.schemas.${name} missing (have ${Object.keys(schemas).join(', ')})`);
    }
    assert.ok(!Object.keys(schemas).some((n) => /^def-\d+$/.test(n)), Object.keys(schemas).join(', '));
    // every $ref resolves
    for (const r of refs(doc)) {
      assert.match(r, /^#\/components\/schemas\//);
      assert.ok(schemas[r.slice('#/components/schemas/'.length)], `dangling ${r}`);
    }
    assert.equal(op('post', '/room').requestBody.content['application/json'].schema.$ref, '#/components/schemas/RoomConfig');
    assert.equal(op('post', '/room').requestBody.required, false);
    assert.equal(op('post', '/room/{room_id}/peer').requestBody.content['application/json'].schema.$ref, '#/components/schemas/PeerConfig');
    assert.equal(op('post', '/room/{room_id}/peer/{peer_id}/subscribe_tracks').requestBody.content['application/json'].schema.$ref, '#/components/schemas/SubscribeTracksRequest');
    assert.equal(bodyRef(op('post', '/room'), '201'), '#/components/schemas/RoomCreateDetailsResponse');
    assert.equal(bodyRef(op('get', '/room'), '200'), '#/components/schemas/RoomsListingResponse');
    assert.equal(bodyRef(op('get', '/room/{room_id}'), '200'), '#/components/schemas/RoomDetailsResponse');
    assert.equal(bodyRef(op('post', '/room/{room_id}/peer'), '201'), '#/components/schemas/PeerDetailsResponse');
    assert.equal(bodyRef(op('post', '/room/{room_id}/viewer'), '201'), '#/components/schemas/ViewerToken');
    assert.equal(bodyRef(op('get', '/room/{room_id}'), '404'), '#/components/schemas/Error');
    assert.equal(schemas.Room.properties.peers.items.$ref, '#/components/schemas/Peer');
    assert.equal(schemas.Peer.properties.tracks.items.$ref, '#/components/schemas/Track');
    assert.equal(schemas.PeerConfig.properties.options.$ref, '#/components/schemas/PeerOptions');
    assert.equal(schemas.RoomCreateDetailsResponse.properties.data.properties.room.$ref, '#/components/schemas/Room');
    assert.deepEqual(schemas.Error.required, ['errors']);
    assert.deepEqual(Object.keys(schemas.RoomConfig.properties).slice(0, 6), ['roomId', 'maxPeers', 'videoCodec', 'webhookUrl', 'peerlessPurgeTimeout', 'peerDisconnectedTimeout']);
  });

  it('the docs routes are not operations of the API', () => {
    assert.ok(!Object.keys(doc.paths).some((p) => p.startsWith('/docs') || p === '/openapi.json'), Object.keys(doc.paths).join(', '));
  });
});

describe('/docs', () => {
  it('GET /docs is the Swagger UI page, without auth, for a browser', async () => {
    const res = await fetch(`${s.httpUrl}/docs`, { headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9' } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const html = await res.text();
    assert.match(html, /<div id="swagger-ui">/);
    // only the package's own assets: nothing from another host
    assert.ok(!/(src|href)="(https?:)?\/\//.test(html), html);
    const scripts = [...html.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]);
    assert.ok(scripts.some((src) => src.endsWith('/swagger-ui-bundle.js')), scripts.join(', '));
    for (const src of scripts) {
      const js = await fetch(new URL(src, `${s.httpUrl}/docs`));
      assert.equal(js.status, 200, src);
      assert.match(js.headers.get('content-type') ?? '', /javascript/, src);
      assert.ok((await js.text()).length > 100, src);
    }
    const css = await fetch(`${s.httpUrl}/docs/static/swagger-ui.css`, { headers: { accept: 'text/css' } });
    assert.equal(css.status, 200);
  });

  it('the spec the page reads is the API description, also without auth', async () => {
    const res = await fetch(`${s.httpUrl}/docs/json`);
    assert.equal(res.status, 200);
    const spec = await res.json();
    assert.deepEqual(Object.keys(spec.paths).sort(), Object.keys(doc.paths).sort());
    assert.ok(spec.components.schemas.Room);
  });

  it('the REST routes still need the API token', async () => {
    const res = await api(s, 'GET', '/room', undefined, { auth: false });
    assert.equal(res.status, 401);
    assert.deepEqual(res.json, { errors: 'Missing token' });
  });
});
