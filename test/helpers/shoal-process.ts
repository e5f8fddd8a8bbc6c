// Starts Shoal as its own process, the way an operator runs it (node on src/main.ts, or `npm start`), on a
// free HTTP port with free TURN and metrics ports, and waits (bounded) for a start-up log line. Every
// process it started is killed by killShoalProcesses() (call it in `after`).
import { spawn, type ChildProcess } from 'node:child_process';
import { dataPlaneEnv, freePort } from './server.js';

export interface ShoalProcess {
  child: ChildProcess;
  port: number;
  /** What the process wrote to stdout so far. */
  stdout(): string;
  /** stdout and stderr so far. */
  output(): string;
  exited: Promise<number | null>;
}

const started: ChildProcess[] = [];

export interface SpawnOptions {
  /** The API token the process gets as FJ_SERVER_API_TOKEN. */
  token: string;
  env?: Record<string, string>;
  /** Default: node --import tsx src/main.ts. */
  command?: string[];
  /** The stdout text that means "started" (default: 'Shoal is listening'). */
  ready?: RegExp;
  timeoutMs?: number;
}

export async function spawnShoal(o: SpawnOptions): Promise<ShoalProcess> {
  const port = await freePort();
  const [cmd, ...args] = o.command ?? [process.execPath, '--import', 'tsx', 'src/main.ts'];
  const child = spawn(cmd!, args, {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      FJ_SERVER_API_TOKEN: o.token,
      FJ_SECRET_KEY_BASE: 'process-test-secret-key-base-long-enough-0123456',
      FJ_PORT: String(port),
      FJ_WEBRTC_TURN_PORT: '0',
      FJ_WEBRTC_TURN_TCP_PORT: '0',
      FJ_METRICS_PORT: '0',
      ...dataPlaneEnv(),
      ...o.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = o.ready ?? /Shoal is listening/;
  const deadline = Date.now() + (o.timeoutMs ?? 30_000);
  while (!ready.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start:\n${out}${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, port, stdout: () => out, output: () => out + err, exited };
}

/** Runs `node --import tsx src/main.ts` with only PATH and `env`, expecting it to exit (a refused start): its exit code and stderr, within 20 s. */
export async function runToExit(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('process did not exit within 20 s'));
    }, 20_000);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  return { code, stderr };
}

export function killShoalProcesses(): void {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
