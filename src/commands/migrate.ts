import { redactUrl } from '../db/url.js';
import { AgentryError } from '../errors.js';
import { resolveMigrationsDir } from '../migrate/config.js';
import { createMigrationFile, type MigrationFile } from '../migrate/files.js';
import { runMigrations, type AppliedMigration, type Direction, type LockMode } from '../migrate/runner.js';
import { readStatus, type MigrationStatus } from '../migrate/status.js';

export interface MigrateTarget {
  /** URL of the database to migrate (not the maintenance database). */
  databaseUrl: string;
  /** Default: the migrations/ folder shipped with the package. */
  migrationsDir?: string;
}

export interface MigrateRunOptions extends MigrateTarget {
  /** How many migrations; default all pending (up) or 1 (down). Infinity means all. */
  count?: number;
  lockMode?: LockMode;
  onLog?: (line: string) => void;
}

export interface MigrateRunResult {
  direction: Direction;
  /** The migrated database, password redacted. */
  database: string;
  migrationsDir: string;
  /** What ran, in the order it ran (for down: newest first). */
  migrations: AppliedMigration[];
}

export type MigrateStatusResult = MigrationStatus & { database: string };

export async function migrateUp(options: MigrateRunOptions): Promise<MigrateRunResult> {
  return run('up', options);
}

export async function migrateDown(options: MigrateRunOptions): Promise<MigrateRunResult> {
  return run('down', { ...options, count: options.count ?? 1 });
}

/** Compares the migrations folder with agentry.pgmigrations; writes nothing. */
export async function migrateStatus(options: MigrateTarget): Promise<MigrateStatusResult> {
  const migrationsDir = resolveMigrationsDir(options.migrationsDir);
  const status = await readStatus(options.databaseUrl, migrationsDir);
  return { database: redactUrl(options.databaseUrl), ...status };
}

/** Writes <migrationsDir>/<13-digit ms timestamp>_<name>.sql with empty Up and Down sections. */
export async function migrateCreate(options: { name: string; migrationsDir?: string; now?: Date }): Promise<MigrationFile> {
  return createMigrationFile(resolveMigrationsDir(options.migrationsDir), options.name, options.now);
}

/** Parses a CLI count: a positive integer or "all". */
export function parseCount(value: string): number {
  if (value === 'all') return Number.POSITIVE_INFINITY;
  if (!/^[1-9]\d*$/.test(value)) throw new AgentryError('usage', `invalid count "${value}": expected a positive integer or "all"`);
  return Number(value);
}

async function run(direction: Direction, options: MigrateRunOptions): Promise<MigrateRunResult> {
  if (options.count !== undefined && !(options.count === Number.POSITIVE_INFINITY || (Number.isInteger(options.count) && options.count > 0))) {
    throw new AgentryError('usage', `invalid count ${options.count}: expected a positive integer`);
  }
  const migrationsDir = resolveMigrationsDir(options.migrationsDir);
  const migrations = await runMigrations({
    databaseUrl: options.databaseUrl,
    migrationsDir,
    direction,
    ...(options.count !== undefined && { count: options.count }),
    ...(options.lockMode !== undefined && { lockMode: options.lockMode }),
    ...(options.onLog !== undefined && { onLog: options.onLog }),
  });
  return { direction, database: redactUrl(options.databaseUrl), migrationsDir, migrations };
}
