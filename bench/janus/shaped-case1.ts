// Runs issue 12's shaped-link case 1 against Shoal (bench/shaped-link.ts) and its Janus neighbour
// (bench/janus/shaped-janus.ts, each --janus <adapt>:<substream>) back to back, --runs times, one after the
// other (never at once: 2 cores), appending each run's raw output (stdout + stderr, with the commit and
// time) to bench/results/shaped-case1-shoal.txt / shaped-case1-janus.txt, then prints one side-by-side
// summary line per run from their RESULT lines.
//   node --import tsx bench/janus/shaped-case1.ts [--runs 2] [--janus none:2,slowlink:2] [--out bench/results]
//        (--janus: the Janus runs of each round, as <adapt>:<substream asked for>)
//   node --import tsx bench/janus/shaped-case1.ts --summarize   (the table again, from the saved outputs)
//        [-- <extra args for both, e.g. --seconds 20 --rate 300>]
// Needs root and Debian's janus (as the two benches do). It must not run anything at the same time.
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: flags, positionals } = parseArgs({
  options: {
    runs: { type: 'string', default: '2' },
    janus: { type: 'string', default: 'none:2,slowlink:2' },
    out: { type: 'string', default: 'bench/results' },
    summarize: { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
const runs = Math.max(1, Math.min(10, Number(flags.runs) || 2));
const extra = positionals;
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim() !== '';

interface Run {
  name: string;
  file: string;
  args: string[];
}

function runOne(r: Run, round: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...r.args, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      process.stderr.write(d);
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), 10 * 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const head = `\n===== ${r.name} round ${round}/${runs} · ${new Date().toISOString()} · shoal commit ${commit}${dirty ? ' (+ uncommitted src/ changes in the tree)' : ''} · node ${r.args.join(' ')} ${extra.join(' ')} · exit ${code}\n`;
      appendFileSync(r.file, `${head}--- stderr\n${err}--- stdout\n${out}`);
      if (code !== 0) reject(new Error(`${r.name} exited with ${code}`));
      else resolve(out);
    });
  });
}

interface Win {
  phase: string;
  t: number;
  width: number;
  framesDecoded: number;
  freezeS: number;
  shoalTxKbit?: number;
  janusTxKbit?: number;
}

/** One summary line: layer reached during the cut, time to l, frames, freezes, server tx, time back. */
function summarize(name: string, out: string): string {
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) return `| ${name} | (no RESULT) |`;
  const { windows } = JSON.parse(line.slice(7)) as { windows: Win[] };
  const clean = windows.filter((w) => w.phase === 'clean');
  const cut = windows.filter((w) => w.phase === 'cut');
  const restored = windows.filter((w) => w.phase === 'restored');
  // The layer the subscriber settled on before the cut: the most frequent width of the last three clean windows
  // (a Janus subscriber starts on the highest substream and moves to the one it asked for at the next keyframe).
  const tail = clean.slice(-3).map((w) => w.width);
  const asked = tail.sort((x, y) => tail.filter((v) => v === y).length - tail.filter((v) => v === x).length || y - x)[0] ?? 0;
  const toL = cut.find((w) => w.width > 0 && w.width <= 320);
  const back = restored.find((w) => w.width >= asked);
  const sum = (l: Win[], f: (w: Win) => number) => l.reduce((a, w) => a + f(w), 0);
  const cutStart = cut[0] ? cut[0].t - 2 : 0;
  const restoreStart = restored[0] ? restored[0].t - 2 : 0;
  const freezeAfter = Math.round(sum([...cut, ...restored], (w) => w.freezeS) * 100) / 100;
  const tx = (w: Win) => w.shoalTxKbit ?? w.janusTxKbit ?? 0;
  return `| ${name} | ${asked} | ${[...new Set(cut.map((w) => w.width))].join('→')} | ${toL ? `≤ ${Math.round((toL.t - cutStart) * 10) / 10}` : 'never'} | ${cut.filter((w) => w.framesDecoded === 0).length}/${cut.length} | ${sum(cut, (w) => w.framesDecoded)} | ${Math.round(sum(cut, (w) => w.freezeS) * 100) / 100} | ${freezeAfter} | ${Math.round(sum(cut, tx) / Math.max(1, cut.length))} | ${back ? `≤ ${Math.round((back.t - restoreStart) * 10) / 10}` : `not in ${restored.length * 2} s`} |`;
}

const shoal: Run = { name: 'shoal', file: join(flags.out!, 'shaped-case1-shoal.txt'), args: ['bench/shaped-link.ts'] };
const janusFile = join(flags.out!, 'shaped-case1-janus.txt');
const janusRuns: Run[] = flags.janus!.split(',').map((spec) => {
  const [adapt, substream = '2'] = spec.split(':');
  if ((adapt !== 'none' && adapt !== 'slowlink') || !/^[012]$/.test(substream)) throw new Error(`--janus ${spec}: <none|slowlink>:<0|1|2>`);
  return { name: `janus ${adapt} s${substream}`, file: janusFile, args: ['bench/janus/shaped-janus.ts', '--adapt', adapt, '--substream', substream] };
});
const order = [shoal, ...janusRuns];
const lines: string[] = [];
if (flags.summarize) {
  // Re-reads the raw outputs already saved (every section of both files, in file order).
  for (const file of [shoal.file, janusFile]) {
    for (const section of readFileSync(file, 'utf8').split('\n===== ').slice(1)) {
      const [name = '?', round = '?'] = /^(.*?) round (\d+)/.exec(section)?.slice(1) ?? [];
      const commitOf = / shoal commit (\w+)/.exec(section)?.[1] ?? '?';
      const at = /T(\d\d:\d\d)/.exec(section)?.[1] ?? '';
      lines.push(summarize(`${name} #${round} (${commitOf}, ${at})`, section));
    }
  }
} else {
  for (let round = 1; round <= runs; round++) {
    for (const r of order) {
      const out = await runOne(r, round).catch((err: Error) => {
        console.error(err.message);
        return '';
      });
      lines.push(summarize(`${r.name} #${round}`, out));
    }
  }
}
const table = [
  `# case 1 side by side (${flags.summarize ? 'from the saved outputs; the shoal commit each ran at is in the row' : `shoal commit ${commit}${dirty ? ', uncommitted src/ changes present' : ''}`}); times in s after the cut / restore (2-s windows, so "≤")`,
  '| run | clean width | widths during cut | to l (s) | cut windows without frames | frames decoded in cut | freeze in cut (s) | freeze cut + restore (s) | server tx in cut (kbit/s) | back to clean width (s) |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...lines,
].join('\n');
console.log(table);
