// Runtime control of one client's link in a netns topology (netns.ts), per direction: a rate limit with
// `tc tbf` (a short queue, so a slow link behaves like a real bottleneck), random loss with nftables
// inside the client's namespace (`numgen random mod 100 < N drop`), and back to clean; plus the byte and
// drop counters of both ends. "down" is what the client receives (router → client), "up" what it sends.
// It must not change links other than the client's own veth pair.
import { sh, type NetClient, type NetTopology } from './netns.js';

export type Direction = 'up' | 'down';

/** Queue of the tbf: how long a packet may wait at the rate before it is dropped. */
export const TBF_LATENCY_MS = 100;
/** Token bucket depth: at least this many bytes (two full-size packets), or 5 ms at the rate if more. */
export const TBF_MIN_BURST_BYTES = 3200;

export interface LinkShape {
  /** kbit/s, or null / undefined for unlimited. */
  rateKbit?: number | null;
  /** Random loss in percent (0–100), or 0 / undefined for none. */
  lossPercent?: number;
}

/** Where each direction's qdisc sits: the sender's end of the veth. */
function qdiscPlace(topo: NetTopology, c: NetClient, dir: Direction): { ns: string; dev: string } {
  return dir === 'up' ? { ns: c.ns, dev: c.dev } : { ns: topo.routerNs, dev: c.routerDev };
}

/** tbf parameters for a rate (also used in reports, so they are one function). */
export function tbfParams(rateKbit: number): { rate: string; burstBytes: number; latencyMs: number } {
  const burstBytes = Math.max(TBF_MIN_BURST_BYTES, Math.ceil((rateKbit * 1000 * 0.005) / 8));
  return { rate: `${rateKbit}kbit`, burstBytes, latencyMs: TBF_LATENCY_MS };
}

/** Limits `dir` of the client's link to `rateKbit` kbit/s, or removes the limit (null). */
export async function setRate(topo: NetTopology, c: NetClient, dir: Direction, rateKbit: number | null): Promise<void> {
  const { ns, dev } = qdiscPlace(topo, c, dir);
  if (rateKbit === null) {
    await sh('tc', ['-n', ns, 'qdisc', 'del', 'dev', dev, 'root']).catch(() => undefined); // none there: fine
    return;
  }
  if (!Number.isFinite(rateKbit) || rateKbit < 8 || rateKbit > 10_000_000) throw new Error(`rate ${rateKbit} kbit/s out of range (8 … 10,000,000)`);
  const p = tbfParams(rateKbit);
  await sh('tc', ['-n', ns, 'qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', p.rate, 'burst', String(p.burstBytes), 'latency', `${p.latencyMs}ms`]);
}

const LOSS_TABLE = 'shoal_loss';
const lossReady = new Set<string>();

async function ensureLossTable(c: NetClient): Promise<void> {
  if (lossReady.has(c.ns)) return;
  const ruleset = [
    `table inet ${LOSS_TABLE} {`,
    `  chain up { type filter hook output priority 0; policy accept; }`,
    `  chain down { type filter hook input priority 0; policy accept; }`,
    `}`,
  ].join('\n');
  try {
    await sh('ip', ['netns', 'exec', c.ns, 'nft', '-f', '-'], { input: `${ruleset}\n` });
  } catch (err) {
    throw new Error(`nftables is needed for random loss (apt-get install -y nftables): ${(err as Error).message}`);
  }
  lossReady.add(c.ns);
}

/** Drops `percent` % of the packets in `dir` at random (0: none), on the client's eth0 only. */
export async function setLoss(c: NetClient, dir: Direction, percent: number): Promise<void> {
  if (!Number.isInteger(percent) || percent < 0 || percent > 100) throw new Error(`loss ${percent} %: an integer 0 … 100`);
  await ensureLossTable(c);
  const lines = [`flush chain inet ${LOSS_TABLE} ${dir}`];
  const iface = dir === 'up' ? 'oifname' : 'iifname';
  if (percent > 0) lines.push(`add rule inet ${LOSS_TABLE} ${dir} ${iface} "${c.dev}" numgen random mod 100 < ${percent} counter drop`);
  await sh('ip', ['netns', 'exec', c.ns, 'nft', '-f', '-'], { input: `${lines.join('\n')}\n` });
}

/** Sets both properties of one direction (missing ones become clean). */
export async function shapeLink(topo: NetTopology, c: NetClient, dir: Direction, shape: LinkShape): Promise<void> {
  await setRate(topo, c, dir, shape.rateKbit ?? null);
  if (shape.lossPercent || lossReady.has(c.ns)) await setLoss(c, dir, shape.lossPercent ?? 0);
}

/** Both directions back to clean. */
export async function clearLink(topo: NetTopology, c: NetClient): Promise<void> {
  for (const dir of ['up', 'down'] as const) await shapeLink(topo, c, dir, {});
}

export interface LinkCounters {
  /** Bytes / packets the client's eth0 received and sent (rx counts packets the down-loss rule drops after arrival). */
  rxBytes: number;
  rxPackets: number;
  txBytes: number;
  txPackets: number;
  /** What the router put toward the client (its veth end's tx) — the download after tbf. */
  routerTxBytes: number;
  /** The downlink qdisc: bytes sent and packets it dropped (0 when unshaped). */
  downQdiscSentBytes: number;
  downQdiscDrops: number;
  upQdiscSentBytes: number;
  upQdiscDrops: number;
}

async function linkStats(ns: string, dev: string): Promise<{ rx: { bytes: number; packets: number }; tx: { bytes: number; packets: number } }> {
  const [link] = JSON.parse(await sh('ip', ['-n', ns, '-j', '-s', 'link', 'show', 'dev', dev])) as { stats64: any }[];
  return link!.stats64;
}

/** rx/tx byte and packet counters of interface `dev` in namespace `ns` (e.g. Shoal's eth0: all it sends). */
export async function devCounters(ns: string, dev: string): Promise<{ rxBytes: number; rxPackets: number; txBytes: number; txPackets: number }> {
  const s = await linkStats(ns, dev);
  return { rxBytes: s.rx.bytes, rxPackets: s.rx.packets, txBytes: s.tx.bytes, txPackets: s.tx.packets };
}

async function qdiscStats(ns: string, dev: string): Promise<{ bytes: number; drops: number }> {
  const list = JSON.parse(await sh('tc', ['-n', ns, '-j', '-s', 'qdisc', 'show', 'dev', dev])) as { root?: boolean; bytes?: number; drops?: number }[];
  const root = list.find((q) => q.root) ?? list[0];
  return { bytes: root?.bytes ?? 0, drops: root?.drops ?? 0 };
}

/** Counters of the client's veth pair and its qdiscs (each read once; subtract two reads for a window). */
export async function linkCounters(topo: NetTopology, c: NetClient): Promise<LinkCounters> {
  const [client, router, down, up] = await Promise.all([
    linkStats(c.ns, c.dev),
    linkStats(topo.routerNs, c.routerDev),
    qdiscStats(topo.routerNs, c.routerDev),
    qdiscStats(c.ns, c.dev),
  ]);
  return {
    rxBytes: client.rx.bytes,
    rxPackets: client.rx.packets,
    txBytes: client.tx.bytes,
    txPackets: client.tx.packets,
    routerTxBytes: router.tx.bytes,
    downQdiscSentBytes: down.bytes,
    downQdiscDrops: down.drops,
    upQdiscSentBytes: up.bytes,
    upQdiscDrops: up.drops,
  };
}
