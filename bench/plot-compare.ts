// Turns the output of `npm run bench -- compare` (saved to a file) into bench/results/compare.dat and plots it
// with gnuplot (bench/plot-compare.gp) into bench/results/compare.png: CPU % and loss % vs subscribers.
//
//   npm run bench -- compare --subscribers 8,32,64,128 --seconds 10 | tee bench/results/compare.txt
//   node --import tsx bench/plot-compare.ts [bench/results/compare.txt]
//
// Needs gnuplot (Debian: apt-get install -y gnuplot-nox).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CompareRow } from './scenarios/compare-rows.js';
import { REPO } from './lib/shoal-process.js';

const input = resolve(process.argv[2] ?? resolve(REPO, 'bench/results/compare.txt'));
const line = readFileSync(input, 'utf8')
  .split('\n')
  .find((l) => l.startsWith('RESULT ') && l.includes('"scenario":"compare"'));
if (line === undefined) throw new Error(`${input}: no RESULT line of the compare scenario`);
const { rows } = JSON.parse(line.slice('RESULT '.length)) as { rows: CompareRow[] };
const data = [
  '# N\tshoal_cpu_pct\tjanus_cpu_pct\tshoal_us_per_pkt\tjanus_us_per_pkt\tshoal_loss_pct\tjanus_loss_pct',
  ...rows.flatMap((r) => (r.shoal && r.janus ? [{ ...r, shoal: r.shoal, janus: r.janus }] : [])).map((r) =>
    [r.subscribers, r.shoal.serverCpuPercent, r.janus.serverCpuPercent, r.shoal.usPerForwardedPacket, r.janus.usPerForwardedPacket, r.shoal.lossPercent, r.janus.lossPercent]
      .map((v, i) => (i === 0 ? String(v) : v.toFixed(3)))
      .join('\t'),
  ),
].join('\n');
const dat = resolve(REPO, 'bench/results/compare.dat');
writeFileSync(dat, `${data}\n`);
execFileSync('gnuplot', ['bench/plot-compare.gp'], { cwd: REPO, stdio: 'inherit' });
process.stdout.write(`wrote ${dat} and ${resolve(REPO, 'bench/results/compare.png')}\n`);
