import { percentile } from '../../lib/harness.js';

/** p50/p95 of per-call latencies (ms), ignoring unfilled slots. */
export function latencySummary(values: Float64Array | undefined, prefix: string): Record<string, number> {
  if (!values || values.length === 0) return {};
  const list = Array.from(values).filter((v) => v > 0);
  if (list.length === 0) return {};
  return { [`${prefix}P50`]: percentile(list, 50), [`${prefix}P95`]: percentile(list, 95) };
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function fmtMs(n: number | undefined): string {
  return n === undefined ? '-' : n < 10 ? n.toFixed(2) : n.toFixed(1);
}

/** A plain-text table (left-aligned columns). */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i] as number)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}
