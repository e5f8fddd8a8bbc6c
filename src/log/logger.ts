// Creates the process logger (pino): JSON lines with FJ_STRUCTURED_LOGGING=true (`"level":"info"`, ISO-8601
// `"time"`), short readable lines otherwise; to stdout unless given a destination. It must never log secrets:
// callers pass ids, not tokens, and fields named like credentials are redacted as a safety net.
import { pino, stdTimeFunctions, type Logger } from 'pino';
import type { LogLevel } from '../config/config.js';

export type { Logger };

/** Where log lines go (one `write` per line, newline included). Defaults to stdout. */
export interface LogDestination {
  write(line: string): void;
}

const HIDDEN_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** Fields that must never reach a log line, whatever a caller passes (top level and one level down). */
const REDACTED = ['token', 'authorization', 'secret', 'password', 'apiToken', 'serverApiToken', 'secretKeyBase'];
const REDACT_PATHS = [...REDACTED, ...REDACTED.map((k) => `*.${k}`), 'headers.authorization', 'req.headers.authorization'];

/** Turns one pino JSON line into `HH:MM:SS.mmm [level] msg key=value ...`. */
function humanLine(json: string): string {
  try {
    const rec = JSON.parse(json) as Record<string, unknown>;
    const time = new Date(rec.time as string).toISOString().slice(11, 23);
    const extras = Object.entries(rec)
      .filter(([k]) => !HIDDEN_KEYS.has(k))
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return `${time} [${String(rec.level)}] ${rec.msg ?? ''}${extras ? ' ' + extras : ''}\n`;
  } catch {
    return json;
  }
}

export function createLogger(level: LogLevel | 'silent', structured: boolean, destination?: LogDestination): Logger {
  const options = {
    level,
    base: undefined,
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  if (structured) return destination ? pino(options, destination) : pino(options);
  const out = destination ?? process.stdout;
  return pino(options, { write: (line: string) => void out.write(humanLine(line)) });
}
