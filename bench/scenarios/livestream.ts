// Livestream: 1 WHIP publisher (synthetic VP8 ~1 Mbit/s: 25 fps × 4 × 1200 B, plus opus 50 packets/s) →
// N browserless WHEP viewers (bench/clients/whip-client.ts, libdatachannel, relay-only through Shoal's
// TURN server, plain HTTP WHIP/WHEP). Viewers join --join-concurrency at a time; each one's time to first
// packet is from its WHEP POST to its first RTP packet. Once all receive and a warm-up has passed, a window
// of --seconds is measured (bench/lib/media.ts): server CPU (of one core) and CPU per viewer, forwarded
// packets/s, delivery loss (sequence gaps, a silent stream counted as wholly lost) and RSS.
import type { C5Peer } from '../clients/c5-peer.js';
import { WhepViewer, WhipPublisher } from '../clients/whip-client.js';
import type { Flags } from '../lib/args.js';
import { measureWindow, type WindowResult } from '../lib/media.js';
import { fixed, table, type Progress } from '../lib/report.js';
import { machine, type Scenario } from '../lib/scenario.js';
import { ShoalProcess, sleep, workersNote } from '../lib/shoal-process.js';

const usage = 'livestream [--viewers 100,300] [--seconds 10] [--warmup 2] [--join-concurrency 16] [--workers N] [--smoke]';

export interface LivestreamRow extends WindowResult {
  viewers: number;
  cpuPercentPerViewer: number;
  firstPacketMs: { p50: number; p95: number; max: number };
  setupSeconds: number;
  joinFailures: string[];
  /** Viewers that failed 3 attempts (left out of the window). */
  viewersGivenUp: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function measure(shoal: ShoalProcess, n: number, o: { seconds: number; warmup: number; joinConcurrency: number }, progress: Progress): Promise<LivestreamRow> {
  const setupStart = performance.now();
  const room = await shoal.createRoom({ videoCodec: 'vp8', roomType: 'livestream' });
  const base = `${shoal.httpUrl}/api/v1/live/api`;
  const streamerToken = (await shoal.api('POST', `/room/${room}/streamer`)).token as string;
  const viewerToken = (await shoal.api('POST', `/room/${room}/viewer`)).token as string;
  const publisher = new WhipPublisher({ url: `${base}/whip`, token: streamerToken, name: 'whip' });
  const viewers: WhepViewer[] = [];
  const failures: string[] = [];
  try {
    await publisher.publish();
    await publisher.connected(30_000);
    publisher.startSending();
    let next = 0;
    let ready = 0;
    const joinOne = async (i: number): Promise<void> => {
      for (let attempt = 0; attempt < 3; attempt++) {
        const v = new WhepViewer({ url: `${base}/whep`, token: viewerToken, name: `whep-${i}`, timeoutMs: 30_000 });
        try {
          await v.view();
          await v.connected(30_000);
          const end = Date.now() + 30_000;
          while (v.video.packets === 0 || v.audio.packets === 0) {
            if (Date.now() > end) throw new Error(`whep-${i}: no packets on both m-lines within 30 s (video ${v.video.packets}, audio ${v.audio.packets}, pc ${v.pcState})`);
            await sleep(20);
          }
          viewers.push(v);
          return;
        } catch (err) {
          failures.push((err as Error).message);
          await v.stop().catch(() => 0);
          v.close();
        }
      }
      gaveUp++;
    };
    let gaveUp = 0;
    await Promise.all(
      Array.from({ length: Math.min(n, o.joinConcurrency) }, async () => {
        while (next < n) {
          await joinOne(next++);
          progress.update(`livestream N=${n}: ${++ready}/${n} viewers receiving`);
        }
      }),
    );
    const setupSeconds = (performance.now() - setupStart) / 1000;
    progress.update(`livestream N=${n}: all receiving after ${fixed(setupSeconds)} s; warm-up ${o.warmup} s`, true);
    await sleep(o.warmup * 1000);
    // measureWindow reads only `sent.rtp` of publishers and `received` of receivers, which these clients have.
    const w = await measureWindow(shoal, [publisher as unknown as C5Peer], viewers as unknown as C5Peer[], o.seconds, progress, `livestream N=${n}`, viewers.length * 2);
    const ttfp = viewers.map((v) => v.firstPacketMs() ?? NaN).sort((a, b) => a - b);
    return {
      ...w,
      viewers: n,
      cpuPercentPerViewer: w.serverCpuPercent / n,
      firstPacketMs: { p50: percentile(ttfp, 50), p95: percentile(ttfp, 95), max: ttfp[ttfp.length - 1] ?? NaN },
      setupSeconds,
      joinFailures: failures,
      viewersGivenUp: gaveUp,
    };
  } finally {
    publisher.close();
    for (const v of viewers) v.close();
    await shoal.deleteRoomsAndSettle([room]);
  }
}

export const livestream: Scenario = {
  name: 'livestream',
  summary: '1 WHIP publisher (VP8 ~1 Mbit/s + opus) → N WHEP viewers; server CPU per viewer, loss, time to first packet',
  usage,
  flags: { viewers: 'list', seconds: 'number', warmup: 'number', 'join-concurrency': 'number', workers: 'number', smoke: 'bool' },
  async run(f: Flags, progress: Progress) {
    const o = {
      viewers: (f.viewers as number[] | undefined) ?? [100, 300],
      seconds: (f.seconds as number | undefined) ?? 10,
      warmup: (f.warmup as number | undefined) ?? 2,
      joinConcurrency: (f['join-concurrency'] as number | undefined) ?? 16,
    };
    if (f.smoke) Object.assign(o, { viewers: [2], seconds: 3, warmup: 1 });
    const rows: LivestreamRow[] = [];
    for (const n of o.viewers) {
      const shoal = new ShoalProcess();
      try {
        await shoal.start({ workers: f.workers as number | undefined });
        const row = await measure(shoal, n, o, progress);
        rows.push(row);
        progress.done(`livestream N=${n}: server CPU ${fixed(row.serverCpuPercent)} % (${fixed(row.cpuPercentPerViewer, 3)} %/viewer), loss ${fixed(row.reception.lossPercent, 2)} %, first packet p50 ${fixed(row.firstPacketMs.p50, 0)} ms`);
      } catch (err) {
        if (shoal.log.trim() !== '') process.stderr.write(`server output:\n${shoal.log}\n`);
        throw err;
      } finally {
        await shoal.stop();
      }
    }
    const header = ['viewers', 'fwd pkts/s', 'server CPU %', 'CPU %/viewer', 'CPU µs/fwd pkt', 'loss %', 'silent streams', 'first pkt p50 ms', 'p95 ms', 'max ms', 'RSS MiB', 'setup s', 'join retries', 'given up', 'gen CPU %'];
    const cells = rows.map((r) => [
      String(r.viewers),
      fixed(r.forwardedPerSec, 0),
      fixed(r.serverCpuPercent),
      fixed(r.cpuPercentPerViewer, 3),
      fixed(r.usPerForwardedPacket),
      fixed(r.reception.lossPercent, 2),
      String(r.reception.silentStreams),
      fixed(r.firstPacketMs.p50, 0),
      fixed(r.firstPacketMs.p95, 0),
      fixed(r.firstPacketMs.max, 0),
      fixed(r.rssMiB, 0),
      fixed(r.setupSeconds),
      String(r.joinFailures.length),
      String(r.viewersGivenUp),
      fixed(r.clientCpuPercent),
    ]);
    return {
      title: `livestream (1 WHIP publisher: VP8 25 fps × 4 × 1200 B + opus 50 pkts/s → N WHEP viewers; ${o.seconds} s windows; ${workersNote(f.workers)}CPU % is of one core; ${machine()})`,
      table: table(header, cells),
      notes: [
        'First packet: from the viewer\'s WHEP POST to its first RTP packet (includes ICE through TURN, DTLS and the keyframe request).',
        ...rows.filter((r) => r.clientCpuPercent >= 90).map((r) => `N=${r.viewers}: the load generator used ${fixed(r.clientCpuPercent, 0)} % of a core; late or missing packets may be its own.`),
        ...rows.filter((r) => r.joinFailures.length > 0).map((r) => `join failures at N=${r.viewers} (retried):\n  ${r.joinFailures.join('\n  ')}`),
      ],
      result: { scenario: 'livestream', workers: (f.workers as number | undefined) ?? 0, rows },
    };
  },
};
