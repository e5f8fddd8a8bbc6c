// Builds Shoal's native data plane (binding.gyp → build/Release/shoal_native.node) with node-gyp against
// the running Node's own headers (<prefix>/include/node: Debian's /usr, or the npm `node` package's
// folder), never downloading any. Run by `npm install`/`npm ci` (package.json "install"). When the build
// cannot run (no compiler, no headers) it prints one warning and exits 0: the server then runs on the
// TypeScript data plane and says so at start. SHOAL_NATIVE_REQUIRED=1 (CI) makes a failed build an error.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const required = process.env.SHOAL_NATIVE_REQUIRED === '1';

function fail(reason) {
  const text = `shoal: the native data plane was not built (${reason}); the server will use the TypeScript data plane`;
  console.warn(text);
  process.exit(required ? 1 : 0);
}

/** node-gyp: the one npm hands to install scripts, else the one next to npm. */
function nodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return fromNpm;
  const which = spawnSync('sh', ['-c', 'readlink -f "$(command -v npm)"'], { encoding: 'utf8' });
  const npmBin = which.stdout.trim();
  if (npmBin) {
    const beside = join(dirname(npmBin), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (existsSync(beside)) return beside;
  }
  return undefined;
}

// Where this Node's headers are: <prefix>/include/node next to bin/node (Debian, the official tarballs), or
// inside the npm `node` package (its bin/node is a hard link of node-<platform>-<arch>/bin/node).
const prefix = dirname(dirname(process.execPath));
const candidates = [process.env.SHOAL_NODE_HEADERS, prefix, join(prefix, 'node_modules', `node-${process.platform}-${process.arch}`)].filter(Boolean);
const nodeDir = candidates.find((dir) => existsSync(join(dir, 'include', 'node', 'node_api.h')));
if (!nodeDir) fail(`no Node headers (include/node/node_api.h) in ${candidates.join(' or ')}`);
const gyp = nodeGyp();
if (!gyp) fail('node-gyp not found');
for (const tool of ['make', 'g++', 'python3']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) fail(`${tool} is not installed`);
}
const run = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodeDir}`, '--jobs=max', '--loglevel=warn'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
if (run.status !== 0) fail(`node-gyp exited with ${run.status ?? run.signal}`);
console.log(`shoal: native data plane built (build/Release/shoal_native.node, Node ${process.version} headers)`);
