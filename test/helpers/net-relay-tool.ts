// The delay/jitter relay of the shaped-link harness (this kernel has no netem), run as its own process in
// Shoal's namespace: `node --import tsx net-relay-tool.ts <listenIp> <targetIp> <port,port,…>`. It listens
// on listenIp at each port (the TURN address clients are given) and forwards each client flow to
// targetIp at the same port (Shoal's TURN server) from a socket of its own, like a NAT, holding every
// packet for the delay set for that client's IP and direction. Settings arrive on stdin as JSON lines
// {"ip":"10.237.X.10","dir":"up"|"down","delayMs":50,"jitterMs":10}; each is acknowledged with {"ok":N}.
// Jitter never reorders a flow (a packet leaves no earlier than the one before it). Bounded: at most
// 1000 flows, 20,000 packets waiting per direction of a flow (more are dropped), a flow idle 60 s is closed.
// It must not forward anything but UDP between clients and targetIp.
import { createSocket, type Socket } from 'node:dgram';
import { createInterface } from 'node:readline';

const [listenIp, targetIp, portList] = process.argv.slice(2);
if (!listenIp || !targetIp || !portList) {
  console.error('usage: net-relay-tool.ts <listenIp> <targetIp> <port,port,…>');
  process.exit(2);
}
const ports = portList.split(',').map(Number);
if (ports.some((p) => !Number.isInteger(p) || p <= 0 || p > 65535)) {
  console.error(`bad port list ${portList}`);
  process.exit(2);
}

const MAX_FLOWS = 1000;
const MAX_QUEUED = 20_000;
const IDLE_MS = 60_000;

interface Setting {
  delayMs: number;
  jitterMs: number;
}
const settings = new Map<string, Setting>(); // `${ip}/${dir}`

function delayFor(ip: string, dir: 'up' | 'down'): number {
  const s = settings.get(`${ip}/${dir}`);
  if (!s || (s.delayMs === 0 && s.jitterMs === 0)) return 0;
  return Math.max(0, s.delayMs + (Math.random() * 2 - 1) * s.jitterMs);
}

/** A FIFO that releases each packet at its time, never before the one ahead of it. */
class DelayLine {
  private queue: { at: number; send: () => void }[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private last = 0;

  push(delayMs: number, send: () => void): void {
    if (delayMs === 0 && this.queue.length === this.head) {
      send();
      return;
    }
    if (this.queue.length - this.head >= MAX_QUEUED) return; // full: drop, like a router queue
    const at = Math.max(this.last, performance.now() + delayMs);
    this.last = at;
    this.queue.push({ at, send });
    if (!this.timer) this.arm();
  }

  private arm(): void {
    const next = this.queue[this.head];
    if (!next) return;
    this.timer = setTimeout(() => this.release(), Math.max(0, next.at - performance.now()));
  }

  private release(): void {
    this.timer = undefined;
    const now = performance.now() + 0.5; // timers fire up to ~1 ms late or early; release what is due
    while (this.head < this.queue.length && this.queue[this.head]!.at <= now) this.queue[this.head++]!.send();
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.arm();
  }

  close(): void {
    clearTimeout(this.timer);
    this.queue = [];
    this.head = 0;
  }
}

interface Flow {
  upstream: Socket;
  up: DelayLine;
  down: DelayLine;
  lastSeen: number;
}
const flows = new Map<string, Flow>(); // `${port}|${clientIp}:${clientPort}`

let bound = 0;
for (const port of ports) {
  const front = createSocket('udp4');
  front.on('error', (err) => {
    console.error(`relay ${listenIp}:${port}: ${err.message}`);
    process.exit(1);
  });
  front.on('message', (msg, from) => {
    const key = `${port}|${from.address}:${from.port}`;
    let flow = flows.get(key);
    if (!flow) {
      if (flows.size >= MAX_FLOWS) return;
      const upstream = createSocket('udp4');
      const created: Flow = { upstream, up: new DelayLine(), down: new DelayLine(), lastSeen: Date.now() };
      flow = created;
      flows.set(key, created);
      upstream.on('error', () => undefined);
      upstream.on('message', (reply) => {
        created.lastSeen = Date.now();
        created.down.push(delayFor(from.address, 'down'), () => front.send(reply, from.port, from.address));
      });
      upstream.bind(0, listenIp);
    }
    flow.lastSeen = Date.now();
    const upstream = flow.upstream;
    flow.up.push(delayFor(from.address, 'up'), () => upstream.send(msg, port, targetIp));
  });
  front.bind(port, listenIp, () => {
    if (++bound === ports.length) console.log(JSON.stringify({ ready: true }));
  });
}

setInterval(() => {
  const now = Date.now();
  for (const [key, flow] of flows) {
    if (now - flow.lastSeen < IDLE_MS) continue;
    flow.up.close();
    flow.down.close();
    flow.upstream.close();
    flows.delete(key);
  }
}, 5000).unref();

let applied = 0;
createInterface({ input: process.stdin }).on('line', (line) => {
  try {
    const s = JSON.parse(line) as { ip: string; dir: 'up' | 'down'; delayMs: number; jitterMs?: number };
    const jitterMs = s.jitterMs ?? 0;
    if (typeof s.ip !== 'string' || (s.dir !== 'up' && s.dir !== 'down') || !(s.delayMs >= 0 && s.delayMs <= 10_000) || !(jitterMs >= 0 && jitterMs <= s.delayMs)) {
      throw new Error('want {ip, dir: up|down, delayMs 0…10000, jitterMs 0…delayMs}');
    }
    settings.set(`${s.ip}/${s.dir}`, { delayMs: s.delayMs, jitterMs });
    console.log(JSON.stringify({ ok: ++applied }));
  } catch (err) {
    console.log(JSON.stringify({ error: (err as Error).message }));
  }
});
process.stdin.on('end', () => process.exit(0)); // the harness went away: so do we
