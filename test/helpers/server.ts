// Starts a real Shoal instance on 127.0.0.1 for a test, with a known API token and secret, and
// stops it afterwards. Env overrides let a test set any FJ_* variable.
import { createServer } from 'node:net';
import { loadConfig } from '../../src/config/config.js';
import { createLogger, type Logger } from '../../src/log/logger.js';
import { createShoal, type Shoal } from '../../src/server.js';

export const API_TOKEN = 'test-api-token';
export const SECRET = 'test-secret-key-base-which-is-long-enough-0123456789';

export interface TestShoal {
  shoal: Shoal;
  port: number;
  host: string;
  httpUrl: string;
  wsUrl: string;
  apiToken: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** SHOAL_TEST_DATAPLANE=js|native runs every test server on that data plane (scripts/test.mjs runs the media suites on both). */
export function dataPlaneEnv(): Record<string, string> {
  const plane = process.env.SHOAL_TEST_DATAPLANE;
  return plane ? { FJ_MEDIA_DATAPLANE: plane } : {};
}

/** `log`: the logger to give the server (default: silent, or debug to stdout with SHOAL_TEST_LOG=1). */
export async function startShoal(env: Record<string, string> = {}, log?: Logger): Promise<TestShoal> {
  // freePort() can race with other processes binding the same port: retry a few times.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const config = loadConfig({
      FJ_SERVER_API_TOKEN: API_TOKEN,
      FJ_SECRET_KEY_BASE: SECRET,
      FJ_PORT: String(port),
      FJ_WEBRTC_TURN_PORT: '0',
      FJ_WEBRTC_TURN_TCP_PORT: '0',
      ...dataPlaneEnv(),
      ...env,
    });
    const shoal = await createShoal(config, log ?? createLogger(process.env.SHOAL_TEST_LOG === '1' ? 'debug' : 'silent', false));
    try {
      await shoal.listen();
    } catch (err) {
      await shoal.close().catch(() => {});
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 5) continue;
      throw err;
    }
    const host = `127.0.0.1:${port}`;
    return {
      shoal,
      port,
      host,
      httpUrl: `http://${host}`,
      wsUrl: `ws://${host}`,
      apiToken: config.serverApiToken,
      stop: () => shoal.close(),
    };
  }
}

/** fetch against the test server with the API token (unless `auth: false`). */
export async function api(
  s: TestShoal,
  method: string,
  path: string,
  body?: unknown,
  opts: { auth?: boolean; headers?: Record<string, string> } = {},
): Promise<{ status: number; json: any; text: string; headers: Headers }> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.auth !== false) headers.authorization = `Bearer ${s.apiToken}`;
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(`${s.httpUrl}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}
