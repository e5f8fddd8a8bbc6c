// Test helper: a real Shoal on 127.0.0.1 (test/helpers/server.ts's startShoal) whose logger writes JSON
// lines into memory, so e2e tests can assert what was logged — and that no token ever was.
import { startShoal, type TestShoal } from '../helpers/server.js';
import { captureLog, type CapturedLog } from './capture.js';

export async function startLoggedShoal(env: Record<string, string> = {}, level: 'debug' | 'info' = 'debug'): Promise<TestShoal & { logs: CapturedLog }> {
  const logs = captureLog(level);
  return { ...(await startShoal(env, logs.log)), logs };
}
