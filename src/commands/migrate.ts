import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

import { withClient } from '../db/admin.js';
import { redactUrl } from '../db/url.js';
import { AgentryError } from '../errors.js';
import { resolveMigrationsDir } from '../migrate/config.js';
import { createMigrationFile, listMigrationFiles, type MigrationFile } from '../migrate/files.js';
import {
  checkMigrationLedger,
  compareLedger,
  prepareLedger,
  readAppliedRows,
  readLedger,
  recordAccepted,
  tamperedError,
  type LedgerCheck,
  type PreparedLedger,
} from '../migrate/ledger.js';
import { lintMigrationFiles, LintFailedError, type LintReport } from '../migrate/lint.js';
import { DEFAULT_LOCK_WAIT_MS, withMigrationLock } from '../migrate/lock.js';
import {
  checksumsOf,
  loadMigrations,
  withMigrationSession,
  type AppliedMigration,
  type Direction,
  type LoadedMigration,
  type MigrationSession,
} from '../migrate/runner.js';
import { compareStatus, readStatus, type MigrationStatus } from '../migrate/status.js';

export interface MigrateTarget {
  /** URL of the database to migrate (not the maintenance database). */
  databaseUrl: string;
  /** Default: the migrations/ folder shipped with the package. */
  migrationsDir?: string;
}

export interface MigrateRunOptions extends MigrateTarget {
  /** How many migrations; default all pending (up) or 1 (down). Infinity means all. */
  count?: number;
  /**
   * How long to wait for another run holding node-pg-migrate's advisory lock
   * on this database before failing; 0 fails at once. Default 60 s.
   */
  lockWaitMs?: number;
  /** Lint the migrations about to be applied with squawk first (up, redo). Default true. */
  lint?: boolean;
  /** Print nothing to the database: report what would run, with its SQL. */
  dryRun?: boolean;
  /** node-pg-migrate's progress lines. */
  onLog?: (line: string) => void;
  /** Things a person should know that are not the result: waiting for the lock, backfilled checksums. */
  onNotice?: (message: string) => void;
}

export interface MigrationStep extends AppliedMigration {
  /** With dryRun: the SQL that would run (the file's section). */
  sql?: string;
}

export interface MigrateRunResult {
  direction: Direction | 'redo';
  /** The migrated database, password redacted. */
  database: string;
  migrationsDir: string;
  dryRun: boolean;
  /** What ran (or would run), in order; for down newest first; for redo the down then the up. */
  migrations: MigrationStep[];
  /** Applied migrations whose checksums were recorded now, from their current files (database migrated before the ledger). */
  backfilled: string[];
  /** The lint run before applying; null when skipped (--no-lint) or nothing was to be applied. */
  lint: LintReport | null;
}

export type MigrateStatusResult = MigrationStatus & { database: string };

export async function migrateUp(options: MigrateRunOptions): Promise<MigrateRunResult> {
  validateCount(options.count);
  return execute('up', options);
}

export async function migrateDown(options: MigrateRunOptions): Promise<MigrateRunResult> {
  validateCount(options.count);
  return execute('down', { ...options, count: options.count ?? 1 });
}

/** Reverts the newest applied migration and applies it again (its current file), under one lock. */
export async function migrateRedo(options: Omit<MigrateRunOptions, 'count'>): Promise<MigrateRunResult> {
  return execute('redo', options);
}

/** Compares the migrations folder with agentry.pgmigrations and the checksum ledger; writes nothing. */
export async function migrateStatus(options: MigrateTarget): Promise<MigrateStatusResult> {
  const migrationsDir = resolveMigrationsDir(options.migrationsDir);
  const status = await readStatus(options.databaseUrl, migrationsDir);
  return { database: redactUrl(options.databaseUrl), ...status };
}

/** Writes <migrationsDir>/<13-digit ms timestamp>_<name>.sql from the template (both sections). */
export async function migrateCreate(options: { name: string; migrationsDir?: string; now?: Date }): Promise<MigrationFile> {
  return createMigrationFile(resolveMigrationsDir(options.migrationsDir), options.name, options.now);
}

/**
 * Lints migrations with squawk (their Up sections). files: paths, file names
 * or migration names in the folder; default every migration in the folder.
 */
export async function migrateLint(options: { migrationsDir?: string; files?: string[] }): Promise<LintReport & { migrationsDir: string }> {
  const migrationsDir = resolveMigrationsDir(options.migrationsDir);
  const paths =
    options.files && options.files.length > 0
      ? options.files.map((f) => resolveMigrationArg(migrationsDir, f))
      : (await listMigrationFiles(migrationsDir)).map((f) => f.path);
  return { migrationsDir, ...(await lintMigrationFiles(paths, migrationsDir)) };
}

export interface MigrateLedgerResult extends LedgerCheck {
  /** Migrations whose checksum was re-recorded by --accept. */
  accepted: { name: string; sha256: string; previousSha256: string | null }[];
  backfilled: string[];
}

/**
 * The checksum ledger: without accept, checks it (read-only; same as
 * checkMigrationLedger). With accept, re-records the named applied migrations'
 * checksums from their current files, after a person reviewed the edits.
 */
export async function migrateLedger(
  options: MigrateTarget & { accept?: string[]; lockWaitMs?: number; onNotice?: (message: string) => void },
): Promise<MigrateLedgerResult> {
  const migrationsDir = resolveMigrationsDir(options.migrationsDir);
  const names = (options.accept ?? []).map((n) => n.replace(/\.sql$/, '').replace(/^.*[/\\]/, ''));
  if (names.length === 0) {
    return { ...(await checkMigrationLedger(options.databaseUrl, migrationsDir)), accepted: [], backfilled: [] };
  }
  await listMigrationFiles(migrationsDir);
  const { accepted, prepared } = await withMigrationLock(
    options.databaseUrl,
    { lockWaitMs: options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS, ...(options.onNotice && { onNotice: options.onNotice }) },
    async (client) => {
      const files = await loadMigrations(migrationsDir);
      const checksums = checksumsOf(files);
      const prepared = await prepareLedger(client, files, checksums);
      return { prepared, accepted: await recordAccepted(client, names, files, checksums) };
    },
  );
  noteBackfill(prepared, options.onNotice);
  return { ...(await checkMigrationLedger(options.databaseUrl, migrationsDir)), accepted, backfilled: prepared.backfilled };
}

/** Parses a CLI count: a positive integer or "all". */
export function parseCount(value: string): number {
  if (value === 'all') return Number.POSITIVE_INFINITY;
  if (!/^[1-9]\d*$/.test(value)) throw new AgentryError('usage', `invalid count "${value}": expected a positive integer or "all"`);
  return Number(value);
}

function validateCount(count: number | undefined): void {
  if (count !== undefined && !(count === Number.POSITIVE_INFINITY || (Number.isInteger(count) && count > 0))) {
    throw new AgentryError('usage', `invalid count ${count}: expected a positive integer`);
  }
}

function resolveMigrationArg(migrationsDir: string, arg: string): string {
  const candidates = isAbsolute(arg)
    ? [arg]
    : [resolve(arg), join(migrationsDir, arg), join(migrationsDir, `${arg}.sql`)];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new AgentryError('usage', `no migration file "${arg}" (looked in the current directory and ${migrationsDir})`);
  return found;
}

function noteBackfill(prepared: PreparedLedger, onNotice?: (message: string) => void): void {
  if (prepared.backfilled.length > 0) {
    const n = prepared.backfilled.length;
    onNotice?.(
      `recorded the checksums of ${n} migration${n === 1 ? '' : 's'} applied before the checksum ledger existed (backfill): their current files are taken as what was applied`,
    );
  }
  if (prepared.pruned.length > 0) {
    onNotice?.(`dropped ledger rows of migrations no longer applied (reverted by another tool): ${prepared.pruned.join(', ')}`);
  }
}

interface Plan {
  steps: { file: LoadedMigration; direction: Direction }[];
  /** Files to lint before running (the ones applied up). */
  toLint: LoadedMigration[];
}

/**
 * Decides what a run would do from the files, pgmigrations and the ledger, and
 * refuses what must not run: the same decisions for a real run (under the
 * lock) and a dry run (read-only).
 */
function plan(
  direction: Direction | 'redo',
  files: readonly LoadedMigration[],
  applied: readonly { name: string; runOn: Date }[],
  comparison: ReturnType<typeof compareLedger>,
  database: string,
  migrationsDir: string,
  count: number | undefined,
  onNotice?: (message: string) => void,
): Plan {
  const byName = new Map(files.map((f) => [f.name, f]));
  const status = compareStatus(migrationsDir, [...files], [...applied]);
  if (direction === 'up') {
    if (comparison.tampered.length > 0) throw tamperedError(database, comparison.tampered);
    if (status.outOfOrder.length > 0) {
      const last = applied.at(-1)?.name ?? '';
      throw new AgentryError(
        'check',
        `refusing to migrate ${database}: ${status.outOfOrder.join(', ')} sorts before the applied migration ${last} (node-pg-migrate applies in order only); give it a later timestamp (\`agentry migrate create\` makes one)`,
      );
    }
    const toRun = status.pending.slice(0, count ?? Number.POSITIVE_INFINITY).map((p) => byName.get(p.name) as LoadedMigration);
    return { steps: toRun.map((file) => ({ file, direction: 'up' })), toLint: toRun };
  }
  const n = direction === 'redo' ? 1 : (count ?? 1);
  const reverting = applied.slice(-Math.min(n, applied.length)).reverse();
  if (reverting.length === 0) return { steps: [], toLint: [] };
  // node-pg-migrate cannot revert without the file, and its order check fails on any gap.
  const gone = comparison.tampered.filter((t) => t.kind === 'missing');
  if (gone.length > 0) throw tamperedError(database, gone, 'refusing to revert on');
  if (direction === 'redo') {
    // Redoing the newest migration after editing it is the point of redo; anything else edited still blocks.
    const others = comparison.tampered.filter((t) => t.name !== reverting[0]?.name);
    if (others.length > 0) throw tamperedError(database, others, 'refusing to redo on');
  }
  for (const t of comparison.tampered) {
    if (t.kind === 'edited' && reverting.some((r) => r.name === t.name)) {
      onNotice?.(`warning: ${t.name}.sql changed since it was applied; reverting it runs the Down section of the current file`);
    }
  }
  const steps = reverting.map((r) => {
    const file = byName.get(r.name) as LoadedMigration;
    if (file.sections.down === undefined) {
      throw new AgentryError('check', `migration ${file.name} has no "-- Down Migration" section: it cannot be reverted`);
    }
    return { file, direction: 'down' as Direction };
  });
  if (direction === 'redo') {
    const file = steps[0]!.file;
    return { steps: [...steps, { file, direction: 'up' }], toLint: [file] };
  }
  return { steps, toLint: [] };
}

async function lintPlan(p: Plan, options: MigrateRunOptions, migrationsDir: string, database: string): Promise<LintReport | null> {
  if (options.lint === false || p.toLint.length === 0) return null;
  const report = await lintMigrationFiles(
    p.toLint.map((f) => f.path),
    migrationsDir,
  );
  if (!report.ok) throw new LintFailedError(report, `refusing to ${options.dryRun ? 'plan a migration of' : 'migrate'} ${database}`);
  return report;
}

async function execute(direction: Direction | 'redo', options: MigrateRunOptions): Promise<MigrateRunResult> {
  const migrationsDir = resolveMigrationsDir(options.migrationsDir);
  const database = redactUrl(options.databaseUrl);
  const base = { direction, database, migrationsDir, dryRun: options.dryRun === true };

  if (options.dryRun) {
    // Read-only: one plain connection, no lock, no ledger table created, nothing written.
    await listMigrationFiles(migrationsDir);
    const files = await loadMigrations(migrationsDir);
    const { applied, rows } = await withClient(options.databaseUrl, async (client) => ({
      applied: await readAppliedRows(client),
      rows: await readLedger(client),
    }));
    const comparison = compareLedger(files, checksumsOf(files), applied, rows);
    const p = plan(direction, files, applied, comparison, database, migrationsDir, options.count, options.onNotice);
    const lint = await lintPlan(p, options, migrationsDir, database);
    const backfilled = comparison.unrecorded;
    if (backfilled.length > 0) {
      options.onNotice?.(`a real run would first record the checksums of ${backfilled.length} applied migration(s) that have none (backfill)`);
    }
    return {
      ...base,
      migrations: p.steps.map(({ file, direction: d }) => ({
        name: file.name,
        path: file.path,
        direction: d,
        sql: (d === 'up' ? file.sections.up : file.sections.down) ?? '',
      })),
      backfilled: [],
      lint,
    };
  }

  return withMigrationSession(
    {
      databaseUrl: options.databaseUrl,
      migrationsDir,
      lockWaitMs: options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS,
      ...(options.onNotice && { onNotice: options.onNotice }),
      ...(options.onLog && { onLog: options.onLog }),
    },
    async (session: MigrationSession) => {
      noteBackfill(session.prepared, options.onNotice);
      const applied = await session.applied();
      const comparison = await session.checkLedger();
      const p = plan(direction, session.files, applied, comparison, database, migrationsDir, options.count, options.onNotice);
      const lint = await lintPlan(p, options, migrationsDir, database);
      let migrations: AppliedMigration[] = [];
      if (direction === 'redo') {
        if (p.steps.length > 0) migrations = [...(await session.run('down', 1)), ...(await session.run('up', 1))];
      } else if (p.steps.length > 0) {
        migrations = await session.run(direction, direction === 'up' ? p.steps.length : options.count);
      }
      return { ...base, migrations, backfilled: session.prepared.backfilled, lint };
    },
  );
}

export type { LintReport, LedgerCheck };
