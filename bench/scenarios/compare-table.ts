// The tables and one-line summaries of `npm run bench -- compare`: one column group per side (the Shoal
// planes asked for, then Janus), "failed" where a side could not be measured, "(ran js)" where a Shoal
// side ran another plane than the one asked for.
// What it must not do: decide anything about the rows (compare-rows.ts) or measure (compare.ts).
import { fixed, table } from '../lib/report.js';
import type { CompareMeetingRow, ShoalPlane, ShoalSide, Side } from './compare-rows.js';

type SideRow = {
  planes: Partial<Record<ShoalPlane, ShoalSide>>;
  janus?: { serverCpuPercent: number; usPerForwardedPacket: number; lossPercent: number; clientCpuPercent: number };
  failed: Partial<Record<Side, string>>;
  ratios: Partial<Record<ShoalPlane, number>>;
  order: Side[];
};

export function describeRow(r: SideRow): string {
  const parts = (['native', 'js'] as const)
    .filter((p) => r.planes[p])
    .map((p) => `Shoal-${p} ${fixed(r.planes[p]!.usPerForwardedPacket)} µs/pkt (loss ${fixed(r.planes[p]!.lossPercent, 2)} %${r.planes[p]!.dataPlane !== p ? `, ran ${r.planes[p]!.dataPlane}!` : ''})`);
  const janus = r.janus ? [`Janus ${fixed(r.janus.usPerForwardedPacket)} µs/pkt (loss ${fixed(r.janus.lossPercent, 2)} %)`] : [];
  const failed = (Object.keys(r.failed) as Side[]).map((s) => `${SIDE_LABEL[s]} failed: ${r.failed[s]}`);
  return [...parts, ...janus, ...failed].join(', ');
}

export const SIDE_LABEL: Record<Side, string> = { native: 'native', js: 'js', janus: 'Janus' };
/** Short names for the order column. */
export const SIDE_SHORT: Record<Side, string> = { native: 'nat', js: 'js', janus: 'Jan' };

/** The header of the side-by-side columns for the planes compared. */
export function sideHeader(planes: ShoalPlane[]): string[] {
  const sides: Side[] = [...planes, 'janus'];
  return [
    ...sides.map((s) => `${SIDE_LABEL[s]} CPU %`),
    ...sides.map((s) => `${SIDE_LABEL[s]} µs/pkt`),
    ...sides.map((s) => `${SIDE_LABEL[s]} loss %`),
    ...planes.map((p) => `${p}/Janus`),
    ...sides.map((s) => `${SIDE_LABEL[s]} gen CPU %`),
    'order',
  ];
}

/** The cells under sideHeader(planes); a plane that did not run the plane asked for is marked "(ran js)". */
export function sideCells(planes: ShoalPlane[], r: SideRow): string[] {
  const none = (s: Side) => (r.failed[s] !== undefined ? 'failed' : '–');
  const v = (p: ShoalPlane, f: (x: ShoalSide) => string) => (r.planes[p] ? f(r.planes[p]!) : none(p));
  const j = (f: (x: NonNullable<SideRow['janus']>) => string) => (r.janus ? f(r.janus) : none('janus'));
  const mark = (p: ShoalPlane) => (r.planes[p] && r.planes[p]!.dataPlane !== p ? ` (ran ${r.planes[p]!.dataPlane})` : '');
  return [
    ...planes.map((p) => v(p, (x) => fixed(x.serverCpuPercent))),
    j((x) => fixed(x.serverCpuPercent)),
    ...planes.map((p) => v(p, (x) => fixed(x.usPerForwardedPacket)) + mark(p)),
    j((x) => fixed(x.usPerForwardedPacket)),
    ...planes.map((p) => v(p, (x) => fixed(x.lossPercent, 2))),
    j((x) => fixed(x.lossPercent, 2)),
    ...planes.map((p) => (r.ratios[p] === undefined ? '–' : `${fixed(r.ratios[p]!, 2)}×`)),
    ...planes.map((p) => v(p, (x) => fixed(x.clientCpuPercent, 0))),
    j((x) => fixed(x.clientCpuPercent, 0)),
    r.order.map((s) => SIDE_SHORT[s]).join(','),
  ];
}

export function meetingTable(planes: ShoalPlane[], rows: CompareMeetingRow[]): string {
  const header = ['rooms × peers', 'sub streams', ...sideHeader(planes), 'other load', 'native target'];
  return table(
    header,
    rows.map((r) => [`${r.rooms} × ${r.peersPerRoom}`, String(r.subscriberStreams), ...sideCells(planes, r), r.busy.length > 0 ? 'yes' : 'no', r.target.split(' (')[0]!.split(':')[0]!]),
  );
}
