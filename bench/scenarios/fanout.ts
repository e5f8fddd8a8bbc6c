// Fan-out: 1 publisher (synthetic VP8 ~1 Mbit/s: 25 fps × 4 packets of 1200 B, plus opus 50 packets/s of 100 B
// unless --no-audio) → N subscribers, each a browserless ts-client 0.5.0 peer (bench/clients/c5-peer.ts,
// libdatachannel, relay-only through Shoal's integrated TURN server). For each N: one room; once every
// subscriber receives packets on every m-line and a warm-up has passed, a window of --seconds is measured:
//   server CPU   utime+stime of the Shoal process from /proc/<pid>/stat; RSS from /proc/<pid>/status
//   forwarded    delta of shoal_rtp_forwarded_total from the metrics endpoint
//   loss         sequence-number gaps seen by the subscribers during the window
// CPU per forwarded packet is compared with a naive baseline of 50 µs.
import { C5Peer } from '../clients/c5-peer.js';
import { measureWindow, peerErrors, type WindowResult } from '../lib/media.js';
import { fixed, table, type Progress } from '../lib/report.js';
import { machine, type Scenario } from '../lib/scenario.js';
import { planeFlag, ShoalProcess, sleep, workersNote } from '../lib/shoal-process.js';
import { cpuTicks, clockTicksPerSecond } from '../lib/proc.js';
import type { Flags } from '../lib/args.js';

export const BASELINE_US_PER_PACKET = 50;

const usage = 'fanout [--subscribers 32,64,128] [--seconds 10] [--warmup 2] [--join-concurrency 16] [--no-audio] [--workers N] [--plane native|js|auto] [--profile DIR] [--smoke]';

export interface FanoutRow extends WindowResult {
  subscribers: number;
  subscriberStreams: number;
  ratioVsBaseline: number;
  setupSeconds: number;
  joinRetries: number;
  joinFailures: string[];
  perSubscriberReceived: number[];
  /** The data plane the server reported running (its shoal_media_data_plane gauge). */
  dataPlane: string;
}

async function measure(shoal: ShoalProcess, n: number, o: { seconds: number; warmup: number; audio: boolean; joinConcurrency: number }, progress: Progress): Promise<Omit<FanoutRow, 'dataPlane'>> {
  const setupStart = performance.now();
  const room = await shoal.createRoom();
  const peers: C5Peer[] = [];
  const newPeer = async (name: string) => {
    const token = await shoal.addPeer(room);
    const p = new C5Peer({ wsUrl: shoal.wsUrl, token, name, metadata: { name } });
    peers.push(p);
    return p;
  };
  try {
    const publisher = await newPeer('publisher');
    await publisher.join();
    await publisher.publish({ video: true, audio: o.audio });
    publisher.startSending({ audio: o.audio });

    // Subscribers join --join-concurrency at a time (the join storm is its own scenario); one whose
    // PeerConnection fails is replaced by a fresh peer, up to 2 times, and counted as a join retry.
    let ready = 0;
    let retries = 0;
    const failures: string[] = [];
    const subscribers: C5Peer[] = [];
    const joinOne = async (i: number): Promise<C5Peer> => {
      for (let attempt = 0; ; attempt++) {
        const s = await newPeer(`subscriber-${i}${attempt > 0 ? `-retry${attempt}` : ''}`);
        try {
          await s.join(30_000);
          await s.negotiated(30_000);
          await s.waitUntil(
            () => (s.received.length >= (o.audio ? 2 : 1) && s.received.every((c) => c.packets > 0) ? true : undefined),
            'first packets on every receiving m-line',
            30_000,
          );
          return s;
        } catch (err) {
          failures.push(`${(err as Error).message}; m-lines ${JSON.stringify(s.received.map((c) => [c.kind, c.packets]))}`);
          s.close();
          peers.splice(peers.indexOf(s), 1);
          if (attempt >= 2) throw new Error(`${(err as Error).message}; earlier attempts: ${failures.slice(-3, -1).join(' | ')}`);
          retries++;
        }
      }
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(n, o.joinConcurrency) }, async () => {
        while (next < n) {
          const i = next++;
          subscribers.push(await joinOne(i));
          progress.update(`fanout N=${n}: ${++ready}/${n} subscribers receiving${retries ? ` (${retries} join retries)` : ''}`);
        }
      }),
    );
    const setupSeconds = (performance.now() - setupStart) / 1000;
    progress.update(`fanout N=${n}: all ${n} receiving after ${fixed(setupSeconds)} s; warm-up ${o.warmup} s`, true);
    await sleep(o.warmup * 1000);
    const w = await measureWindow(shoal, [publisher], subscribers, o.seconds, progress, `fanout N=${n}`, n * (o.audio ? 2 : 1));
    const errors = peerErrors(peers);
    if (errors.length > 0) process.stderr.write(`client errors during N=${n}:\n  ${errors.join('\n  ')}\n`);
    return {
      ...w,
      subscribers: n,
      subscriberStreams: subscribers.reduce((s, p) => s + p.received.length, 0),
      ratioVsBaseline: w.usPerForwardedPacket / BASELINE_US_PER_PACKET,
      setupSeconds,
      joinRetries: retries,
      joinFailures: failures,
      perSubscriberReceived: w.reception.perPeer,
    };
  } finally {
    for (const p of peers) p.close();
    await shoal.deleteRoomsAndSettle([room]);
  }
}

export const fanout: Scenario = {
  name: 'fanout',
  summary: '1 publisher (VP8 ~1 Mbit/s + opus) → N subscribers; server CPU, µs per forwarded packet, loss',
  usage,
  flags: { subscribers: 'list', seconds: 'number', warmup: 'number', audio: 'bool', 'join-concurrency': 'number', profile: 'string', workers: 'number', plane: 'string', smoke: 'bool' },
  async run(f: Flags, progress: Progress) {
    const o = {
      subscribers: (f.subscribers as number[] | undefined) ?? [32, 64, 128],
      seconds: (f.seconds as number | undefined) ?? 10,
      warmup: (f.warmup as number | undefined) ?? 2,
      audio: (f.audio as boolean | undefined) ?? true,
      joinConcurrency: (f['join-concurrency'] as number | undefined) ?? 16,
    };
    if (f.smoke) Object.assign(o, { subscribers: [2], seconds: 3, warmup: 1 });
    const plane = planeFlag(f.plane);
    // A fresh server per N, so RSS and leftovers of the previous size do not carry over.
    const rows: FanoutRow[] = [];
    const logs: string[] = [];
    let idlePercent = NaN;
    for (const n of o.subscribers) {
      const shoal = new ShoalProcess();
      try {
        await shoal.start({ profileDir: f.profile as string | undefined, workers: f.workers as number | undefined, plane });
        const dataPlane = await shoal.dataPlane();
        if (rows.length === 0) {
          // Idle cost of the server (timers, sockets), for reference.
          await sleep(500);
          const idleA = cpuTicks(shoal.pid);
          await sleep(1000);
          idlePercent = ((cpuTicks(shoal.pid) - idleA) / clockTicksPerSecond()) * 100;
        }
        const row = { ...(await measure(shoal, n, o, progress)), dataPlane };
        rows.push(row);
        progress.done(`fanout N=${n} (${dataPlane} plane): setup ${fixed(row.setupSeconds)} s, ${fixed(row.forwardedPerSec, 0)} fwd pkts/s, ${fixed(row.usPerForwardedPacket)} µs/pkt, loss ${fixed(row.reception.lossPercent, 2)} %`);
      } catch (err) {
        if (shoal.log.trim() !== '') process.stderr.write(`server output:\n${shoal.log}\n`);
        throw err;
      } finally {
        await shoal.stop();
        if (shoal.log.trim() !== '') logs.push(`N=${n}:\n${shoal.log.trim()}`);
      }
    }
    const planes = [...new Set(rows.map((r) => r.dataPlane))];
    const runningPlane = planes.length === 1 ? planes[0]! : planes.join('+');
    const header = ['N', 'sub streams', 'fwd pkts/s', 'server CPU %', 'CPU µs/fwd pkt', 'vs 50 µs', 'sub loss %', 'silent streams', 'RSS MiB', 'pub pkts/s', 'sub rcv pkts/s', 'setup s', 'join retries', 'gen CPU %', 'other CPU %'];
    const cells = rows.map((r) => [
      String(r.subscribers),
      String(r.subscriberStreams),
      fixed(r.forwardedPerSec, 0),
      fixed(r.serverCpuPercent),
      fixed(r.usPerForwardedPacket),
      `${fixed(r.ratioVsBaseline, 2)}×`,
      fixed(r.reception.lossPercent, 2),
      String(r.reception.silentStreams),
      fixed(r.rssMiB, 0),
      fixed(r.publishersSentPerSec, 0),
      fixed(r.reception.received / r.wall, 0),
      fixed(r.setupSeconds),
      String(r.joinRetries),
      fixed(r.clientCpuPercent),
      fixed(r.otherCpuPercent),
    ]);
    return {
      title:
        `fan-out (1 publisher: VP8 25 fps × 4 × 1200 B${o.audio ? ' + opus 50 pkts/s of 100 B' : ''} → N subscribers; ${o.seconds} s windows; ${runningPlane} data plane${plane === undefined ? '' : ` (asked: ${plane})`}; ${workersNote(f.workers)}` +
        `server idle ${fixed(idlePercent)} % CPU; CPU % is of one core; ${machine()})`,
      table: table(header, cells),
      notes: [
        'P2 goal: ≥ 500 subscriber streams at < 1 % loss on 2 cores (server CPU ≤ 200 %).',
        ...(plane !== undefined && plane !== 'auto' && runningPlane !== plane ? [`the server ran the ${runningPlane} data plane, not the ${plane} one asked for`] : []),
        'Loss counts sequence gaps, and each silent stream (no packet in the window) as wholly lost.',
        ...rows
          .filter((r) => r.clientCpuPercent >= 90)
          .map((r) => `N=${r.subscribers}: the load generator used ${fixed(r.clientCpuPercent, 0)} % of a core (its JS thread counts every packet): past ~95 % it falls behind, and late or missing packets may be its own.`),
        ...rows.filter((r) => r.joinFailures.length > 0).map((r) => `join failures at N=${r.subscribers} (retried):\n  ${r.joinFailures.join('\n  ')}`),
        ...(logs.length > 0 ? [`server log (errors):\n${logs.join('\n')}`] : []),
      ],
      result: { scenario: 'fanout', plane: runningPlane, planeRequested: plane ?? null, workers: (f.workers as number | undefined) ?? 0, baselineUsPerPacket: BASELINE_US_PER_PACKET, idleCpuPercent: idlePercent, audio: o.audio, rows },
    };
  },
};
