// Janus's CPU cost per forwarded RTP packet, 1 publisher → N subscribers: the same load as bench/fanout-cpu.ts
// (synthetic VP8, ~100 packets/s of 1200 B, ~1 Mbit/s) through Janus's VideoRoom plugin, for a side-by-side
// comparison with Shoal. See bench/janus/README.md.
//
// Janus (Debian's package) runs as a child process (bench/janus/janus-server.ts); the load generator
// (node-datachannel peers, bench/janus/janus-client.ts) runs in this process, so its CPU is not charged to the
// server. For each N: one room, one publisher, N subscribers (all handles in one Janus session, one HTTP
// long-poll); once every subscriber receives packets and a warm-up has passed, a window of `--seconds` is
// measured:
//   server CPU   utime+stime of the janus process (all threads) from /proc/<pid>/stat
//   forwarded    packets the subscribers received during the window (Janus exposes no counter we read here;
//                the "sub seq pkts/s" column is the advance of Janus's outgoing sequence numbers, i.e. what it
//                sent, including anything lost on the way)
//   loss         sequence-number gaps seen by the subscribers during the window
//
// Run:   node --import tsx bench/janus/fanout-janus.ts [--subscribers 1,8,32] [--seconds 10] [--warmup 2] [--smoke]
//        [--event-loops K]   (Janus's event_loops: K shared media threads instead of one per handle)
// The last line printed is `RESULT <json>`.
import { fileURLToPath } from 'node:url';
import { ensureInNetns } from './netns.js';
import { table } from '../lib/report.js';
import { createRoom, destroyRoom, JanusPublisher, JanusSession, JanusSubscriber } from './janus-client.js';
import { janusVersion, type JanusServer } from './janus-server.js';
import { measureJanusWindow, withJanus, type JanusWindow } from './janus-window.js';

const BASELINE_US_PER_PACKET = 50;

interface Options {
  subscribers: number[];
  seconds: number;
  warmupSeconds: number;
  smoke: boolean;
  eventLoops?: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { subscribers: [1, 8, 32], seconds: 10, warmupSeconds: 2, smoke: false };
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
    else if (a === '--smoke') o.smoke = true;
    else if (a === '--event-loops') o.eventLoops = Number(value());
    else throw new Error(`unknown argument ${a}; usage: fanout-janus.ts [--subscribers 1,8,32] [--seconds 10] [--warmup 2] [--smoke] [--event-loops K]`);
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

interface Row extends JanusWindow {
  subscribers: number;
  ratioVsBaseline: number;
  setupSeconds: number;
}

let nextRoom = 4000;

async function measure(janus: JanusServer, n: number, o: Options, ticksPerSecond: number): Promise<Row> {
  const setupStart = performance.now();
  const session = await JanusSession.create(janus.url);
  const admin = await session.attach();
  const room = await createRoom(admin, nextRoom++);
  const publisher = new JanusPublisher(session, 'publisher', janus.iceAddress);
  const subscribers: JanusSubscriber[] = [];
  try {
    const feed = await publisher.publish(room);
    publisher.startSending();
    for (let i = 0; i < n; i++) subscribers.push(new JanusSubscriber(session, `subscriber-${i}`, janus.iceAddress));
    await Promise.all(subscribers.map((s) => s.subscribe(room, feed, 30_000)));
    const deadline = Date.now() + 30_000;
    while (!subscribers.every((s) => s.received.length > 0 && s.received.every((c) => c.packets > 0))) {
      if (Date.now() > deadline) throw new Error(`not every subscriber received packets within 30 s: ${subscribers.map((s) => s.totalReceived()).join(',')}`);
      await sleep(50);
    }
    const setupSeconds = (performance.now() - setupStart) / 1000;
    await sleep(o.warmupSeconds * 1000);

    const w = await measureJanusWindow(janus, [publisher], subscribers, o.seconds, ticksPerSecond);
    const errors = [
      ...session.errors.map((e) => `session: ${e}`),
      ...publisher.errors.map((e) => `publisher: ${e}`),
      ...publisher.sender!.errors.map((e) => `publisher: ${e}`),
      ...subscribers.flatMap((s) => s.errors.map((e) => `${s.name}: ${e}`)),
    ];
    if (errors.length > 0) process.stderr.write(`client errors during N=${n}:\n  ${errors.join('\n  ')}\n`);
    return { subscribers: n, ...w, ratioVsBaseline: w.usPerForwardedPacket / BASELINE_US_PER_PACKET, setupSeconds };
  } finally {
    await publisher.close();
    await Promise.all(subscribers.map((s) => s.close()));
    await destroyRoom(admin, room).catch(() => undefined);
    await session.destroy();
    // Let Janus free the handles' ICE agents and threads before the next measurement.
    await sleep(1500);
  }
}

function rowsTable(rows: Row[]): string {
  const header = ['N', 'fwd pkts/s', 'server CPU %', 'CPU µs/fwd pkt', 'sub loss %', 'vs 50 µs', 'pub pkts/s', 'sub seq pkts/s', 'client CPU %', 'janus threads'];
  const cells = rows.map((r) => [
    String(r.subscribers),
    r.forwardedPerSec.toFixed(0),
    r.serverCpuPercent.toFixed(1),
    r.usPerForwardedPacket.toFixed(1),
    r.lossPercent.toFixed(2),
    `${r.ratioVsBaseline.toFixed(2)}×`,
    r.publisherSentPerSec.toFixed(0),
    r.subscriberSeqAdvancePerSec.toFixed(0),
    r.clientCpuPercent.toFixed(1),
    String(r.janusThreads),
  ]);
  return table(header, cells);
}

async function main(): Promise<void> {
  await ensureInNetns(fileURLToPath(import.meta.url));
  const o = parseArgs(process.argv.slice(2));
  await withJanus('fanout-janus', o.eventLoops, async (janus, ticksPerSecond, idlePercent) => {
    const rows: Row[] = [];
    for (const n of o.subscribers) {
      const row = await measure(janus, n, o, ticksPerSecond);
      rows.push(row);
      process.stderr.write(`N=${n}: setup ${row.setupSeconds.toFixed(1)} s, ${row.forwardedPerSec.toFixed(0)} fwd pkts/s, ${row.usPerForwardedPacket.toFixed(1)} µs/pkt\n`);
    }
    const version = janusVersion();
    console.log(
      `Janus ${version} VideoRoom fan-out CPU (1 publisher: VP8 ~100 pkts/s of 1200 B; ${o.seconds} s windows; CLK_TCK ${ticksPerSecond}; ` +
        `ICE host ${janus.iceAddress}; event_loops ${o.eventLoops ?? 'per-handle'}; server idle ${idlePercent.toFixed(1)} % CPU; ` +
        `${process.platform}/${process.arch}, node ${process.version})`,
    );
    console.log(rowsTable(rows));
    console.log(`RESULT ${JSON.stringify({ server: `janus ${version}`, baselineUsPerPacket: BASELINE_US_PER_PACKET, idleCpuPercent: idlePercent, eventLoops: o.eventLoops ?? null, rows })}`);
  });
}

void main();
