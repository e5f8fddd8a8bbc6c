// Shoal load generator: `npm run bench -- <scenario> [options]` (or `node --import tsx bench/cli.ts ...`).
//
//   fanout         1 publisher (VP8 ~1 Mbit/s + opus) → N subscribers
//   meeting        R rooms × M peers, all publishing video and receiving every other peer
//   join-storm     K peers join one room at once (a publisher is sending); join → first remote packet
//   control-plane  add-peer requests/s over HTTP and token verifications/s in-process
//   livestream     1 WHIP publisher → N WHEP viewers (CPU per viewer, loss, time to first packet)
//   all            every scenario in turn (with --smoke: a few seconds each, used by test/bench)
//   compare        the fan-out load through Shoal and through Janus side by side (needs Janus and root; not in `all`)
//   cluster-meeting  the meeting load on an N-node cluster vs one node with N media workers (needs redis-server; not in `all`)
//   capacity       1 publisher → N light subscribers (no decryption), N stepped up until ≥ 1 % loss; streams per core (not in `all`)
//
// Shoal runs as a child process on free ports (bench/lib/shoal-process.ts); the load generator runs in this
// process, so its CPU is not charged to the server (it is reported as "gen CPU %"). Progress goes to stderr;
// stdout gets, per scenario, a title line, a markdown table, notes, and `RESULT <json>` with every number.
import nodeDataChannel from 'node-datachannel';
import { parseFlags, UsageError } from './lib/args.js';
import { Progress } from './lib/report.js';
import { UnavailableError, type Scenario } from './lib/scenario.js';
import { capacity } from './scenarios/capacity.js';
import { clusterMeeting } from './scenarios/cluster-meeting.js';
import { compare } from './scenarios/compare.js';
import { controlPlane } from './scenarios/control-plane.js';
import { fanout } from './scenarios/fanout.js';
import { joinStorm } from './scenarios/join-storm.js';
import { livestream } from './scenarios/livestream.js';
import { meeting } from './scenarios/meeting.js';

export const SCENARIOS: Scenario[] = [fanout, meeting, joinStorm, controlPlane, livestream];
/** Scenarios that `all` leaves out: they need more than this repository (compare: Janus, root; cluster-meeting: redis-server) or step up for long (capacity). */
export const EXTRA_SCENARIOS: Scenario[] = [compare, clusterMeeting, capacity];

function usage(): string {
  return [
    'usage: npm run bench -- <scenario> [options]',
    ...SCENARIOS.map((s) => `  ${s.usage}\n      ${s.summary}`),
    '  all [--smoke]\n      every scenario in turn with its defaults (--smoke: a few seconds each)',
    ...EXTRA_SCENARIOS.map((s) => `  ${s.usage}\n      ${s.summary} (not in all)`),
  ].join('\n');
}

export async function runScenario(s: Scenario, argv: string[]): Promise<void> {
  const flags = parseFlags(argv, s.flags, `usage: npm run bench -- ${s.usage}`);
  const progress = new Progress();
  const out = await s.run(flags, progress);
  progress.done();
  console.log(`\n## ${out.title}\n`);
  console.log(out.table);
  for (const n of out.notes) console.log(n);
  console.log(`RESULT ${JSON.stringify(out.result)}`);
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === '--help' || name === '-h') {
      console.log(usage());
      return name === undefined ? 2 : 0;
    }
    if (name === 'all') {
      if (rest.some((a) => a !== '--smoke')) throw new UsageError('all takes only --smoke');
      for (const s of SCENARIOS) await runScenario(s, rest);
      return 0;
    }
    const s = [...SCENARIOS, ...EXTRA_SCENARIOS].find((x) => x.name === name);
    if (!s) throw new UsageError(`unknown scenario "${name}"\n${usage()}`);
    await runScenario(s, rest);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    if (err instanceof UnavailableError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    process.stderr.write(`bench ${name} failed: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  } finally {
    nodeDataChannel.cleanup();
  }
}

process.exit(await main(process.argv.slice(2)));
