// Creates the process logger (pino): JSON lines with FJ_STRUCTURED_LOGGING=true, short readable lines
// otherwise. Never logs secrets; callers pass ids, not tokens.
import { pino, type Logger } from 'pino';
import type { LogLevel } from '../config/config.js';

export type { Logger };

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const HIDDEN_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** Turns one pino JSON line into `HH:MM:SS.mmm [level] msg key=value ...`. */
function humanLine(json: string): string {
  try {
    const rec = JSON.parse(json) as Record<string, unknown>;
    const time = new Date(rec.time as number).toISOString().slice(11, 23);
    const extras = Object.entries(rec)
      .filter(([k]) => !HIDDEN_KEYS.has(k))
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return `${time} [${LEVEL_NAMES[rec.level as number] ?? rec.level}] ${rec.msg ?? ''}${extras ? ' ' + extras : ''}\n`;
  } catch {
    return json;
  }
}

export function createLogger(level: LogLevel | 'silent', structured: boolean): Logger {
  if (structured) return pino({ level, base: undefined });
  return pino({ level, base: undefined }, { write: (line: string) => process.stdout.write(humanLine(line)) });
}
