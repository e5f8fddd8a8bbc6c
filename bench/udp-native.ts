// CPU cost per datagram of the native UdpPort (recvmmsg/sendmmsg, native/src/udp_port.cc) against
// node:dgram, for an echo server: every 1200-byte datagram received is sent back to its source. A child
// process (this file with --sender, itself on a native UdpPort so that it costs little) sends at a fixed
// rate and counts the echoes; the server side measures process.cpuUsage (user+system, the whole process)
// over a window after a warm-up and divides by the datagrams it received in that window.
// Run: node --import tsx bench/udp-native.ts [--rate 20000] [--seconds 5] [--planes native,dgram]
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { UDP_MAX_BATCH, UDP_META_WORDS, loadNativeAddon, type NativeAddon } from '../src/dataplane/native-addon.js';

const SIZE = 1200;
const WARMUP_S = 1;
const LOOPBACK4 = 0x7f000001;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

function addonOrExit(): NativeAddon {
  const load = loadNativeAddon();
  if (!load.addon) {
    console.error(`udp-native: the addon did not load (${load.reason})`);
    process.exit(1);
  }
  return load.addon;
}

/** The load: `rate` datagrams per second for `seconds`, paced per millisecond; prints {sent, echoed}. */
async function sender(target: number, rate: number, seconds: number): Promise<void> {
  const addon = addonOrExit();
  const meta = new Int32Array(UDP_MAX_BATCH * UDP_META_WORDS);
  let echoed = 0;
  const port = new addon.UdpPort((_arena, count) => (echoed += count), meta);
  port.bind('127.0.0.1', 0, 8 << 20);
  const frame = Buffer.alloc(SIZE, 0x5a);
  const start = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const elapsed = (performance.now() - start) / 1000;
      const due = Math.min(Math.floor(Math.min(elapsed, seconds) * rate), sent + rate); // never more than 1 s of catch-up
      for (; sent < due; sent++) {
        frame.writeUInt32BE(sent, 0);
        port.send(frame, 0, SIZE, LOOPBACK4, target);
      }
      port.flush();
      if (elapsed >= seconds) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  // the last echoes: wait until none arrived for 200 ms (bounded by 2 s)
  for (let i = 0, last = -1; i < 10 && last !== echoed; i++) {
    last = echoed;
    await new Promise((r) => setTimeout(r, 200));
  }
  port.close();
  process.stdout.write(JSON.stringify({ sent, echoed }) + '\n');
}

interface Server {
  port: number;
  received: () => number;
  close: () => void;
}

function nativeServer(addon: NativeAddon): Server {
  const meta = new Int32Array(UDP_MAX_BATCH * UDP_META_WORDS);
  let received = 0;
  const port = new addon.UdpPort((arena, count) => {
    for (let i = 0, o = 0; i < count; i++, o += UDP_META_WORDS) port.send(arena, meta[o], meta[o + 1], meta[o + 4] >>> 0, meta[o + 3]);
    received += count;
  }, meta);
  return { port: port.bind('127.0.0.1', 0, 8 << 20), received: () => received, close: () => port.close() };
}

async function dgramServer(): Promise<Server> {
  const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 });
  let received = 0;
  sock.on('message', (msg, rinfo) => {
    received++;
    sock.send(msg, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  return { port: sock.address().port, received: () => received, close: () => sock.close() };
}

interface Result {
  plane: string;
  rate: number;
  received: number;
  cpuUs: number;
  usPerDatagram: number;
  sent: number;
  echoed: number;
}

async function measure(plane: string, rate: number, seconds: number): Promise<Result> {
  const server = plane === 'native' ? nativeServer(addonOrExit()) : await dgramServer();
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ['--import', 'tsx', self, '--sender', String(server.port), '--rate', String(rate), '--seconds', String(seconds + WARMUP_S + 0.5)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the sender did not finish')), (seconds + 30) * 1000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  // the window starts once the sender's datagrams arrive, plus the warm-up
  const t0 = performance.now();
  while (server.received() === 0 && performance.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
  const cpu0 = process.cpuUsage();
  const n0 = server.received();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const received = server.received() - n0;
  await done;
  server.close();
  const { sent, echoed } = JSON.parse(out.trim() || '{"sent":0,"echoed":0}') as { sent: number; echoed: number };
  const cpuUs = cpu.user + cpu.system;
  return { plane, rate, received, cpuUs, usPerDatagram: cpuUs / Math.max(1, received), sent, echoed };
}

if (process.argv.includes('--sender')) {
  await sender(Number(arg('sender', '0')), Number(arg('rate', '20000')), Number(arg('seconds', '5')));
} else {
  const rate = Number(arg('rate', '20000'));
  const seconds = Number(arg('seconds', '5'));
  const planes = arg('planes', 'native,dgram').split(',');
  console.log(`echo of ${SIZE}-byte datagrams at ${rate}/s, ${seconds} s window after ${WARMUP_S} s warm-up; CPU of the echoing process`);
  for (const plane of planes) {
    const r = await measure(plane, rate, seconds);
    const loss = r.sent > 0 ? (100 * (r.sent - r.echoed)) / r.sent : 0;
    console.log(
      `${plane.padEnd(7)} ${r.usPerDatagram.toFixed(2).padStart(7)} µs CPU per datagram (receive + send)  ` +
        `${(r.cpuUs / 1000).toFixed(0)} ms CPU for ${r.received} datagrams  loss ${loss.toFixed(2)} % (${r.sent} sent, ${r.echoed} echoed)`,
    );
  }
}
