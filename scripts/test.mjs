// Runs Shoal's test suite, or one part of it: `node scripts/test.mjs [unit|e2e|browser|bench|all]`.
// unit: no server, no browser, no child process (fake links, fake timers; seconds); e2e: a whole Shoal in
// process or as a child, driven by the real SDK and raw clients; browser: the real ts-client packages in
// Debian's Chromium; bench: the bench smoke run. Each test file is in exactly one part (checked here).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
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
// The default data plane is native (FJ_MEDIA_DATAPLANE unset: the addon when it is built); the media and
// negotiation suites run once more on the TypeScript twin. Without a built addon everything runs on js
// (said once here); with SHOAL_NATIVE_REQUIRED=1 (CI) a missing addon fails the run.
const BOTH_PLANES = ['browser/media.test.ts', 'browser/media-c25.test.ts', 'browser/media-workers.test.ts', 'signaling/negotiation.test.ts', 'signaling/agent-media.test.ts'].map((f) => join('test', f));
const addonBuilt = existsSync(join(ROOT, 'build', 'Release', 'shoal_native.node'));
if (!addonBuilt) {
  if (process.env.SHOAL_NATIVE_REQUIRED === '1') {
    console.error('the native data plane is not built (npm run build:native) and SHOAL_NATIVE_REQUIRED=1');
    process.exit(1);
  }
  console.warn('the native data plane is not built: every test runs on the TypeScript data plane');
}
const mainPlane = addonBuilt ? 'native' : 'js';
let status = 0;
for (const [group, timeoutMs, plane] of [
  [files.filter((f) => !isNet(f)), 180_000, mainPlane],
  [files.filter(isNet), 360_000, mainPlane],
  [addonBuilt ? files.filter((f) => BOTH_PLANES.includes(f)) : [], 180_000, 'js'],
]) {
  if (group.length === 0) continue;
  if (plane === 'js' && addonBuilt) console.log(`== again on the TypeScript data plane: ${group.length} media and negotiation files ==`);
  const args = ['--import', 'tsx', '--test', '--test-concurrency=2', `--test-timeout=${timeoutMs}`, ...group];
  const run = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, SHOAL_TEST_DATAPLANE: plane } });
  if (run.status !== 0) status = run.status ?? 1;
}
process.exit(status);
