// CPU cost per received datagram of the TURN server's receive path (issue 14: TURN framing in the native
// batch): a TURN client in a child process allocates, binds a channel to a virtual endpoint, then sends
// 1200-byte ChannelData (or Send indications) at a fixed rate; the server process counts what the endpoint
// receives (it does nothing else) and measures process.cpuUsage over a window after a warm-up.
// Planes: native (UdpPort, framed natively in the recvmmsg batch), native-unframed (the same UdpPort, the
// framing done by turn-framing.ts in TypeScript: the state before the native framing), dgram (node:dgram).
// Run: node --import tsx bench/turn-receive.ts [--rate 20000] [--seconds 5] [--kind channel|send] [--planes native,native-unframed,dgram]
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { loadNativeAddon } from '../src/dataplane/native-addon.js';
import { NativeUdpSocket } from '../src/dataplane/native-udp.js';
import { encodeChannelData } from '../src/turn/channel-data.js';
import { encodeSendIndication } from '../test/helpers/turn-requests.js';
import { TestTurnClient } from '../test/helpers/turn-client.js';
import { TurnServer } from '../src/turn/turn-server.js';
import type { UdpSocketFactory } from '../src/turn/udp-socket.js';

const SIZE = 1200;
const WARMUP_S = 1;
const CHANNEL = 0x4000;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

/** The child: allocates with the given credentials, then sends `rate` datagrams a second for `seconds`. */
async function client(): Promise<void> {
  const port = Number(arg('client', '0'));
  const peer = { address: '127.0.0.1', port: Number(arg('peer', '0')) };
  const c = await TestTurnClient.open('udp', '127.0.0.1', port);
  await c.allocate(arg('user', ''), arg('pass', ''));
  await c.createPermission(peer);
  await c.channelBind(CHANNEL, peer);
  const payload = Buffer.alloc(SIZE, 0x5a);
  payload[0] = 0x80; // RTP-like: never held back as DTLS
  const frame = arg('kind', 'channel') === 'send' ? encodeSendIndication(peer, payload) : encodeChannelData(CHANNEL, payload, false);
  const rate = Number(arg('rate', '20000'));
  const seconds = Number(arg('seconds', '5'));
  const start = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const elapsed = (performance.now() - start) / 1000;
      const due = Math.min(Math.floor(Math.min(elapsed, seconds) * rate), sent + rate);
      for (; sent < due; sent++) c.sendRaw(frame);
      if (elapsed >= seconds) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await new Promise((r) => setTimeout(r, 200));
  c.close();
  process.stdout.write(JSON.stringify({ sent }) + '\n');
}

function socketOf(plane: string): UdpSocketFactory | undefined {
  if (plane === 'dgram') return undefined;
  const { addon } = loadNativeAddon();
  if (!addon) throw new Error('the native addon is not built (npm run build:native)');
  return (onMessage, log) => new NativeUdpSocket(addon, onMessage, log, plane === 'native');
}

async function measure(plane: string, kind: string, rate: number, seconds: number): Promise<{ received: number; cpuUs: number; sent: number }> {
  const server = new TurnServer({ listenIp: '127.0.0.1', udpPort: 0, advertisedIp: '127.0.0.1', realm: 'bench', secret: 'bench', log: pino({ level: 'silent' }), udpSocket: socketOf(plane) });
  const { udpPort } = await server.start();
  let received = 0;
  const virt = server.registerVirtual({ receive: () => void received++ });
  const creds = server.credentials('bench', 600);
  const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--client', String(udpPort), '--peer', String(virt.port), '--user', creds.username, '--pass', creds.password];
  const child = spawn(process.execPath, [...args, '--kind', kind, '--rate', String(rate), '--seconds', String(seconds + WARMUP_S + 1)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the client did not finish')), (seconds + 30) * 1000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const t0 = performance.now();
  while (received === 0 && performance.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
  const cpu0 = process.cpuUsage();
  const n0 = received;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const inWindow = received - n0;
  await done;
  virt.release();
  await server.stop();
  const { sent } = JSON.parse(out.trim() || '{"sent":0}') as { sent: number };
  return { received: inWindow, cpuUs: cpu.user + cpu.system, sent };
}

if (process.argv.includes('--client')) {
  await client();
} else {
  const rate = Number(arg('rate', '20000'));
  const seconds = Number(arg('seconds', '5'));
  const kind = arg('kind', 'channel');
  const planes = arg('planes', 'native,native-unframed,dgram').split(',');
  console.log(`TURN receive of ${SIZE}-byte ${kind === 'send' ? 'Send indications' : 'ChannelData'} at ${rate}/s to a virtual endpoint, ${seconds} s window after ${WARMUP_S} s warm-up; CPU of the server process`);
  for (const plane of planes) {
    const r = await measure(plane, kind, rate, seconds);
    console.log(`${plane.padEnd(16)} ${(r.cpuUs / Math.max(1, r.received)).toFixed(2).padStart(6)} µs CPU per datagram  (${(r.cpuUs / 1000).toFixed(0)} ms for ${r.received} datagrams; ${r.sent} sent)`);
  }
}
