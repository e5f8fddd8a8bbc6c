// A tiny UDP flow for the shaped-link self-test, run as its own process inside a namespace
// (`ip netns exec NS node --import tsx net-udp-tool.ts …`):
//   recv <ip> <port> <maxMs>  — prints {"ready":true}, then, 1.5 s after the last packet (or at maxMs),
//                               one JSON line: packets, bytes, first/last arrival (ms) — and exits;
//   send <ip> <port> <kbit/s> <bytes> <count> — sends `count` datagrams of `bytes`, paced at the rate
//                               (a stall slips the schedule, no catch-up burst), prints {"sent":N,"ms":T};
//   stun <ip> <port> <count> <intervalMs> — STUN Binding requests, prints {"sent":N,"rtts":[ms…]} 2 s after
//                               the last one.
// It must not run for longer than its bounds (maxMs, count at the rate plus 5 s, count × interval + 2 s).
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
  const burstCap = Math.max(1, Math.ceil(perMs * 10)); // after a stall, catch up by at most 10 ms of packets
  const start = performance.now();
  let t0 = start;
  let sent = 0;
  const tick = () => {
    let due = Math.min(count, Math.floor((performance.now() - t0) * perMs) + 1);
    if (due - sent > burstCap) {
      t0 += (due - sent - burstCap) / perMs; // the schedule slips instead of bursting into the link
      due = sent + burstCap;
    }
    while (sent < due) {
      payload.writeUInt32BE(sent, 0);
      sock.send(payload, port, ip);
      sent++;
    }
    if (sent < count) setTimeout(tick, 2);
    else setTimeout(() => {
      console.log(JSON.stringify({ sent, ms: performance.now() - start }));
      sock.close();
      process.exit(0);
    }, 50);
  };
  setTimeout(() => fail('send: took too long'), count / perMs + 5000).unref();
  tick();
} else if (mode === 'stun') {
  const count = Number(rest[0]);
  const intervalMs = Number(rest[1]);
  if (!(count >= 1 && count <= 10_000) || !(intervalMs >= 1 && intervalMs <= 10_000)) fail('stun: bad count/interval');
  const sock = createSocket('udp4');
  const sentAt = new Map<string, number>();
  const rtts: number[] = [];
  sock.on('message', (msg) => {
    // A Binding success response (0x0101) carries our transaction id (bytes 8–19).
    if (msg.length < 20 || msg.readUInt16BE(0) !== 0x0101) return;
    const id = msg.subarray(8, 20).toString('hex');
    const t = sentAt.get(id);
    if (t !== undefined) {
      rtts.push(Math.round((performance.now() - t) * 10) / 10);
      sentAt.delete(id);
    }
  });
  let sent = 0;
  const finish = () => {
    console.log(JSON.stringify({ sent, rtts }));
    sock.close();
    process.exit(0);
  };
  const tick = () => {
    const req = Buffer.alloc(20);
    req.writeUInt16BE(0x0001, 0); // Binding request, no attributes
    req.writeUInt32BE(0x2112a442, 4);
    for (let i = 8; i < 20; i++) req[i] = Math.floor(Math.random() * 256);
    sentAt.set(req.subarray(8, 20).toString('hex'), performance.now());
    sock.send(req, port, ip);
    if (++sent < count) setTimeout(tick, intervalMs);
    else setTimeout(finish, 2000);
  };
  tick();
} else {
  fail(`unknown mode ${mode}`);
}
