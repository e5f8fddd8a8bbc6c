// Test helper: a real Shoal on 127.0.0.1 (like test/helpers/server.ts) whose logger writes JSON lines into
// memory, so e2e tests can assert what was logged — and that no token ever was.
import { loadConfig } from '../../src/config/config.js';
import { createShoal } from '../../src/server.js';
import { API_TOKEN, SECRET, freePort, type TestShoal } from '../helpers/server.js';
import { captureLog, type CapturedLog } from './capture.js';

export async function startLoggedShoal(env: Record<string, string> = {}, level: 'debug' | 'info' = 'debug'): Promise<TestShoal & { logs: CapturedLog }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const config = loadConfig({
      FJ_SERVER_API_TOKEN: API_TOKEN,
      FJ_SECRET_KEY_BASE: SECRET,
      FJ_PORT: String(port),
      FJ_WEBRTC_TURN_PORT: '0',
      FJ_WEBRTC_TURN_TCP_PORT: '0',
      ...env,
    });
    const logs = captureLog(level);
    const shoal = await createShoal(config, logs.log);
    try {
      await shoal.listen();
    } catch (err) {
      await shoal.close().catch(() => {});
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 5) continue;
      throw err;
    }
    const host = `127.0.0.1:${port}`;
    return { shoal, port, host, httpUrl: `http://${host}`, wsUrl: `ws://${host}`, apiToken: config.serverApiToken, stop: () => shoal.close(), logs };
  }
}
