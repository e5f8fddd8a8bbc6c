// The rows of `npm run bench -- compare` (bench/scenarios/compare.ts) and the pure rules about them: which
// sides run in which order, the issue-14 target verdict, the max load at < 1 % loss, the flags' parsers.
// A side that fails to set up (a plane that cannot hold N subscribers, Janus missing a port) leaves its
// cells empty and says why in `failed`; the rest of the row and of the run still count.
// What it must not do: start processes or measure anything (compare.ts does), or format tables (compare-table.ts).
import { UsageError } from '../lib/args.js';
import { fixed } from '../lib/report.js';
import type { JanusMeetingRow } from '../janus/meeting-janus.js';

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

/** A Shoal data plane compared (FJ_MEDIA_DATAPLANE of the child). */
export type ShoalPlane = 'native' | 'js';
/** One side of the comparison: a Shoal plane or Janus. */
export type Side = ShoalPlane | 'janus';

/** One Shoal run (either plane) as the compare tables use it; `dataPlane` is what the server reported running. */
export interface ShoalSide {
  dataPlane: string;
  forwardedPerSec: number;
  serverCpuPercent: number;
  usPerForwardedPacket: number;
  lossPercent: number;
  otherCpuPercent: number;
  clientCpuPercent: number;
  rssMiB: number;
  setupSeconds?: number;
  joinRetries?: number;
}

/** The sides of one N (or meeting size) in the order they ran: the list rotated by one per row. */
export function rotation(sides: Side[], index: number): Side[] {
  const k = sides.length === 0 ? 0 : index % sides.length;
  return [...sides.slice(k), ...sides.slice(0, k)];
}

/** The targets for the native plane: ≤ 0.5 × Janus and ≤ 10 µs per forwarded packet. */
export const TARGET_RATIO = 0.5;
export const TARGET_US_PER_PACKET = 10;

/** "met" / "not met (…)" for one row's native numbers against TARGET_RATIO and TARGET_US_PER_PACKET. */
export function targetVerdict(native: ShoalSide | undefined, janusUs: number | undefined): string {
  if (!native) return 'native not measured';
  if (native.dataPlane !== 'native') return `not met (the server ran the ${native.dataPlane} plane)`;
  const misses: string[] = [];
  if (!(native.usPerForwardedPacket <= TARGET_US_PER_PACKET)) misses.push(`${fixed(native.usPerForwardedPacket)} µs/pkt > ${TARGET_US_PER_PACKET}`);
  if (janusUs === undefined || !Number.isFinite(janusUs)) misses.push('no Janus number');
  else if (!(native.usPerForwardedPacket <= TARGET_RATIO * janusUs)) misses.push(`${fixed(native.usPerForwardedPacket / janusUs, 2)}× Janus > ${TARGET_RATIO}×`);
  return misses.length === 0 ? `met (${fixed(native.usPerForwardedPacket)} µs/pkt, ${fixed(janusUs! > 0 ? native.usPerForwardedPacket / janusUs! : NaN, 2)}× Janus)` : `not met: ${misses.join(', ')}`;
}

export interface CompareRow {
  subscribers: number;
  /** The sides in the order they ran. */
  order: Side[];
  /** The first plane of --planes that was measured (native by default), for older readers (bench/plot-compare.ts). */
  shoal?: ShoalSide;
  /** Every Shoal plane measured. */
  planes: Partial<Record<ShoalPlane, ShoalSide>>;
  /** Absent when Janus failed (failed.janus says why). */
  janus?: JanusRow;
  /** Sides that failed to set up or measure at this N, with the first line of why; the others still ran. */
  failed: Partial<Record<Side, string>>;
  /** `shoal` µs/pkt ÷ Janus µs/pkt (NaN when either is missing). */
  ratio: number;
  /** Each plane's µs/pkt ÷ Janus's. */
  ratios: Partial<Record<ShoalPlane, number>>;
  /** The target for native (applies at N ≥ 64). */
  target: string;
  /** Test runs or Chromium seen on the machine when each side's measurement started / ended (empty = quiet). */
  busy: Partial<Record<Side, { start: string[]; end: string[] }>>;
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

/** One meeting size through every side. */
export interface CompareMeetingRow {
  rooms: number;
  peersPerRoom: number;
  subscriberStreams: number;
  order: Side[];
  /** As CompareRow.shoal: the first plane of --planes that was measured. */
  shoal?: ShoalSide;
  planes: Partial<Record<ShoalPlane, ShoalSide>>;
  janus?: JanusMeetingRow;
  failed: Partial<Record<Side, string>>;
  ratio: number;
  ratios: Partial<Record<ShoalPlane, number>>;
  target: string;
  busy: string[];
}

/** --planes: "native,js" → ['native', 'js'] (each once, at least one). */
export function parsePlanes(spec: string): ShoalPlane[] {
  const list = spec.split(',').map((p) => p.trim()).filter((p) => p !== '');
  const bad = list.filter((p) => p !== 'native' && p !== 'js');
  if (list.length === 0 || bad.length > 0 || new Set(list).size !== list.length) throw new UsageError(`--planes takes native and/or js, comma-separated, each once (e.g. native,js); got "${spec}"`);
  return list as ShoalPlane[];
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

/** Each measured plane's µs/pkt ÷ Janus's (none without a Janus number). */
export function ratiosOf(planes: Partial<Record<ShoalPlane, ShoalSide>>, janusUs: number | undefined): Partial<Record<ShoalPlane, number>> {
  const out: Partial<Record<ShoalPlane, number>> = {};
  if (janusUs === undefined || !(janusUs > 0)) return out;
  for (const p of ['native', 'js'] as const) if (planes[p]) out[p] = planes[p]!.usPerForwardedPacket / janusUs;
  return out;
}

/** The first of `order` (the --planes order) that was measured. */
export function firstMeasured(order: ShoalPlane[], planes: Partial<Record<ShoalPlane, ShoalSide>>): ShoalSide | undefined {
  for (const p of order) if (planes[p]) return planes[p];
  return undefined;
}

/** Why a side failed, in one line (the first line of the error, at most 200 characters). */
export function failureText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const first = text.split('\n').find((l) => l.trim() !== '') ?? 'failed';
  return first.length > 200 ? `${first.slice(0, 197)}...` : first;
}
