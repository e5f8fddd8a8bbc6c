// Structure check of Shoal's hand-written sources (npm run lint:files, part of npm test): every module
// in src/ outside src/gen/ (generated), and every C++ file of the native data plane (native/), is at most
// 400 lines and opens with a header comment saying its job.
// Prints each file that breaks a rule and exits 1 if any does; it changes nothing.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const MAX_LINES = 400;
const GENERATED = join(ROOT, 'src', 'gen');

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (path !== GENERATED) yield* sources(path);
    } else if (/\.(ts|mts|mjs|js|cc|h)$/.test(entry.name)) {
      yield path;
    }
  }
}

const problems = [];
let count = 0;
for (const file of [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'native'))]) {
  count++;
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  const name = relative(ROOT, file);
  if (lines > MAX_LINES) problems.push(`${name}: ${lines} lines (at most ${MAX_LINES})`);
  if (!text.startsWith('//')) problems.push(`${name}: no header comment on its first line`);
}
for (const p of problems) console.error(p);
if (problems.length > 0) process.exit(1);
console.log(`✔ ${count} source files: each at most ${MAX_LINES} lines with a header comment`);
