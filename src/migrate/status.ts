import { withClient } from '../db/admin.js';
import { quoteQualified } from '../db/identifiers.js';
import { AGENTRY_SCHEMA, MIGRATIONS_TABLE } from './config.js';
import { listMigrationFiles, type MigrationFile } from './files.js';

export interface AppliedRow {
  name: string;
  runOn: Date;
}

export interface MigrationStatus {
  migrationsDir: string;
  /** Applied migrations in the order they ran; `path` is null when the file is gone. */
  applied: { name: string; runOn: Date; path: string | null }[];
  /** Files not applied yet, in run order. */
  pending: { name: string; path: string }[];
  /** Applied migrations whose file no longer exists (down would fail on them). */
  missing: string[];
  /**
   * Pending files that sort before an applied one; node-pg-migrate's checkOrder
   * refuses to run while any exist.
   */
  outOfOrder: string[];
  /** No pending, missing or out-of-order migrations. */
  upToDate: boolean;
}

/** Reads the bookkeeping table without creating it (status must not write). */
export async function readApplied(databaseUrl: string): Promise<AppliedRow[]> {
  return withClient(databaseUrl, async (client) => {
    const qualified = quoteQualified(AGENTRY_SCHEMA, MIGRATIONS_TABLE);
    const { rows: exists } = await client.query<{ oid: string | null }>('SELECT to_regclass($1)::text AS oid', [qualified]);
    if (!exists[0]?.oid) return [];
    const { rows } = await client.query<{ name: string; run_on: Date }>(`SELECT name, run_on FROM ${qualified} ORDER BY run_on, id`);
    return rows.map((r) => ({ name: r.name, runOn: r.run_on }));
  });
}

export function compareStatus(migrationsDir: string, files: MigrationFile[], applied: AppliedRow[]): MigrationStatus {
  const byName = new Map(files.map((f) => [f.name, f]));
  const appliedNames = new Set(applied.map((a) => a.name));
  const pending = files.filter((f) => !appliedNames.has(f.name));
  const lastAppliedIndex = Math.max(-1, ...files.map((f, i) => (appliedNames.has(f.name) ? i : -1)));
  const outOfOrder = files.filter((f, i) => i < lastAppliedIndex && !appliedNames.has(f.name)).map((f) => f.name);
  const missing = applied.filter((a) => !byName.has(a.name)).map((a) => a.name);
  return {
    migrationsDir,
    applied: applied.map((a) => ({ name: a.name, runOn: a.runOn, path: byName.get(a.name)?.path ?? null })),
    pending: pending.map((f) => ({ name: f.name, path: f.path })),
    missing,
    outOfOrder,
    upToDate: pending.length === 0 && missing.length === 0 && outOfOrder.length === 0,
  };
}

export async function readStatus(databaseUrl: string, migrationsDir: string): Promise<MigrationStatus> {
  const [files, applied] = await Promise.all([listMigrationFiles(migrationsDir), readApplied(databaseUrl)]);
  return compareStatus(migrationsDir, files, applied);
}
