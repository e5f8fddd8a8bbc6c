// A tiny UDP flow for the shaped-link self-test, run as its own process inside a namespace
// (`ip netns exec NS node --import tsx net-udp-tool.ts …`):
//   recv <ip> <port> <maxMs>  — prints {"ready":true}, then, 1.5 s after the last packet (or at maxMs),
//                               one JSON line: packets, bytes, first/last arrival (ms) — and exits;
//   send <ip> <port> <kbit/s> <bytes> <count> — sends `count` datagrams of `bytes`, paced at the rate,
//                               prints {"sent":N,"ms":T} and exits.
// It must not run for longer than its bounds (maxMs, or count at the rate plus 5 s).
import { createSocket } from 'node:dgram';

const [mode, ip, portText, ...rest] = process.argv.slice(2);
const port = Number(portText);

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

if (!ip || !Number.isInteger(port) || port <= 0 || port > 65535) fail('usage: recv|send <ip> <port> …');

if (mode === 'recv') {
  const maxMs = Number(rest[0] ?? 20_000);
  const sock = createSocket('udp4');
  let packets = 0;
  let bytes = 0;
  let first = 0;
  let last = 0;
  const t0 = performance.now();
  let idle: NodeJS.Timeout | undefined;
  const finish = () => {
    console.log(JSON.stringify({ packets, bytes, firstMs: first - t0, lastMs: last - t0 }));
    sock.close();
    process.exit(0);
  };
  sock.on('message', (msg) => {
    const now = performance.now();
    if (packets === 0) first = now;
    last = now;
    packets++;
    bytes += msg.length;
    clearTimeout(idle);
    idle = setTimeout(finish, 1500);
  });
  sock.on('error', (err) => fail(`recv: ${err.message}`));
  sock.bind(port, ip, () => {
    sock.setRecvBufferSize(4 << 20);
    console.log(JSON.stringify({ ready: true }));
  });
  setTimeout(finish, maxMs).unref();
} else if (mode === 'send') {
  const kbit = Number(rest[0]);
  const size = Number(rest[1]);
  const count = Number(rest[2]);
  if (!(kbit > 0) || !(size >= 1 && size <= 1472) || !(count >= 1 && count <= 1_000_000)) fail('send: bad rate/size/count');
  const sock = createSocket('udp4');
  const payload = Buffer.alloc(size, 0x5a);
  const perMs = (kbit * 1000) / 8 / size / 1000; // datagrams per millisecond
  const t0 = performance.now();
  let sent = 0;
  const tick = () => {
    const due = Math.min(count, Math.floor((performance.now() - t0) * perMs) + 1);
    while (sent < due) {
      payload.writeUInt32BE(sent, 0);
      sock.send(payload, port, ip);
      sent++;
    }
    if (sent < count) setTimeout(tick, 2);
    else setTimeout(() => {
      console.log(JSON.stringify({ sent, ms: performance.now() - t0 }));
      sock.close();
      process.exit(0);
    }, 50);
  };
  setTimeout(() => fail('send: took too long'), count / perMs + 5000).unref();
  tick();
} else {
  fail(`unknown mode ${mode}`);
}
