// Capacity: how many ~1 Mbit/s subscriber streams one Shoal holds at < 1 % loss. 1 publisher (the fan-out
// source: bench/clients/c5-peer.ts sending synthetic VP8 25 fps × 4 × 1200 B, no audio) → N light
// subscribers (bench/clients/light-subscriber.ts: real TURN, ICE and DTLS, then they count SRTP packets by
// their clear RTP header, read with the native UdpPort, so the generator costs far less than the server;
// --per-socket of them share one client socket and TURN allocation, each on its own channel, so one
// recvmmsg reads many subscribers' packets).
// N steps up through --subscribers (a fresh Shoal per N) and stops after the first N at ≥ 1 % loss. Per N,
// over a window of --seconds after a warm-up:
//   server CPU   utime+stime of the Shoal process (/proc), % of one core; µs per forwarded packet from
//                shoal_rtp_forwarded_total
//   gen CPU      this process (the publisher and every subscriber), % of one core
//   loss         sequence gaps seen by the subscribers; a silent subscriber counts as wholly lost
// and then the largest N at < 1 % loss and its streams per core of server CPU (N ÷ (server CPU % / 100)).
import { C5Peer } from '../clients/c5-peer.js';
import { LightSocketPool, LightSubscriber } from '../clients/light-subscriber.js';
import type { Flags } from '../lib/args.js';
import { receptionBetween, type CounterSnapshot, type WindowReception } from '../lib/media.js';
import { cpuBetween, cpuSample, memory, MiB } from '../lib/proc.js';
import { fixed, table, type Progress } from '../lib/report.js';
import { machine, type Scenario } from '../lib/scenario.js';
import { planeFlag, ShoalProcess, sleep, workersNote } from '../lib/shoal-process.js';
import { dtlsCertificate } from '../../src/media/transport/dtls-certificate.js';

const usage = 'capacity [--subscribers 100,200,300,500,700] [--seconds 10] [--warmup 2] [--join-concurrency 16] [--per-socket 25] [--read-every-ms 2] [--plane native|js|auto] [--workers N] [--smoke]';

export interface CapacityRow {
  subscribers: number;
  dataPlane: string;
  serverCpuPercent: number;
  usPerForwardedPacket: number;
  forwardedPerSec: number;
  /** RTP the publisher sent and the server counted in (shoal_rtp_received_total), per second. */
  publisherSentPerSec: number;
  serverReceivedPerSec: number;
  /** Packets the subscribers received ÷ (packets the publisher sent × N), %. */
  deliveredPercent: number;
  /**
   * Publisher → server shortfall, %: 1 − server received ÷ publisher sent in the window. Packets lost on
   * the way also show as sequence gaps at the subscribers; packets the publisher's libdatachannel sends
   * late (a starved generator) only show here: the server then carried less than the nominal load.
   */
  upstreamLossPercent: number;
  /** What the step-up goes by: the larger of the upstream shortfall and the subscribers' sequence-gap loss, %. */
  lossPercent: number;
  generatorCpuPercent: number;
  otherCpuPercent: number;
  /** Generator CPU per packet the subscribers received, µs. */
  generatorUsPerPacket: number;
  rssMiB: number;
  setupSeconds: number;
  /** Connect attempts that failed (and were retried with a fresh subscriber). */
  joinFailures: string[];
  /** Datagrams per recvmmsg batch at the subscribers over the window. */
  datagramsPerBatch: number;
  reception: WindowReception;
}

function snapshot(subs: LightSubscriber[]): CounterSnapshot {
  return subs.map((s) => s.received.map((c) => ({ packets: c.packets, highest: c.highestSeq, first: c.firstSeq })));
}

async function measure(shoal: ShoalProcess, n: number, o: { seconds: number; warmup: number; joinConcurrency: number; perSocket: number; readEveryMs: number }, dataPlane: string, progress: Progress): Promise<CapacityRow> {
  const setupStart = performance.now();
  const room = await shoal.createRoom();
  const cert = await dtlsCertificate();
  const subs: LightSubscriber[] = [];
  const sockets = new LightSocketPool(o.perSocket, o.readEveryMs);
  const joinFailures: string[] = [];
  let publisher: C5Peer | undefined;
  try {
    publisher = new C5Peer({ wsUrl: shoal.wsUrl, token: await shoal.addPeer(room), name: 'publisher' });
    await publisher.join();
    await publisher.publish({ video: true, audio: false });
    publisher.startSending({ audio: false });
    let next = 0;
    let ready = 0;
    await Promise.all(
      Array.from({ length: Math.min(n, o.joinConcurrency) }, async () => {
        while (next < n) {
          const i = next++;
          // A subscriber that fails to connect is replaced by a fresh one, up to 2 times (counted).
          for (let attempt = 0; ; attempt++) {
            const s = new LightSubscriber({ wsUrl: shoal.wsUrl, token: await shoal.addPeer(room), name: `light-${i}${attempt ? `-retry${attempt}` : ''}`, certificate: cert, sockets });
            try {
              await s.connect(30_000);
              subs.push(s);
              break;
            } catch (err) {
              s.close();
              joinFailures.push((err as Error).message);
              if (attempt >= 2) throw err;
            }
          }
          progress.update(`capacity N=${n}: ${++ready}/${n} subscribers connected`);
        }
      }),
    );
    // Every subscriber receiving (bounded): a silent one would count as lost anyway.
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && subs.some((s) => !s.received.some((c) => c.packets > 0))) await sleep(50);
    const setupSeconds = (performance.now() - setupStart) / 1000;
    if (publisher.socketClosed || publisher.pcState !== 'connected' || publisher.errors.length > 0)
      process.stderr.write(`capacity N=${n}: the publisher is in trouble: socket ${JSON.stringify(publisher.socketClosed ?? 'open')}, pc ${publisher.pcState}, errors ${JSON.stringify(publisher.errors.slice(0, 5))}\n`);
    progress.update(`capacity N=${n}: ${subs.filter((s) => s.received.some((c) => c.packets > 0)).length}/${n} receiving after ${fixed(setupSeconds)} s; warm-up ${o.warmup} s`, true);
    await sleep(o.warmup * 1000);

    const sample = async () => {
      const m = await shoal.scrape();
      return { cpu: cpuSample(shoal.pid), forwarded: m.get('shoal_rtp_forwarded_total') ?? NaN, receivedByServer: m.get('shoal_rtp_received_total') ?? NaN, sent: publisher!.sent.rtp, counters: snapshot(subs), ports: sockets.totals() };
    };
    const a = await sample();
    const end = a.cpu.t + o.seconds * 1000;
    let prev = a;
    while (performance.now() < end) {
      await sleep(Math.min(1000, Math.max(0, end - performance.now())));
      const cur = await sample();
      const c = cpuBetween(prev.cpu, cur.cpu);
      const r = receptionBetween(prev.counters, cur.counters, n);
      progress.update(
        `capacity N=${n}: ${fixed((cur.cpu.t - a.cpu.t) / 1000)}/${o.seconds} s, ${fixed((cur.forwarded - prev.forwarded) / c.wall, 0)} fwd pkts/s, server CPU ${fixed(c.serverCpuPercent)} %, gen CPU ${fixed(c.clientCpuPercent)} %, loss ${fixed(r.lossPercent, 2)} %`,
      );
      prev = cur;
    }
    const c = cpuBetween(a.cpu, prev.cpu);
    const forwarded = prev.forwarded - a.forwarded;
    const reception = receptionBetween(a.counters, prev.counters, n);
    const batches = prev.ports.batches - a.ports.batches;
    const sent = prev.sent - a.sent;
    // The window's edges can cut a frame in flight (sent, not yet counted in): up to 4 packets are not a shortfall.
    const upstream = sent > 0 ? (Math.max(0, sent - (prev.receivedByServer - a.receivedByServer) - 4) / sent) * 100 : NaN;
    return {
      subscribers: n,
      dataPlane,
      serverCpuPercent: c.serverCpuPercent,
      usPerForwardedPacket: forwarded > 0 ? (c.serverCpuSeconds * 1e6) / forwarded : NaN,
      forwardedPerSec: forwarded / c.wall,
      publisherSentPerSec: (prev.sent - a.sent) / c.wall,
      serverReceivedPerSec: (prev.receivedByServer - a.receivedByServer) / c.wall,
      deliveredPercent: prev.sent > a.sent ? (reception.received / ((prev.sent - a.sent) * n)) * 100 : NaN,
      upstreamLossPercent: upstream,
      lossPercent: Math.max(Number.isFinite(upstream) ? upstream : 0, reception.lossPercent),
      generatorCpuPercent: c.clientCpuPercent,
      otherCpuPercent: c.otherCpuPercent,
      generatorUsPerPacket: reception.received > 0 ? (c.clientCpuPercent / 100) * c.wall * 1e6 / reception.received : NaN,
      rssMiB: memory(shoal.pid).rss / MiB,
      setupSeconds,
      joinFailures,
      datagramsPerBatch: batches > 0 ? (prev.ports.received - a.ports.received) / batches : NaN,
      reception,
    };
  } finally {
    publisher?.close();
    for (const s of subs) s.close();
    sockets.close();
    await shoal.deleteRoomsAndSettle([room]);
  }
}

export const capacity: Scenario = {
  name: 'capacity',
  summary: '1 publisher (VP8 ~1 Mbit/s) → N light subscribers (count SRTP by RTP header, native UdpPort), N stepped up until ≥ 1 % loss; max N and streams per core of server CPU',
  usage,
  flags: { subscribers: 'list', seconds: 'number', warmup: 'number', 'join-concurrency': 'number', 'per-socket': 'number', 'read-every-ms': 'number', plane: 'string', workers: 'number', smoke: 'bool' },
  async run(f: Flags, progress: Progress) {
    const o = {
      subscribers: (f.subscribers as number[] | undefined) ?? [100, 200, 300, 500, 700],
      seconds: (f.seconds as number | undefined) ?? 10,
      warmup: (f.warmup as number | undefined) ?? 2,
      joinConcurrency: (f['join-concurrency'] as number | undefined) ?? 16,
      perSocket: (f['per-socket'] as number | undefined) ?? 25,
      readEveryMs: (f['read-every-ms'] as number | undefined) ?? 2,
    };
    if (f.smoke) Object.assign(o, { subscribers: [2], seconds: 3, warmup: 1 });
    const plane = planeFlag(f.plane);
    const workers = f.workers as number | undefined;
    const rows: CapacityRow[] = [];
    const logs: string[] = [];
    let setupFailure: string | undefined;
    for (const n of [...o.subscribers].sort((x, y) => x - y)) {
      const shoal = new ShoalProcess();
      try {
        await shoal.start({ workers, plane });
        const row = await measure(shoal, n, o, await shoal.dataPlane(), progress);
        rows.push(row);
        progress.done(
          `capacity N=${n} (${row.dataPlane} plane): server CPU ${fixed(row.serverCpuPercent)} %, ${fixed(row.usPerForwardedPacket)} µs/pkt, gen CPU ${fixed(row.generatorCpuPercent)} %, loss ${fixed(row.lossPercent, 2)} % (upstream ${fixed(row.upstreamLossPercent, 2)} %)`,
        );
      } catch (err) {
        if (shoal.log.trim() !== '') process.stderr.write(`server output:\n${shoal.log}\n`);
        // A size whose subscribers cannot all connect ends the step-up; the sizes measured so far stand.
        if (rows.length === 0) throw err;
        setupFailure = `N=${n}: could not connect every subscriber (3 attempts each): ${(err as Error).message}`;
        progress.done(setupFailure);
        break;
      } finally {
        await shoal.stop();
        if (shoal.log.trim() !== '') logs.push(`N=${n}:\n${shoal.log.trim()}`);
      }
      if (!(rows[rows.length - 1]!.lossPercent < 1)) break;
    }
    let best: CapacityRow | undefined;
    for (const r of rows) {
      if (!(r.lossPercent < 1)) break;
      best = r;
    }
    const streamsPerCore = best ? best.subscribers / (best.serverCpuPercent / 100) : NaN;
    const planes = [...new Set(rows.map((r) => r.dataPlane))];
    const runningPlane = planes.length === 1 ? planes[0]! : planes.join('+');
    const header = ['N', 'server CPU %', 'CPU µs/fwd pkt', 'pub pkts/s', 'server in pkts/s', 'fwd pkts/s', 'upstream short %', 'sub loss %', 'loss %', 'delivered %', 'silent subs', 'gen CPU %', 'gen µs/rcv pkt', 'dgrams/batch', 'RSS MiB', 'setup s', 'join retries', 'other CPU %'];
    const cells = rows.map((r) => [
      String(r.subscribers),
      fixed(r.serverCpuPercent),
      fixed(r.usPerForwardedPacket),
      fixed(r.publisherSentPerSec, 0),
      fixed(r.serverReceivedPerSec, 0),
      fixed(r.forwardedPerSec, 0),
      fixed(r.upstreamLossPercent, 2),
      fixed(r.reception.lossPercent, 2),
      fixed(r.lossPercent, 2),
      fixed(r.deliveredPercent, 1),
      String(r.reception.silentStreams),
      fixed(r.generatorCpuPercent),
      fixed(r.generatorUsPerPacket, 2),
      fixed(r.datagramsPerBatch, 2),
      fixed(r.rssMiB, 0),
      fixed(r.setupSeconds),
      String(r.joinFailures.length),
      fixed(r.otherCpuPercent),
    ]);
    const last = rows[rows.length - 1];
    return {
      title:
        `capacity (1 publisher: VP8 25 fps × 4 × 1200 B, no audio → N light subscribers through the integrated TURN relay, ${o.perSocket} per client socket/allocation; ${o.seconds} s windows; ` +
        `${runningPlane} data plane${plane === undefined ? '' : ` (asked: ${plane})`}; ${workersNote(workers)}CPU % is of one core; ${machine()})`,
      table: table(header, cells),
      notes: [
        best
          ? `max N at < 1 % loss: ${best.subscribers} streams at ${fixed(best.serverCpuPercent)} % server CPU → ${fixed(streamsPerCore, 0)} streams per core of server CPU (generator ${fixed(best.generatorCpuPercent)} %)`
          : 'no tested N stayed under 1 % loss',
        last && last.lossPercent < 1 && setupFailure === undefined ? `every tested N stayed under 1 % loss: the capacity is above ${last.subscribers}` : '',
        setupFailure ?? '',
        ...(plane !== undefined && plane !== 'auto' && runningPlane !== plane ? [`the server ran the ${runningPlane} data plane, not the ${plane} one asked for`] : []),
        ...rows.filter((r) => r.generatorCpuPercent >= 0.5 * r.serverCpuPercent).map((r) => `N=${r.subscribers}: the generator used ${fixed(r.generatorCpuPercent)} % against the server's ${fixed(r.serverCpuPercent)} %: not "well under" the server`),
        '"upstream short %": publisher → server shortfall (1 − shoal_rtp_received_total ÷ packets the publisher sent; lost packets, or packets its libdatachannel sent late when the generator is starved: then the server carried less than the nominal load); "sub loss %": sequence gaps at the subscribers (silent ones wholly lost); "loss %": the larger of the two, what the step-up and the max N go by; "delivered %": packets received ÷ (packets sent × N).',
        'Light subscribers: TURN + ICE + DTLS like a browser, then no SRTP decryption: packets counted by SSRC and sequence number of the clear RTP header (gaps = loss).',
        ...rows.filter((r) => r.joinFailures.length > 0).map((r) => `join failures at N=${r.subscribers} (retried):\n  ${[...new Set(r.joinFailures)].slice(0, 5).join('\n  ')}`),
        ...(logs.length > 0 ? [`server log (errors):\n${logs.join('\n')}`] : []),
      ].filter((l) => l !== ''),
      result: {
        scenario: 'capacity',
        plane: runningPlane,
        planeRequested: plane ?? null,
        workers: workers ?? 0,
        perSocket: o.perSocket,
        seconds: o.seconds,
        maxSubscribersUnderOnePercentLoss: best?.subscribers ?? null,
        setupFailure: setupFailure ?? null,
        streamsPerCore: Number.isFinite(streamsPerCore) ? streamsPerCore : null,
        rows,
      },
    };
  },
};
