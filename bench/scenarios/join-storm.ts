// Join storm: one room with a publisher already sending synthetic VP8 (+ opus); K peers are added over REST
// beforehand, then all K open their WebSocket at the same instant. Per peer, from the moment its socket is
// created ("join"): → `connected` (authenticated and joined), → negotiated (sdpAnswer applied and the
// PeerConnection connected through TURN), → first remote RTP packet. Reported as p50/p99/max, with the
// server CPU and RSS over the storm.
import { C5Peer } from '../clients/c5-peer.js';
import type { Flags } from '../lib/args.js';
import { chromiumFirstFrames, type ChromiumJoin } from '../lib/chromium-sample.js';
import { peerErrors } from '../lib/media.js';
import { cpuBetween, cpuSample, memory, MiB } from '../lib/proc.js';
import { fixed, percentile, table, type Progress } from '../lib/report.js';
import { machine, type Scenario } from '../lib/scenario.js';
import { ShoalProcess, sleep } from '../lib/shoal-process.js';

const usage = 'join-storm [--peers 20] [--timeout 30] [--no-audio] [--chromium S] [--profile DIR] [--smoke]';

interface Timing {
  connected?: number;
  negotiated?: number;
  firstPacket?: number;
  error?: string;
}

export const joinStorm: Scenario = {
  name: 'join-storm',
  summary: 'K peers join one room at once (someone publishes); join → first remote packet p50/p99',
  usage,
  flags: { peers: 'number', timeout: 'number', audio: 'bool', chromium: 'number', profile: 'string', smoke: 'bool' },
  async run(f: Flags, progress: Progress) {
    const o = {
      peers: (f.peers as number | undefined) ?? 20,
      timeout: (f.timeout as number | undefined) ?? 30,
      audio: (f.audio as boolean | undefined) ?? true,
      chromium: (f.chromium as number | undefined) ?? 0,
    };
    if (f.smoke) Object.assign(o, { peers: 4, timeout: 20, chromium: 0 });
    if (!Number.isInteger(o.peers) || !Number.isInteger(o.chromium)) throw new Error('--peers and --chromium take integers');
    const shoal = new ShoalProcess();
    const all: C5Peer[] = [];
    try {
      await shoal.start({ profileDir: f.profile as string | undefined });
      const room = await shoal.createRoom();
      const publisher = new C5Peer({ wsUrl: shoal.wsUrl, token: await shoal.addPeer(room), name: 'publisher' });
      all.push(publisher);
      await publisher.join();
      await publisher.publish({ video: true, audio: o.audio });
      publisher.startSending({ audio: o.audio });
      const tokens = await Promise.all(Array.from({ length: o.peers }, () => shoal.addPeer(room)));
      await sleep(1000); // the publisher's first keyframes are out; the server is idle again

      const before = cpuSample(shoal.pid);
      const timings: Timing[] = tokens.map(() => ({}));
      let done = 0;
      const stormStart = performance.now();
      await Promise.all(
        tokens.map(async (token, i) => {
          const t = timings[i]!;
          const start = performance.now();
          const p = new C5Peer({ wsUrl: shoal.wsUrl, token, name: `joiner-${i}` });
          all.push(p);
          try {
            await p.join(o.timeout * 1000);
            t.connected = performance.now() - start;
            await p.negotiated(o.timeout * 1000);
            t.negotiated = performance.now() - start;
            const first = await p.waitUntil(
              () => {
                const times = p.received.map((c) => c.firstPacketAt).filter((x): x is number => x !== undefined);
                return times.length > 0 ? Math.min(...times) : undefined;
              },
              'first remote packet',
              Math.max(1, o.timeout * 1000 - (performance.now() - start)),
            );
            t.firstPacket = first - start;
          } catch (err) {
            t.error = (err as Error).message;
          }
          progress.update(`join-storm K=${o.peers}: ${++done}/${o.peers} done`);
        }),
      );
      const stormSeconds = (performance.now() - stormStart) / 1000;
      const cpu = cpuBetween(before, cpuSample(shoal.pid));
      const mem = memory(shoal.pid);
      progress.done();

      const stat = (key: 'connected' | 'negotiated' | 'firstPacket') => {
        const v = timings.map((t) => t[key]).filter((x): x is number => x !== undefined);
        return { count: v.length, p50: percentile(v, 50), p99: percentile(v, 99), max: v.length ? Math.max(...v) : NaN };
      };
      const stats = { connected: stat('connected'), negotiated: stat('negotiated'), firstPacket: stat('firstPacket') };
      const failures = timings.filter((t) => t.error !== undefined);
      const header = ['K', 'join →', 'ok', 'p50 ms', 'p99 ms', 'max ms'];
      const cells = (['connected', 'negotiated', 'firstPacket'] as const).map((k) => [
        String(o.peers),
        k === 'firstPacket' ? 'first remote packet' : k === 'negotiated' ? 'PC connected' : 'connected event',
        `${stats[k].count}/${o.peers}`,
        fixed(stats[k].p50, 0),
        fixed(stats[k].p99, 0),
        fixed(stats[k].max, 0),
      ]);
      // Optional: join → first decoded frame with the real client in Chromium (after the storm, its own room).
      let chromium: ChromiumJoin[] = [];
      if (o.chromium > 0) {
        for (const p of all) p.close();
        chromium = await chromiumFirstFrames(shoal, o.chromium, o.timeout * 1000, (n) => progress.update(`join-storm Chromium sample: ${n}/${o.chromium}`, true));
        const ok = (key: 'firstPacketMs' | 'firstFrameMs') => chromium.map((c) => c[key]).filter((x): x is number => x !== undefined);
        for (const [label, v] of [
          ['first packet (Chromium C5)', ok('firstPacketMs')],
          ['first decoded frame (Chromium C5)', ok('firstFrameMs')],
        ] as const)
          cells.push([String(o.chromium), label, `${v.length}/${o.chromium}`, fixed(percentile(v, 50), 0), fixed(percentile(v, 99), 0), fixed(v.length ? Math.max(...v) : NaN, 0)]);
      }
      const chromiumErrors = chromium.filter((c) => c.error !== undefined).map((c) => c.error!);
      const errors = peerErrors(all);
      return {
        title:
          `join storm (K=${o.peers} peers open their sockets at once into a room whose publisher sends VP8${o.audio ? ' + opus' : ''}; ` +
          `storm took ${fixed(stormSeconds, 2)} s at ${fixed(cpu.serverCpuPercent)} % server CPU (other processes ${fixed(cpu.otherCpuPercent, 0)} %), RSS ${fixed(mem.rss / MiB, 0)} MiB; ${machine()})`,
        table: table(header, cells),
        notes: [
          'P3 goal (join → first frame): p50 ≤ 250 ms, p99 ≤ 600 ms. Browserless rows stop at the first remote RTP packet (their VP8 is synthetic); the Chromium rows (--chromium S) at the first decoded frame.',
          ...(o.chromium > 0
            ? [`Chromium rows: ${o.chromium} real ts-client 0.5.0 pages join one after another (not a storm) a room where a Chromium page publishes its fake camera; timed in the page from just before connect, stats polled every 20 ms.`]
            : []),
          ...(chromiumErrors.length > 0 ? [`Chromium sample errors:\n  ${chromiumErrors.join('\n  ')}`] : []),
          ...(failures.length > 0 ? [`failed joins (${failures.length}):\n  ${failures.map((t) => t.error).join('\n  ')}`] : []),
          ...(errors.length > 0 ? [`client errors:\n  ${errors.join('\n  ')}`] : []),
          ...(shoal.log.trim() !== '' ? [`server log (errors):\n${shoal.log.trim()}`] : []),
        ],
        result: {
          scenario: 'join-storm',
          peers: o.peers,
          stormSeconds,
          serverCpuPercent: cpu.serverCpuPercent,
          serverCpuSeconds: cpu.serverCpuSeconds,
          otherCpuPercent: cpu.otherCpuPercent,
          rssMiB: mem.rss / MiB,
          ...stats,
          failures: failures.length,
          timings,
          chromium,
        },
      };
    } catch (err) {
      if (shoal.log.trim() !== '') process.stderr.write(`server output:\n${shoal.log}\n`);
      throw err;
    } finally {
      for (const p of all) p.close();
      await shoal.stop();
    }
  },
};
