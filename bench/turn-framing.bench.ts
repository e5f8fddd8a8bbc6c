// Measures the TURN framing step of the receive path alone, per 1200-byte datagram (ChannelData, then a Send
// indication): the TypeScript twin (turn-framing.ts frameTurnDatagram, what the server does without a
// pre-framed datagram) against turning the native port's meta entry into a PreFramed and the server's
// TurnFraming (NativeUdpSocket's meta reading + fromPreFramed). The meta entries come from real datagrams
// received by a UdpPort with turnFraming on; the native framing's own C++ cost is inside the recvmmsg batch
// (bench/turn-receive.ts measures the whole path). 2e6 iterations after a warm-up; prints ns per datagram.
// Run: node --import tsx bench/turn-framing.bench.ts
import dgram from 'node:dgram';
import pino from 'pino';
import { loadNativeAddon } from '../src/dataplane/native-addon.js';
import { NativeUdpSocket } from '../src/dataplane/native-udp.js';
import { encodeChannelData } from '../src/turn/channel-data.js';
import { frameTurnDatagram, fromPreFramed } from '../src/turn/turn-framing.js';
import type { PreFramed } from '../src/turn/udp-socket.js';
import { encodeSendIndication } from '../test/helpers/turn-requests.js';

const ITERATIONS = 2_000_000;

const { addon } = loadNativeAddon();
if (!addon) throw new Error('the native addon is not built (npm run build:native)');
const payload = Buffer.alloc(1200, 0x5a);
payload[0] = 0x80;
const datagrams = { 'ChannelData': encodeChannelData(0x4000, payload, false), 'Send indication': encodeSendIndication({ address: '127.0.0.1', port: 50000 }, payload) };

// One real receive of each, to get the arena and meta entry the port wrote.
interface Captured {
  arena: Buffer;
  meta: Int32Array;
}
let captured: Captured | undefined;
/** Read through a function: TypeScript cannot see the callback that sets it. */
const capturedNow = (): Captured | undefined => captured;
const socket = new NativeUdpSocket(addon, () => undefined, pino({ level: 'silent' }));
const internals = socket as unknown as { meta: Int32Array; onBatch(arena: Buffer, count: number): void; framingOf(arena: Buffer, m: number): PreFramed | undefined };
const onBatch = internals.onBatch.bind(socket);
internals.onBatch = (arena, count) => {
  captured = { arena, meta: internals.meta.slice() };
  onBatch(arena, count);
};
const port = await socket.bind(0, '127.0.0.1', 1 << 20);
const sender = dgram.createSocket('udp4');

let sink = 0;
for (const [name, d] of Object.entries(datagrams)) {
  captured = undefined;
  sender.send(d, port, '127.0.0.1');
  for (let i = 0; i < 200 && capturedNow() === undefined; i++) await new Promise((r) => setTimeout(r, 5));
  const got = capturedNow();
  if (got === undefined) throw new Error('the datagram did not arrive');
  const { arena, meta } = got;
  const msg = arena.subarray(meta[0], meta[0]! + meta[1]!);
  internals.meta.set(meta);
  const twin = (): void => {
    const f = frameTurnDatagram(msg);
    if (f.kind === 'channel-data' || f.kind === 'send-indication') sink += f.data.length;
  };
  const native = (): void => {
    const f = fromPreFramed(internals.framingOf(arena, 0)!, msg);
    if (f.kind === 'channel-data' || f.kind === 'send-indication') sink += f.data.length;
  };
  for (const [label, fn] of [['TypeScript twin', twin], ['native meta → PreFramed', native]] as const) {
    for (let i = 0; i < ITERATIONS / 10; i++) fn();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS; i++) fn();
    const ns = Number(process.hrtime.bigint() - t0) / ITERATIONS;
    console.log(`${name.padEnd(16)} ${label.padEnd(24)} ${ns.toFixed(1).padStart(7)} ns per datagram`);
  }
}
sender.close();
await socket.close();
if (sink === 0) console.log('(nothing framed)');
