// Built-in TLS (issue 10) with the real clients in Chromium: Shoal started with FJ_SSL_KEY_PATH /
// FJ_SSL_CERT_PATH (a self-signed certificate made by the test) serves REST over https and the peer
// socket over wss, and TURN over TLS (TURNS) on its own port. The UDP and TCP TURN entries point at an
// address nothing listens on, so media can only flow through TURNS: ts-client 0.5.0 and 0.25.1 pages join
// over wss and decode each other's video.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CipherContext, HashAlgorithm, NamedCurveAlgorithm, SignatureAlgorithm } from 'werift';
import { closeClientPage, closeStaticServer, formatPageLogs, launchBrowser, openClientPage, waitForPageEvent, type Browser, type Page } from '../helpers/browser.js';
import { joinC25, joinC5, publishC25, publishC5, total, waitForStats } from '../helpers/media-page.js';
import { startShoal, type TestShoal } from '../helpers/server.js';

const WAIT_MS = 20_000;

describe('built-in TLS: https, wss and TURNS with the real clients', () => {
  let browser: Browser;
  let s: TestShoal;
  let cert: string;
  let dir: string;
  const pages = new Set<Page>();

  /** REST over https, trusting only the test's certificate. */
  function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port: s.port, method, path, ca: cert, checkServerIdentity: () => undefined, headers: { authorization: `Bearer ${s.apiToken}`, 'content-type': 'application/json' } },
        (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  before(async () => {
    const made = await CipherContext.createSelfSignedCertificateWithKey({ signature: SignatureAlgorithm.ecdsa_3, hash: HashAlgorithm.sha256_4 }, NamedCurveAlgorithm.secp256r1_23);
    cert = made.certPem;
    dir = mkdtempSync(join(tmpdir(), 'shoal-tls-'));
    writeFileSync(join(dir, 'key.pem'), made.keyPem);
    writeFileSync(join(dir, 'cert.pem'), made.certPem);
    [browser, s] = await Promise.all([
      launchBrowser({ extraArgs: ['--ignore-certificate-errors'] }),
      startShoal({
        FJ_SSL_KEY_PATH: join(dir, 'key.pem'),
        FJ_SSL_CERT_PATH: join(dir, 'cert.pem'),
        FJ_WEBRTC_TURN_TLS_PORT: '0',
        FJ_WEBRTC_TURN_TLS_HOST: '127.0.0.1',
        // UDP and TCP entries advertise an address nothing listens on: only TURNS can carry media.
        FJ_WEBRTC_TURN_IP: '127.0.0.9',
      }),
    ]);
  });
  afterEach(async () => {
    for (const p of pages) await closeClientPage(p);
    pages.clear();
  });
  after(async () => {
    await browser?.close();
    await closeStaticServer();
    await s?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function token(roomId: string): Promise<string> {
    const r = await api('POST', `/room/${roomId}/peer`, { type: 'webrtc' });
    assert.equal(r.status, 201);
    return r.json.data.token;
  }

  async function page(kind: 'c5' | 'c25'): Promise<Page> {
    const p = await openClientPage(browser, kind);
    pages.add(p);
    return p;
  }

  async function decoding(p: Page): Promise<void> {
    await waitForStats(p, (st) => total(st, 'video', 'framesDecoded') > 10, 'frames decoded over TURNS', WAIT_MS);
  }

  test('REST answers over https (and not over plain http)', async () => {
    const health = await api('GET', '/health');
    assert.equal(health.status, 200);
    assert.equal(health.json.data.status, 'UP');
    await assert.rejects(fetch(`http://127.0.0.1:${s.port}/health`));
  });

  test('ts-client 0.5.0 over wss: offerData lists a tls TURN server; two pages decode each other through TURNS', async () => {
    const roomId = (await api('POST', '/room', {})).json.data.room.id;
    const [a, b] = await Promise.all([page('c5'), page('c5')]);
    try {
      await joinC5(a, { host: s.host, token: await token(roomId), name: 'A', protocol: 'wss' }, WAIT_MS);
      await joinC5(b, { host: s.host, token: await token(roomId), name: 'B', protocol: 'wss' }, WAIT_MS);
      await Promise.all([publishC5(a, { video: true, audio: true }, WAIT_MS), publishC5(b, { video: true, audio: true }, WAIT_MS)]);
      for (const p of [a, b]) {
        await waitForPageEvent(p, (e) => e.name === 'trackReady' && (e.data as any).kind === 'video', WAIT_MS);
        await decoding(p);
      }
      const servers = await a.evaluate(() => (window as any).client.webrtc?.rtcConfig?.iceServers?.map((x: any) => x.urls) ?? []);
      assert.ok(servers.flat().some((u: string) => u.startsWith('turns:127.0.0.1:')), JSON.stringify(servers));
    } catch (err) {
      (err as Error).message += `\nA:\n${formatPageLogs(a)}\nB:\n${formatPageLogs(b)}`;
      throw err;
    }
  });

  test('ts-client 0.25.1 over wss: two pages decode each other through TURNS', async () => {
    const roomId = (await api('POST', '/room', {})).json.data.room.id;
    const [a, b] = await Promise.all([page('c25'), page('c25')]);
    try {
      await joinC25(a, `wss://${s.host}`, await token(roomId), 'A', WAIT_MS);
      await joinC25(b, `wss://${s.host}`, await token(roomId), 'B', WAIT_MS);
      await Promise.all([publishC25(a, WAIT_MS), publishC25(b, WAIT_MS)]);
      for (const p of [a, b]) {
        await waitForPageEvent(p, (e) => e.name === 'trackReady' && (e.data as any).kind === 'video', WAIT_MS);
        await decoding(p);
      }
    } catch (err) {
      (err as Error).message += `\nA:\n${formatPageLogs(a)}\nB:\n${formatPageLogs(b)}`;
      throw err;
    }
  });
});
