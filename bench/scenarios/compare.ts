// Side by side with Janus: for each N, the fan-out load (1 publisher, synthetic VP8 25 fps × 4 × 1200 B, no
// audio → N subscribers) through Shoal (bench/scenarios/fanout.ts, a fresh Shoal child per N) and through
// Janus 1.1.2's VideoRoom (bench/janus/fanout-janus.ts as a child process, which runs Janus in its own network
// namespace; its `RESULT {json}` line is parsed). The two servers alternate per N (Shoal first at the first N,
// Janus first at the next, ...), so slow drift on a shared machine does not always favour the same one.
// Then, for each --meetings size R×M, the meeting load (R rooms × M peers, everyone publishing VP8 and
// receiving the rest of its room) through Shoal (bench/scenarios/meeting.ts) and Janus (bench/janus/meeting-janus.ts),
// alternating the same way; a second table gives their ratio.
//
// Before each N the scenario waits (up to --quiet-wait seconds in all, default 600) until no test run
// (`node … --test`) and no Chromium is running on the machine, and records whether it had to measure under
// such load. Janus must be installed (Debian `janus`), and the harness needs root and iproute2; otherwise the
// scenario says so and fails. Not part of `all` (nor of npm test).
import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Flags } from '../lib/args.js';
import { fixed, table, type Progress } from '../lib/report.js';
import { machine, UnavailableError, type Scenario } from '../lib/scenario.js';
import { REPO, sleep, workersLabel } from '../lib/shoal-process.js';
import { JANUS_BIN, janusVersion } from '../janus/janus-server.js';
import type { JanusMeetingRow } from '../janus/meeting-janus.js';
import { fanout, type FanoutRow } from './fanout.js';
import { meeting } from './meeting.js';

const usage = 'compare [--subscribers 8,32,64] [--meetings 2x4,4x5,6x6] [--seconds 10] [--warmup 2] [--join-concurrency 16] [--quiet-wait 600] [--workers N]';

/** The row fields of bench/janus/fanout-janus.ts's RESULT json that are used here. */
export interface JanusRow {
  subscribers: number;
  forwardedPerSec: number;
  serverCpuPercent: number;
  usPerForwardedPacket: number;
  lossPercent: number;
  clientCpuPercent: number;
  janusThreads: number;
  setupSeconds: number;
}

export interface CompareRow {
  subscribers: number;
  order: 'shoal-first' | 'janus-first';
  shoal: { forwardedPerSec: number; serverCpuPercent: number; usPerForwardedPacket: number; lossPercent: number; otherCpuPercent: number; clientCpuPercent: number; rssMiB: number; setupSeconds: number; joinRetries: number };
  janus: JanusRow;
  /** Shoal µs/pkt ÷ Janus µs/pkt. */
  ratio: number;
  /** Test runs or Chromium seen on the machine when each measurement started / ended (empty = quiet). */
  busy: { shoalStart: string[]; shoalEnd: string[]; janusStart: string[]; janusEnd: string[] };
}

/** Other load that skews CPU numbers: node test runners and Chromium (the lead's test suite), one line each. */
export function otherLoad(): string[] {
  const pgrep = (args: string[]) => {
    try {
      return execFileSync('pgrep', args, { encoding: 'utf8' }).trim().split('\n').filter((l) => l !== '');
    } catch {
      return []; // exit 1: nothing matched
    }
  };
  const tests = pgrep(['-af', 'node .*--test']).filter((l) => !l.includes('pgrep'));
  const chromium = pgrep(['-a', 'chromium']);
  return [...tests.map((l) => l.slice(0, 120)), ...(chromium.length > 0 ? [`${chromium.length} chromium process(es)`] : [])];
}

/** Polls until otherLoad() is empty or `budgetMs` has passed; returns the time waited and what was still running. */
export async function waitForQuiet(budgetMs: number, progress: Progress, label: string): Promise<{ waitedMs: number; busy: string[] }> {
  const start = performance.now();
  for (;;) {
    const busy = otherLoad();
    const waited = performance.now() - start;
    if (busy.length === 0 || waited >= budgetMs) return { waitedMs: waited, busy };
    progress.update(`${label}: waiting for a quiet machine (${fixed(waited / 1000, 0)}/${fixed(budgetMs / 1000, 0)} s): ${busy.length} busy, e.g. ${busy[0]}`);
    await sleep(Math.min(5000, budgetMs - waited));
  }
}

function janusRequirements(): string | undefined {
  if (!existsSync(JANUS_BIN)) return `Janus is not installed (${JANUS_BIN} not found; apt-get install -y janus, or set JANUS_BIN)`;
  if (process.getuid?.() !== 0) return 'the Janus harness needs root (it creates a network namespace)';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'the Janus harness needs iproute2 (`ip` not found)';
  }
  return undefined;
}

/** Runs a Janus harness (bench/janus/*.ts) as a child and parses its `RESULT {json}` line. */
async function runJanusHarness(script: string, args: string[], label: string, timeoutMs: number, progress: Progress): Promise<{ result: { rows: unknown[] }; title: string; log: string }> {
  const argv = ['--import', 'tsx', script, ...args];
  progress.update(`${label}: Janus (node ${argv.slice(2).join(' ')})`, true);
  const child = spawn(process.execPath, argv, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    for (const line of d.split('\n')) if (line.trim() !== '') progress.update(`${label}: janus: ${line.trim()}`, true);
  });
  const code = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      resolve(`timed out after ${timeoutMs / 1000} s`);
    }, timeoutMs);
    child.on('exit', (c, sig) => {
      clearTimeout(timer);
      resolve(c ?? String(sig));
    });
  });
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (code !== 0 || line === undefined) throw new Error(`${label}: Janus harness failed (exit ${code})\nstdout:\n${stdout}\nstderr:\n${stderr}`);
  const result = JSON.parse(line.slice('RESULT '.length)) as { rows: unknown[] };
  const title = stdout.split('\n')[0] ?? '';
  const log = stdout.split('\n').filter((l) => /\[ERR\]|\[FATAL\]/.test(l)).join('\n');
  return { result, title, log };
}

async function runJanus(n: number, seconds: number, warmup: number, progress: Progress): Promise<{ row: JanusRow; title: string; log: string }> {
  const args = ['--subscribers', String(n), '--seconds', String(seconds), '--warmup', String(warmup)];
  const r = await runJanusHarness('bench/janus/fanout-janus.ts', args, `compare N=${n}`, (seconds + warmup + 180) * 1000, progress);
  const row = r.result.rows[0] as JanusRow | undefined;
  if (row === undefined || row.subscribers !== n) throw new Error(`Janus fan-out N=${n}: unexpected RESULT ${JSON.stringify(r.result)}`);
  return { row, title: r.title, log: r.log };
}

async function runShoal(n: number, o: { seconds: number; warmup: number; joinConcurrency: number; workers?: number }, progress: Progress): Promise<{ row: FanoutRow; notes: string[] }> {
  progress.update(`compare N=${n}: Shoal`, true);
  const out = await fanout.run({ subscribers: [n], seconds: o.seconds, warmup: o.warmup, audio: false, 'join-concurrency': o.joinConcurrency, workers: o.workers }, progress);
  const row = (out.result.rows as FanoutRow[])[0]!;
  return { row, notes: out.notes.filter((l) => !l.startsWith('P2 goal')) };
}

/** One meeting size through both servers. */
export interface CompareMeetingRow {
  rooms: number;
  peersPerRoom: number;
  subscriberStreams: number;
  order: 'shoal-first' | 'janus-first';
  shoal: { forwardedPerSec: number; serverCpuPercent: number; usPerForwardedPacket: number; lossPercent: number; otherCpuPercent: number; clientCpuPercent: number; rssMiB: number };
  janus: JanusMeetingRow;
  ratio: number;
  busy: string[];
}

/** "2x4,4x5" → [[2, 4], [4, 5]] (rooms × peers). */
export function parseMeetings(spec: string): [number, number][] {
  if (spec.trim() === '') return [];
  return spec.split(',').map((part) => {
    const m = /^\s*(\d+)\s*[x×]\s*(\d+)\s*$/.exec(part);
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 2) throw new Error(`--meetings takes ROOMSxPEERS pairs (peers ≥ 2), e.g. 2x4,4x5; got "${part}"`);
    return [Number(m[1]), Number(m[2])];
  });
}

async function compareMeeting(
  rooms: number,
  peers: number,
  order: CompareMeetingRow['order'],
  o: { seconds: number; warmup: number; workers?: number },
  progress: Progress,
): Promise<{ row: CompareMeetingRow; log: string }> {
  const label = `compare meeting ${rooms}×${peers}`;
  const busy: string[] = [];
  let shoal: CompareMeetingRow['shoal'] | undefined;
  let janus: JanusMeetingRow | undefined;
  let log = '';
  for (const server of order === 'shoal-first' ? (['shoal', 'janus'] as const) : (['janus', 'shoal'] as const)) {
    busy.push(...otherLoad());
    if (server === 'shoal') {
      progress.update(`${label}: Shoal`, true);
      const out = await meeting.run({ rooms, peers, seconds: o.seconds, warmup: o.warmup, audio: false, workers: o.workers }, progress);
      const w = (out.result.rows as { forwardedPerSec: number; serverCpuPercent: number; usPerForwardedPacket: number; reception: { lossPercent: number }; otherCpuPercent: number; clientCpuPercent: number; rssMiB: number }[])[0]!;
      shoal = { forwardedPerSec: w.forwardedPerSec, serverCpuPercent: w.serverCpuPercent, usPerForwardedPacket: w.usPerForwardedPacket, lossPercent: w.reception.lossPercent, otherCpuPercent: w.otherCpuPercent, clientCpuPercent: w.clientCpuPercent, rssMiB: w.rssMiB };
    } else {
      const args = ['--rooms', String(rooms), '--peers', String(peers), '--seconds', String(o.seconds), '--warmup', String(o.warmup)];
      const r = await runJanusHarness('bench/janus/meeting-janus.ts', args, label, (o.seconds + o.warmup + 240) * 1000, progress);
      janus = r.result.rows[0] as JanusMeetingRow;
      log = r.log;
    }
    busy.push(...otherLoad());
  }
  const row: CompareMeetingRow = {
    rooms,
    peersPerRoom: peers,
    subscriberStreams: rooms * peers * (peers - 1),
    order,
    shoal: shoal!,
    janus: janus!,
    ratio: shoal!.usPerForwardedPacket / janus!.usPerForwardedPacket,
    busy: [...new Set(busy)],
  };
  progress.done(`${label}: Shoal ${fixed(row.shoal.usPerForwardedPacket)} µs/pkt, Janus ${fixed(row.janus.usPerForwardedPacket)} µs/pkt, ratio ${fixed(row.ratio, 2)}`);
  return { row, log };
}

type Side = { serverCpuPercent: number; usPerForwardedPacket: number; lossPercent: number; forwardedPerSec: number; clientCpuPercent: number };

/** The side-by-side cells shared by both tables: CPU %, µs/pkt, ratio, loss %, forwarded packets/s, order. */
function pairCells(shoal: Side, janus: Side, ratio: number, order: CompareRow['order']): string[] {
  return [
    fixed(shoal.serverCpuPercent),
    fixed(janus.serverCpuPercent),
    fixed(shoal.usPerForwardedPacket),
    fixed(janus.usPerForwardedPacket),
    `${fixed(ratio, 2)}×`,
    fixed(shoal.lossPercent, 2),
    fixed(janus.lossPercent, 2),
    fixed(shoal.forwardedPerSec, 0),
    fixed(janus.forwardedPerSec, 0),
    fixed(shoal.clientCpuPercent, 0),
    fixed(janus.clientCpuPercent, 0),
    order === 'shoal-first' ? 'S,J' : 'J,S',
  ];
}

function meetingTable(rows: CompareMeetingRow[]): string {
  const header = ['rooms × peers', 'sub streams', 'Shoal CPU %', 'Janus CPU %', 'Shoal µs/pkt', 'Janus µs/pkt', 'Shoal/Janus', 'Shoal loss %', 'Janus loss %', 'Shoal fwd pkts/s', 'Janus fwd pkts/s', 'Shoal gen CPU %', 'Janus gen CPU %', 'order', 'other load'];
  return table(
    header,
    rows.map((r) => [
      `${r.rooms} × ${r.peersPerRoom}`,
      String(r.subscriberStreams),
      ...pairCells(r.shoal, r.janus, r.ratio, r.order),
      r.busy.length > 0 ? 'yes' : 'no',
    ]),
  );
}

/** Largest tested N whose loss was below 1 %, provided every smaller tested N was below 1 % too. */
export function maxUnderOnePercent(rows: { n: number; loss: number }[]): number | undefined {
  let best: number | undefined;
  for (const r of [...rows].sort((a, b) => a.n - b.n)) {
    if (!(r.loss < 1)) break;
    best = r.n;
  }
  return best;
}

export const compare: Scenario = {
  name: 'compare',
  summary: 'the fan-out and meeting loads (VP8 only) through Shoal and through Janus 1.1.2 VideoRoom, alternating; Shoal/Janus CPU per packet and max streams at < 1 % loss',
  usage,
  flags: { subscribers: 'list', meetings: 'string', seconds: 'number', warmup: 'number', 'join-concurrency': 'number', 'quiet-wait': 'number', workers: 'number' },
  async run(f: Flags, progress: Progress) {
    const missing = janusRequirements();
    if (missing !== undefined) throw new UnavailableError(`compare: ${missing}`);
    const o = {
      subscribers: (f.subscribers as number[] | undefined) ?? [8, 32, 64],
      seconds: (f.seconds as number | undefined) ?? 10,
      warmup: (f.warmup as number | undefined) ?? 2,
      joinConcurrency: (f['join-concurrency'] as number | undefined) ?? 16,
      quietWaitMs: ((f['quiet-wait'] as number | undefined) ?? 600) * 1000,
      meetings: parseMeetings((f.meetings as string | undefined) ?? '2x4,4x5,6x6'),
      workers: f.workers as number | undefined,
    };
    const version = janusVersion();
    let quietBudget = o.quietWaitMs;
    let waitedMs = 0;
    const rows: CompareRow[] = [];
    const notes: string[] = [];
    let janusTitle = '';
    for (const [i, n] of o.subscribers.entries()) {
      const order = i % 2 === 0 ? 'shoal-first' : 'janus-first';
      const busy: CompareRow['busy'] = { shoalStart: [], shoalEnd: [], janusStart: [], janusEnd: [] };
      let shoal: FanoutRow | undefined;
      let janus: JanusRow | undefined;
      for (const server of order === 'shoal-first' ? (['shoal', 'janus'] as const) : (['janus', 'shoal'] as const)) {
        const q = await waitForQuiet(quietBudget, progress, `compare N=${n} (${server})`);
        quietBudget = Math.max(0, quietBudget - q.waitedMs);
        waitedMs += q.waitedMs;
        if (server === 'shoal') {
          busy.shoalStart = q.busy;
          const r = await runShoal(n, o, progress);
          shoal = r.row;
          notes.push(...r.notes);
          busy.shoalEnd = otherLoad();
        } else {
          busy.janusStart = q.busy;
          const r = await runJanus(n, o.seconds, o.warmup, progress);
          janus = r.row;
          janusTitle = r.title;
          if (r.log !== '') notes.push(`janus log (errors) at N=${n}:\n${r.log}`);
          busy.janusEnd = otherLoad();
        }
      }
      const row: CompareRow = {
        subscribers: n,
        order,
        shoal: {
          forwardedPerSec: shoal!.forwardedPerSec,
          serverCpuPercent: shoal!.serverCpuPercent,
          usPerForwardedPacket: shoal!.usPerForwardedPacket,
          lossPercent: shoal!.reception.lossPercent,
          otherCpuPercent: shoal!.otherCpuPercent,
          clientCpuPercent: shoal!.clientCpuPercent,
          rssMiB: shoal!.rssMiB,
          setupSeconds: shoal!.setupSeconds,
          joinRetries: shoal!.joinRetries,
        },
        janus: janus!,
        ratio: shoal!.usPerForwardedPacket / janus!.usPerForwardedPacket,
        busy,
      };
      rows.push(row);
      progress.done(
        `compare N=${n}: Shoal ${fixed(row.shoal.usPerForwardedPacket)} µs/pkt (loss ${fixed(row.shoal.lossPercent, 2)} %), ` +
          `Janus ${fixed(row.janus.usPerForwardedPacket)} µs/pkt (loss ${fixed(row.janus.lossPercent, 2)} %), ratio ${fixed(row.ratio, 2)}`,
      );
    }
    const meetings: CompareMeetingRow[] = [];
    for (const [i, [rooms, peers]] of o.meetings.entries()) {
      const q = await waitForQuiet(quietBudget, progress, `compare meeting ${rooms}×${peers}`);
      quietBudget = Math.max(0, quietBudget - q.waitedMs);
      waitedMs += q.waitedMs;
      const r = await compareMeeting(rooms, peers, i % 2 === 0 ? 'shoal-first' : 'janus-first', o, progress);
      meetings.push(r.row);
      if (r.log !== '') notes.push(`janus log (errors) at meeting ${rooms}×${peers}:\n${r.log}`);
    }
    const header = ['N', 'Shoal CPU %', 'Janus CPU %', 'Shoal µs/pkt', 'Janus µs/pkt', 'Shoal/Janus', 'Shoal loss %', 'Janus loss %', 'Shoal fwd pkts/s', 'Janus fwd pkts/s', 'Shoal gen CPU %', 'Janus gen CPU %', 'order', 'other load', 'machine CPU % besides Shoal'];
    const cells = rows.map((r) => {
      const b = r.busy;
      const loaded = [b.shoalStart, b.shoalEnd, b.janusStart, b.janusEnd].some((x) => x.length > 0);
      return [
        String(r.subscribers),
        ...pairCells(r.shoal, r.janus, r.ratio, r.order),
        loaded ? 'yes' : 'no',
        fixed(r.shoal.otherCpuPercent),
      ];
    });
    const maxShoal = maxUnderOnePercent(rows.map((r) => ({ n: r.subscribers, loss: r.shoal.lossPercent })));
    const maxJanus = maxUnderOnePercent(rows.map((r) => ({ n: r.subscribers, loss: r.janus.lossPercent })));
    const largest = rows[rows.length - 1];
    const loadedRows = rows.filter((r) => Object.values(r.busy).some((x) => x.length > 0));
    return {
      title:
        `Shoal vs Janus ${version} fan-out (1 publisher: VP8 25 fps × 4 × 1200 B, no audio → N subscribers; ${o.seconds} s windows; ` +
        `CPU % is of one core; Shoal ${o.workers ? `with ${workersLabel(o.workers)}, ` : 'in one thread, '}via its integrated TURN relay, Janus on a host candidate in a network namespace; ${machine()})`,
      table:
        table(header, cells) +
        (meetings.length > 0
          ? `\n\nMeetings (R rooms × M peers, each publishing the same VP8 and receiving the others of its room; Shoal's \`meeting --no-audio\`, Janus's bench/janus/meeting-janus.ts):\n\n${meetingTable(meetings)}`
          : ''),
      notes: [
        `max N at < 1 % loss among the tested N: Shoal ${maxShoal ?? 'none'}, Janus ${maxJanus ?? 'none'}`,
        ...(meetings.length > 0
          ? [
              `meetings: max subscriber streams at < 1 % loss among the tested sizes: Shoal ${maxUnderOnePercent(meetings.map((m) => ({ n: m.subscriberStreams, loss: m.shoal.lossPercent }))) ?? 'none'}, ` +
                `Janus ${maxUnderOnePercent(meetings.map((m) => ({ n: m.subscriberStreams, loss: m.janus.lossPercent }))) ?? 'none'}`,
            ]
          : []),
        ...(largest
          ? [`P1 goal (CPU per forwarded packet ≤ 0.8 × Janus and ≤ 10 µs) at N=${largest.subscribers}: Shoal/Janus ${fixed(largest.ratio, 2)}×, Shoal ${fixed(largest.shoal.usPerForwardedPacket)} µs/pkt`]
          : []),
        `waited ${fixed(waitedMs / 1000, 0)} s for a quiet machine; ` +
          (loadedRows.length === 0
            ? 'no test run or Chromium was running at the start or end of any measurement'
            : `other load (test run or Chromium) present around the measurements at N=${loadedRows.map((r) => r.subscribers).join(',')}`),
        '"gen CPU %": the load generator\'s own CPU (one JS thread counting every packet; near 100 % it falls behind and losses may be its own). ' +
          '"other load": a test run or Chromium was seen when a measurement started or ended. "machine CPU % besides Shoal": ' +
          'busy CPU of everything but the Shoal server and the load generator during the Shoal window (% of one core; not measured for Janus).',
        ...(janusTitle !== '' ? [`janus harness: ${janusTitle}`] : []),
        ...new Set(notes),
      ],
      result: { scenario: 'compare', janusVersion: version, seconds: o.seconds, warmup: o.warmup, maxSubscribersUnderOnePercentLoss: { shoal: maxShoal ?? null, janus: maxJanus ?? null }, waitedForQuietSeconds: waitedMs / 1000, rows, meetings },
    };
  },
};
