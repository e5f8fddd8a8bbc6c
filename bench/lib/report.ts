// Output helpers: percentiles, a markdown table, and a progress line on stderr.

/** Nearest-rank percentile (p in 0..100) of the values; NaN for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** A markdown table with right-aligned cells. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padStart(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export const fixed = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '–');

/**
 * A progress line on stderr: rewritten in place on a terminal, one line per update (at most one a second)
 * otherwise, so logs of non-interactive runs stay readable.
 */
export class Progress {
  private readonly tty = process.stderr.isTTY === true;
  private last = 0;
  private shown = false;

  update(text: string, force = false): void {
    const now = performance.now();
    if (!this.tty && !force && now - this.last < 1000) return;
    this.last = now;
    if (this.tty) {
      process.stderr.write(`\r\x1b[2K${text}`);
      this.shown = true;
    } else process.stderr.write(`${text}\n`);
  }

  /** Ends the in-place line (if any) and prints a final line. */
  done(text?: string): void {
    if (this.tty && this.shown) process.stderr.write('\r\x1b[2K');
    this.shown = false;
    if (text !== undefined) process.stderr.write(`${text}\n`);
  }
}
