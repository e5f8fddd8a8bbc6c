// Runs `node --import tsx bench/cli.ts <args>` for the bench smoke tests (not a test file itself): the
// child's exit code, stdout and stderr, killed and failed after `timeoutMs`; `track` gets the child so the
// test's after hook can kill it if the test ends first.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export async function runBenchCli(args: string[], timeoutMs: number, track: (child: ChildProcess) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'bench/cli.ts', ...args], {
    cwd: REPO,
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT')), NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(proc);
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((res, rej) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      rej(new Error(`bench ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    proc.once('exit', (c) => {
      clearTimeout(timer);
      res(c);
    });
  });
  return { code, stdout, stderr };
}
