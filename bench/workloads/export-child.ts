/**
 * Runs one DAL export alone in its own process, so that its peak RSS is the
 * export's: `BENCH_DATABASE_URL=<url> node --import tsx bench/workloads/export-child.ts <from> <to>`.
 * Prints one JSON line: rows, ms (the stream only, not the start-up), the
 * resident set before the export and at its peak (maxRSS of the process, and
 * the highest of samples every 50 ms).
 */
import { createAgentry } from '../../src/dal/index.js';

export interface ExportChildResult {
  rows: number;
  ms: number;
  /** RSS after start-up and connecting, before the first row, MiB. */
  baselineMiB: number;
  /** Peak RSS of the whole process (getrusage maxRSS), MiB. */
  peakMiB: number;
  /** Highest RSS sampled during the export, MiB. */
  sampledPeakMiB: number;
}

// The URL comes in the environment, not argv: it may carry a password, and argv is visible to every user (ps).
const url = process.env.BENCH_DATABASE_URL;
const [from, to] = process.argv.slice(2);
if (!url || !from || !to) {
  process.stderr.write('usage: BENCH_DATABASE_URL=<database url> export-child.ts <from ISO> <to ISO>\n');
  process.exit(2);
}
const MiB = 1_048_576;
const agentry = createAgentry({ connectionString: url, max: 1, application_name: 'agentry-bench-export' });
// Warm the pool (and the module graph) so the baseline is the process at rest with a connection.
await agentry.query('work.get_task', ['00000000-0000-0000-0000-000000000000']);
const baseline = process.memoryUsage().rss;
let sampled = baseline;
const sampler = setInterval(() => {
  sampled = Math.max(sampled, process.memoryUsage().rss);
}, 50);
let rows = 0;
const started = performance.now();
for await (const row of agentry.telemetry.exportActivityLogs({ from: new Date(from), to: new Date(to) })) {
  if (row.id !== undefined) rows += 1;
}
const ms = performance.now() - started;
clearInterval(sampler);
sampled = Math.max(sampled, process.memoryUsage().rss);
await agentry.close();
const result: ExportChildResult = {
  rows,
  ms,
  baselineMiB: baseline / MiB,
  peakMiB: (process.resourceUsage().maxRSS * 1024) / MiB,
  sampledPeakMiB: sampled / MiB,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
