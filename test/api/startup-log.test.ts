// The server process's log as an operator sees it (issue 10, logs): with FJ_STRUCTURED_LOGGING=true every
// stdout line is JSON with a level name and an ISO-8601 time; after 'Shoal is listening' start-up says
// where the Prometheus metrics, /openapi.json and the /docs page are (and they answer there); a run that
// used the API token, a wrong token and a peer token never prints any of them.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RawPeer } from '../helpers/raw-peer.js';
import { killShoalProcesses, spawnShoal, type ShoalProcess } from '../helpers/shoal-process.js';

const TOKEN = 'startup-log-API-TOKEN-value';
after(killShoalProcesses);

const start = (env: Record<string, string>): Promise<ShoalProcess & { all(): string }> =>
  spawnShoal({ token: TOKEN, env, ready: /API description served/ }).then((p) => ({ ...p, all: p.output }));

describe('start-up and run log of the server process', () => {
  it('JSON mode: level names, ISO times, where metrics/openapi/docs are, and no token in the whole log', async () => {
    const run = await start({ FJ_STRUCTURED_LOGGING: 'true' });
    const records = () => run.stdout().split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
    const listening = records().findIndex((r) => r.msg === 'Shoal is listening');
    const metrics = records().findIndex((r) => r.msg === 'Prometheus metrics served');
    const docs = records().findIndex((r) => r.msg === 'API description served');
    assert.ok(listening >= 0 && metrics > listening && docs > listening, run.stdout());

    const metricsUrl = records()[metrics].url as string;
    assert.match(metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const scraped = await fetch(metricsUrl);
    assert.equal(scraped.status, 200);
    assert.match(await scraped.text(), /# HELP /);
    const { openapi, docs: docsUrl } = records()[docs];
    assert.equal(openapi, `http://127.0.0.1:${run.port}/openapi.json`);
    assert.equal(docsUrl, `http://127.0.0.1:${run.port}/docs`);
    assert.equal((await fetch(openapi)).status, 200);
    const page = await fetch(docsUrl);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);

    // A run that uses tokens: the API token, a wrong one, a peer token on its socket.
    const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const base = `http://127.0.0.1:${run.port}`;
    const room = (await (await fetch(`${base}/room`, { method: 'POST', headers: auth, body: '{}' })).json()).data.room;
    const peer = (await (await fetch(`${base}/room/${room.id}/peer`, { method: 'POST', headers: auth, body: '{"type":"webrtc"}' })).json()).data;
    assert.equal((await fetch(`${base}/room`, { headers: { authorization: 'Bearer not-the-API-TOKEN-value' } })).status, 401);
    const raw = new RawPeer(`ws://127.0.0.1:${run.port}`);
    await raw.join(peer.token, { name: 'p' });
    const rejected = new RawPeer(`ws://127.0.0.1:${run.port}`);
    await rejected.opened();
    rejected.send({ content: { case: 'authRequest', value: { token: `${peer.token}x` } } });
    assert.equal((await rejected.waitClosed()).reason, 'invalid token');
    raw.close();
    await raw.waitClosed();

    run.child.kill('SIGTERM');
    assert.equal(await run.exited, 0);
    const all = records();
    for (const r of all) {
      assert.ok(['debug', 'info', 'warn', 'error', 'fatal'].includes(r.level), JSON.stringify(r));
      assert.match(r.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, JSON.stringify(r));
    }
    for (const msg of ['room created', 'peer added', 'peer connected', 'peer disconnected', 'REST request refused', 'socket refused', 'room deleted']) {
      assert.ok(all.some((r) => r.msg === msg), `no "${msg}" line in:\n${run.stdout()}`);
    }
    assert.ok(all.some((r) => r.msg === 'REST request refused' && r.status === 401 && r.reason === 'Invalid token' && r.route === '/room'));
    const text = run.all();
    for (const secret of [TOKEN, 'not-the-API-TOKEN-value', peer.token]) assert.ok(!text.includes(secret), `"${secret}" in the log:\n${text}`);
  });

  it('human mode: the same start-up lines, readable', async () => {
    const run = await start({});
    assert.match(run.stdout(), /\[info\] Shoal is listening /);
    assert.match(run.stdout(), /\[info\] Prometheus metrics served url=http:\/\/127\.0\.0\.1:\d+\/metrics\n/);
    assert.match(run.stdout(), new RegExp(`\\[info\\] API description served openapi=http://127\\.0\\.0\\.1:${run.port}/openapi\\.json docs=http://127\\.0\\.0\\.1:${run.port}/docs\\n`));
    run.child.kill('SIGTERM');
    assert.equal(await run.exited, 0);
  });
});
