// Placement across a cluster vs media workers on one node: for each --meetings size R×M, the meeting load
// (bench/scenarios/meeting.ts, VP8 only) against an N-node cluster on a throwaway redis-server (rooms created
// and peers added through node 0, so placement spreads them; node i pinned to CPU i with taskset unless
// --no-pin) and against one node with FJ_MEDIA_WORKERS=N, alternating which goes first per size and
// round, so drift on a shared machine does not always favour one. Reports both side by side: CPU µs per forwarded packet (summed over the
// cluster's processes), loss, server CPU, where the rooms landed, and the largest size each held at < 1 %
// loss. A run that fails (e.g. peers that never receive everyone on a saturated machine) is recorded as
// failed and the rest goes on. With --quiet-wait S it first waits (up to S seconds per size and round)
// until no test run and no Chromium is running, and records what still ran. Needs redis-server; not part
// of `all` (nor of npm test).
import type { Flags } from '../lib/args.js';
import { fixed, table, type Progress } from '../lib/report.js';
import { machine, type Scenario } from '../lib/scenario.js';
import { maxUnderOnePercent, parseMeetings } from './compare-rows.js';
import { otherLoad, waitForQuiet } from './compare.js';
import { meeting } from './meeting.js';

const usage = 'cluster-meeting [--meetings 4x5,6x6,8x6,10x6] [--nodes 2] [--rounds 1] [--seconds 10] [--warmup 2] [--quiet-wait 0] [--no-pin]';

interface Side {
  ok: boolean;
  error?: string;
  usPerForwardedPacket: number;
  lossPercent: number;
  serverCpuPercent: number;
  forwardedPerSec: number;
  clientCpuPercent: number;
  otherCpuPercent: number;
  rssMiB: number;
  setupSeconds: number;
  /** Rooms per node (the cluster side; one entry for the single node). */
  placement: number[];
  target: string;
}

export interface ClusterMeetingRow {
  rooms: number;
  peersPerRoom: number;
  subscriberStreams: number;
  round: number;
  order: 'cluster-first' | 'workers-first';
  cluster: Side;
  workers: Side;
  /** Test runs or Chromium seen when each run started or ended (empty = none). */
  busy: string[];
}

const FAILED: Omit<Side, 'error' | 'target'> = {
  ok: false,
  usPerForwardedPacket: NaN,
  lossPercent: NaN,
  serverCpuPercent: NaN,
  forwardedPerSec: NaN,
  clientCpuPercent: NaN,
  otherCpuPercent: NaN,
  rssMiB: NaN,
  setupSeconds: NaN,
  placement: [],
};

async function runSide(flags: Flags, progress: Progress): Promise<Side> {
  try {
    const out = await meeting.run(flags, progress);
    const w = (out.result.rows as any[])[0]!;
    return {
      ok: true,
      usPerForwardedPacket: w.usPerForwardedPacket,
      lossPercent: w.reception.lossPercent,
      serverCpuPercent: w.serverCpuPercent,
      forwardedPerSec: w.forwardedPerSec,
      clientCpuPercent: w.clientCpuPercent,
      otherCpuPercent: w.otherCpuPercent,
      rssMiB: w.rssMiB,
      setupSeconds: w.setupSeconds,
      placement: w.placement,
      target: String(out.result.target),
    };
  } catch (err) {
    progress.done(`run failed: ${(err as Error).message.split('\n')[0]}`);
    return { ...FAILED, error: (err as Error).message.split('\n')[0], target: '' };
  }
}

const cells = (s: Side) => (s.ok ? [fixed(s.usPerForwardedPacket), fixed(s.lossPercent, 2), fixed(s.serverCpuPercent), fixed(s.forwardedPerSec, 0)] : ['failed', '–', '–', '–']);

export const clusterMeeting: Scenario = {
  name: 'cluster-meeting',
  summary: 'the meeting load (VP8) against an N-node cluster (placement through one node) and one node with N media workers, alternating; µs/pkt and loss side by side',
  usage,
  flags: { meetings: 'string', nodes: 'number', rounds: 'number', seconds: 'number', warmup: 'number', 'quiet-wait': 'number', pin: 'bool' },
  async run(f: Flags, progress: Progress) {
    const o = {
      meetings: parseMeetings((f.meetings as string | undefined) ?? '4x5,6x6,8x6,10x6'),
      nodes: (f.nodes as number | undefined) ?? 2,
      rounds: (f.rounds as number | undefined) ?? 1,
      seconds: (f.seconds as number | undefined) ?? 10,
      warmup: (f.warmup as number | undefined) ?? 2,
      quietWaitMs: ((f['quiet-wait'] as number | undefined) ?? 0) * 1000,
    };
    if (!Number.isInteger(o.nodes) || o.nodes < 2) throw new Error('--nodes takes an integer ≥ 2');
    const rows: ClusterMeetingRow[] = [];
    let turn = 0;
    for (let round = 1; round <= o.rounds; round++) {
      for (const [rooms, peers] of o.meetings) {
        const order = turn++ % 2 === 0 ? 'cluster-first' : 'workers-first';
        const base = { rooms, peers, seconds: o.seconds, warmup: o.warmup, audio: false };
        const busy: string[] = [];
        if (o.quietWaitMs > 0) await waitForQuiet(o.quietWaitMs, progress, `cluster-meeting ${rooms}×${peers} round ${round}`);
        let cluster: Side | undefined;
        let workers: Side | undefined;
        for (const side of order === 'cluster-first' ? (['cluster', 'workers'] as const) : (['workers', 'cluster'] as const)) {
          busy.push(...otherLoad());
          progress.update(`cluster-meeting ${rooms}×${peers} round ${round}: ${side === 'cluster' ? `${o.nodes}-node cluster` : `1 node, ${o.nodes} workers`}`, true);
          if (side === 'cluster') cluster = await runSide({ ...base, nodes: o.nodes, pin: f.pin }, progress);
          else workers = await runSide({ ...base, workers: o.nodes }, progress);
          busy.push(...otherLoad());
        }
        const row: ClusterMeetingRow = { rooms, peersPerRoom: peers, subscriberStreams: rooms * peers * (peers - 1), round, order, cluster: cluster!, workers: workers!, busy: [...new Set(busy)] };
        rows.push(row);
        progress.done(
          `cluster-meeting ${rooms}×${peers} round ${round}: cluster ${fixed(row.cluster.usPerForwardedPacket)} µs/pkt, loss ${fixed(row.cluster.lossPercent, 2)} % ` +
            `(rooms per node ${row.cluster.placement.join('/')}); workers ${fixed(row.workers.usPerForwardedPacket)} µs/pkt, loss ${fixed(row.workers.lossPercent, 2)} %`,
        );
      }
    }
    const header = [
      'rooms × peers',
      'streams',
      'round',
      'cluster µs/pkt',
      'cluster loss %',
      'cluster CPU %',
      'cluster fwd pkts/s',
      'rooms per node',
      `${o.nodes} workers µs/pkt`,
      `${o.nodes} workers loss %`,
      `${o.nodes} workers CPU %`,
      `${o.nodes} workers fwd pkts/s`,
      'order',
      'gen CPU % (C / W)',
      'other CPU % (C / W)',
    ];
    const body = rows.map((r) => [
      `${r.rooms} × ${r.peersPerRoom}`,
      String(r.subscriberStreams),
      String(r.round),
      ...cells(r.cluster).slice(0, 4),
      r.cluster.placement.join(' / ') || '–',
      ...cells(r.workers),
      r.order === 'cluster-first' ? 'C,W' : 'W,C',
      `${fixed(r.cluster.clientCpuPercent, 0)} / ${fixed(r.workers.clientCpuPercent, 0)}`,
      `${fixed(r.cluster.otherCpuPercent, 0)} / ${fixed(r.workers.otherCpuPercent, 0)}`,
    ]);
    // A size counts as held at < 1 % loss only when every round of it was.
    const worst = (pick: (r: ClusterMeetingRow) => Side) =>
      [...new Set(rows.map((r) => r.subscriberStreams))].map((n) => ({ n, loss: Math.max(...rows.filter((r) => r.subscriberStreams === n).map((r) => (pick(r).ok ? pick(r).lossPercent : Infinity))) }));
    const maxCluster = maxUnderOnePercent(worst((r) => r.cluster));
    const maxWorkers = maxUnderOnePercent(worst((r) => r.workers));
    const clusterTarget = rows.find((r) => r.cluster.ok)?.cluster.target ?? `${o.nodes}-node cluster`;
    const failures = rows.flatMap((r) => [
      ...(r.cluster.error ? [`${r.rooms}×${r.peersPerRoom} round ${r.round} cluster: ${r.cluster.error}`] : []),
      ...(r.workers.error ? [`${r.rooms}×${r.peersPerRoom} round ${r.round} workers: ${r.workers.error}`] : []),
    ]);
    return {
      title: `cluster-meeting (R rooms × M peers, each sending VP8 25 fps × 4 × 1200 B and receiving the others; ${o.seconds} s windows; C = ${clusterTarget}, rooms created and peers added through node 0, CPU summed over the nodes; W = 1 node with ${o.nodes} media workers; CPU % is of one core; ${machine()})`,
      table: table(header, body),
      notes: [
        `max subscriber streams at < 1 % loss among the tested sizes: cluster ${maxCluster ?? 'none'}, ${o.nodes} workers ${maxWorkers ?? 'none'}`,
        ...(failures.length > 0 ? [`failed runs:\n  ${failures.join('\n  ')}`] : []),
        ...rows.filter((r) => r.busy.length > 0).map((r) => `other load at ${r.rooms}×${r.peersPerRoom} round ${r.round}: ${r.busy.slice(0, 3).join('; ')}`),
      ],
      result: { scenario: 'cluster-meeting', nodes: o.nodes, seconds: o.seconds, warmup: o.warmup, maxStreamsUnderOnePercentLoss: { cluster: maxCluster ?? null, workers: maxWorkers ?? null }, rows },
    };
  },
};
