import { createDatabase } from '../db/admin.js';
import { assertSimpleDatabaseName } from '../db/identifiers.js';
import { openServer, type OpenServerOptions, type Provider } from '../db/server.js';
import { redactUrl, withDatabase } from '../db/url.js';
import type { AppliedMigration } from '../migrate/runner.js';
import { migrateStatus, migrateUp, type MigrateStatusResult } from './migrate.js';
import { runPlan, type PlanResult } from './plan.js';
import { runSeed, type SeedResult } from './seed.js';
import { runVerify, type VerifyResult } from './verify.js';

export const DEFAULT_DATABASE = 'agentry';

export interface DemoOptions {
  server?: OpenServerOptions;
  /** Database to create and migrate (default "agentry"). */
  database?: string;
  migrationsDir?: string;
  onLog?: (line: string) => void;
  /** What migrate tells a person besides the result (waiting for the lock, backfilled checksums). */
  onNotice?: (message: string) => void;
  /** Demo data scale (1 = 10,000 tasks, 100,000 metric rows); 0 skips seeding, verify and plan. Default 1. */
  scale?: number;
  /** Which step is running, for a person watching. */
  onStep?: (step: string) => void;
}

/** What the demo's verify and plan found, in short. */
export interface DemoChecks {
  seed: SeedResult;
  verify: VerifyResult;
  plan: PlanResult;
  seconds: { seed: number; verify: number; plan: number };
}

export interface DemoResult {
  provider: Provider;
  server: string;
  serverVersion: string;
  database: string;
  databaseCreated: boolean;
  applied: AppliedMigration[];
  status: MigrateStatusResult;
  /** Whether a server started by this run was stopped again (false for --database-url: not ours). */
  serverStopped: boolean;
  /** Seed, verify and plan on the migrated database (null with scale 0). */
  checks: DemoChecks | null;
  /** Whether every verify rule and plan assertion passed. */
  ok: boolean;
}

/**
 * The main job: get a server (embedded unless told otherwise), make sure the
 * Agentry database exists, migrate it to head, seed a small demo dataset,
 * verify the schema and data invariants, check the named queries' plans,
 * report, and stop what we started.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const database = assertSimpleDatabaseName(options.database ?? DEFAULT_DATABASE);
  const server = await openServer(options.server ?? {});
  try {
    const databaseCreated = await createDatabase(server.connectionString, database, { ifNotExists: true });
    const target = {
      databaseUrl: withDatabase(server.connectionString, database),
      ...(options.migrationsDir !== undefined && { migrationsDir: options.migrationsDir }),
    };
    const up = await migrateUp({
      ...target,
      ...(options.onLog !== undefined && { onLog: options.onLog }),
      ...(options.onNotice !== undefined && { onNotice: options.onNotice }),
    });
    const status = await migrateStatus(target);
    const scale = options.scale ?? 1;
    let checks: DemoChecks | null = null;
    if (scale > 0) {
      const timed = async <T>(step: string, work: () => Promise<T>): Promise<[T, number]> => {
        options.onStep?.(step);
        const started = performance.now();
        const value = await work();
        return [value, Math.round((performance.now() - started) / 100) / 10];
      };
      // Same arguments every run: a second demo finds its data already there and keeps it.
      const [seed, seedSeconds] = await timed('seed', () => runSeed({ databaseUrl: target.databaseUrl, demo: { scale } }));
      const [verify, verifySeconds] = await timed('verify', () =>
        runVerify({ ...target, adminUrl: server.connectionString, ...(options.onLog !== undefined && { onLog: options.onLog }) }),
      );
      const [plan, planSeconds] = await timed('plan', () => runPlan({ databaseUrl: target.databaseUrl, refreshStatistics: true }));
      checks = { seed, verify, plan, seconds: { seed: seedSeconds, verify: verifySeconds, plan: planSeconds } };
    }
    return {
      provider: server.provider,
      server: server.provider === 'url' ? redactUrl(server.connectionString) : server.description,
      serverVersion: server.serverVersion,
      database,
      databaseCreated,
      applied: up.migrations,
      status,
      serverStopped: server.provider !== 'url',
      checks,
      ok: checks === null || (checks.verify.ok && checks.plan.ok),
    };
  } finally {
    await server.stop();
  }
}
