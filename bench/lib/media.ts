// Receive-side accounting over a measurement window for browserless peers (bench/clients/c5-peer.ts), and a
// window runner that samples server CPU/RSS and Prometheus counters while printing a progress line. The
// server may be several processes (a cluster's nodes): their CPU, RSS and counters are summed.
import type { C5Peer } from '../clients/c5-peer.js';
import { cpuBetween, cpuSample, memory, MiB, type CpuSample } from './proc.js';
import { fixed, type Progress } from './report.js';
import { sleep, type ShoalProcess } from './shoal-process.js';

/** Per peer, per receiving m-line: packets and extended highest sequence number. */
export type CounterSnapshot = { packets: number; highest: number | undefined; first: number | undefined }[][];

export function snapshotCounters(peers: C5Peer[]): CounterSnapshot {
  return peers.map((p) => p.received.map((c) => ({ packets: c.packets, highest: c.highestSeq, first: c.firstSeq })));
}

export interface WindowReception {
  expected: number;
  received: number;
  lossPercent: number;
  /** Packets each peer received in the window. */
  perPeer: number[];
  /** Receiving m-lines that got at least one packet in the window. */
  activeStreams: number;
  /** Streams that should have been receiving but got nothing in the window (counted as 100 % lost). */
  silentStreams: number;
}

/**
 * Packets received in the window and sequence-number gaps (expected − received) over all m-lines. A
 * silent stream (of `streamsExpected`, when given) shows no gap, so it is charged as lost: it expected
 * as many packets as an active stream received on average.
 */
export function receptionBetween(a: CounterSnapshot, b: CounterSnapshot, streamsExpected?: number): WindowReception {
  let expected = 0;
  let received = 0;
  let activeStreams = 0;
  const perPeer: number[] = [];
  b.forEach((lines, i) => {
    let mine = 0;
    lines.forEach((c, j) => {
      if (c.highest === undefined) return;
      const before = a[i]?.[j];
      const fromSeq = before?.highest ?? c.first! - 1;
      const got = c.packets - (before?.packets ?? 0);
      expected += c.highest - fromSeq;
      received += got;
      mine += got;
      if (got > 0) activeStreams++;
    });
    perPeer.push(mine);
  });
  const silentStreams = Math.max(0, (streamsExpected ?? activeStreams) - activeStreams);
  if (silentStreams > 0) expected += activeStreams > 0 ? Math.round((silentStreams * received) / activeStreams) : silentStreams;
  return { expected, received, lossPercent: expected > 0 ? (Math.max(0, expected - received) / expected) * 100 : NaN, perPeer, activeStreams, silentStreams };
}

export interface WindowSnapshot {
  cpu: CpuSample;
  forwarded: number;
  receivedByServer: number;
  counters: CounterSnapshot;
  sent: number;
}

export interface WindowResult {
  wall: number;
  serverCpuPercent: number;
  clientCpuPercent: number;
  /** Busy CPU of everything else on the machine, % of one core. */
  otherCpuPercent: number;
  /** Server CPU seconds in the window. */
  serverCpuSeconds: number;
  forwardedPerSec: number;
  receivedByServerPerSec: number;
  publishersSentPerSec: number;
  usPerForwardedPacket: number;
  rssMiB: number;
  peakRssMiB: number;
  reception: WindowReception;
}

/** RSS and peak RSS of all the server processes, summed. */
function serverMemory(servers: ShoalProcess[]): { rss: number; peakRss: number } {
  return servers.map((s) => memory(s.pid)).reduce((a, b) => ({ rss: a.rss + b.rss, peakRss: a.peakRss + b.peakRss }), { rss: 0, peakRss: 0 });
}

async function snapshot(servers: ShoalProcess[], publishers: C5Peer[], receivers: C5Peer[]): Promise<WindowSnapshot> {
  const all = await Promise.all(servers.map((s) => s.scrape()));
  const sum = (name: string) => all.reduce((total, m) => total + (m.get(name) ?? NaN), 0);
  return {
    cpu: cpuSample(servers.map((s) => s.pid)),
    forwarded: sum('shoal_rtp_forwarded_total'),
    receivedByServer: sum('shoal_rtp_received_total'),
    counters: snapshotCounters(receivers),
    sent: publishers.reduce((s, p) => s + p.sent.rtp, 0),
  };
}

/** Measures `seconds` of steady state: server CPU and RSS from /proc, forwarded packets from /metrics, loss at the receivers. */
export async function measureWindow(
  shoal: ShoalProcess | ShoalProcess[],
  publishers: C5Peer[],
  receivers: C5Peer[],
  seconds: number,
  progress: Progress,
  label: string,
  /** Receiving streams there should be (silent ones count as lost); default: those that received. */
  streamsExpected?: number,
): Promise<WindowResult> {
  const servers = Array.isArray(shoal) ? shoal : [shoal];
  const a = await snapshot(servers, publishers, receivers);
  const end = a.cpu.t + seconds * 1000;
  let prev = a;
  while (performance.now() < end) {
    await sleep(Math.min(1000, Math.max(0, end - performance.now())));
    const cur = await snapshot(servers, publishers, receivers);
    const c = cpuBetween(prev.cpu, cur.cpu);
    const r = receptionBetween(prev.counters, cur.counters, streamsExpected);
    progress.update(
      `${label}: ${fixed((cur.cpu.t - a.cpu.t) / 1000)}/${seconds} s, ${fixed((cur.forwarded - prev.forwarded) / c.wall, 0)} fwd pkts/s, ` +
        `server CPU ${fixed(c.serverCpuPercent)} % (other ${fixed(c.otherCpuPercent, 0)} %), loss ${fixed(r.lossPercent, 2)} %, RSS ${fixed(serverMemory(servers).rss / MiB, 0)} MiB`,
    );
    prev = cur;
  }
  const b = prev;
  const c = cpuBetween(a.cpu, b.cpu);
  const forwarded = b.forwarded - a.forwarded;
  const mem = serverMemory(servers);
  return {
    wall: c.wall,
    serverCpuPercent: c.serverCpuPercent,
    clientCpuPercent: c.clientCpuPercent,
    otherCpuPercent: c.otherCpuPercent,
    serverCpuSeconds: c.serverCpuSeconds,
    forwardedPerSec: forwarded / c.wall,
    receivedByServerPerSec: (b.receivedByServer - a.receivedByServer) / c.wall,
    publishersSentPerSec: (b.sent - a.sent) / c.wall,
    usPerForwardedPacket: forwarded > 0 ? (c.serverCpuSeconds * 1e6) / forwarded : NaN,
    rssMiB: mem.rss / MiB,
    peakRssMiB: mem.peakRss / MiB,
    reception: receptionBetween(a.counters, b.counters, streamsExpected),
  };
}

/** Client-side errors of all peers, one line each. */
export function peerErrors(peers: C5Peer[]): string[] {
  return peers.flatMap((p) => p.errors.map((e) => `${p.id ?? '?'}: ${e}`));
}
