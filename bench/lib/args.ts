// A small flag parser for the scenarios: --name value, --flag, --no-flag.

export type FlagKind = 'number' | 'list' | 'bool' | 'string';

export interface FlagSpec {
  [name: string]: FlagKind;
}

export type Flags = Record<string, number | number[] | boolean | string | undefined>;

export function parseFlags(argv: string[], spec: FlagSpec, usage: string): Flags {
  const out: Flags = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') throw new UsageError(usage);
    const m = /^--(no-)?([a-z][a-z0-9-]*)$/.exec(a);
    const kind = m ? spec[m[2]!] : undefined;
    if (!m || kind === undefined || (m[1] && kind !== 'bool')) throw new UsageError(`unknown argument ${a}\n${usage}`);
    const name = m[2]!;
    if (kind === 'bool') {
      out[name] = !m[1];
      continue;
    }
    const v = argv[++i];
    if (v === undefined) throw new UsageError(`${a} needs a value\n${usage}`);
    if (kind === 'string') out[name] = v;
    else if (kind === 'number') {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${a} takes a positive number, got "${v}"`);
      out[name] = n;
    } else {
      const list = v.split(',').map((s) => Number(s.trim()));
      if (list.some((n) => !Number.isInteger(n) || n < 1)) throw new UsageError(`${a} takes positive integers, e.g. 1,8,32; got "${v}"`);
      out[name] = list;
    }
  }
  return out;
}

export class UsageError extends Error {}
