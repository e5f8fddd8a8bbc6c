// Keeps bench/fanout-cpu.ts from rotting: runs its smoke mode (Shoal as a child process, 1 publisher and
// 2 browserless subscribers through the integrated TURN server, 3 s window) and checks that the table was
// printed and every subscriber received RTP during the window.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TIMEOUT_MS = 55_000;

describe('bench: fanout-cpu --smoke', () => {
  let child: ChildProcess | undefined;

  after(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  test('prints the table, and both subscribers receive packets with the server forwarding them', { timeout: 60_000 }, async () => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'bench/fanout-cpu.ts', '--smoke'], {
      cwd: REPO,
      env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT')), NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let stdout = '';
    let stderr = '';
    proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((res, rej) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        rej(new Error(`fanout-cpu --smoke did not finish in ${TIMEOUT_MS} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
      }, TIMEOUT_MS);
      proc.once('exit', (c) => {
        clearTimeout(timer);
        res(c);
      });
    });
    assert.equal(code, 0, `exit code ${code}\nstdout:\n${stdout}\nstderr:\n${stderr}`);

    assert.match(stdout, /\| N \| fwd pkts\/s \| server CPU % \| CPU µs\/fwd pkt \| sub loss % \| vs 50 µs \|/);
    assert.match(stdout, /^\| 2 \|\s+\d+ \|/m, 'a table row for N=2');
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    assert.ok(line, `no RESULT line in:\n${stdout}`);
    const result = JSON.parse(line.slice('RESULT '.length));
    assert.equal(result.baselineUsPerPacket, 50);
    assert.equal(result.rows.length, 1);
    const row = result.rows[0];
    assert.equal(row.subscribers, 2);
    assert.equal(row.perSubscriberReceived.length, 2);
    // ~100 packets/s for 3 s each; well above zero even on a loaded machine.
    for (const n of row.perSubscriberReceived) assert.ok(n > 50, `a subscriber received only ${n} packets: ${line}`);
    assert.ok(row.forwardedPerSec > 0, line);
    assert.ok(row.usPerForwardedPacket > 0 && Number.isFinite(row.usPerForwardedPacket), line);
    assert.ok(row.serverCpuPercent > 0, line);
  });
});
