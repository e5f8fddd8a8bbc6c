// Shoal as a child process for the load generator (`node --import tsx src/main.ts`, FJ_LOG_LEVEL=error) on
// free ports: HTTP/WebSocket, Prometheus metrics and the integrated TURN server (UDP only, 127.0.0.1). The
// generator runs in the parent process, so its CPU is not charged to the server. Optionally pinned to CPUs
// (taskset, which execs node: the pid stays the server's) and given a shared token and key base (a cluster).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from './args.js';
import { awaitChildReady } from './child-server.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function freeTcpPort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

export async function freeUdpPort(): Promise<number> {
  return new Promise((res, rej) => {
    const sock = dgram.createSocket('udp4');
    sock.once('error', rej);
    sock.bind(0, '127.0.0.1', () => {
      const { port } = sock.address();
      sock.close(() => res(port));
    });
  });
}

/** "2 media workers" (empty without workers). */
export function workersLabel(workers: unknown): string {
  return typeof workers === 'number' && workers > 0 ? `${workers} media worker${workers === 1 ? '' : 's'}` : '';
}

/** "2 media workers; " for table titles (empty without workers). */
export function workersNote(workers: unknown): string {
  const label = workersLabel(workers);
  return label ? `${label}; ` : '';
}

export interface ShoalStartOptions {
  /** Directory for a V8 CPU profile of the server (--cpu-prof), written when it stops. */
  profileDir?: string;
  /** Media worker threads (FJ_MEDIA_WORKERS); with any, each worker takes a free TURN port of its own. */
  workers?: number;
  /** Extra environment for the server (overrides the defaults). */
  env?: Record<string, string>;
  /** Pins the process to these CPUs (`taskset -c <cpus>`, e.g. "0"); needs taskset (util-linux). */
  cpus?: string;
  /** FJ_MEDIA_DATAPLANE for the server (unset: the server's default, native when the addon loads). */
  plane?: string;
}

/** The data planes a bench run can ask for (--plane). */
export const PLANES = ['native', 'js', 'auto'] as const;

/** --plane's value, checked: undefined (the server's default) or one of PLANES. */
export function planeFlag(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(PLANES as readonly string[]).includes(v)) throw new UsageError(`--plane takes ${PLANES.join('|')}, got "${String(v)}"`);
  return v;
}

export class ShoalProcess {
  readonly apiToken: string;
  readonly secretKeyBase: string;
  private child: ChildProcess | undefined;
  private output = '';
  httpPort = 0;
  metricsPort = 0;
  turnPort = 0;

  /** Token and key base: random unless given (a cluster's nodes share both). */
  constructor(shared: { apiToken?: string; secretKeyBase?: string } = {}) {
    this.apiToken = shared.apiToken ?? randomBytes(18).toString('base64url');
    this.secretKeyBase = shared.secretKeyBase ?? randomBytes(36).toString('base64');
  }

  get pid(): number {
    return this.child!.pid!;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.httpPort}`;
  }

  async start(o: ShoalStartOptions = {}): Promise<void> {
    [this.httpPort, this.metricsPort, this.turnPort] = await Promise.all([freeTcpPort(), freeTcpPort(), freeUdpPort()]);
    const prof = o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : [];
    const argv = [process.execPath, ...prof, '--import', 'tsx', 'src/main.ts'];
    const [cmd, ...args] = o.cpus === undefined ? argv : ['taskset', '-c', o.cpus, ...argv];
    const child = spawn(cmd!, args, {
      cwd: REPO,
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        FJ_SERVER_API_TOKEN: this.apiToken,
        FJ_SECRET_KEY_BASE: this.secretKeyBase,
        FJ_IP: '127.0.0.1',
        FJ_PORT: String(this.httpPort),
        FJ_HOST: `127.0.0.1:${this.httpPort}`,
        FJ_METRICS_IP: '127.0.0.1',
        FJ_METRICS_PORT: String(this.metricsPort),
        FJ_WEBRTC_TURN_IP: '127.0.0.1',
        FJ_WEBRTC_TURN_LISTEN_IP: '127.0.0.1',
        FJ_WEBRTC_TURN_PORT: String(this.turnPort),
        FJ_WEBRTC_TURN_TCP_PORT: 'off',
        FJ_LOG_LEVEL: 'error',
        ...(o.workers ? { FJ_MEDIA_WORKERS: String(o.workers), FJ_WEBRTC_TURN_PORT: '0' } : {}),
        ...(o.plane !== undefined ? { FJ_MEDIA_DATAPLANE: o.plane } : {}),
        ...o.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    await awaitChildReady(
      'Shoal',
      child,
      (t) => (this.output += t),
      () => this.output,
      // Ready once the metrics endpoint answers too: it starts after the media plane (workers take a moment).
      async () =>
        (await fetch(`${this.httpUrl}/health`, { headers: { authorization: `Bearer ${this.apiToken}` } })).ok &&
        (await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`)).ok,
      30_000,
    );
    await this.scrape();
  }

  /** Server-side output so far (errors only, FJ_LOG_LEVEL=error). */
  get log(): string {
    return this.output;
  }

  async api(method: string, path: string, body?: unknown): Promise<any> {
    const r = await fetch(`${this.httpUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.apiToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path} → ${r.status} ${text}`);
    return text === '' ? undefined : JSON.parse(text);
  }

  async createRoom(body: Record<string, unknown> = { videoCodec: 'vp8' }): Promise<string> {
    return (await this.api('POST', '/room', body)).data.room.id as string;
  }

  /** Adds a webrtc peer; resolves with its token. */
  async addPeer(roomId: string): Promise<string> {
    return (await this.addPeerWithUrl(roomId)).token;
  }

  /** Adds a webrtc peer; resolves with its token and the ws:// base URL of the node serving its room. */
  async addPeerWithUrl(roomId: string): Promise<{ token: string; wsUrl: string }> {
    const data = (await this.api('POST', `/room/${roomId}/peer`, { type: 'webrtc', options: {} })).data;
    const url = String(data.peer_websocket_url).replace(/\/socket\/peer\/websocket$/, '');
    return { token: data.token as string, wsUrl: `ws://${url}` };
  }

  /** Deletes the room and waits (≤ 10 s) until the server reports no rooms, so the next measurement starts clean. */
  async deleteRoomsAndSettle(roomIds: string[]): Promise<void> {
    await Promise.all(roomIds.map((id) => this.api('DELETE', `/room/${id}`).catch(() => undefined)));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && ((await this.scrape()).get('fishjam_rooms') ?? 0) > 0) await sleep(100);
    await sleep(500);
  }

  /** Prometheus metrics of the server, name → value (unlabelled series only). */
  async scrape(): Promise<Map<string, number>> {
    const text = await (await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`)).text();
    const out = new Map<string, number>();
    for (const line of text.split('\n')) {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\s+(\S+)$/.exec(line);
      if (m) out.set(m[1]!, Number(m[2]));
    }
    return out;
  }

  /** The data plane the server reports running (shoal_media_data_plane{plane="…"} 1), or "unknown". */
  async dataPlane(): Promise<string> {
    const text = await (await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`)).text();
    return /^shoal_media_data_plane\{plane="([a-z]+)"\}\s+1$/m.exec(text)?.[1] ?? 'unknown';
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
