// The container image recipe (deploy/Dockerfile) read as text, since no Docker engine runs here: it must
// build from deploy/install.sh (the production install .ci/run also runs and starts a server from), run
// the server process itself as a non-root user, probe /health with the API token and expose Shoal's ports.
// Also: the build context lets through what install.sh copies, and src/ needs only runtime dependencies.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { read, ROOT, SERVER_COMMAND } from './deploy-text.js';

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions, continuation lines joined, comments and the syntax directive dropped. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const whole = (pending + line).trim();
    pending = '';
    const m = /^(\S+)\s*(.*)$/.exec(whole);
    if (m) out.push({ keyword: m[1].toUpperCase(), args: m[2] });
  }
  return out;
}

/** The instructions of the last stage (from its FROM on): what the image runs. */
function finalStage(all: Instruction[]): Instruction[] {
  const last = all.map((i) => i.keyword).lastIndexOf('FROM');
  assert.ok(last >= 0, 'the Dockerfile has no FROM');
  return all.slice(last);
}

const dockerfile = instructions(read('deploy/Dockerfile'));
const image = finalStage(dockerfile);
const installScript = read('deploy/install.sh');

describe('deploy/Dockerfile', () => {
  test('every stage is based on a Node LTS image that package.json "engines" allows', () => {
    const engines = (JSON.parse(read('package.json')) as { engines?: { node?: string } }).engines?.node ?? '';
    const minimum = Number(/^>=\s*(\d+)/.exec(engines)?.[1]);
    assert.ok(minimum >= 22, `engines.node should start at a supported LTS line (>=22), is "${engines}"`);
    const froms = dockerfile.filter((i) => i.keyword === 'FROM');
    for (const from of froms) {
      const major = Number(/^node:(\d+)[-.\w]*/.exec(from.args)?.[1]);
      assert.ok(major >= minimum && major % 2 === 0, `FROM ${from.args}: expected an even (LTS) node:<major> image >= ${minimum}`);
    }
  });

  test('the dependencies come from deploy/install.sh, and only from it', () => {
    const runs = dockerfile.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    const install = runs.find((r) => /(^|[\s/])deploy\/install\.sh\s+\S+/.test(r));
    assert.ok(install, `no RUN calls deploy/install.sh; RUN lines: ${JSON.stringify(runs)}`);
    for (const r of runs) assert.doesNotMatch(r, /\bnpm\s+(ci|install|i)\b|\byarn\b|\bpnpm\b/, `a second install path beside install.sh: RUN ${r}`);

    const target = /deploy\/install\.sh\s+(\S+)/.exec(install)![1];
    const workdir = image.filter((i) => i.keyword === 'WORKDIR').at(-1)?.args;
    assert.equal(workdir, target, 'the image runs from the folder install.sh filled');
    const inFinal = image.some((i) => i.keyword === 'RUN' && i.args === install);
    const copied = image.some((i) => i.keyword === 'COPY' && /--from=\S+/.test(i.args) && i.args.split(/\s+/).includes(target));
    assert.ok(inFinal || copied, `the final stage neither runs install.sh nor copies ${target} from the stage that did`);
  });

  test('CMD is the server process itself, in exec form (node gets the signals), with no ENTRYPOINT', () => {
    const cmds = image.filter((i) => i.keyword === 'CMD');
    assert.equal(cmds.length, 1, 'exactly one CMD in the final stage');
    assert.deepEqual(JSON.parse(cmds[0].args), SERVER_COMMAND);
    assert.ok(!dockerfile.some((i) => i.keyword === 'ENTRYPOINT'), 'an ENTRYPOINT would wrap the server process');
    const stop = image.find((i) => i.keyword === 'STOPSIGNAL');
    if (stop) assert.equal(stop.args, 'SIGTERM');
  });

  test('the server runs as a non-root user', () => {
    const user = image.filter((i) => i.keyword === 'USER').at(-1)?.args;
    assert.ok(user, 'the final stage sets no USER, so it runs as root');
    const name = user.split(':')[0];
    assert.ok(!['root', '0', ''].includes(name), `USER ${user} is root`);
    const keywords = image.map((i) => i.keyword);
    assert.ok(keywords.lastIndexOf('USER') < keywords.indexOf('CMD'), 'USER comes before CMD');
  });

  test('HEALTHCHECK probes /health with the server API token', () => {
    const checks = image.filter((i) => i.keyword === 'HEALTHCHECK');
    assert.equal(checks.length, 1, 'one HEALTHCHECK in the final stage');
    assert.doesNotMatch(checks[0].args, /^NONE\b/i);
    assert.match(checks[0].args, /CMD\s+\[\s*"node",\s*"deploy\/healthcheck\.mjs"\s*\]/);
    const probe = read('deploy/healthcheck.mjs');
    assert.match(probe, /\/health\b/);
    assert.match(probe, /authorization:\s*`Bearer \$\{token\}`/i, 'the probe sends Authorization: Bearer <token>');
    assert.match(probe, /SERVER_API_TOKEN/);
    assert.match(installScript, /deploy\/healthcheck\.mjs/, 'install.sh puts the probe into the image');
  });

  test('EXPOSE names HTTP, TURN over UDP and TCP, and metrics, matching the ports the image sets', () => {
    const exposed = image.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
    const withProto = new Set(exposed.map((p) => (p.includes('/') ? p : `${p}/tcp`)));
    const env = new Map(
      image.filter((i) => i.keyword === 'ENV').flatMap((i) => [...i.args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]] as const)),
    );
    const expect = (variable: string, fallback: string, proto: string) => {
      const port = `${env.get(variable) ?? fallback}/${proto}`;
      assert.ok(withProto.has(port), `EXPOSE lacks ${port} (${variable}); has ${[...withProto].join(' ')}`);
    };
    expect('FJ_PORT', '5002', 'tcp');
    expect('FJ_WEBRTC_TURN_PORT', '50000', 'udp');
    expect('FJ_WEBRTC_TURN_TCP_PORT', '50000', 'tcp');
    expect('FJ_METRICS_PORT', '9568', 'tcp');
    assert.equal(env.get('NODE_ENV'), 'production');
    for (const bind of ['FJ_IP', 'FJ_WEBRTC_TURN_LISTEN_IP', 'FJ_METRICS_IP']) {
      assert.equal(env.get(bind), '0.0.0.0', `${bind}: a container must bind every interface to be reachable`);
    }
  });
});

describe('deploy/install.sh and the build context', () => {
  test('installs the lockfile without dev dependencies', () => {
    assert.match(installScript, /^npm ci --omit=dev\b/m);
  });

  test('.dockerignore lets through every file install.sh copies', () => {
    const copied = [...installScript.matchAll(/"\$repo\/([^"]+)"/g)].map((m) => m[1]);
    assert.ok(copied.includes('src') && copied.includes('package-lock.json'), `install.sh copies ${copied.join(', ')}`);
    const allowed = read('.dockerignore')
      .split('\n')
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1).replace(/\/$/, ''));
    for (const path of copied) assert.ok(allowed.includes(path), `.dockerignore keeps ${path} out of the build context`);
  });

  test('src/ imports at run time only packages in "dependencies" (install.sh omits devDependencies)', () => {
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    const runtime = new Set(Object.keys(pkg.dependencies));
    assert.ok(runtime.has('tsx'), 'tsx runs src/main.ts in production: it must be a dependency');
    const builtins = new Set(builtinModules);
    const missing: string[] = [];
    for (const file of sourceFiles(join(ROOT, 'src'))) {
      for (const spec of runtimeImports(readFileSync(file, 'utf8'))) {
        if (spec.startsWith('.') || spec.startsWith('node:') || builtins.has(spec)) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        if (!runtime.has(name)) missing.push(`${file.slice(ROOT.length)}: ${spec}`);
      }
    }
    assert.deepEqual(missing, [], 'imported by src/ but not a runtime dependency');
  });
});

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (/\.(ts|mts|mjs|js)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) yield path;
  }
}

/** Module specifiers a file loads when it runs: static imports and re-exports that are not type-only, and import(). */
function runtimeImports(text: string): string[] {
  const specs: string[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+([\w$*{},\s]*?)\s*from\s*['"]([^'"]+)['"]/gm)) {
    const clause = m[2].trim();
    if (/^type\b/.test(clause)) continue;
    const braces = /^\{([^}]*)\}$/.exec(clause);
    if (braces && braces[1].split(',').every((s) => s.trim() === '' || /^type\s/.test(s.trim()))) continue;
    specs.push(m[3]);
  }
  for (const m of text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)) specs.push(m[1]);
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.push(m[1]);
  return specs;
}
