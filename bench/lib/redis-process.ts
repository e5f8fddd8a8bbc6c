// A throwaway redis-server for a cluster bench run: Debian's binary (PATH, /usr/bin or /usr/sbin) on a free
// port of 127.0.0.1, nothing persisted (--save '' --appendonly no, its own scratch dir), killed when the
// bench stops or exits. What it must not do: touch a Redis it did not start.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnavailableError } from './scenario.js';
import { freeTcpPort } from './shoal-process.js';

/** The redis-server binary, or undefined when none is installed. */
export function redisBinary(): string | undefined {
  const onPath = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout?.trim();
  if (onPath) return onPath;
  return ['/usr/bin/redis-server', '/usr/sbin/redis-server'].find((p) => existsSync(p));
}

/** True once the server answers PING with +PONG within `timeoutMs`. */
function ping(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.on('error', () => done(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

export class RedisProcess {
  private child: ChildProcess | undefined;
  private dir: string | undefined;
  private output = '';
  port = 0;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.child!.pid!;
  }

  async start(): Promise<void> {
    const bin = redisBinary();
    if (bin === undefined) throw new UnavailableError('redis-server is not installed (apt-get install -y redis-server)');
    this.port = await freeTcpPort();
    this.dir = mkdtempSync(join(tmpdir(), 'shoal-bench-redis-'));
    const child = spawn(bin, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    process.on('exit', () => child.kill('SIGKILL'));
    const deadline = Date.now() + 10_000;
    while (!(await ping(this.port, 500))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start on port ${this.port}:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
