// deploy/grafana/shoal.json cannot rot: every metric name its PromQL queries (panel targets, template
// variables) read is in the /metrics output of a running Shoal, histogram series through their family;
// Fishjam's six metrics (rooms, peers, four traffic byte counters) are all queried and all have samples
// once a room has a peer (Fishjam's own dashboard queried these, and Shoal had only the first two); and
// every panel has a query on the dashboard's data source variable. The PromQL name extraction is checked
// on its own first.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { api, startShoal, type TestShoal } from '../helpers/server.js';
import { parseExposition } from './prom-text.js';

const DASHBOARD = new URL('../../deploy/grafana/shoal.json', import.meta.url);
const FISHJAM_METRICS = [
  'fishjam_rooms',
  'fishjam_room_peers',
  'fishjam_traffic_ingress_webrtc_total_bytes',
  'fishjam_traffic_egress_webrtc_total_bytes',
  'fishjam_traffic_ingress_http_total_bytes',
  'fishjam_traffic_egress_http_total_bytes',
];
const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression reads (not functions, keywords, labels, durations or Grafana variables). */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?[a-zA-Z_][a-zA-Z0-9_]*\}?/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![a-zA-Z0-9_:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![a-zA-Z0-9_:])(?!\s*\()/g)) {
    if (!KEYWORDS.has(m[1]!.toLowerCase())) names.add(m[1]!);
  }
  return [...names];
}

interface Panel {
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: { expr?: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

function dashboardQueries(): { panel: string; expr: string }[] {
  const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[]; templating: { list: { name: string; query?: unknown }[] } };
  const out: { panel: string; expr: string }[] = [];
  for (const p of allPanels(d.panels)) for (const t of p.targets ?? []) if (t.expr) out.push({ panel: p.title, expr: t.expr });
  for (const v of d.templating.list) {
    const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
    const inner = q && /^label_values\(\s*([^,)]+)/.exec(q);
    if (inner) out.push({ panel: `variable $${v.name}`, expr: inner[1]! });
  }
  return out;
}

describe('PromQL metric name extraction', () => {
  test('reads metric names, skips functions, keywords, labels, ranges, groupings and variables', () => {
    assert.deepEqual(metricNames('sum(fishjam_rooms{instance=~"$instance"}) by (instance)'), ['fishjam_rooms']);
    assert.deepEqual(
      metricNames('rate(a_total{x="y"}[$__rate_interval]) * 8 + irate(b_bytes[5m]) * 8'),
      ['a_total', 'b_bytes'],
    );
    assert.deepEqual(metricNames('histogram_quantile(0.95, sum(rate(h_bucket[1m])) by (le, route))'), ['h_bucket']);
    assert.deepEqual(metricNames('time() - process_start_time_seconds'), ['process_start_time_seconds']);
    assert.deepEqual(metricNames('topk(20, m{direction="in"}) and on (room_id) n unless bool o offset 5m'), ['m', 'n', 'o']);
  });
});

describe('deploy/grafana/shoal.json', () => {
  let s: TestShoal;
  before(async () => {
    s = await startShoal();
  });
  after(() => s?.stop());

  test('every metric the dashboard queries is in /metrics; Fishjam’s panels all have data', async () => {
    const room = await api(s, 'POST', '/room', {});
    assert.equal(room.status, 201, room.text);
    const peer = await api(s, 'POST', `/room/${room.json.data.room.id}/peer`, { type: 'webrtc', options: {} });
    assert.equal(peer.status, 201, peer.text);
    const m = parseExposition(await s.shoal.metrics.registry.metrics());
    const exists = (name: string) =>
      m.types.has(name) || m.samples.some((x) => x.name === name) || [/_bucket$/, /_count$/, /_sum$/].some((suffix) => suffix.test(name) && m.types.get(name.replace(suffix, '')) === 'histogram');
    const queries = dashboardQueries();
    assert.ok(queries.length >= 30, `${queries.length} queries`);
    const queried = new Set<string>();
    const missing: string[] = [];
    for (const q of queries) {
      const names = metricNames(q.expr);
      assert.ok(names.length > 0, `"${q.panel}" queries no metric: ${q.expr}`);
      for (const name of names) {
        queried.add(name);
        if (!exists(name)) missing.push(`${name} (panel "${q.panel}")`);
      }
    }
    assert.deepEqual(missing, [], 'queried but not exported');
    for (const name of FISHJAM_METRICS) {
      assert.ok(queried.has(name), `the dashboard shows ${name}`);
      assert.ok(m.find(name).length > 0, `${name} has a sample`);
    }
  });

  test('every panel has a query on the dashboard’s data source variable', () => {
    const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
    for (const p of allPanels(d.panels)) {
      if (p.type === 'row') continue;
      assert.ok((p.targets ?? []).length > 0, `"${p.title}" has a query`);
      assert.equal(p.datasource?.uid, '${ds}', `"${p.title}" data source`);
      for (const t of p.targets!) assert.equal(t.datasource?.uid, '${ds}', `"${p.title}" target data source`);
    }
  });
});
