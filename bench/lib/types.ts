import type { ComparisonResult } from './harness.js';

/** What every workload gets from bench/run.ts. */
export interface BenchContext {
  /** Superuser URL of the maintenance database of the server under test. */
  adminUrl: string;
  /** --quick: tiny sizes, one or two rounds; only proves the harness runs (CI). */
  quick: boolean;
  /** Rounds per comparison (default 3 full, 1 quick). */
  rounds: number;
  /** Progress lines go here (stderr); results are returned, not printed. */
  log: (line: string) => void;
}

/** One bar of the issue, checked against measured figures. */
export interface BarCheck {
  bar: string;
  /** The measured value the bar is about (a ratio, ms, MiB). */
  measured: number;
  target: string;
  met: boolean;
}

/** What a workload returns: its comparisons, other figures, and the bars checked. */
export interface BenchSection {
  id: string;
  title: string;
  comparisons: { result: ComparisonResult; reference?: string }[];
  /** Preformatted extra lines (tables of p50/p95, wall times...). */
  notes: string[];
  bars: BarCheck[];
}

export type Workload = (ctx: BenchContext) => Promise<BenchSection>;
