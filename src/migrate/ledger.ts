import { readFile } from 'node:fs/promises';

import type pg from 'pg';

import { withClient } from '../db/admin.js';
import { quoteQualified } from '../db/identifiers.js';
import { redactUrl } from '../db/url.js';
import { AgentryError, errorMessage } from '../errors.js';
import { AGENTRY_SCHEMA, MIGRATIONS_TABLE } from './config.js';
import { listMigrationFiles, type MigrationFile } from './files.js';
import { migrationChecksum } from './sql.js';

/**
 * The checksum ledger: node-pg-migrate records only names in pgmigrations, so
 * Agentry keeps the SHA-256 of every applied migration file beside it. The
 * tool creates the table (not a migration: it must exist before the first
 * migration runs), under node-pg-migrate's advisory lock. Each migration's row
 * is written (up) or deleted (down) by an extra statement inside that
 * migration's own transaction, next to node-pg-migrate's pgmigrations INSERT or
 * DELETE, so the two tables commit or roll back together.
 */
export const LEDGER_TABLE = 'pgmigrations_checksums';
const LEDGER = quoteQualified(AGENTRY_SCHEMA, LEDGER_TABLE);
const PGMIGRATIONS = quoteQualified(AGENTRY_SCHEMA, MIGRATIONS_TABLE);

export type LedgerSource = 'up' | 'backfill' | 'accept';

export interface LedgerRow {
  name: string;
  sha256: string;
  appliedAt: Date;
  recordedAt: Date;
  source: LedgerSource;
}

export interface TamperedMigration {
  name: string;
  /** edited: the file's checksum differs from the recorded one; missing: applied, but no file. */
  kind: 'edited' | 'missing';
  /** null when missing. */
  path: string | null;
  recordedSha256: string | null;
  actualSha256: string | null;
  /** When it was applied (pgmigrations.run_on). */
  runOn: Date;
}

export interface LedgerCheck {
  database: string;
  migrationsDir: string;
  /** Whether agentry.pgmigrations_checksums exists (absent: migrated before the ledger, or never). */
  ledger: boolean;
  /** Applied migrations, in the order they ran. */
  applied: number;
  /** Edited or removed applied migrations. `up` refuses to run while there are any. */
  tampered: TamperedMigration[];
  /** Applied migrations (file present) without a checksum yet: the next `up` records them (backfill). */
  unrecorded: string[];
  ok: boolean;
}

function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** Statement run inside a migration's up transaction. */
export function ledgerRecordSql(name: string, sha256: string): string {
  return `INSERT INTO ${LEDGER} (name, sha256, applied_at, source) VALUES (${literal(name)}, ${literal(sha256)}, now(), 'up')
  ON CONFLICT (name) DO UPDATE SET sha256 = EXCLUDED.sha256, applied_at = EXCLUDED.applied_at, recorded_at = now(), source = EXCLUDED.source;`;
}

/** Statement run inside a migration's down transaction. */
export function ledgerForgetSql(name: string): string {
  return `DELETE FROM ${LEDGER} WHERE name = ${literal(name)};`;
}

const CREATE_LEDGER = `CREATE TABLE IF NOT EXISTS ${LEDGER} (
  name varchar(255) NOT NULL PRIMARY KEY,
  sha256 char(64) NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  applied_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  source text NOT NULL CHECK (source IN ('up', 'backfill', 'accept'))
)`;

async function exists(client: pg.ClientBase, qualified: string): Promise<boolean> {
  const { rows } = await client.query<{ oid: string | null }>('SELECT to_regclass($1)::text AS oid', [qualified]);
  return Boolean(rows[0]?.oid);
}

export interface AppliedName {
  name: string;
  runOn: Date;
}

/** pgmigrations' rows in run order; [] when the table does not exist yet. */
export async function readAppliedRows(client: pg.ClientBase): Promise<AppliedName[]> {
  if (!(await exists(client, PGMIGRATIONS))) return [];
  const { rows } = await client.query<{ name: string; run_on: Date }>(`SELECT name, run_on FROM ${PGMIGRATIONS} ORDER BY run_on, id`);
  return rows.map((r) => ({ name: r.name, runOn: r.run_on }));
}

/** The ledger's rows by name, or null when the table does not exist. */
export async function readLedger(client: pg.ClientBase): Promise<Map<string, LedgerRow> | null> {
  if (!(await exists(client, LEDGER))) return null;
  const { rows } = await client.query<{ name: string; sha256: string; applied_at: Date; recorded_at: Date; source: LedgerSource }>(
    `SELECT name, sha256, applied_at, recorded_at, source FROM ${LEDGER}`,
  );
  return new Map(rows.map((r) => [r.name, { name: r.name, sha256: r.sha256, appliedAt: r.applied_at, recordedAt: r.recorded_at, source: r.source }]));
}

/** Checksums of the given files (read now). */
export async function fileChecksums(files: readonly MigrationFile[]): Promise<Map<string, string>> {
  const sums = new Map<string, string>();
  for (const file of files) {
    try {
      sums.set(file.name, migrationChecksum(await readFile(file.path, 'utf8')));
    } catch (error) {
      throw new AgentryError('failed', `cannot read migration ${file.path}: ${errorMessage(error)}`, { cause: error });
    }
  }
  return sums;
}

export interface LedgerComparison {
  tampered: TamperedMigration[];
  unrecorded: string[];
}

/** Pure comparison of the folder (with checksums), pgmigrations and the ledger. */
export function compareLedger(
  files: readonly MigrationFile[],
  checksums: ReadonlyMap<string, string>,
  applied: readonly AppliedName[],
  ledger: ReadonlyMap<string, LedgerRow> | null,
): LedgerComparison {
  const byName = new Map(files.map((f) => [f.name, f]));
  const tampered: TamperedMigration[] = [];
  const unrecorded: string[] = [];
  for (const a of applied) {
    const file = byName.get(a.name);
    const recorded = ledger?.get(a.name)?.sha256 ?? null;
    if (!file) {
      tampered.push({ name: a.name, kind: 'missing', path: null, recordedSha256: recorded, actualSha256: null, runOn: a.runOn });
      continue;
    }
    const actual = checksums.get(a.name) ?? null;
    if (recorded === null) unrecorded.push(a.name);
    else if (actual !== recorded) {
      tampered.push({ name: a.name, kind: 'edited', path: file.path, recordedSha256: recorded, actualSha256: actual, runOn: a.runOn });
    }
  }
  return { tampered, unrecorded };
}

/**
 * Compares the applied migrations with the files and the checksum ledger;
 * writes nothing. For `agentry migrate status`, `verify` and anything else
 * that must know whether the database still matches its migration files.
 */
export async function checkMigrationLedger(databaseUrl: string, migrationsDir: string): Promise<LedgerCheck> {
  const files = await listMigrationFiles(migrationsDir);
  const { applied, ledger } = await withClient(databaseUrl, async (client) => ({
    applied: await readAppliedRows(client),
    ledger: await readLedger(client),
  }));
  const appliedNames = new Set(applied.map((a) => a.name));
  const checksums = await fileChecksums(files.filter((f) => appliedNames.has(f.name)));
  const { tampered, unrecorded } = compareLedger(files, checksums, applied, ledger);
  return {
    database: redactUrl(databaseUrl),
    migrationsDir,
    ledger: ledger !== null,
    applied: applied.length,
    tampered,
    unrecorded,
    ok: tampered.length === 0,
  };
}

export interface PreparedLedger {
  /** Whether this call created the ledger table. */
  created: boolean;
  /** Applied migrations whose checksum was recorded now from their current file. */
  backfilled: string[];
  /** Ledger rows dropped because pgmigrations no longer lists them (reverted by another tool). */
  pruned: string[];
}

/**
 * Run under the migration lock, in one transaction: create the ledger table if
 * missing, record checksums for applied migrations that have none (a database
 * migrated before the ledger existed: their current files are taken as what
 * was applied), and drop rows of migrations that are no longer applied.
 */
export async function prepareLedger(
  client: pg.ClientBase,
  files: readonly MigrationFile[],
  checksums: ReadonlyMap<string, string>,
): Promise<PreparedLedger> {
  await client.query('BEGIN');
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteQualified(AGENTRY_SCHEMA)}`);
    const created = !(await exists(client, LEDGER));
    if (created) {
      await client.query(CREATE_LEDGER);
      await client.query(
        `COMMENT ON TABLE ${LEDGER} IS 'Agentry: SHA-256 of each applied migration file (written in the migration''s transaction; pgmigrations keeps none)'`,
      );
    }
    const applied = await readAppliedRows(client);
    const ledger = (await readLedger(client)) ?? new Map<string, LedgerRow>();
    const present = new Set(files.map((f) => f.name));
    const backfilled = applied.filter((a) => !ledger.has(a.name) && present.has(a.name) && checksums.has(a.name));
    for (const a of backfilled) {
      // pgmigrations.run_on is a timestamp without time zone written with now()
      // in the runner's session: read it in this session's time zone.
      await client.query(
        `INSERT INTO ${LEDGER} (name, sha256, applied_at, source)
         SELECT $1::text, $2::text, run_on::timestamptz, 'backfill' FROM ${PGMIGRATIONS} WHERE name = $1::text ORDER BY id LIMIT 1`,
        [a.name, checksums.get(a.name)],
      );
    }
    const appliedNames = new Set(applied.map((a) => a.name));
    const pruned = [...ledger.keys()].filter((name) => !appliedNames.has(name));
    if (pruned.length > 0) await client.query(`DELETE FROM ${LEDGER} WHERE name = ANY($1)`, [pruned]);
    await client.query('COMMIT');
    return { created, backfilled: backfilled.map((a) => a.name), pruned };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Re-records the checksum of applied migrations from their current files (after a person reviewed the edit). */
export async function recordAccepted(
  client: pg.ClientBase,
  names: readonly string[],
  files: readonly MigrationFile[],
  checksums: ReadonlyMap<string, string>,
): Promise<{ name: string; sha256: string; previousSha256: string | null }[]> {
  const applied = new Set((await readAppliedRows(client)).map((a) => a.name));
  const byName = new Map(files.map((f) => [f.name, f]));
  const ledger = (await readLedger(client)) ?? new Map<string, LedgerRow>();
  for (const name of names) {
    if (!applied.has(name)) throw new AgentryError('usage', `migration ${name} is not applied: only applied migrations have a checksum to accept`);
    if (!byName.has(name)) {
      throw new AgentryError('check', `migration ${name} is applied but its file is missing: restore ${name}.sql (e.g. from version control); a missing file cannot be accepted`);
    }
  }
  const result: { name: string; sha256: string; previousSha256: string | null }[] = [];
  await client.query('BEGIN');
  try {
    for (const name of names) {
      const sha256 = checksums.get(name) as string;
      await client.query(
        `INSERT INTO ${LEDGER} (name, sha256, applied_at, source)
         SELECT $1::text, $2::text, run_on::timestamptz, 'accept' FROM ${PGMIGRATIONS} WHERE name = $1::text ORDER BY id LIMIT 1
         ON CONFLICT (name) DO UPDATE SET sha256 = EXCLUDED.sha256, recorded_at = now(), source = 'accept'`,
        [name, sha256],
      );
      result.push({ name, sha256, previousSha256: ledger.get(name)?.sha256 ?? null });
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  return result;
}

/** The one-line refusal for `up` (and anything else that must not run on a tampered database). */
export function tamperedError(database: string, tampered: readonly TamperedMigration[], action = 'refusing to migrate'): AgentryError {
  const parts = tampered.map((t) =>
    t.kind === 'edited' ? `${t.name}.sql was edited after it was applied` : `${t.name}.sql was applied but its file is missing`,
  );
  const edited = tampered.filter((t) => t.kind === 'edited').map((t) => t.name);
  const hint =
    edited.length > 0
      ? `restore the file${tampered.length > 1 ? 's' : ''} (e.g. from version control), or after reviewing the change run \`agentry migrate ledger --accept ${edited.join(' ')}\``
      : `restore the file${tampered.length > 1 ? 's' : ''} (e.g. from version control)`;
  return new AgentryError('check', `${action} ${database}: ${parts.join('; ')}; ${hint}`);
}
