// Test helper: a Shoal logger whose lines are kept in memory (JSON mode), parsed on demand, so a test can
// assert which lines were logged and that no secret appears in any of them.
import { createLogger, type Logger } from '../../src/log/logger.js';

export type LogRecord = Record<string, any> & { level: string; time: string; msg: string };

export interface CapturedLog {
  log: Logger;
  /** Every raw line written, newline included. */
  lines: string[];
  /** The whole output as one text. */
  text(): string;
  records(): LogRecord[];
  /** Records whose msg is `msg` and whose fields include `fields`. */
  find(msg: string, fields?: Record<string, unknown>): LogRecord[];
  /** Resolves when `find(msg, fields)` has a hit; rejects after `timeoutMs`. */
  waitFor(msg: string, fields?: Record<string, unknown>, timeoutMs?: number): Promise<LogRecord>;
}

export function captureLog(level: 'debug' | 'info' | 'warn' = 'debug', structured = true): CapturedLog {
  const lines: string[] = [];
  const log = createLogger(level, structured, { write: (line) => void lines.push(line) });
  const records = () =>
    lines
      .join('')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as LogRecord);
  const find = (msg: string, fields: Record<string, unknown> = {}) =>
    records().filter((r) => r.msg === msg && Object.entries(fields).every(([k, v]) => JSON.stringify(r[k]) === JSON.stringify(v)));
  return {
    log,
    lines,
    text: () => lines.join(''),
    records,
    find,
    async waitFor(msg, fields = {}, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = find(msg, fields)[0];
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`no log line "${msg}" ${JSON.stringify(fields)} within ${timeoutMs} ms; got:\n${lines.join('')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}
