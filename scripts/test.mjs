// Runs Shoal's test suite, or one part of it: `node scripts/test.mjs [unit|e2e|browser|bench|all]`.
// unit: no server, no browser, no child process (fake links, fake timers; seconds); e2e: a whole Shoal in
// process or as a child, driven by the real SDK and raw clients; browser: the real ts-client packages in
// Debian's Chromium; bench: the bench smoke run. Each test file is in exactly one part (checked here).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
/** Files (or folders, ending in /) of the parts other than unit, relative to test/. */
const PARTS = {
  browser: ['browser/', 'turn/turn-browser.test.ts', 'media/wire/sdp-browser.test.ts', 'net/', 'metrics/adaptation-browser.test.ts', 'media/sfu/simulcast-drop-browser.test.ts'],
  e2e: ['main.test.ts', 'api/', 'signaling/', 'notify/webhooks.test.ts', 'notify/webhook-sender.test.ts', 'room/lifecycle.test.ts', 'config/', 'media/plane/media-workers.test.ts', 'cluster/'],
  bench: ['bench/'],
};

function* testFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* testFiles(path);
    else if (entry.name.endsWith('.test.ts')) yield relative(join(ROOT, 'test'), path);
  }
}

function partOf(file) {
  for (const [part, entries] of Object.entries(PARTS)) {
    if (entries.some((e) => (e.endsWith('/') ? file.startsWith(e) : file === e))) return part;
  }
  return 'unit';
}

const wanted = process.argv[2] ?? 'all';
if (!['unit', 'e2e', 'browser', 'bench', 'all'].includes(wanted)) {
  console.error(`usage: node scripts/test.mjs [unit|e2e|browser|bench|all] (got "${wanted}")`);
  process.exit(2);
}
const files = [...testFiles(join(ROOT, 'test'))]
  .filter((f) => wanted === 'all' || partOf(f) === wanted)
  .sort()
  .map((f) => join('test', f));
// The shaped-link tests (net/) run after the rest, two at a time among themselves: a topology puts an
// interface into this (root) namespace, and a Chromium running here meanwhile sees a new network and gathers
// on it too (the TURN test saw two allocations for one gather). Their own Chromiums live in namespaces.
const isNet = (f) => f.startsWith(join('test', 'net') + '/');
// --test-timeout also bounds each file as a whole: a shaped-link file runs several 40–60 s scenes (about
// 170 s for test/net/downstream.test.ts on an idle machine), so that group gets 360 s.
let status = 0;
for (const [group, timeoutMs] of [
  [files.filter((f) => !isNet(f)), 180_000],
  [files.filter(isNet), 360_000],
]) {
  if (group.length === 0) continue;
  const args = ['--import', 'tsx', '--test', '--test-concurrency=2', `--test-timeout=${timeoutMs}`, ...group];
  const run = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
  if (run.status !== 0) status = run.status ?? 1;
}
process.exit(status);
