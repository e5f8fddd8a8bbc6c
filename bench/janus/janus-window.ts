// One measurement window against Janus: server CPU from /proc (all threads), packets the subscribers
// received (Janus exposes no forwarding counter we read), sequence gaps as loss (a stream silent through the
// whole window counts as wholly lost), and the generator's own CPU; and the start/stop frame of a harness run.
// Shared by the fan-out and meeting harnesses. What it must not do: set up peers or rooms.
import type { JanusPublisher, JanusSubscriber } from './janus-client.js';
import nodeDataChannel from 'node-datachannel';
import { clockTicksPerSecond, cpuTicks, threadCount } from '../lib/proc.js';
import { JanusServer } from './janus-server.js';

export interface JanusWindow {
  windowSeconds: number;
  publisherSentPerSec: number;
  forwardedPerSec: number;
  /** Advance of Janus's outgoing sequence numbers: what it sent, including anything lost on the way. */
  subscriberSeqAdvancePerSec: number;
  serverCpuPercent: number;
  usPerForwardedPacket: number;
  lossPercent: number;
  clientCpuPercent: number;
  janusThreads: number;
  perSubscriberReceived: number[];
  silentStreams: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function measureJanusWindow(
  janus: JanusServer,
  publishers: JanusPublisher[],
  subscribers: JanusSubscriber[],
  seconds: number,
  ticksPerSecond: number,
): Promise<JanusWindow> {
  const snap = () => ({
    t: performance.now(),
    ticks: cpuTicks(janus.pid),
    client: process.cpuUsage(),
    sent: publishers.reduce((s, p) => s + p.sender!.sent.rtp, 0),
    subs: subscribers.map((s) => s.received.map((c) => ({ packets: c.packets, highest: c.highestSeq ?? 0 }))),
  });
  const a = snap();
  await sleep(seconds * 1000);
  const b = snap();
  const wall = (b.t - a.t) / 1000;
  const cpuSeconds = (b.ticks - a.ticks) / ticksPerSecond;
  let expected = 0;
  let got = 0;
  let active = 0;
  let streams = 0;
  const perSubscriberReceived: number[] = [];
  subscribers.forEach((_, i) => {
    let mine = 0;
    b.subs[i]!.forEach((c, j) => {
      const before = a.subs[i]![j] ?? { packets: 0, highest: c.highest };
      const n = c.packets - before.packets;
      expected += c.highest - before.highest;
      got += n;
      mine += n;
      streams++;
      if (n > 0) active++;
    });
    perSubscriberReceived.push(mine);
  });
  const silentStreams = streams - active;
  if (silentStreams > 0) expected += active > 0 ? Math.round((silentStreams * got) / active) : silentStreams;
  const clientCpu = (b.client.user - a.client.user + b.client.system - a.client.system) / 1e6;
  return {
    windowSeconds: wall,
    publisherSentPerSec: (b.sent - a.sent) / wall,
    forwardedPerSec: got / wall,
    subscriberSeqAdvancePerSec: expected / wall,
    serverCpuPercent: (cpuSeconds / wall) * 100,
    usPerForwardedPacket: got > 0 ? (cpuSeconds * 1e6) / got : NaN,
    lossPercent: expected > 0 ? (Math.max(0, expected - got) / expected) * 100 : NaN,
    clientCpuPercent: (clientCpu / wall) * 100,
    janusThreads: threadCount(janus.pid),
    perSubscriberReceived,
    silentStreams,
  };
}

/**
 * Runs a harness body against a fresh Janus (started with `eventLoops`), after measuring its idle CPU for
 * 1 s; prints Janus's [ERR]/[FATAL] lines after the body's output, stops Janus and exits (1 on failure).
 */
export async function withJanus(
  name: string,
  eventLoops: number | undefined,
  body: (janus: JanusServer, ticksPerSecond: number, idlePercent: number) => Promise<void>,
): Promise<never> {
  const ticksPerSecond = clockTicksPerSecond();
  const janus = new JanusServer();
  let failed = false;
  try {
    await janus.start({ eventLoops });
    await sleep(500);
    const idleA = cpuTicks(janus.pid);
    await sleep(1000);
    await body(janus, ticksPerSecond, ((cpuTicks(janus.pid) - idleA) / ticksPerSecond) * 100);
    const errLog = janus.log
      .split('\n')
      .filter((l) => /\[ERR\]|\[FATAL\]/.test(l))
      .join('\n');
    if (errLog !== '') console.log(`janus log (errors):\n${errLog}`);
  } catch (err) {
    failed = true;
    process.stderr.write(`${name} failed: ${(err as Error).stack ?? String(err)}\n`);
    if (janus.log.trim() !== '') process.stderr.write(`janus output:\n${janus.log}\n`);
  } finally {
    await janus.stop();
    nodeDataChannel.cleanup();
  }
  process.exit(failed ? 1 : 0);
}
