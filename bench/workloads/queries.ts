/**
 * Section 'queries': every named statement of sql/queries at scale. On a
 * `seed --demo --scale 100` database (1M tasks, 10M metric rows; reused when
 * one is there and complete, else seeded), each statement runs N times with
 * the example parameters of its header (evaluated once, as the plan checker
 * does), each run inside a transaction that is rolled back (so DML changes
 * nothing), and its client-side latency is measured (parse, plan, execute and
 * the rows coming back: what a DAL call costs on one connection). Each
 * statement is classified (point lookup, queue, dashboard aggregate, other)
 * and held to its class's bar; `agentry plan` must pass on the database.
 */
import { runPlan, type PlanResult } from '../../src/commands/plan.js';
import { runSeed } from '../../src/commands/seed.js';
import { migrateUp } from '../../src/commands/migrate.js';
import { createDatabase, databaseExists } from '../../src/db/admin.js';
import { withDatabase } from '../../src/db/url.js';
import { loadQueries, type QueryDefinition } from '../../src/dal/index.js';
import { readManifest } from '../../src/seed/demo/manifest.js';
import { percentile, type ComparisonResult, summarise, type Measurement } from '../lib/harness.js';
import { count, scratchDatabase, since, withPgClient, type ScratchDatabase } from '../lib/scratch.js';
import type { BarCheck, BenchSection, Workload } from '../lib/types.js';

export type QueryClass = 'point lookup' | 'queue' | 'dashboard aggregate' | 'other';

/** p95 bars per class, ms (other: reported, no bar). */
export const CLASS_BARS: Record<QueryClass, number | null> = {
  'point lookup': 5,
  queue: 5,
  'dashboard aggregate': 200,
  other: null,
};

/** Statements whose class the header does not tell, each with the reason. */
const EXPLICIT: Record<string, [QueryClass, string]> = {
  'work.claim_ready_tasks': ['queue', 'claims the head of the task queue (SKIP LOCKED)'],
  'work.requeue_due_retries': ['other', 'a maintenance sweep: moves up to 100 due retries back to the queue in one statement (status triggers per row)'],
  'work.mark_timed_out': ['other', 'a maintenance sweep: times out up to 100 running tasks in one statement (status triggers per row)'],
  'integration.claim_due_deliveries': ['queue', 'the webhook outbox claim (SKIP LOCKED)'],
  'integration.enqueue_delivery': ['queue', 'puts one delivery in the outbox'],
  'integration.enqueue_for_event': ['other', 'a fan-out: one delivery per subscribed webhook in one statement (hundreds at scale 100)'],
  'integration.mark_delivered': ['queue', 'acknowledges an outbox delivery'],
  'integration.mark_failed': ['queue', 'records a failed outbox attempt and its backoff'],
  'review.list_pending_checkpoints': ['queue', 'reads the head of the review queue'],
  'fleet.get_task_type': ['point lookup', 'one task type by its name (the header asserts the row count only: a reference table)'],
  'fleet.list_agents': ['dashboard aggregate', 'a filtered listing of the fleet'],
  'fleet.find_agents_for_task_type': ['dashboard aggregate', 'ranks the agents a task type routes to'],
  'knowledge.search_by_tags_all': ['dashboard aggregate', 'a tag search over knowledge entries'],
  'knowledge.search_by_tags_any': ['dashboard aggregate', 'a tag search over knowledge entries'],
  'knowledge.get_history': ['dashboard aggregate', 'walks a version chain (recursive)'],
  'work.get_subtask_tree': ['dashboard aggregate', 'walks a task tree (recursive)'],
  'work.get_readiness': ['dashboard aggregate', 'dependency readiness of a set of tasks'],
  'integration.list_deliveries': ['dashboard aggregate', "a webhook's delivery history"],
  'review.list_task_checkpoints': ['dashboard aggregate', "a task's checkpoints"],
  'telemetry.list_agent_learning_experiences': ['dashboard aggregate', "an agent's lessons, newest first"],
  'telemetry.list_task_type_learning_experiences': ['dashboard aggregate', "a task type's lessons, newest first"],
  'work.create_tasks': ['other', 'a batch write (JSON array of tasks and edges)'],
  'work.add_dependencies': ['other', 'a batch write of dependency edges (cycle check)'],
  'work.add_tasks_to_workflow': ['other', 'a batch move of tasks (roll-up triggers)'],
  'telemetry.insert_agent_metrics': ['other', 'one chunk of the batch ingest (see the ingest section)'],
  'telemetry.insert_activity_logs': ['other', 'one chunk of the batch ingest'],
};

/**
 * Class of a statement: the explicit map; else exports and inserts are
 * 'other' (no lookup), and a statement whose header expects a primary-key
 * index reads or changes one row by its key: a point lookup.
 */
export function classify(query: QueryDefinition): { cls: QueryClass; reason: string } {
  const explicit = EXPLICIT[query.name];
  if (explicit) return { cls: explicit[0], reason: explicit[1] };
  if (/^telemetry\.export_/.test(query.name)) return { cls: 'other', reason: 'a streaming export (see the export section)' };
  if (/^\s*INSERT\b/i.test(query.text)) return { cls: 'other', reason: 'a one-row insert: no lookup' };
  const pk = query.expectations.map((e) => e.text).find((e) => /^index pk_/.test(e));
  if (pk) return { cls: 'point lookup', reason: `one row by its key (expects ${pk})` };
  return { cls: 'other', reason: 'no key lookup in its header' };
}

export interface StatementTiming {
  name: string;
  cls: QueryClass;
  reason: string;
  runs: number;
  p50: number;
  p95: number;
  max: number;
  rows: number;
  /** Milliseconds of each timed run, in order. */
  times: number[];
  error?: string;
}

export interface QueriesOptions {
  /** The scale-100 database to reuse or seed (full mode). */
  scaleDb: string;
  scale?: number;
  asOf?: string;
  /** Runs per statement (default 50 full, 5 quick). */
  runs?: number;
}

const FULL_SCALE = 100;
const QUICK_SCALE = 0.02;
const AS_OF = '2026-11-01';

/** Times every statement `runs` times (plus one untimed warm-up run), each run rolled back. */
export async function timeStatements(url: string, statements: readonly QueryDefinition[], runs: number, log: (line: string) => void): Promise<StatementTiming[]> {
  return withPgClient(url, async (client) => {
    const out: StatementTiming[] = [];
    for (const [i, query] of statements.entries()) {
      const { cls, reason } = classify(query);
      const base = { name: query.name, cls, reason, runs: 0, p50: NaN, p95: NaN, max: NaN, rows: 0, times: [] as number[] };
      try {
        // The examples are the repository's own SQL (the plan checker evaluates them the same way).
        const values: (string | null)[] = [];
        for (const param of query.params) {
          const { rows } = await client.query<{ v: string | null }>(`SELECT ((${param.example})::${param.type})::text AS v`);
          values.push(rows[0]?.v ?? null);
        }
        const times: number[] = [];
        let rows = 0;
        for (let run = 0; run <= runs; run += 1) {
          await client.query('BEGIN');
          try {
            const started = performance.now();
            const result = await client.query(query.text, values);
            const ms = since(started);
            if (run > 0) times.push(ms);
            rows = result.rowCount ?? result.rows.length;
          } finally {
            await client.query('ROLLBACK');
          }
        }
        out.push({ ...base, runs, p50: percentile(times, 50), p95: percentile(times, 95), max: Math.max(...times), rows, times });
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        out.push({ ...base, error: error instanceof Error ? error.message : String(error) });
      }
      if ((i + 1) % 10 === 0 || i + 1 === statements.length) log(`queries: ${i + 1}/${statements.length} statements timed`);
    }
    return out;
  });
}

/** Whether `name` holds a complete demo dataset of `scale` (seed's own record of its arguments). */
async function completeDemo(url: string, scale: number): Promise<{ complete: boolean; asOf?: string; state?: string }> {
  return withPgClient(url, async (client) => {
    const { rows } = await client.query<{ ok: boolean }>(`SELECT to_regclass('agentry.workflows') IS NOT NULL AS ok`);
    if (!rows[0]?.ok) return { complete: false, state: 'not migrated' };
    const manifest = await readManifest(client);
    if (!manifest) return { complete: false, state: 'no demo dataset' };
    return { complete: manifest.state === 'complete' && manifest.scale === scale, asOf: manifest.asOf, state: `${manifest.state}, scale ${manifest.scale}` };
  });
}

/**
 * VACUUM (ANALYZE) first, as `agentry demo` does before its plan check: after
 * bulk seeding, unset visibility maps and GIN pending lists make the planner
 * choose differently from a database in steady state (untimed).
 */
async function vacuumAnalyze(url: string, log: (line: string) => void): Promise<number> {
  return withPgClient(url, async (client) => {
    const started = performance.now();
    log('queries: VACUUM (ANALYZE) (untimed)');
    await client.query('VACUUM (ANALYZE)');
    return since(started);
  });
}

function fmtMs(ms: number): string {
  return Number.isNaN(ms) ? '–' : ms < 10 ? ms.toFixed(2) : ms.toFixed(1);
}

export function makeQueriesWorkload(options: QueriesOptions): Workload {
  return async (ctx) => {
    const scale = options.scale ?? (ctx.quick ? QUICK_SCALE : FULL_SCALE);
    const runs = options.runs ?? (ctx.quick ? 5 : 50);
    const asOf = options.asOf ?? AS_OF;
    let scratch: ScratchDatabase | undefined;
    let url: string;
    let origin: string;
    try {
      if (ctx.quick) {
        scratch = await scratchDatabase(ctx.adminUrl, 'queries');
        url = scratch.url;
        const t0 = performance.now();
        await runSeed({ databaseUrl: url, demo: { scale, asOf } });
        origin = `a scratch database seeded with \`seed --demo --scale ${scale} --as-of ${asOf}\` (${(since(t0) / 1000).toFixed(1)} s, untimed)`;
      } else {
        url = withDatabase(ctx.adminUrl, options.scaleDb);
        const exists = await databaseExists(ctx.adminUrl, options.scaleDb);
        const found = exists ? await completeDemo(url, scale) : { complete: false, state: 'missing' };
        if (found.complete) {
          origin = `\`${options.scaleDb}\`, reused: its demo dataset is complete (seed --demo --scale ${scale} --as-of ${found.asOf})`;
          ctx.log(`queries: reusing ${options.scaleDb} (complete demo dataset, scale ${scale}, as of ${found.asOf})`);
        } else {
          ctx.log(`queries: ${options.scaleDb} is ${found.state}: seeding it at scale ${scale} (takes about 10 minutes or more)`);
          const t0 = performance.now();
          if (!exists) await createDatabase(ctx.adminUrl, options.scaleDb);
          await migrateUp({ databaseUrl: url, lint: false });
          // Resumes an interrupted dataset of these arguments, replaces one of others.
          await runSeed({
            databaseUrl: url,
            demo: { scale, asOf },
            onProgress: (e) => {
              if (e.kind === 'step') ctx.log(`queries: seed: ${e.message}`);
            },
          });
          origin = `\`${options.scaleDb}\`, seeded by this run with \`seed --demo --scale ${scale} --as-of ${asOf}\` (${(since(t0) / 60000).toFixed(1)} min, untimed)`;
        }
      }
      const vacuumMs = await vacuumAnalyze(url, ctx.log);
      const statements = [...loadQueries()];
      ctx.log(`queries: timing ${statements.length} statements, ${runs} runs each`);
      const timings = await timeStatements(url, statements, runs, ctx.log);
      ctx.log('queries: agentry plan');
      const plan: PlanResult = await runPlan({ databaseUrl: url });
      const sizes = await withPgClient(url, async (client) => {
        const { rows } = await client.query<{ tasks: string; metrics: string; logs: string }>(
          `SELECT (SELECT count(*) FROM agentry.tasks) AS tasks, (SELECT count(*) FROM agentry.agent_metrics) AS metrics,
                  (SELECT count(*) FROM agentry.activity_logs) AS logs`,
        );
        return rows[0]!;
      });

      const classes: QueryClass[] = ['point lookup', 'queue', 'dashboard aggregate', 'other'];
      const bars: BarCheck[] = [];
      const verdict = (t: StatementTiming) => {
        const limit = CLASS_BARS[t.cls];
        if (t.error) return 'ERROR';
        return limit === null ? '' : t.p95 < limit ? 'met' : '**NOT met**';
      };
      for (const cls of classes) {
        const limit = CLASS_BARS[cls];
        const members = timings.filter((t) => t.cls === cls);
        if (limit === null || members.length === 0) continue;
        const timed = members.filter((t) => !t.error);
        const worst = timed.length ? Math.max(...timed.map((t) => t.p95)) : 0;
        const missing = members.filter((t) => t.error || t.p95 >= limit).map((t) => t.name);
        bars.push({
          bar: `${cls} statements (${members.length}): p95 < ${limit} ms${missing.length ? ` (missed by ${missing.join(', ')}${members.length > timed.length ? '; failing ones count as missed' : ''})` : ''}`,
          measured: worst,
          target: `< ${limit} ms (worst p95)`,
          met: missing.length === 0,
        });
      }
      bars.push({
        bar: `agentry plan passes on the database (${plan.passed} of ${plan.results.length} queries pass)`,
        measured: plan.failed,
        target: '0 failing',
        met: plan.ok,
      });

      // Per class, one round is one pass over the class's statements (the r-th run of each): statements/s on one connection.
      const comparison: ComparisonResult = {
        title: `Named statements on one connection, by class (a round: one run of each statement of the class)`,
        unit: 'statements',
        contenders: classes
          .map((cls) => {
            const members = timings.filter((t) => t.cls === cls && !t.error);
            if (!members.length) return null;
            const passes: Measurement[] = Array.from({ length: runs }, (_, r) => ({
              units: members.length,
              ms: members.reduce((sum, t) => sum + (t.times[r] ?? 0), 0),
            }));
            return summarise(cls, passes);
          })
          .filter((c): c is NonNullable<typeof c> => c !== null),
      };
      const table = [
        '| statement | class | p50 ms | p95 ms | max ms | rows | bar |',
        '|---|---|---:|---:|---:|---:|---|',
        ...timings.map((t) => `| ${t.name} | ${t.cls} | ${fmtMs(t.p50)} | ${fmtMs(t.p95)} | ${fmtMs(t.max)} | ${t.error ? `error: ${t.error.replace(/\|/g, '/')}` : t.rows} | ${verdict(t)} |`),
      ];
      const perRow = timings
        .filter((t) => !t.error && t.rows > 1 && ['work.mark_timed_out', 'work.requeue_due_retries', 'integration.enqueue_for_event', 'work.create_tasks', 'work.add_tasks_to_workflow'].includes(t.name))
        .map((t) => `${t.name}: ${fmtMs(t.p50)} ms for ${t.rows} rows (${fmtMs(t.p50 / t.rows)} ms a row)`);
      const failingPlans = plan.results.filter((r) => !r.ok).map((r) => `${r.query}: ${r.error ?? r.assertions.filter((a) => !a.ok).map((a) => `${a.assertion} (${a.message})`).join('; ')}`);
      return {
        id: 'queries',
        title: 'Named queries at scale',
        comparisons: [{ result: comparison }],
        notes: [
          `Database: ${origin}: ${count(Number(sizes.tasks))} tasks, ${count(Number(sizes.metrics))} agent_metrics rows, ${count(Number(sizes.logs))} activity_logs rows. VACUUM (ANALYZE) first, untimed (${(vacuumMs / 1000).toFixed(1)} s), as \`agentry demo\` does before its plan check.`,
          `Each statement of sql/queries (${timings.length}) ran ${runs} times after one untimed warm-up, with the example parameters of its header (evaluated once, as \`agentry plan\` does, then sent as text parameters like node-postgres sends the DAL's), each run between BEGIN and ROLLBACK (DML changes nothing); latency is client-side: round trip, parse, plan, execute, rows. Classes: explicit for queue, dashboard, batch, sweep and fan-out statements (bench/workloads/queries.ts gives each reason), else exports and inserts are other, and a statement whose header expects a primary-key index is a point lookup. The queue class is the hot path (claim, enqueue one, acknowledge, the review queue's head); the sweeps (mark_timed_out, requeue_due_retries: up to 100 rows each) and the event fan-out are batch statements, reported under other with their time per row below.`,
          table.join('\n'),
          ...(perRow.length ? [`Batch statements, p50 per row: ${perRow.join('; ')}.`] : []),
          ...(failingPlans.length ? [`Plan check failures:\n${failingPlans.map((f) => `- ${f}`).join('\n')}`] : []),
        ],
        bars,
      } satisfies BenchSection;
    } finally {
      await scratch?.drop();
    }
  };
}
