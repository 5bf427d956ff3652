/**
 * Workload 1 of the benchmarks: the task queue cycle (enqueue, claim,
 * complete). See bench/workloads/queue/ for the contenders.
 *
 * What is measured, per run of the workload:
 *  1. Enqueue: one producer puts `tasks` tasks (100,000) into an empty queue
 *     in batches of 1,000 through each system's bulk call (Agentry
 *     work.createTasks, pg-boss insert, graphile-worker addJobs; the limit:
 *     pgbench sending the DAL's work.create_tasks). Timed whole.
 *  2. Claim + complete: W workers (1, 4, 16; one connection each) claim one
 *     task and complete it, in a loop, on a fresh copy of that 100,000-task
 *     backlog (batch size 1 for all: graphile-worker fetches one job at a
 *     time). Timed over a fixed slice of the backlog (the first `slice[W]`
 *     tasks: 2,000 / 4,000 / 8,000), and no claim is started after 30 s
 *     (pg-boss 10.4 sorts its whole queued set on every fetch: a few tasks a
 *     second at this depth): the whole 100,000 at every W, contender and
 *     round does not fit the budget on a 2-core machine. The whole-cycle
 *     figure (enqueue + claim + complete of one task) is derived from the
 *     medians of 1 and 2.
 *  3. Backlog scaling (Agentry): the same claim + complete loop on 10k, 100k
 *     and 1M queued tasks (bulk-inserted), and the claim's buffers per call.
 *  4. Diagnosis (Agentry): the cycle with each trigger or group of indexes on
 *     tasks removed from a scratch copy (never a migration); the DAL's SQL
 *     under pgbench planned per call or prepared, on the table as migrated or
 *     reduced, against the shortest statements doing the same cycle; and the
 *     WAL each system writes per task, split by relation (pg_walinspect).
 *
 * Every contender gets its own database per run, cloned from a template that
 * holds its backlog (CREATE DATABASE ... TEMPLATE, untimed), on the server of
 * ctx.adminUrl. Contenders alternate (A B C D, rotated each round).
 */
import { pathToFileURL } from 'node:url';

import { compare, formatComparison, median, ratio, type ComparisonResult, type Contender, type Measurement } from '../lib/harness.js';
import type { BarCheck, BenchContext, BenchSection, Workload } from '../lib/types.js';
import { agentrySystem } from './queue/agentry.js';
import { explainClaim, fillQueuedTasks } from './queue/backlog.js';
import {
  benchDbName,
  cloneDatabase,
  createEmptyDatabase,
  type CloneStrategy,
  databaseMiB,
  dbUrl,
  dropBenchDatabase,
  dropOwnBenchDatabases,
  dropStaleBenchDatabases,
  vacuumAnalyze,
  withDb,
} from './queue/databases.js';
import { currentWalLsn, VARIANTS, walBreakdown, type Variant, type WalBreakdown } from './queue/diagnosis.js';
import { graphileSystem } from './queue/graphile.js';
import { pgBossSystem } from './queue/pgboss.js';
import { cycleScript, PGBENCH, pgbenchCycles, pgbenchSystem, pgbenchVersion, type PgbenchMode } from './queue/pgbench.js';
import { fmtInt, fmtMs, latencySummary, table } from './queue/stats.js';
import type { QueueSystem } from './queue/system.js';

export interface QueueSizes {
  /** Tasks enqueued per system: the backlog the workers draw from. */
  tasks: number;
  enqueueBatch: number;
  workers: number[];
  /** Tasks claimed and completed per run, by worker count (a multiple of it). */
  slice: Record<number, number>;
  /** Backlog sizes of the scaling part. */
  backlogs: number[];
  backlogWorkers: number;
  backlogCycles: number;
  /** Diagnosis: which variants (names of VARIANTS; [] skips), workers and slice. */
  variants: string[];
  diagnosisWorkers: number;
  diagnosisSlice: number;
  /** Tasks of the single-connection run whose WAL is read back (0 skips). */
  walTasks: number;
  /** How a backlog is copied for a run (see cloneDatabase). */
  cloneStrategy: CloneStrategy;
  /** A claim + complete run stops starting claims after this long (the slice may be left unfinished). */
  deadlineMs: number;
}

export const FULL_SIZES: QueueSizes = {
  tasks: 100_000,
  enqueueBatch: 1_000,
  workers: [1, 4, 16],
  slice: { 1: 2_000, 4: 4_000, 16: 8_000 },
  backlogs: [10_000, 100_000, 1_000_000],
  backlogWorkers: 1,
  backlogCycles: 2_000,
  variants: VARIANTS.map((v) => v.name),
  diagnosisWorkers: 4,
  diagnosisSlice: 2_000,
  walTasks: 1_000,
  cloneStrategy: 'file_copy',
  deadlineMs: 30_000,
};

export const QUICK_SIZES: QueueSizes = {
  tasks: 300,
  enqueueBatch: 100,
  workers: [1, 4],
  slice: { 1: 60, 4: 120 },
  backlogs: [1_000, 5_000],
  backlogWorkers: 1,
  backlogCycles: 60,
  variants: ['as migrated', '2 indexes, no triggers'],
  diagnosisWorkers: 4,
  diagnosisSlice: 100,
  walTasks: 50,
  cloneStrategy: 'wal_log',
  deadlineMs: 10_000,
};

const LIMIT = pgbenchSystem.name;
const SYSTEMS: readonly QueueSystem[] = [agentrySystem, pgBossSystem, graphileSystem, pgbenchSystem];
const slug = (name: string) => name.replace(/[^a-z0-9]+/gi, '').toLowerCase();

export function makeQueueWorkload(sizes?: Partial<QueueSizes>, parts: ReadonlySet<string> = new Set(['enqueue', 'work', 'backlog', 'diagnosis'])): Workload {
  return async (ctx) => {
    const s: QueueSizes = { ...(ctx.quick ? QUICK_SIZES : FULL_SIZES), ...sizes };
    const started = performance.now();
    const section: BenchSection = {
      id: 'queue',
      title: 'Task queue cycle (enqueue, claim, complete)',
      comparisons: [],
      notes: [],
      bars: [],
    };
    await dropStaleBenchDatabases(ctx.adminUrl);
    try {
      // Agentry's schema, migrated once; every Agentry database of the run is a copy of it.
      const agentryEmpty = benchDbName('agentry_empty');
      await createEmptyDatabase(ctx.adminUrl, agentryEmpty);
      await agentrySystem.install(dbUrl(ctx.adminUrl, agentryEmpty));
      const timed = async (part: string, fn: () => Promise<void>) => {
        const t0 = performance.now();
        await fn();
        const seconds = (performance.now() - t0) / 1000;
        ctx.log(`queue: ${part} done in ${seconds.toFixed(0)} s`);
        partTimes.push(`${part} ${seconds.toFixed(0)} s`);
      };
      const partTimes: string[] = [];
      if (parts.has('enqueue') || parts.has('work')) await timed('enqueue + claim/complete', () => queueComparison(ctx, s, section, parts, agentryEmpty));
      if (parts.has('backlog')) await timed('backlog scaling', () => backlogScaling(ctx, s, section, agentryEmpty));
      if (parts.has('diagnosis')) await timed('diagnosis', () => diagnosis(ctx, s, section, agentryEmpty));
      section.notes.push(`Wall time by part: ${partTimes.join(', ')}.`);
    } finally {
      await dropOwnBenchDatabases(ctx.adminUrl);
    }
    section.notes.push(`Queue section wall time: ${((performance.now() - started) / 1000).toFixed(0)} s.`);
    return section;
  };
}

export const queueWorkload: Workload = makeQueueWorkload();

// ---------------------------------------------------------------------------
// 1 + 2: enqueue, then claim + complete, four contenders
// ---------------------------------------------------------------------------

async function queueComparison(ctx: BenchContext, s: QueueSizes, section: BenchSection, parts: ReadonlySet<string>, agentryEmpty: string): Promise<void> {
  const { adminUrl } = ctx;
  const pgbench = await pgbenchVersion();
  const systems = pgbench ? SYSTEMS : SYSTEMS.filter((x) => x !== pgbenchSystem);
  section.notes.push(
    pgbench
      ? `The limit: ${pgbench}, -M extended (an unnamed statement per call, as node-postgres sends them), -j min(W, 2).`
      : `The limit was NOT measured: pgbench (${PGBENCH}) cannot be run here; install the PostgreSQL client tools or set PGBENCH.`,
  );
  // Empty, installed templates (pgbench runs on Agentry's schema).
  const empty = new Map<QueueSystem, string>([[agentrySystem, agentryEmpty]]);
  for (const system of [pgBossSystem, graphileSystem]) {
    const name = benchDbName(`${slug(system.name)}_empty`);
    await createEmptyDatabase(adminUrl, name);
    await system.install(dbUrl(adminUrl, name));
    empty.set(system, name);
  }
  empty.set(pgbenchSystem, empty.get(agentrySystem) as string);
  ctx.log(`queue: schemas installed`);

  // The backlog each system's workers draw from: the database its last enqueue run filled.
  const backlog = new Map<QueueSystem, string>();
  for (const system of systems) backlog.set(system, benchDbName(`${slug(system.name)}_backlog`));
  backlog.set(pgbenchSystem, backlog.get(agentrySystem) as string);

  const enqueueContenders: Contender[] = systems.map((system) => {
    // pgbench's enqueue goes to a database of its own, dropped after; its workers use Agentry's backlog.
    const target = system === pgbenchSystem ? benchDbName('pgbench_enqueue') : (backlog.get(system) as string);
    return {
      name: system.name,
      prepare: () => cloneDatabase(adminUrl, empty.get(system) as string, target),
      run: async () => ({ units: s.tasks, ms: await system.enqueue(dbUrl(adminUrl, target), s.tasks, s.enqueueBatch) }),
      ...(system === pgbenchSystem && { cleanup: () => dropBenchDatabase(adminUrl, target) }),
    };
  });
  const enqueueRounds = parts.has('enqueue') ? ctx.rounds : 1;
  const enqueue = await compare({
    title: `queue: enqueue ${fmtInt(s.tasks)} tasks, one producer, batches of ${fmtInt(s.enqueueBatch)}`,
    unit: 'tasks',
    rounds: enqueueRounds,
    contenders: enqueueContenders,
    onRun: (round, name, m) => ctx.log(`queue enqueue r${round} ${name}: ${fmtInt((m.units / m.ms) * 1000)} tasks/s`),
  });
  if (parts.has('enqueue')) {
    section.comparisons.push({ result: enqueue, reference: pgbench ? LIMIT : agentrySystem.name });
    section.bars.push(...systemBars(enqueue, 'enqueue'));
  }

  const sizes: string[] = [];
  for (const system of [agentrySystem, pgBossSystem, graphileSystem]) {
    const name = backlog.get(system) as string;
    await vacuumAnalyze(adminUrl, name);
    sizes.push(`${system.name} ${fmtInt(await databaseMiB(adminUrl, name))} MiB`);
  }
  section.notes.push(`Backlog of ${fmtInt(s.tasks)} queued tasks, database size after VACUUM ANALYZE: ${sizes.join(', ')}.`);
  if (!parts.has('work')) return;

  const work: ComparisonResult[] = [];
  const latencyRows: string[][] = [];
  const timeBoxed: string[] = [];
  for (const workers of s.workers) {
    const slice = s.slice[workers] ?? s.tasks;
    const contenders: Contender[] = systems.map((system) => {
      const run = benchDbName(`${slug(system.name)}_run`);
      return {
        name: system.name,
        prepare: () => cloneDatabase(adminUrl, backlog.get(system) as string, run, s.cloneStrategy),
        run: async () => {
          const result = await system.work(dbUrl(adminUrl, run), workers, slice, s.deadlineMs);
          return {
            units: result.done,
            ms: result.ms,
            extra: { ...latencySummary(result.claimMs, 'claim'), ...latencySummary(result.completeMs, 'complete') },
          };
        },
        cleanup: () => dropBenchDatabase(adminUrl, run),
      };
    });
    const result = await compare({
      title: `queue: claim + complete, ${workers} worker${workers > 1 ? 's' : ''}, first ${fmtInt(slice)} of a ${fmtInt(s.tasks)}-task backlog`,
      unit: 'tasks',
      rounds: ctx.rounds,
      contenders,
      onRun: (round, name, m) => ctx.log(`queue work W=${workers} r${round} ${name}: ${fmtInt((m.units / m.ms) * 1000)} tasks/s`),
    });
    work.push(result);
    for (const c of result.contenders) {
      const units = median(c.samples.map((m) => m.units));
      if (units < slice) timeBoxed.push(`${c.name} at ${workers} worker${workers > 1 ? 's' : ''}: ${fmtInt(units)} of ${fmtInt(slice)} tasks per run (median)`);
    }
    section.comparisons.push({ result, reference: pgbench ? LIMIT : agentrySystem.name });
    section.bars.push(...systemBars(result, `claim + complete, ${workers} worker${workers > 1 ? 's' : ''}`));
    for (const c of result.contenders) {
      const extra = (key: string) => medianOf(c.samples, key);
      if (extra('claimP50') === undefined) continue;
      latencyRows.push([
        String(workers),
        c.name,
        fmtMs(extra('claimP50')),
        fmtMs(extra('claimP95')),
        fmtMs(extra('completeP50')),
        fmtMs(extra('completeP95')),
      ]);
    }
  }
  section.notes.push(
    `Claim + complete runs stop starting claims after ${s.deadlineMs / 1000} s; runs that did not finish their slice then: ${timeBoxed.length ? timeBoxed.join('; ') : 'none'}.`,
    'Per-call latency, ms (median over rounds of each round\'s p50 / p95; graphile-worker and pgbench do not expose theirs):',
    ...table(['workers', 'contender', 'claim p50', 'claim p95', 'complete p50', 'complete p95'], latencyRows).map((l) => `  ${l}`),
  );

  // The whole cycle of one task: enqueue it (one producer) and claim + complete it (W workers).
  if (parts.has('enqueue')) {
    const cycleRows: string[][] = [];
    work.forEach((result, i) => {
      const workers = s.workers[i] as number;
      const cycle = new Map(systems.map((system) => [system.name, 1 / (1 / perSecond(enqueue, system.name) + 1 / perSecond(result, system.name))]));
      cycleRows.push([String(workers), ...systems.map((system) => fmtInt(cycle.get(system.name) as number))]);
      section.bars.push(...cycleBars(cycle, `whole cycle (derived), ${workers} worker${workers > 1 ? 's' : ''}`));
    });
    section.notes.push(
      'Whole cycle, tasks/s = 1 / (1/enqueue + 1/(claim + complete)), from the medians above (enqueue by one producer, then W workers):',
      ...table(['workers', ...systems.map((x) => x.name)], cycleRows).map((l) => `  ${l}`),
    );
  }
}

function perSecond(result: ComparisonResult, name: string): number {
  return result.contenders.find((c) => c.name === name)?.perSecond ?? Number.NaN;
}

function medianOf(samples: Measurement[], key: string): number | undefined {
  const values = samples.map((m) => m.extra?.[key]).filter((v): v is number => v !== undefined);
  return values.length ? median(values) : undefined;
}

/** The bars for one comparison: Agentry vs the faster library, and vs the pgbench limit. */
function systemBars(result: ComparisonResult, what: string): BarCheck[] {
  return cycleBars(new Map(result.contenders.map((c) => [c.name, c.perSecond])), what);
}

function cycleBars(perSecondByName: ReadonlyMap<string, number>, what: string): BarCheck[] {
  const rate = (name: string) => perSecondByName.get(name) ?? Number.NaN;
  const best = [pgBossSystem.name, graphileSystem.name].reduce((a, b) => (rate(a) >= rate(b) ? a : b));
  const vsBest = rate(agentrySystem.name) / rate(best);
  const bars: BarCheck[] = [
    { bar: `queue ${what}: Agentry / the faster of pg-boss and graphile-worker (${best})`, measured: vsBest, target: '>= 1.00', met: vsBest >= 1 },
  ];
  if (perSecondByName.has(LIMIT)) {
    const vsLimit = rate(agentrySystem.name) / rate(LIMIT);
    bars.push({ bar: `queue ${what}: Agentry / the pgbench limit (same SQL)`, measured: vsLimit, target: '>= 0.70', met: vsLimit >= 0.7 });
  }
  return bars;
}

// ---------------------------------------------------------------------------
// 3: backlog scaling
// ---------------------------------------------------------------------------

async function backlogScaling(ctx: BenchContext, s: QueueSizes, section: BenchSection, empty: string): Promise<void> {
  const { adminUrl } = ctx;
  const planRows: string[][] = [];
  const templates = new Map<number, string>();
  for (const size of s.backlogs) {
    const name = benchDbName(`scaling_${size}`);
    const t0 = performance.now();
    await cloneDatabase(adminUrl, empty, name);
    await withDb(adminUrl, name, (client) => fillQueuedTasks(client, size));
    await vacuumAnalyze(adminUrl, name);
    const plan = await withDb(adminUrl, name, explainClaim);
    planRows.push([fmtInt(size), fmtInt(await databaseMiB(adminUrl, name)), String(plan.buffers), fmtMs(plan.planningMs), fmtMs(plan.executionMs)]);
    templates.set(size, name);
    ctx.log(`queue backlog ${fmtInt(size)} built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const label = (size: number) => `${fmtInt(size)} queued`;
  const contenders: Contender[] = s.backlogs.map((size) => {
    const run = benchDbName('scaling_run');
    return {
      name: label(size),
      prepare: () => cloneDatabase(adminUrl, templates.get(size) as string, run, s.cloneStrategy),
      run: async () => {
        const result = await agentrySystem.work(dbUrl(adminUrl, run), s.backlogWorkers, s.backlogCycles, s.deadlineMs);
        return { units: result.done, ms: result.ms, extra: { ...latencySummary(result.claimMs, 'claim'), ...latencySummary(result.completeMs, 'complete') } };
      },
      cleanup: () => dropBenchDatabase(adminUrl, run),
    };
  });
  const result = await compare({
    title: `queue: Agentry claim + complete of ${fmtInt(s.backlogCycles)} tasks, ${s.backlogWorkers} worker${s.backlogWorkers > 1 ? 's' : ''}, by backlog size`,
    unit: 'tasks',
    rounds: ctx.rounds,
    contenders,
    onRun: (round, name, m) => ctx.log(`queue backlog r${round} ${name}: ${fmtInt((m.units / m.ms) * 1000)} tasks/s`),
  });
  const smallest = label(s.backlogs[0] as number);
  const largest = label(s.backlogs[s.backlogs.length - 1] as number);
  section.comparisons.push({ result, reference: smallest });
  const rows = result.contenders.map((c) => [c.name, fmtMs(medianOf(c.samples, 'claimP50')), fmtMs(medianOf(c.samples, 'claimP95')), fmtMs(medianOf(c.samples, 'completeP50'))]);
  section.notes.push(
    'Backlog scaling: the claim per backlog size (EXPLAIN ANALYZE BUFFERS of one claim on the fresh backlog; latencies of the timed runs, ms):',
    ...table(['backlog', 'database MiB', 'claim buffers', 'claim planning ms', 'claim exec ms'], planRows).map((l) => `  ${l}`),
    ...table(['backlog', 'claim p50', 'claim p95', 'complete p50'], rows).map((l) => `  ${l}`),
  );
  const scale = ratio(result, largest, smallest);
  section.bars.push({
    bar: `queue backlog: claim + complete throughput at ${largest} / at ${smallest}`,
    measured: scale,
    target: '>= 0.80',
    met: scale >= 0.8,
  });
  const claimSmall = medianOf(result.contenders[0]?.samples ?? [], 'claimP50');
  const claimLarge = medianOf(result.contenders[result.contenders.length - 1]?.samples ?? [], 'claimP50');
  if (claimSmall !== undefined && claimLarge !== undefined) {
    section.bars.push({
      bar: `queue backlog: claim p50 at ${smallest} / at ${largest} (latency, inverted)`,
      measured: claimSmall / claimLarge,
      target: '>= 0.80',
      met: claimSmall / claimLarge >= 0.8,
    });
  }
}

// ---------------------------------------------------------------------------
// 4: diagnosis
// ---------------------------------------------------------------------------

async function diagnosis(ctx: BenchContext, s: QueueSizes, section: BenchSection, empty: string): Promise<void> {
  const { adminUrl } = ctx;
  // A backlog of its own (the comparison's may not exist when run alone): bulk-filled like the scaling part.
  const backlogSize = Math.max(s.diagnosisSlice * 2, Math.min(s.tasks, 100_000));
  const base = benchDbName('diag_backlog');
  await cloneDatabase(adminUrl, empty, base);
  await withDb(adminUrl, base, (client) => fillQueuedTasks(client, backlogSize));
  await vacuumAnalyze(adminUrl, base);

  // A copy of the backlog per variant, the variant applied once; each run gets a copy of that.
  const templates = new Map<string, string>();
  const variantTemplate = async (variant: Variant): Promise<string> => {
    let template = templates.get(variant.name);
    if (!template) {
      template = benchDbName(`diag_${slug(variant.name)}`);
      await cloneDatabase(adminUrl, base, template);
      await withDb(adminUrl, template, (client) => variant.apply(client));
      await vacuumAnalyze(adminUrl, template);
      templates.set(variant.name, template);
    }
    return template;
  };

  const variants = VARIANTS.filter((v) => s.variants.includes(v.name));
  if (variants.length > 0) {
    const contenders: Contender[] = variants.map((variant) => {
      const run = benchDbName('diag_run');
      return {
        name: variant.name,
        prepare: async () => cloneDatabase(adminUrl, await variantTemplate(variant), run, s.cloneStrategy),
        run: async () => {
          const result = await agentrySystem.work(dbUrl(adminUrl, run), s.diagnosisWorkers, s.diagnosisSlice, s.deadlineMs);
          return { units: result.done, ms: result.ms };
        },
        cleanup: () => dropBenchDatabase(adminUrl, run),
      };
    });
    const result = await compare({
      title: `queue diagnosis: Agentry claim + complete, ${s.diagnosisWorkers} workers, ${fmtInt(s.diagnosisSlice)} of ${fmtInt(backlogSize)} tasks, on copies of tasks without...`,
      unit: 'tasks',
      rounds: ctx.rounds,
      contenders,
      onRun: (round, name, m) => ctx.log(`queue diagnosis r${round} ${name}: ${fmtInt((m.units / m.ms) * 1000)} tasks/s`),
    });
    section.comparisons.push({ result, reference: REFERENCE_VARIANT });
    const reference = perSecond(result, REFERENCE_VARIANT);
    section.notes.push(
      'Diagnosis: share of the cycle\'s time each change saves (1 - time with the change / time as migrated; from the medians above):',
      ...table(
        ['variant', 'removes', 'share of cycle time'],
        variants
          .filter((v) => v.name !== REFERENCE_VARIANT)
          .map((v) => [v.name, v.removes, `${((1 - reference / perSecond(result, v.name)) * 100).toFixed(0)}%`]),
      ).map((l) => `  ${l}`),
    );
  }

  if (await pgbenchVersion()) {
    // Under pgbench (no client-side work at all): the DAL's statements planned on every call (extended, as the
    // DAL sends them) or once per connection (prepared), on the table as migrated or with only what the cycle
    // needs; and the shortest statements doing the same cycle (not Agentry's SQL), to price the statements' shape.
    const run = benchDbName('diag_run');
    const floor = VARIANTS.find((v) => v.name === '2 indexes, no triggers') as Variant;
    const asMigrated = VARIANTS[0] as Variant;
    const cases: { name: string; variant: Variant; mode: PgbenchMode; script: string }[] = [
      { name: 'DAL SQL, extended', variant: asMigrated, mode: 'extended', script: cycleScript() },
      { name: 'DAL SQL, prepared', variant: asMigrated, mode: 'prepared', script: cycleScript() },
      { name: 'DAL SQL, prepared, 2 indexes, no triggers', variant: floor, mode: 'prepared', script: cycleScript() },
      { name: 'lean claim + DAL complete, prepared', variant: asMigrated, mode: 'prepared', script: cycleScript('lean', 'dal') },
      { name: 'DAL claim + lean complete, prepared', variant: asMigrated, mode: 'prepared', script: cycleScript('dal', 'lean') },
      { name: 'lean SQL, prepared', variant: asMigrated, mode: 'prepared', script: cycleScript('lean', 'lean') },
      { name: 'lean SQL, prepared, 2 indexes, no triggers', variant: floor, mode: 'prepared', script: cycleScript('lean', 'lean') },
    ];
    const result = await compare({
      title: `queue diagnosis: the cycle under pgbench, ${s.diagnosisWorkers} workers, ${fmtInt(s.diagnosisSlice)} tasks (statements planned per call or prepared; table as migrated or reduced; the DAL's statements or the shortest ones)`,
      unit: 'tasks',
      rounds: ctx.rounds,
      contenders: cases.map((c) => ({
        name: c.name,
        prepare: async () => cloneDatabase(adminUrl, await variantTemplate(c.variant), run, s.cloneStrategy),
        run: async () => {
          const r = await pgbenchCycles(dbUrl(adminUrl, run), s.diagnosisWorkers, s.diagnosisSlice, c.mode, c.script);
          return { units: r.done, ms: r.ms };
        },
        cleanup: () => dropBenchDatabase(adminUrl, run),
      })),
      onRun: (round, name, m) => ctx.log(`queue diagnosis r${round} ${name}: ${fmtInt((m.units / m.ms) * 1000)} tasks/s`),
    });
    section.comparisons.push({ result, reference: 'DAL SQL, extended' });
  }

  if (s.walTasks > 0) {
    const walVariants = VARIANTS.filter((v) => WAL_VARIANTS.includes(v.name));
    const targets: { name: string; system: QueueSystem; template: string }[] = [];
    for (const variant of walVariants) targets.push({ name: `agentry, ${variant.name}`, system: agentrySystem, template: await variantTemplate(variant) });
    for (const system of [pgBossSystem, graphileSystem]) {
      const template = benchDbName(`wal_${slug(system.name)}_backlog`);
      await createEmptyDatabase(adminUrl, template);
      await system.install(dbUrl(adminUrl, template));
      await system.enqueue(dbUrl(adminUrl, template), s.walTasks * 2, s.enqueueBatch);
      await vacuumAnalyze(adminUrl, template);
      targets.push({ name: system.name, system, template });
    }
    await walDiagnosis(ctx, s, section, targets);
  }
}

const REFERENCE_VARIANT = 'as migrated';
/** The Agentry variants whose WAL is read back. */
const WAL_VARIANTS = [REFERENCE_VARIANT, 'proposed: NULL-free indexes', '2 indexes, no triggers'];

/**
 * WAL per task, by relation: one connection claims and completes walTasks
 * tasks on a copy of each backlog; pg_walinspect reads the WAL back.
 */
async function walDiagnosis(ctx: BenchContext, s: QueueSizes, section: BenchSection, targets: { name: string; system: QueueSystem; template: string }[]): Promise<void> {
  const { adminUrl } = ctx;
  const lines: string[] = [];
  const results: [string, WalBreakdown][] = [];
  for (const target of targets) {
    const run = benchDbName('wal_run');
    await cloneDatabase(adminUrl, target.template, run, s.cloneStrategy);
    try {
      const start = await withDb(adminUrl, run, currentWalLsn);
      await target.system.work(dbUrl(adminUrl, run), 1, s.walTasks);
      const breakdown = await withDb(adminUrl, run, async (client) => walBreakdown(client, start, await currentWalLsn(client), s.walTasks));
      results.push([target.name, breakdown]);
    } catch (error) {
      lines.push(`  ${target.name}: WAL not read back (${error instanceof Error ? error.message : String(error)})`);
    } finally {
      await dropBenchDatabase(adminUrl, run);
    }
  }
  section.notes.push(
    `WAL written per task by claim + complete (1 worker, ${fmtInt(s.walTasks)} tasks on a fresh copy of a backlog; pg_walinspect, that database's records and commits only):`,
    ...table(
      ['contender', 'records/task', 'bytes/task', 'of which full-page images'],
      results.map(([name, b]) => [name, b.recordsPerTask.toFixed(1), fmtInt(b.bytesPerTask), fmtInt(b.fpiBytesPerTask)]),
    ).map((l) => `  ${l}`),
    ...lines,
  );
  const agentry = results.find(([name]) => name === `agentry, ${REFERENCE_VARIANT}`)?.[1];
  if (agentry) {
    section.notes.push(
      'Agentry (as migrated) WAL per task by relation:',
      ...table(
        ['relation', 'records/task', 'bytes/task', 'fpi bytes/task'],
        agentry.relations.filter((r) => r.bytesPerTask >= 1).map((r) => [r.name, r.recordsPerTask.toFixed(2), fmtInt(r.bytesPerTask), fmtInt(r.fpiBytesPerTask)]),
      ).map((l) => `  ${l}`),
    );
  }
}

// ---------------------------------------------------------------------------
// Alone: npx tsx bench/workloads/queue.ts [--quick] [--rounds n] [--parts enqueue,work,backlog,diagnosis]
//   development overrides: [--tasks n] [--workers 1,4] [--slice 1:500,4:1000] [--backlogs 1000,10000]
//   [--backlogCycles n] [--variants all|name,name] [--diagnosisSlice n] [--walTasks n]
// ---------------------------------------------------------------------------

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const option = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const quick = args.includes('--quick');
  const partsArg = option('--parts');
  const ctx: BenchContext = {
    adminUrl: process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    quick,
    rounds: Number(option('--rounds') ?? (quick ? 1 : 3)),
    log: (line) => process.stderr.write(`${line}\n`),
  };
  const variantsArg = option('--variants');
  const overrides: Partial<QueueSizes> = {};
  if (variantsArg) overrides.variants = variantsArg === 'all' ? VARIANTS.map((v) => v.name) : variantsArg.split(',');
  for (const key of ['tasks', 'backlogCycles', 'diagnosisSlice', 'walTasks'] as const) {
    const value = option(`--${key}`);
    if (value) overrides[key] = Number(value);
  }
  const sliceArg = option('--slice');
  if (sliceArg) overrides.slice = Object.fromEntries(sliceArg.split(',').map((pair) => pair.split(':').map(Number)));
  const workersArg = option('--workers');
  if (workersArg) overrides.workers = workersArg.split(',').map(Number);
  const backlogsArg = option('--backlogs');
  if (backlogsArg) overrides.backlogs = backlogsArg.split(',').map(Number);
  const workload = makeQueueWorkload(overrides, partsArg ? new Set(partsArg.split(',')) : undefined);
  const started = performance.now();
  const section = await workload(ctx);
  const out: string[] = [`## ${section.title}`, ''];
  for (const { result, reference } of section.comparisons) out.push(formatComparison(result, reference), '');
  out.push(...section.notes, '');
  for (const bar of section.bars) out.push(`${bar.met ? 'MET ' : 'MISS'}  ${bar.bar}: ${bar.measured.toFixed(2)} (target ${bar.target})`);
  out.push('', `wall time ${((performance.now() - started) / 1000).toFixed(1)} s`);
  process.stdout.write(`${out.join('\n')}\n`);
}
