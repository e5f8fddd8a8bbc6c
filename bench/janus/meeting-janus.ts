// Janus's CPU cost per forwarded RTP packet in meetings: R rooms × M peers, every peer publishing synthetic VP8
// (25 fps × 4 × 1200 B, ~100 packets/s) and receiving every other peer of its room — the load of Shoal's
// `meeting --no-audio` scenario, through Janus's VideoRoom plugin. Each peer is one publisher handle and one
// multistream subscriber handle (all M − 1 feeds on one peer connection), like a VideoRoom client.
//
// Janus runs as a child process in its own network namespace (bench/janus/netns.ts); the load generator
// (node-datachannel peers) runs in this process. Measured like bench/janus/fanout-janus.ts (janus-window.ts).
//
// Run:   node --import tsx bench/janus/meeting-janus.ts [--rooms 2] [--peers 4] [--seconds 10] [--warmup 2]
// The last line printed is `RESULT <json>`.
import { fileURLToPath } from 'node:url';
import { parseFlags } from '../lib/args.js';
import { table } from '../lib/report.js';
import { createRoom, destroyRoom, JanusPublisher, JanusSession, JanusSubscriber } from './janus-client.js';
import { janusVersion } from './janus-server.js';
import { ensureInNetns } from './netns.js';
import { measureJanusWindow, withJanus, type JanusWindow } from './janus-window.js';

const usage = 'meeting-janus.ts [--rooms 2] [--peers 4] [--seconds 10] [--warmup 2]';

export interface JanusMeetingRow extends JanusWindow {
  rooms: number;
  peersPerRoom: number;
  subscriberStreams: number;
  setupSeconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  await ensureInNetns(fileURLToPath(import.meta.url));
  const f = parseFlags(process.argv.slice(2), { rooms: 'number', peers: 'number', seconds: 'number', warmup: 'number' }, usage);
  const o = { rooms: (f.rooms as number) ?? 2, peers: (f.peers as number) ?? 4, seconds: (f.seconds as number) ?? 10, warmup: (f.warmup as number) ?? 2 };
  if (!Number.isInteger(o.rooms) || !Number.isInteger(o.peers) || o.peers < 2) throw new Error('--rooms and --peers take integers, peers ≥ 2');
  await withJanus('meeting-janus', undefined, async (janus, ticksPerSecond, idlePercent) => {
    const setupStart = performance.now();
    const session = await JanusSession.create(janus.url);
    const admin = await session.attach();
    const rooms: number[] = [];
    const publishers: JanusPublisher[] = [];
    const subscribers: JanusSubscriber[] = [];
    try {
      for (let r = 0; r < o.rooms; r++) {
        const room = await createRoom(admin, 5000 + r, o.peers);
        rooms.push(room);
        const pubs = Array.from({ length: o.peers }, (_, i) => new JanusPublisher(session, `r${r}-p${i}`, janus.iceAddress));
        publishers.push(...pubs);
        const feeds = await Promise.all(pubs.map((p) => p.publish(room, 30_000)));
        for (const p of pubs) p.startSending();
        const subs = pubs.map((_, i) => new JanusSubscriber(session, `r${r}-s${i}`, janus.iceAddress));
        subscribers.push(...subs);
        await Promise.all(subs.map((s, i) => s.subscribe(room, feeds.filter((_, j) => j !== i), 30_000)));
        process.stderr.write(`room ${r + 1}/${o.rooms}: ${o.peers} peers publishing and subscribed\n`);
      }
      const deadline = Date.now() + 30_000;
      while (!subscribers.every((s) => s.received.length >= o.peers - 1 && s.received.every((c) => c.packets > 0))) {
        if (Date.now() > deadline) throw new Error(`not every subscriber received all ${o.peers - 1} streams within 30 s: ${subscribers.map((s) => s.received.length).join(',')}`);
        await sleep(50);
      }
      const setupSeconds = (performance.now() - setupStart) / 1000;
      await sleep(o.warmup * 1000);
      const w = await measureJanusWindow(janus, publishers, subscribers, o.seconds, ticksPerSecond);
      const errors = [
        ...session.errors.map((e) => `session: ${e}`),
        ...publishers.flatMap((p) => [...p.errors, ...p.sender!.errors].map((e) => `${p.name}: ${e}`)),
        ...subscribers.flatMap((s) => s.errors.map((e) => `${s.name}: ${e}`)),
      ];
      if (errors.length > 0) process.stderr.write(`client errors:\n  ${errors.join('\n  ')}\n`);
      const row: JanusMeetingRow = { rooms: o.rooms, peersPerRoom: o.peers, subscriberStreams: o.rooms * o.peers * (o.peers - 1), setupSeconds, ...w };
      const version = janusVersion();
      console.log(
        `Janus ${version} VideoRoom meeting CPU (${o.rooms} rooms × ${o.peers} peers, VP8 ~100 pkts/s of 1200 B each; ${o.seconds} s window; ` +
          `server idle ${idlePercent.toFixed(1)} % CPU; ${process.platform}/${process.arch}, node ${process.version})`,
      );
      console.log(
        table(
          ['rooms × peers', 'sub streams', 'fwd pkts/s', 'server CPU %', 'CPU µs/fwd pkt', 'loss %', 'silent streams', 'client CPU %', 'janus threads', 'setup s'],
          [[`${o.rooms} × ${o.peers}`, String(row.subscriberStreams), w.forwardedPerSec.toFixed(0), w.serverCpuPercent.toFixed(1), w.usPerForwardedPacket.toFixed(1), w.lossPercent.toFixed(2), String(w.silentStreams), w.clientCpuPercent.toFixed(1), String(w.janusThreads), setupSeconds.toFixed(1)]],
        ),
      );
      console.log(`RESULT ${JSON.stringify({ server: `janus ${version}`, idleCpuPercent: idlePercent, rows: [row] })}`);
    } finally {
      await Promise.all([...publishers, ...subscribers].map((p) => p.close()));
      for (const room of rooms) await destroyRoom(admin, room).catch(() => undefined);
      await session.destroy();
    }
  });
}

void main();
