// Shoal's CPU cost per forwarded RTP packet, 1 publisher → N subscribers, with browserless ts-client 0.5.0
// peers (bench/clients/c5-peer.ts: libdatachannel, relay-only through Shoal's integrated TURN server).
//
// Shoal runs as a separate child process (`node --import tsx src/main.ts`, FJ_LOG_LEVEL=error); the load
// generator runs in this process, so its CPU is not charged to the server. For each N: one room, one
// publisher sending synthetic VP8 (~100 packets/s of 1200 B, ~1 Mbit/s), N subscribers; once every
// subscriber receives packets and a short warm-up has passed, a window of `--seconds` is measured:
//   server CPU   utime+stime of the Shoal process from /proc/<pid>/stat (clock ticks / CLK_TCK)
//   forwarded    delta of shoal_rtp_forwarded_total scraped from FJ_METRICS_PORT /metrics
//   loss         sequence-number gaps seen by the subscribers during the window
// and compared with a naive baseline of 50 µs of CPU per forwarded packet.
//
// Run:   node --import tsx bench/fanout-cpu.ts [--subscribers 1,8,32] [--seconds 10] [--audio] [--smoke] [--profile DIR]
// --smoke is N=2 for 3 seconds (used by test/bench/fanout-smoke.test.ts). The last line printed is
// `RESULT <json>` with every number of the table, for tools.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import nodeDataChannel from 'node-datachannel';
import { C5Peer } from './clients/c5-peer.js';

const BASELINE_US_PER_PACKET = 50;
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface Options {
  subscribers: number[];
  seconds: number;
  warmupSeconds: number;
  audio: boolean;
  smoke: boolean;
  /** Directory for a V8 CPU profile of the server (--cpu-prof), written when it stops. */
  profileDir?: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { subscribers: [1, 8, 32], seconds: 10, warmupSeconds: 2, audio: false, smoke: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--subscribers') o.subscribers = value().split(',').map((s) => Number(s.trim()));
    else if (a === '--seconds') o.seconds = Number(value());
    else if (a === '--warmup') o.warmupSeconds = Number(value());
    else if (a === '--audio') o.audio = true;
    else if (a === '--smoke') o.smoke = true;
    else if (a === '--profile') o.profileDir = resolve(value());
    else throw new Error(`unknown argument ${a}; usage: fanout-cpu.ts [--subscribers 1,8,32] [--seconds 10] [--warmup 2] [--audio] [--smoke] [--profile DIR]`);
  }
  if (o.smoke) {
    o.subscribers = [2];
    o.seconds = 3;
    o.warmupSeconds = 1;
  }
  if (o.subscribers.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--subscribers takes positive integers, e.g. 1,8,32');
  if (!(o.seconds > 0)) throw new Error('--seconds must be > 0');
  return o;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freeTcpPort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

async function freeUdpPort(): Promise<number> {
  return new Promise((res, rej) => {
    const sock = dgram.createSocket('udp4');
    sock.once('error', rej);
    sock.bind(0, '127.0.0.1', () => {
      const { port } = sock.address();
      sock.close(() => res(port));
    });
  });
}

function clockTicksPerSecond(): number {
  try {
    const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(v) && v > 0 ? v : 100;
  } catch {
    return 100;
  }
}

/** utime + stime of a process, in clock ticks (all its threads). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm)": state is field 3, utime 14, stime 15 (1-based over the whole line).
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]);
}

class ShoalProcess {
  readonly apiToken = randomBytes(18).toString('base64url');
  private child: ChildProcess | undefined;
  private output = '';
  httpPort = 0;
  metricsPort = 0;
  turnPort = 0;

  get pid(): number {
    return this.child!.pid!;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.httpPort}`;
  }

  async start(profileDir?: string): Promise<void> {
    [this.httpPort, this.metricsPort, this.turnPort] = await Promise.all([freeTcpPort(), freeTcpPort(), freeUdpPort()]);
    const prof = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const child = spawn(process.execPath, [...prof, '--import', 'tsx', 'src/main.ts'], {
      cwd: REPO,
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        FJ_SERVER_API_TOKEN: this.apiToken,
        FJ_SECRET_KEY_BASE: randomBytes(36).toString('base64'),
        FJ_IP: '127.0.0.1',
        FJ_PORT: String(this.httpPort),
        FJ_METRICS_IP: '127.0.0.1',
        FJ_METRICS_PORT: String(this.metricsPort),
        FJ_WEBRTC_TURN_IP: '127.0.0.1',
        FJ_WEBRTC_TURN_LISTEN_IP: '127.0.0.1',
        FJ_WEBRTC_TURN_PORT: String(this.turnPort),
        FJ_WEBRTC_TURN_TCP_PORT: 'off',
        FJ_LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    process.on('exit', () => child.kill('SIGKILL'));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`Shoal exited with ${child.exitCode} during start:\n${this.output}`);
      try {
        const r = await fetch(`${this.httpUrl}/health`, { headers: { authorization: `Bearer ${this.apiToken}` } });
        if (r.ok) {
          await this.scrape();
          return;
        }
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(`Shoal did not answer /health within 30 s:\n${this.output}`);
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

interface Row {
  subscribers: number;
  windowSeconds: number;
  publisherSentPerSec: number;
  receivedByServerPerSec: number;
  forwardedPerSec: number;
  subscriberReceivedPerSec: number;
  serverCpuPercent: number;
  usPerForwardedPacket: number;
  lossPercent: number;
  ratioVsBaseline: number;
  clientCpuPercent: number;
  /** Packets each subscriber received during the window. */
  perSubscriberReceived: number[];
  setupSeconds: number;
}

async function measure(shoal: ShoalProcess, n: number, o: Options, ticksPerSecond: number): Promise<Row> {
  const setupStart = performance.now();
  const room = (await shoal.api('POST', '/room', { videoCodec: 'vp8' })).data.room.id as string;
  const peers: C5Peer[] = [];
  const newPeer = async (name: string) => {
    const r = await shoal.api('POST', `/room/${room}/peer`, { type: 'webrtc', options: {} });
    const p = new C5Peer({ wsUrl: shoal.wsUrl, token: r.data.token, name, metadata: { name } });
    peers.push(p);
    return p;
  };
  try {
    const publisher = await newPeer('publisher');
    await publisher.join();
    await publisher.publish({ video: true, audio: o.audio });
    publisher.startSending({ audio: o.audio });

    const subscribers = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const s = await newPeer(`subscriber-${i}`);
        await s.join();
        await s.negotiated(30_000);
        return s;
      }),
    );
    await Promise.all(
      subscribers.map((s) =>
        s.waitUntil(() => (s.received.length > 0 && s.received.every((c) => c.packets > 0) ? true : undefined), 'first packets on every receiving m-line', 30_000),
      ),
    );
    const setupSeconds = (performance.now() - setupStart) / 1000;
    await sleep(o.warmupSeconds * 1000);

    const snap = async () => {
      const metrics = await shoal.scrape();
      return {
        t: performance.now(),
        ticks: cpuTicks(shoal.pid),
        client: process.cpuUsage(),
        forwarded: metrics.get('shoal_rtp_forwarded_total') ?? NaN,
        receivedByServer: metrics.get('shoal_rtp_received_total') ?? NaN,
        sent: publisher.sent.rtp,
        subs: subscribers.map((s) => s.received.map((c) => ({ packets: c.packets, highest: c.highestSeq ?? 0 }))),
      };
    };
    const a = await snap();
    await sleep(o.seconds * 1000);
    const b = await snap();

    const wall = (b.t - a.t) / 1000;
    const cpuSeconds = (b.ticks - a.ticks) / ticksPerSecond;
    const forwarded = b.forwarded - a.forwarded;
    let expected = 0;
    let got = 0;
    const perSubscriberReceived: number[] = [];
    subscribers.forEach((_, i) => {
      let mine = 0;
      b.subs[i]!.forEach((c, j) => {
        const before = a.subs[i]![j] ?? { packets: 0, highest: c.highest };
        expected += c.highest - before.highest;
        got += c.packets - before.packets;
        mine += c.packets - before.packets;
      });
      perSubscriberReceived.push(mine);
    });
    const clientCpu = (b.client.user - a.client.user + b.client.system - a.client.system) / 1e6;
    const us = forwarded > 0 ? (cpuSeconds * 1e6) / forwarded : NaN;
    const errors = peers.flatMap((p) => p.errors.map((e) => `${p.id}: ${e}`));
    if (errors.length > 0) process.stderr.write(`client errors during N=${n}:\n  ${errors.join('\n  ')}\n`);
    return {
      subscribers: n,
      windowSeconds: wall,
      publisherSentPerSec: (b.sent - a.sent) / wall,
      receivedByServerPerSec: (b.receivedByServer - a.receivedByServer) / wall,
      forwardedPerSec: forwarded / wall,
      subscriberReceivedPerSec: got / wall,
      serverCpuPercent: (cpuSeconds / wall) * 100,
      usPerForwardedPacket: us,
      lossPercent: expected > 0 ? (Math.max(0, expected - got) / expected) * 100 : NaN,
      ratioVsBaseline: us / BASELINE_US_PER_PACKET,
      clientCpuPercent: (clientCpu / wall) * 100,
      perSubscriberReceived,
      setupSeconds,
    };
  } finally {
    for (const p of peers) p.close();
    await shoal.api('DELETE', `/room/${room}`).catch(() => undefined);
    // Let the server tear the room down before the next measurement.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && ((await shoal.scrape()).get('fishjam_rooms') ?? 0) > 0) await sleep(100);
    await sleep(500);
  }
}

function table(rows: Row[]): string {
  const header = ['N', 'fwd pkts/s', 'server CPU %', 'CPU µs/fwd pkt', 'sub loss %', 'vs 50 µs', 'pub pkts/s', 'sub rcv pkts/s', 'client CPU %'];
  const cells = rows.map((r) => [
    String(r.subscribers),
    r.forwardedPerSec.toFixed(0),
    r.serverCpuPercent.toFixed(1),
    r.usPerForwardedPacket.toFixed(1),
    r.lossPercent.toFixed(2),
    `${r.ratioVsBaseline.toFixed(2)}×`,
    r.publisherSentPerSec.toFixed(0),
    r.subscriberReceivedPerSec.toFixed(0),
    r.clientCpuPercent.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padStart(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const ticksPerSecond = clockTicksPerSecond();
  const shoal = new ShoalProcess();
  let failed = false;
  try {
    await shoal.start(o.profileDir);
    // Idle cost of the server (timers, sockets), for reference.
    await sleep(500);
    const idleA = cpuTicks(shoal.pid);
    await sleep(1000);
    const idlePercent = ((cpuTicks(shoal.pid) - idleA) / ticksPerSecond) * 100;

    const rows: Row[] = [];
    for (const n of o.subscribers) {
      const row = await measure(shoal, n, o, ticksPerSecond);
      rows.push(row);
      process.stderr.write(`N=${n}: setup ${row.setupSeconds.toFixed(1)} s, ${row.forwardedPerSec.toFixed(0)} fwd pkts/s, ${row.usPerForwardedPacket.toFixed(1)} µs/pkt\n`);
    }
    console.log(
      `Shoal fan-out CPU (1 publisher: VP8 ~100 pkts/s of 1200 B${o.audio ? ' + opus 50 pkts/s of 100 B' : ''}; ${o.seconds} s windows; ` +
        `CLK_TCK ${ticksPerSecond}; server idle ${idlePercent.toFixed(1)} % CPU; ${process.platform}/${process.arch}, node ${process.version})`,
    );
    console.log(table(rows));
    if (shoal.log.trim() !== '') console.log(`server log (errors):\n${shoal.log.trim()}`);
    console.log(`RESULT ${JSON.stringify({ baselineUsPerPacket: BASELINE_US_PER_PACKET, idleCpuPercent: idlePercent, rows })}`);
  } catch (err) {
    failed = true;
    process.stderr.write(`fanout-cpu failed: ${(err as Error).stack ?? String(err)}\n`);
    if (shoal.log.trim() !== '') process.stderr.write(`server output:\n${shoal.log}\n`);
  } finally {
    await shoal.stop();
    nodeDataChannel.cleanup();
  }
  process.exit(failed ? 1 : 0);
}

void main();
