// Measures a UDP flow between two namespaces of a topology with net-udp-tool.ts (a receiver started in
// one namespace, then a paced sender in the other): what was sent, what arrived, and the arrival rate.
// It must not leave either process running (both are bounded and killed on failure).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inNamespace } from './netns.js';

const TOOL = fileURLToPath(new URL('./net-udp-tool.ts', import.meta.url));

export interface UdpFlowResult {
  sent: number;
  received: number;
  bytes: number;
  /** Arrival rate between the first and the last datagram, kbit/s. */
  kbit: number;
  /** 100 × (sent − received) / sent */
  lossPercent: number;
}

function startTool(ns: string, args: string[]): { child: ChildProcess; lines: AsyncIterableIterator<string>; done: Promise<string> } {
  const [cmd, ...rest] = inNamespace(ns, [process.execPath, '--import', 'tsx', TOOL, ...args]);
  const child = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: ((line: string) => void)[] = [];
  const queued: string[] = [];
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
  const done = new Promise<string>((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve(err) : reject(new Error(`udp tool ${args[0]} in ${ns} exited ${code}: ${err}`)))),
  );
  const lines: AsyncIterableIterator<string> = {
    [Symbol.asyncIterator]() {
      return this;
    },
    next: () =>
      new Promise((resolve, reject) => {
        const q = queued.shift();
        if (q !== undefined) return resolve({ value: q, done: false });
        waiters.push((line) => resolve({ value: line, done: false }));
        done.catch(reject);
      }),
  };
  return { child, lines, done };
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sends `count` datagrams of `size` bytes at `kbit` kbit/s from namespace `fromNs` to `toIp` (in `toNs`). */
export async function udpFlow(o: { fromNs: string; toNs: string; toIp: string; kbit: number; size: number; count: number; port?: number }): Promise<UdpFlowResult> {
  const port = o.port ?? 40_000 + (process.pid % 20_000);
  const sendMs = (o.count * o.size * 8) / o.kbit; // kbit/s = bits/ms
  const boundMs = sendMs + 20_000;
  const recv = startTool(o.toNs, ['recv', o.toIp, String(port), String(Math.ceil(boundMs))]);
  let send: ReturnType<typeof startTool> | undefined;
  try {
    const ready = await withTimeout(recv.lines.next(), 15_000, 'udp receiver start');
    if (!String(ready.value).includes('"ready"')) throw new Error(`udp receiver said ${ready.value}`);
    send = startTool(o.fromNs, ['send', o.toIp, String(port), String(o.kbit), String(o.size), String(o.count)]);
    const sentLine = await withTimeout(send.lines.next(), boundMs, 'udp sender');
    const resultLine = await withTimeout(recv.lines.next(), boundMs, 'udp receiver result');
    const sent = JSON.parse(String(sentLine.value)) as { sent: number };
    const r = JSON.parse(String(resultLine.value)) as { packets: number; bytes: number; firstMs: number; lastMs: number };
    const spanMs = r.lastMs - r.firstMs;
    return {
      sent: sent.sent,
      received: r.packets,
      bytes: r.bytes,
      kbit: spanMs > 0 ? ((r.bytes - o.size) * 8) / spanMs : 0,
      lossPercent: (100 * (sent.sent - r.packets)) / sent.sent,
    };
  } finally {
    for (const t of [recv, send]) if (t && t.child.exitCode === null) t.child.kill('SIGKILL');
  }
}
