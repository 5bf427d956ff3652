/**
 * Side-by-side measurement: contenders run in alternation (A B C A B C ...,
 * the order rotated each round so none always goes first on a warm cache),
 * each round measures every contender once, and the figure reported is the
 * median of the rounds. Ratios are taken between medians of the same run, so
 * a slow or busy machine moves both sides together; the spread across rounds
 * (noise) is printed next to them so a reader can tell a real gap from jitter.
 */

export interface Measurement {
  /** What was done, e.g. 100_000 tasks or 1_000_000 rows. */
  units: number;
  /** Wall time of the measured part, in milliseconds. */
  ms: number;
  /** Optional extras a workload wants to print (peak RSS in MiB, p95...). */
  extra?: Record<string, number>;
}

export interface Contender {
  name: string;
  /** Untimed preparation before each run (fresh tables, enqueued backlog...). */
  prepare?: () => Promise<void>;
  /** The timed work; returns what it did and how long the measured part took. */
  run: () => Promise<Measurement>;
  /** Untimed clean-up after each run. */
  cleanup?: () => Promise<void>;
}

export interface ContenderSummary {
  name: string;
  rounds: number;
  /** Median throughput, units per second. */
  perSecond: number;
  /** Median wall time, milliseconds. */
  medianMs: number;
  /** (max - min) / median of the per-round throughputs: the run's noise. */
  spread: number;
  samples: Measurement[];
}

export interface ComparisonResult {
  title: string;
  unit: string;
  contenders: ContenderSummary[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export interface CompareOptions {
  title: string;
  /** Name of what units count, e.g. "tasks" or "rows". */
  unit: string;
  rounds: number;
  contenders: Contender[];
  /** Called after each single run (for progress lines). */
  onRun?: (round: number, contender: string, m: Measurement) => void;
}

/** Runs every contender `rounds` times in rotating alternation and summarises. */
export async function compare(options: CompareOptions): Promise<ComparisonResult> {
  const samples = new Map<string, Measurement[]>(options.contenders.map((c) => [c.name, []]));
  for (let round = 0; round < options.rounds; round++) {
    const order = options.contenders.map((_, i) => options.contenders[(i + round) % options.contenders.length] as Contender);
    for (const contender of order) {
      await contender.prepare?.();
      let m: Measurement;
      try {
        m = await contender.run();
      } finally {
        await contender.cleanup?.();
      }
      samples.get(contender.name)?.push(m);
      options.onRun?.(round + 1, contender.name, m);
    }
  }
  return {
    title: options.title,
    unit: options.unit,
    contenders: options.contenders.map((c) => summarise(c.name, samples.get(c.name) ?? [])),
  };
}

export function summarise(name: string, runs: Measurement[]): ContenderSummary {
  const rates = runs.map((m) => (m.units / m.ms) * 1000);
  const perSecond = median(rates);
  return {
    name,
    rounds: runs.length,
    perSecond,
    medianMs: median(runs.map((m) => m.ms)),
    spread: rates.length > 1 ? (Math.max(...rates) - Math.min(...rates)) / perSecond : 0,
    samples: runs,
  };
}

/** Throughput of `name` divided by that of `reference` (both medians of one run). */
export function ratio(result: ComparisonResult, name: string, reference: string): number {
  const a = result.contenders.find((c) => c.name === name);
  const b = result.contenders.find((c) => c.name === reference);
  if (!a || !b) throw new Error(`ratio: no contender ${a ? reference : name} in ${result.title}`);
  return a.perSecond / b.perSecond;
}

/** A plain-text table of a comparison, with ratios to `reference`. */
export function formatComparison(result: ComparisonResult, reference?: string): string {
  const rows = result.contenders.map((c) => [
    c.name,
    `${Math.round(c.perSecond).toLocaleString('en-US')} ${result.unit}/s`,
    `${(c.medianMs / 1000).toFixed(2)} s`,
    `±${(c.spread * 50).toFixed(1)}%`,
    reference ? ratio(result, c.name, reference).toFixed(2) : '',
  ]);
  const header = ['contender', 'median throughput', 'median time', 'noise', reference ? `ratio to ${reference}` : ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i] as number)).join('  ').trimEnd();
  return [`${result.title} (${result.contenders[0]?.rounds ?? 0} rounds, alternated)`, line(header), ...rows.map(line)].join('\n');
}
