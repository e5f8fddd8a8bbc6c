// Prometheus counters whose totals live elsewhere — plain numbers the hot paths increment (webhook stats,
// a media plane's per-thread counters, TURN stats) — read on scrape: each counter remembers the total it
// last saw and adds the difference, so it stays a real prom-client Counter (`# TYPE ... counter`) without
// a `set`. A total that went down (its owner started again, e.g. a media worker that died) is a counter
// reset: the series restarts from the new total, which Prometheus's rate() understands.
// Also the once-per-scrape memo that lets many metrics share one (cross-thread) read.
// What it must not do: be called on a packet path, or keep anything but the last totals seen.
import { Counter, type Registry } from 'prom-client';

type Labels = Record<string, string>;

/** Brings `counter` (one label set) from the total it last showed to `total`. */
export class TotalSync {
  private readonly last = new Map<string, number>();

  sync(counter: Counter<string>, total: number, labels: Labels = {}): void {
    if (!Number.isFinite(total)) return;
    const key = JSON.stringify(labels);
    const last = this.last.get(key) ?? 0;
    if (total < last) {
      counter.remove(labels);
      counter.inc(labels, total);
    } else if (total > last) {
      counter.inc(labels, total - last);
    } else if (!this.last.has(key)) {
      counter.inc(labels, 0);
    }
    this.last.set(key, total);
  }
}

/** A counter (no labels) showing the total `read` returns at each scrape. */
export function totalCounter(registry: Registry, name: string, help: string, read: () => number | Promise<number>): Counter<string> {
  const totals = new TotalSync();
  return new Counter({
    name,
    help,
    registers: [registry],
    async collect() {
      totals.sync(this, await read());
    },
  });
}

/** A counter with one label whose values (a small fixed set) each show the total `read` returns for them. */
export function labelledTotalCounter(
  registry: Registry,
  name: string,
  help: string,
  label: string,
  read: () => Record<string, number> | Promise<Record<string, number>>,
): Counter<string> {
  const totals = new TotalSync();
  return new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    async collect() {
      for (const [value, total] of Object.entries(await read())) totals.sync(this, total, { [label]: value });
    },
  });
}

/**
 * `read` at most once per scrape: every metric collected in one scrape shares the same answer. prom-client
 * calls every collect() synchronously at the start of a scrape, so all of them have asked before the read
 * settles; the next scrape reads afresh, however soon it comes.
 */
export function oncePerScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    (pending ??= read().finally(() => {
      pending = undefined;
    }));
}
