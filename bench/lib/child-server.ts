// A server started as a child process for a bench run: its output is collected, it is killed when the
// bench process exits, and start resolves once `ready()` says it answers (or fails with what it printed).
// What it must not do: know which server it runs or how readiness is probed.
import type { ChildProcess } from 'node:child_process';

/** Collects `child`'s output into `sink`, kills it on exit, and polls `ready` every 100 ms until true. */
export async function awaitChildReady(
  name: string,
  child: ChildProcess,
  sink: (text: string) => void,
  output: () => string,
  ready: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  child.stdout?.on('data', (d: Buffer) => sink(d.toString()));
  child.stderr?.on('data', (d: Buffer) => sink(d.toString()));
  process.on('exit', () => child.kill('SIGKILL'));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} during start:\n${output()}`);
    try {
      if (await ready()) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not become ready within ${timeoutMs / 1000} s:\n${output()}`);
}
