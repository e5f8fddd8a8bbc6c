// Mutations of the real Chromium offers in fixtures/*.sdp for the SDP property tests (not a test file
// itself): lines dropped, duplicated, corrupted, attribute values replaced (random text, numbers, SSRC
// lists) and lines inserted; `mutate` applies a list of them to an offer's lines.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** Every fixture offer, by file name order. */
export const OFFERS: string[] = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.sdp'))
  .sort()
  .map((f) => readFileSync(join(FIXTURES, f), 'utf8'));

export const fixtureText = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

export type Mutation =
  | { op: 'drop'; at: number }
  | { op: 'duplicate'; at: number }
  | { op: 'corrupt'; at: number; pos: number; text: string }
  | { op: 'value'; at: number; value: string; afterToken: boolean }
  | { op: 'insert'; at: number; line: string };

const ATTRS = [
  'ssrc-group:FID', 'ssrc-group:SIM', 'ssrc', 'mid', 'msid', 'rid', 'simulcast', 'extmap', 'rtpmap', 'fmtp',
  'rtcp-fb', 'ice-ufrag', 'ice-pwd', 'fingerprint', 'setup', 'group:BUNDLE', 'sendonly', 'recvonly', 'inactive',
  'sendrecv', 'candidate', 'rtcp', 'extmap-allow-mixed', 'ice-options', 'sctp-port', 'max-message-size',
];

/** Random attribute values: text, numbers (also beyond 32 bits), SSRC-like lists, tricky constants. */
export const valueText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer().map(String),
  fc.integer({ min: -5, max: 5 }).map(String),
  fc.double().map(String),
  fc.constantFrom('', ' ', '0', '1', '1 2', 'FID 1', 'abc def', '-1', '4294967296', 'NaN', '::', '*', ':', 'send', 'recv l;m;h'),
  fc.array(fc.integer({ min: 0, max: 2 ** 33 }), { maxLength: 4 }).map((a) => a.join(' ')),
);

const newLine = fc.oneof(
  fc.tuple(fc.constantFrom(...ATTRS), valueText).map(([a, v]) => `a=${a}:${v}`),
  fc.tuple(fc.constantFrom(...ATTRS), valueText).map(([a, v]) => `a=${a} ${v}`),
  fc.tuple(fc.constantFrom('audio', 'video', 'application', 'text', ''), valueText).map(([k, v]) => `m=${k} ${v}`),
  fc.constantFrom('m=video 9 UDP/TLS/RTP/SAVPF 96', 'c=IN IP4', 'b=AS:', 'o=-', 't=0 0', 's=', 'v=1', 'x'),
  fc.string({ maxLength: 20 }),
);

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('corrupt' as const), at: fc.nat(), pos: fc.nat(), text: fc.string({ maxLength: 4 }) }),
  fc.record({ op: fc.constant('value' as const), at: fc.nat(), value: valueText, afterToken: fc.boolean() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), line: newLine }),
);

export function mutate(sdp: string, mutations: Mutation[]): string {
  const lines = sdp.split('\r\n');
  for (const m of mutations) {
    const at = m.at % Math.max(1, lines.length);
    const line = lines[at] ?? '';
    switch (m.op) {
      case 'drop':
        lines.splice(at, 1);
        break;
      case 'duplicate':
        lines.splice(at, 0, line);
        break;
      case 'corrupt': {
        const pos = m.pos % (line.length + 1);
        lines[at] = line.slice(0, pos) + m.text + line.slice(pos + m.text.length);
        break;
      }
      case 'value': {
        // Keep the attribute name (and, with afterToken, the value's first token), replace the rest.
        const colon = line.indexOf(':');
        const space = line.indexOf(' ', colon + 1);
        const keep = colon < 0 ? 2 : !m.afterToken || space < 0 ? colon + 1 : space + 1;
        lines[at] = line.slice(0, keep) + m.value;
        break;
      }
      case 'insert':
        lines.splice(at, 0, m.line);
        break;
    }
  }
  return lines.join('\r\n');
}
