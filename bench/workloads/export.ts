/**
 * Section 'export': activity_logs rows (generated once per run with one
 * INSERT ... SELECT generate_series, untimed) streamed through the DAL's
 * telemetry.exportActivityLogs({ from, to }) in a child process of its own
 * (its peak RSS is the export's), against COPY (the same statement, same
 * columns, same order) TO STDOUT read by a consumer that counts rows and
 * discards the bytes, alternated.
 */

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { queries } from '../../src/dal/index.js';
import { compare, ratio, type Contender, type Measurement } from '../lib/harness.js';
import { copyTo, countNewlines } from '../lib/copy.js';
import { runProcess } from '../lib/process.js';
import { count, scratchDatabase, since, withPgClient } from '../lib/scratch.js';
import type { BenchSection, Workload } from '../lib/types.js';
import type { ExportChildResult } from './export-child.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');

export const FULL_EXPORT_ROWS = 10_000_000;
export const QUICK_EXPORT_ROWS = 20_000;
/** Peak RSS bar of the DAL export, MiB. */
export const RSS_BAR_MIB = 150;

/** The rows span January and February 2026: two monthly partitions. */
const FROM = new Date('2026-01-01T00:00:00.000Z');
const TO = new Date('2026-03-01T00:00:00.000Z');

/**
 * The export statement the DAL runs (sql/queries/telemetry/export_activity_logs.sql)
 * with its two bounds as literals, as COPY takes no parameters.
 */
export function copyExportStatement(from: Date, to: Date): string {
  const text = queries.get('telemetry.export_activity_logs').text;
  if (!/\$1\b/.test(text) || !/\$2\b/.test(text) || /\$3\b/.test(text)) throw new Error('export_activity_logs no longer takes exactly $1 and $2');
  const literal = (d: Date) => `'${d.toISOString()}'::timestamptz`;
  return `COPY (${text.replace(/\$1\b/g, literal(from)).replace(/\$2\b/g, literal(to))}) TO STDOUT`;
}

/**
 * The child as plain JavaScript for plain `node`: bundled from the current
 * sources by esbuild (which tsx brings), so that neither the tsx loader (about
 * 40 MiB of RSS) nor a stale dist/ gets into the measurement. Written under
 * reports/ (git-ignored), whose nearest package.json is Agentry's, so that
 * sql/queries and migrations are found as from src/. Falls back to tsx.
 */
export async function exportChildCommand(): Promise<{ args: string[]; runtime: string }> {
  try {
    const esbuild = await import('esbuild');
    const outfile = join(ROOT, 'reports', '.bench-build', 'export-child.mjs');
    await esbuild.build({
      entryPoints: [join(HERE, 'export-child.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'silent',
    });
    return { args: [outfile], runtime: 'node (sources bundled by esbuild)' };
  } catch {
    return { args: ['--import', 'tsx', join(HERE, 'export-child.ts')], runtime: 'node --import tsx (adds the loader, about 40 MiB)' };
  }
}

/** Runs the DAL export in a child process and returns what it measured. */
export async function runExportChild(command: string[], url: string, from: Date, to: Date): Promise<ExportChildResult> {
  const run = await runProcess(process.execPath, [...command, from.toISOString(), to.toISOString()], {
    cwd: ROOT,
    env: { ...process.env, BENCH_DATABASE_URL: url },
  });
  if (run.code !== 0) throw new Error(`export child exited with ${run.code}: ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  try {
    return JSON.parse(run.stdout.trim().split('\n').pop() ?? '') as ExportChildResult;
  } catch {
    throw new Error(`export child printed no result: ${run.stdout.slice(0, 200)}`);
  }
}

/** Fills activity_logs with n rows spread evenly over [from, to) (untimed), then VACUUM ANALYZE. */
async function generateLogs(url: string, n: number, log: (line: string) => void): Promise<number> {
  return withPgClient(url, async (client) => {
    await client.query(`SELECT agentry.create_monthly_partitions('agentry.activity_logs'::regclass, $1::date, $2::date)`, [
      FROM.toISOString().slice(0, 10),
      TO.toISOString().slice(0, 10),
    ]);
    const started = performance.now();
    // Two in ten rows name a worker, one in three carries metadata; levels mostly info.
    await client.query(
      `INSERT INTO agentry.workers (machine_id, machine_name, system_info, tools) SELECT format('bench-host-%s', g), format('Bench host %s', g), '{"os": "linux"}', '["bash"]' FROM generate_series(1, 8) g`,
    );
    const inserted = await client.query(
      `WITH w AS (SELECT array_agg(id ORDER BY machine_id) AS ids FROM agentry.workers)
       INSERT INTO agentry.activity_logs (worker_id, level, message, metadata, created_at)
       SELECT CASE WHEN g % 5 = 0 THEN w.ids[1 + (g / 5) % 8] END,
              CASE WHEN g % 50 = 0 THEN 'error' WHEN g % 10 = 0 THEN 'warning' ELSE 'info' END,
              format('step %s: tool call %s finished in %s ms', g % 40, (ARRAY['bash', 'read_file', 'edit', 'search'])[1 + g % 4], g % 997),
              CASE WHEN g % 3 = 0 THEN jsonb_build_object('attempt', 1 + g % 3, 'tool', 'bash') END,
              $1::timestamptz + (g - 1) * (($2::timestamptz - $1::timestamptz) / $3::int)
         FROM generate_series(1, $3::int) g, w`,
      [FROM.toISOString(), TO.toISOString(), n],
    );
    log(`export: ${count(n)} activity_logs rows generated in ${(since(started) / 1000).toFixed(1)} s (untimed)`);
    await client.query('VACUUM (ANALYZE) agentry.activity_logs');
    return inserted.rowCount ?? 0;
  });
}

export function makeExportWorkload(rowsWanted?: number): Workload {
  return async (ctx) => {
    const n = rowsWanted ?? (ctx.quick ? QUICK_EXPORT_ROWS : FULL_EXPORT_ROWS);
    const db = await scratchDatabase(ctx.adminUrl, 'export');
    try {
      ctx.log(`export: generating ${count(n)} activity_logs rows (untimed, once)`);
      const present = await generateLogs(db.url, n, ctx.log);
      if (present !== n) throw new Error(`expected ${n} activity_logs rows, found ${present}`);
      const copyStatement = copyExportStatement(FROM, TO);
      const child = await exportChildCommand();
      const peaks: number[] = [];
      const contenders: Contender[] = [
        {
          name: 'DAL exportActivityLogs',
          run: async (): Promise<Measurement> => {
            const r = await runExportChild(child.args, db.url, FROM, TO);
            if (r.rows !== n) throw new Error(`DAL export streamed ${r.rows} of ${n} rows`);
            peaks.push(r.peakMiB);
            return { units: r.rows, ms: r.ms, extra: { peakMiB: r.peakMiB, sampledPeakMiB: r.sampledPeakMiB, baselineMiB: r.baselineMiB } };
          },
        },
        {
          name: 'COPY TO STDOUT',
          run: () =>
            withPgClient(db.url, async (client) => {
              let rows = 0;
              const started = performance.now();
              const result = await copyTo(client, copyStatement, (chunk) => (rows += countNewlines(chunk)));
              const ms = since(started);
              if (rows !== n || result.rows !== n) throw new Error(`COPY TO sent ${rows} (reported ${result.rows}) of ${n} rows`);
              return { units: rows, ms, extra: { MiB: result.bytes / 1_048_576 } };
            }),
        },
      ];
      const result = await compare({
        title: `Export of ${count(n)} activity_logs rows: DAL stream vs COPY TO`,
        unit: 'rows',
        rounds: ctx.rounds,
        contenders,
        onRun: (round, name, m) =>
          ctx.log(
            `export round ${round}: ${name}: ${count((m.units / m.ms) * 1000)} rows/s (${(m.ms / 1000).toFixed(2)} s)${m.extra?.peakMiB ? `, peak RSS ${m.extra.peakMiB.toFixed(0)} MiB` : ''}`,
          ),
      });
      const vsCopy = ratio(result, 'DAL exportActivityLogs', 'COPY TO STDOUT');
      const peak = Math.max(...peaks);
      const dalSamples = result.contenders[0]!.samples;
      const baseline = Math.max(...dalSamples.map((s) => s.extra?.baselineMiB ?? 0));
      return {
        id: 'export',
        title: 'Streaming export of activity logs',
        comparisons: [{ result, reference: 'COPY TO STDOUT' }],
        notes: [
          `${count(n)} rows of agentry.activity_logs over two monthly partitions (2026-01, 2026-02), generated once by INSERT ... SELECT generate_series and VACUUM ANALYZEd; both sides read all of them in created_at, id order through idx_activity_logs_created_at.`,
          `DAL: agentry.telemetry.exportActivityLogs({ from, to }) (one statement, rows pushed as the server sends them, at most 1000 ahead of the reader, parsed to objects) consumed by for await in a child process (${child.runtime}) that runs nothing else; time is the stream alone. COPY: the same statement text (sql/queries/telemetry/export_activity_logs.sql, bounds as literals) as COPY (...) TO STDOUT, rows counted and discarded.`,
          `Peak RSS of the DAL export process (getrusage maxRSS: Node, pg, zod and the generated schemas included): ${peaks.map((p) => p.toFixed(0)).join(', ')} MiB per round; at rest before the export: ${baseline.toFixed(0)} MiB.`,
        ],
        bars: [
          { bar: `Peak RSS of the DAL export process < ${RSS_BAR_MIB} MiB`, measured: peak, target: `< ${RSS_BAR_MIB} MiB`, met: peak < RSS_BAR_MIB },
          { bar: 'DAL export rows/s ≥ 0.5 × COPY TO STDOUT rows/s', measured: vsCopy, target: '≥ 0.50', met: vsCopy >= 0.5 },
        ],
      } satisfies BenchSection;
    } finally {
      await db.drop();
    }
  };
}

export const exportWorkload: Workload = makeExportWorkload();
