// The rest of the deployment kit, read as text: the Compose file, the systemd unit, the example env file
// and README's public-server section use only variables Shoal reads; the unit and CI start the server
// process the way the image does; LICENSE is the Apache-2.0 text package.json names; and, when CI says
// which Node a suite run is meant for (SHOAL_EXPECT_NODE), the test processes really run that Node.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { realpathSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { read, SERVER_COMMAND } from './deploy-text.js';

/** Every variable loadConfig reads, recorded through an empty environment. */
/** The variables config.ts reads on a single node and, given these values, in cluster mode too. */
function variablesShoalReads(): Set<string> {
  const seen = new Set<string>();
  const read = (given: Record<string, string>) =>
    new Proxy({} as Record<string, string | undefined>, {
      get(_target, key) {
        if (typeof key !== 'string') return undefined;
        seen.add(key);
        return given[key];
      },
    });
  loadConfig(read({}));
  loadConfig(read({ FJ_SERVER_API_TOKEN: 'token', FJ_REDIS_URL: 'redis://127.0.0.1:6379', FJ_SECRET_KEY_BASE: 'a-shared-secret-key-base-long-enough-0123456789' }));
  return seen;
}

const KNOWN = variablesShoalReads();

function assertKnownVariables(where: string, text: string): string[] {
  const names = [...new Set([...text.matchAll(/\b(?:FJ|JF)_[A-Z0-9_]*[A-Z0-9]\b/g)].map((m) => m[0]))];
  const unknown = names.filter((n) => !KNOWN.has(n));
  assert.deepEqual(unknown, [], `${where} names variables src/config/config.ts does not read`);
  return names;
}

/** `Key=value` settings of a systemd unit (last one wins, as systemd reads most keys). */
function unitSettings(text: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) settings.set(m[1], m[2].trim());
  }
  return settings;
}

describe('deploy/compose.yaml', () => {
  const compose = read('deploy/compose.yaml');

  test('sets what a public deployment needs, with real variable names only', () => {
    const names = assertKnownVariables('compose.yaml', compose);
    for (const required of ['FJ_SERVER_API_TOKEN', 'FJ_SECRET_KEY_BASE', 'FJ_HOST', 'FJ_WEBRTC_TURN_IP', 'FJ_WEBRTC_TURN_LISTEN_IP', 'FJ_IP']) {
      assert.ok(names.includes(required), `compose.yaml does not set ${required}`);
    }
    assert.match(compose, /^\s+NODE_ENV:\s*"?production"?\s*$/m);
    for (const secret of ['FJ_SERVER_API_TOKEN', 'FJ_SECRET_KEY_BASE']) {
      assert.match(compose, new RegExp(`^\\s+${secret}:\\s*\\$\\{${secret}:\\?`, 'm'), `${secret} must come from the env file and be required`);
    }
  });

  test('builds deploy/Dockerfile, maps TURN over UDP and TCP, and waits for a drain on stop', () => {
    assert.match(compose, /^\s+dockerfile:\s*deploy\/Dockerfile\s*$/m);
    assert.match(compose, /-\s*"?[\d.:-]*50000(-\d+)?:50000(-\d+)?\/udp"?/);
    assert.match(compose, /-\s*"?[\d.:-]*50000(-\d+)?:50000(-\d+)?\/tcp"?/);
    assert.match(compose, /:5002\/tcp"?/);
    const grace = /^\s+stop_grace_period:\s*(\d+)s\s*$/m.exec(compose);
    assert.ok(grace && Number(grace[1]) >= 30, 'stop_grace_period of at least 30s (docker waits 10s by default)');
  });
});

describe('deploy/shoal.service', () => {
  const unit = read('deploy/shoal.service');
  const s = unitSettings(unit);

  test('runs the server process directly as a dedicated user, from an EnvironmentFile', () => {
    const exec = s.get('ExecStart') ?? '';
    const argv = exec.split(/\s+/);
    assert.match(argv[0], /^\/\S*\/node$/, `ExecStart should start node by absolute path, is "${exec}"`);
    assert.deepEqual(argv.slice(1), SERVER_COMMAND.slice(1));
    const user = s.get('User');
    assert.ok(user && !['root', '0'].includes(user), `User=${user ?? '(unset)'}: a dedicated user, not root`);
    assert.ok(s.get('EnvironmentFile'), 'EnvironmentFile= holds the secrets');
    assert.ok(s.get('WorkingDirectory'), 'WorkingDirectory= is where install.sh put Shoal');
  });

  test('restarts on failure and stops with SIGTERM and time for a drain', () => {
    assert.equal(s.get('Restart'), 'on-failure');
    assert.equal(s.get('KillSignal'), 'SIGTERM');
    const timeout = /^(\d+)(s|min)?$/.exec(s.get('TimeoutStopSec') ?? '');
    assert.ok(timeout, 'TimeoutStopSec= set in seconds or minutes');
    const seconds = Number(timeout[1]) * (timeout[2] === 'min' ? 60 : 1);
    assert.ok(seconds >= 30, `TimeoutStopSec=${s.get('TimeoutStopSec')} leaves too little time to drain`);
  });

  test('is hardened', () => {
    assert.equal(s.get('NoNewPrivileges'), 'yes');
    assert.match(s.get('ProtectSystem') ?? '', /^(strict|full)$/);
    assert.equal(s.get('PrivateTmp'), 'yes');
    assert.equal(s.get('CapabilityBoundingSet'), '', 'no capabilities (Shoal binds ports above 1024)');
  });

  test('uses real variable names only, as does its example env file', () => {
    assertKnownVariables('shoal.service', unit);
    const example = read('deploy/shoal.env.example');
    const names = assertKnownVariables('shoal.env.example', example);
    for (const required of ['FJ_SERVER_API_TOKEN', 'FJ_SECRET_KEY_BASE', 'FJ_HOST', 'FJ_WEBRTC_TURN_IP']) {
      assert.ok(names.includes(required), `shoal.env.example does not list ${required}`);
    }
  });
});

describe('README and .ci/run', () => {
  test('the public-server section names real variables and points to deploy/', () => {
    const readme = read('README.md');
    const start = readme.indexOf('\n## Run it on a public server\n');
    assert.ok(start >= 0, 'README has a "## Run it on a public server" section');
    const end = readme.indexOf('\n## ', start + 1);
    assert.ok(end > start, 'another section follows it');
    const section = readme.slice(start, end);
    assertKnownVariables('README "Run it on a public server"', section);
    for (const file of ['Dockerfile', 'compose.yaml', 'shoal.service']) assert.ok(section.includes(file), `the section mentions deploy/${file}`);
  });

  test('the cluster section names real variables, the ones a cluster needs among them', () => {
    const readme = read('README.md');
    const start = readme.indexOf('\n## Run a cluster\n');
    assert.ok(start >= 0, 'README has a "## Run a cluster" section');
    const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
    const names = assertKnownVariables('README "Run a cluster"', section);
    for (const required of ['FJ_REDIS_URL', 'FJ_NODE_ID', 'FJ_HOST', 'FJ_SECRET_KEY_BASE', 'FJ_SERVER_API_TOKEN', 'FJ_CLUSTER_LEASE_MS', 'FJ_CLUSTER_DRAIN_TIMEOUT_MS']) {
      assert.ok(names.includes(required), `the cluster section does not name ${required}`);
    }
  });

  test('.ci/run checks the production install and runs the suite on this Node and on Node 24', () => {
    const ci = read('.ci/run');
    assert.match(ci, /deploy\/install\.sh/, 'CI runs the install the image is built from');
    assert.match(ci, /deploy\/healthcheck\.mjs/, 'CI probes that install with the image HEALTHCHECK script');
    assert.ok(ci.includes(SERVER_COMMAND.join(' ')), 'CI starts the install with the image command');
    assert.match(ci, /npm install --prefix \S+ node@24\b/);
    assert.match(ci, /== suite on Node \$\w+ ==/);
    assert.match(ci, /^\s*PATH="\$NODE24_PATH" run_leg v24\s*$/m);
    assert.match(ci, /npm test\b/);
  });
});

describe('LICENSE and engines', () => {
  test('LICENSE is the complete Apache License 2.0 text that package.json names', () => {
    const pkg = JSON.parse(read('package.json')) as { license: string };
    assert.equal(pkg.license, 'Apache-2.0');
    const text = read('LICENSE');
    assert.match(text, /^\s*Apache License\n\s*Version 2\.0, January 2004\n/);
    for (const part of ['TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION', '9. Accepting Warranty or Additional Liability.', 'END OF TERMS AND CONDITIONS', 'APPENDIX: How to apply the Apache License to your work.']) {
      assert.ok(text.includes(part), `LICENSE lacks "${part}"`);
    }
  });

  test('the test processes run the Node this suite run is meant for (SHOAL_EXPECT_NODE, set by .ci/run)', (t) => {
    t.diagnostic(`node ${process.version} at ${process.execPath}`);
    const expected = process.env.SHOAL_EXPECT_NODE;
    if (!expected) return t.skip('SHOAL_EXPECT_NODE is not set (not a .ci/run leg)');
    assert.equal(process.version, expected);
    // The suite also starts children by process.execPath; a bare `node` must be the same binary.
    const onPath = (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'node')).find(isFile);
    assert.ok(onPath, 'no node on PATH');
    assert.equal(realpathSync(onPath), realpathSync(process.execPath), `the first node on PATH (${onPath}) is not the one running the tests`);
  });
});

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
