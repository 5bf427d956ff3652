import { withClient } from '../db/admin.js';
import { listMigrationFiles, type MigrationFile } from './files.js';
import { compareLedger, fileChecksums, readAppliedRows, readLedger, type LedgerRow, type TamperedMigration } from './ledger.js';

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
   * Applied migrations whose file was edited since (checksum differs from the
   * ledger) or removed; `migrate up` refuses to run while there are any.
   */
  tampered: TamperedMigration[];
  /** Whether the checksum ledger (agentry.pgmigrations_checksums) exists. */
  ledger: boolean;
  /** Applied migrations without a recorded checksum: the next `migrate up` records them (backfill). */
  unrecorded: string[];
  /**
   * Pending files that sort before an applied one; node-pg-migrate's checkOrder
   * refuses to run while any exist.
   */
  outOfOrder: string[];
  /** No pending, missing, edited or out-of-order migrations. */
  upToDate: boolean;
}

/** Reads the bookkeeping table without creating it (status must not write). */
export async function readApplied(databaseUrl: string): Promise<AppliedRow[]> {
  return withClient(databaseUrl, readAppliedRows);
}

/**
 * Folder vs database. Without `ledger` (and checksums) nothing is known about
 * edits: `tampered` then lists only missing files and `unrecorded` is empty.
 */
export function compareStatus(
  migrationsDir: string,
  files: MigrationFile[],
  applied: AppliedRow[],
  ledger?: { rows: ReadonlyMap<string, LedgerRow> | null; checksums: ReadonlyMap<string, string> },
): MigrationStatus {
  const byName = new Map(files.map((f) => [f.name, f]));
  const appliedNames = new Set(applied.map((a) => a.name));
  const pending = files.filter((f) => !appliedNames.has(f.name));
  const lastAppliedIndex = Math.max(-1, ...files.map((f, i) => (appliedNames.has(f.name) ? i : -1)));
  const outOfOrder = files.filter((f, i) => i < lastAppliedIndex && !appliedNames.has(f.name)).map((f) => f.name);
  const missing = applied.filter((a) => !byName.has(a.name)).map((a) => a.name);
  const { tampered, unrecorded } = ledger
    ? compareLedger(files, ledger.checksums, applied, ledger.rows)
    : compareLedger(files, new Map(), applied, new Map());
  return {
    migrationsDir,
    applied: applied.map((a) => ({ name: a.name, runOn: a.runOn, path: byName.get(a.name)?.path ?? null })),
    pending: pending.map((f) => ({ name: f.name, path: f.path })),
    missing,
    tampered,
    ledger: ledger?.rows != null,
    unrecorded: ledger ? unrecorded : [],
    outOfOrder,
    upToDate: pending.length === 0 && tampered.length === 0 && outOfOrder.length === 0,
  };
}

/** Folder, pgmigrations and the checksum ledger compared; writes nothing. */
export async function readStatus(databaseUrl: string, migrationsDir: string): Promise<MigrationStatus> {
  const files = await listMigrationFiles(migrationsDir);
  const { applied, rows } = await withClient(databaseUrl, async (client) => ({
    applied: await readAppliedRows(client),
    rows: await readLedger(client),
  }));
  const appliedNames = new Set(applied.map((a) => a.name));
  const checksums = await fileChecksums(files.filter((f) => appliedNames.has(f.name)));
  return compareStatus(migrationsDir, files, applied, { rows, checksums });
}
