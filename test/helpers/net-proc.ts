// A helper process inside a namespace for the shaped-link harness (the UDP flow tool, the delay relay):
// spawned under `ip netns exec`, its stdout read line by line (each line awaited with a bound), stdin kept
// open when asked so the process can take commands. It must not outlive its caller: kill() is SIGKILL,
// and tools given stdin exit when it closes.
import { spawn, type ChildProcess } from 'node:child_process';
import { inNamespace } from './netns.js';

export interface NsProcess {
  child: ChildProcess;
  /** The next stdout line, waiting at most `timeoutMs` (rejects if the process exits first). */
  nextLine(timeoutMs: number, what: string): Promise<string>;
  /** stderr so far */
  stderr(): string;
  kill(): void;
}

/** Runs `node --import tsx <script> …args` in namespace `ns`. */
export function startInNamespace(ns: string, script: string, args: string[], opts: { stdin?: boolean } = {}): NsProcess {
  const [cmd, ...rest] = inNamespace(ns, [process.execPath, '--import', 'tsx', script, ...args]);
  const child = spawn(cmd!, rest, { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const queued: string[] = [];
  const waiters: ((line: string | undefined) => void)[] = [];
  let exited = false;
  child.stdout!.on('data', (d: Buffer) => {
    out += d;
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      const w = waiters.shift();
      if (w) w(line);
      else queued.push(line);
    }
  });
  child.stderr!.on('data', (d) => (err += d));
  child.on('exit', () => {
    exited = true;
    for (const w of waiters.splice(0)) w(undefined);
  });
  return {
    child,
    stderr: () => err,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    nextLine(timeoutMs, what) {
      const q = queued.shift();
      if (q !== undefined) return Promise.resolve(q);
      if (exited) return Promise.reject(new Error(`${what}: ${script} in ${ns} exited (${child.exitCode}): ${err}`));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const i = waiters.indexOf(onLine);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`${what}: no answer in ${timeoutMs} ms from ${script} in ${ns}: ${err}`));
        }, timeoutMs);
        const onLine = (line: string | undefined) => {
          clearTimeout(timer);
          if (line === undefined) reject(new Error(`${what}: ${script} in ${ns} exited (${child.exitCode}): ${err}`));
          else resolve(line);
        };
        waiters.push(onLine);
      });
    },
  };
}
