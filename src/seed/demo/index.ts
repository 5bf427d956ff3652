import type pg from 'pg';

import { AgentryError } from '../../errors.js';
import { completeManifest, newManifest, readManifest, sameArgs, setManifestState, writeManifest, type Manifest } from './manifest.js';
import { Model } from './model.js';
import { demoPhases } from './phases.js';
import {
  checkArgs,
  DEFAULT_MONTHS,
  DEFAULT_SEED,
  makePlan,
  partitionRange,
  today,
  type DemoArgs,
  type DemoCounts,
} from './plan.js';
import { countDemoRows, DEMO_TABLES, hasDemoAudit, hasDemoData, removeDemoData, type RemovalReport } from './removal.js';
import { connect, runPhases, type DemoProgressEvent, type PhaseReport } from './runner.js';

export interface DemoSeedOptions {
  databaseUrl: string;
  /** 1 = 10,000 tasks and 100,000 metric rows (see demoCounts). */
  scale: number;
  seed?: number;
  months?: number;
  /** YYYY-MM-DD; default: that of the demo data already there (same seed, scale and months), else today (UTC). */
  asOf?: string;
  /** Remove the demo data first even when it was seeded with the same arguments. */
  reset?: boolean;
  /** Connections working at once (default 2). */
  jobs?: number;
  /** Tasks per batch (default 5,120); other phases' batches scale with it. Content does not depend on it. */
  batchSize?: number;
  now?: Date;
  onProgress?: (event: DemoProgressEvent) => void;
}

export interface DemoStep {
  step: string;
  seconds: number;
}

export interface DemoSeedResult {
  args: DemoArgs;
  counts: DemoCounts;
  /** seeded: from scratch; resumed: an interrupted run finished; unchanged: the data was already complete. */
  action: 'seeded' | 'resumed' | 'unchanged';
  removal: RemovalReport | null;
  /** audit_logs held demo rows of an earlier dataset: none were added. */
  auditSkipped: boolean;
  partitionsCreated: string[];
  steps: DemoStep[];
  phases: PhaseReport[];
  /** Demo rows per table after the run. */
  rows: Record<string, number>;
  seconds: number;
}

const PARTITIONED = ['agentry.agent_metrics', 'agentry.activity_logs', 'agentry.audit_logs'];

/** Advisory lock key of `agentry seed --demo` (an arbitrary constant, Agentry's own). */
const SEED_LOCK_KEY = '7310309436771263844';

export async function checkSeedPrivileges(client: pg.ClientBase, demo: boolean): Promise<void> {
  const { rows } = await client.query<{ migrated: boolean }>(
    `SELECT to_regclass('agentry.tasks') IS NOT NULL AND to_regclass('agentry.task_status_transitions') IS NOT NULL
            AND to_regclass('agentry.webhook_deliveries') IS NOT NULL AS migrated`,
  );
  if (!rows[0]?.migrated) {
    throw new AgentryError('failed', 'the database is not migrated: run `agentry migrate up` first');
  }
  const privileges = await client.query<{ ok: boolean }>(
    `SELECT has_table_privilege('agentry.task_types', 'INSERT') AND has_table_privilege('agentry.task_types', 'UPDATE')
            AND (NOT $1 OR (has_function_privilege('agentry.create_monthly_partitions(regclass, date, date)', 'EXECUTE')
                            AND has_table_privilege('agentry.tasks', 'TRUNCATE'))) AS ok`,
    [demo],
  );
  if (!privileges.rows[0]?.ok) {
    throw new AgentryError(
      'privilege',
      `agentry seed writes the reference tables${demo ? ' and creates partitions' : ''}: connect as a superuser or a member of agentry_owner`,
    );
  }
}

/** Usage errors in the options, found before connecting. */
export function checkDemoOptions(options: Omit<DemoSeedOptions, 'databaseUrl'>): void {
  const now = options.now ?? new Date();
  const args: DemoArgs = {
    scale: options.scale,
    seed: options.seed ?? DEFAULT_SEED,
    months: options.months ?? DEFAULT_MONTHS,
    asOf: options.asOf ?? today(now),
  };
  checkArgs(args, now);
  makePlan(args, {
    ...(options.batchSize !== undefined && { batchSize: options.batchSize }),
    ...(options.jobs !== undefined && { jobs: options.jobs }),
  });
}

/**
 * Seeds (or resumes, or leaves alone) the demo dataset of the given arguments.
 * The reference rows must be in place (seedReferenceData) first.
 */
export async function seedDemo(options: DemoSeedOptions): Promise<DemoSeedResult> {
  const started = performance.now();
  const now = options.now ?? new Date();
  const onProgress = options.onProgress ?? (() => undefined);
  const steps: DemoStep[] = [];
  const step = async <T>(name: string, message: string, fn: () => Promise<T>): Promise<T> => {
    onProgress({ kind: 'step', step: name, message });
    const t0 = performance.now();
    const value = await fn();
    steps.push({ step: name, seconds: (performance.now() - t0) / 1000 });
    return value;
  };

  const admin = await connect(options.databaseUrl);
  try {
    await checkSeedPrivileges(admin, true);
    // One demo run per database at a time (held by this session, so released by a kill too).
    const { rows: locked } = await admin.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${SEED_LOCK_KEY}) AS ok`);
    if (!locked[0]?.ok) {
      throw new AgentryError('failed', 'another agentry seed --demo is running on this database: wait for it, or stop it and run this again to finish its work');
    }
    const seed = options.seed ?? DEFAULT_SEED;
    const months = options.months ?? DEFAULT_MONTHS;
    let manifest: Manifest | null = await readManifest(admin);
    const asOf = options.asOf ?? (manifest && manifest.state !== 'removing' && sameArgs(manifest, { seed, scale: options.scale, months }) ? manifest.asOf : today(now));
    const args: DemoArgs = { scale: options.scale, seed, months, asOf };
    checkArgs(args, now);

    let removal: RemovalReport | null = null;
    let action: DemoSeedResult['action'];
    let plan;
    if (manifest && !options.reset && manifest.state !== 'removing' && sameArgs(manifest, args)) {
      // Resuming: the batches recorded are those of the batch size the run started with.
      const batchSize = manifest.state === 'complete' ? options.batchSize : manifest.batchSize;
      plan = makePlan(args, { ...(batchSize !== undefined && { batchSize }), ...(options.jobs !== undefined && { jobs: options.jobs }) });
      action = manifest.state === 'complete' ? 'unchanged' : 'resumed';
    } else {
      plan = makePlan(args, {
        ...(options.batchSize !== undefined && { batchSize: options.batchSize }),
        ...(options.jobs !== undefined && { jobs: options.jobs }),
      });
      if (manifest || (await hasDemoData(admin))) {
        if (manifest) await setManifestState(admin, 'removing');
        removal = await step('remove', 'removing the previous demo data', () =>
          removeDemoData(admin, (table, n) => onProgress({ kind: 'step', step: 'remove', message: `${table}: ${n} rows removed` })),
        );
      }
      // audit_logs is append-only: the demo audit rows of an earlier dataset stay, and no others are added.
      manifest = newManifest(plan, await hasDemoAudit(admin));
      await writeManifest(admin, manifest, plan.from);
      action = 'seeded';
    }

    const range = partitionRange(plan);
    const partitionsCreated = await step('partitions', `monthly partitions from ${range.from} to ${range.to}`, async () => {
      const { rows } = await admin.query<{ name: string }>(
        `SELECT agentry.create_monthly_partitions(p, $1::date, $2::date) AS name FROM unnest($3::regclass[]) p`,
        [range.from, range.to, PARTITIONED],
      );
      return rows.map((r) => r.name);
    });

    let phases: PhaseReport[] = [];
    if (manifest.state !== 'complete') {
      const model = new Model(plan);
      phases = await runPhases({
        databaseUrl: options.databaseUrl,
        model,
        phases: demoPhases(DEMO_TABLES),
        done: manifest.done,
        skip: manifest.auditSkipped ? ['audit'] : [],
        jobs: plan.jobs,
        onProgress,
      });
      const finished = manifest;
      await step('finish', 'recording the dataset as complete', () => completeManifest(admin, finished));
    }

    const rows = await step('count', 'counting the demo rows', () => countDemoRows(admin));
    return {
      args,
      counts: plan.counts,
      action,
      removal,
      auditSkipped: manifest.auditSkipped,
      partitionsCreated,
      steps,
      phases,
      rows,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await admin.end().catch(() => undefined);
  }
}

export type { DemoProgressEvent, PhaseReport } from './runner.js';
export type { RemovalReport } from './removal.js';
export { demoCounts, type DemoArgs, type DemoCounts } from './plan.js';
