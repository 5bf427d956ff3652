import { randomBytes } from 'node:crypto';

import pg from 'pg';
import { afterAll, inject } from 'vitest';

import { createDatabase, dropDatabase, withClient } from '../../src/db/admin.js';
import { withDatabase } from '../../src/db/url.js';
import '../setup/context.js';

// Shared by the test/cli/migrate-*.test.ts files: an empty database per test
// (the ledger and pgmigrations are per database, so tests cannot trip over
// each other), dropped after the file.

const created: string[] = [];
afterAll(async () => {
  const adminUrl = inject('agentryAdminUrl');
  await Promise.all(created.splice(0).map((name) => dropDatabase(adminUrl, name)));
});

export interface EmptyDatabase {
  name: string;
  url: string;
  adminUrl: string;
  /** Global CLI options that target this database and the given migrations folder. */
  args(migrationsDir?: string): string[];
  query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
}

/** A new, empty database (named like the harness's, so a killed run's leftovers are dropped next time). */
export async function emptyDatabase(): Promise<EmptyDatabase> {
  const adminUrl = inject('agentryAdminUrl');
  const name = `agentry_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await createDatabase(adminUrl, name);
  created.push(name);
  const url = withDatabase(adminUrl, name);
  return {
    name,
    url,
    adminUrl,
    args: (migrationsDir) => ['--database-url', adminUrl, '--database', name, ...(migrationsDir ? ['--migrations-dir', migrationsDir] : [])],
    query: async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) =>
      withClient(url, async (client) => (await client.query<R>(sql, params)).rows),
  };
}

/** pgmigrations and the ledger side by side (names in run order; sha256 null when not recorded). */
export async function bookkeeping(db: EmptyDatabase): Promise<{ name: string; sha256: string | null; source: string | null }[]> {
  const [exists] = await db.query<{ p: string | null; l: string | null }>(
    "SELECT to_regclass('agentry.pgmigrations')::text AS p, to_regclass('agentry.pgmigrations_checksums')::text AS l",
  );
  if (!exists?.p) return [];
  if (!exists.l) {
    return (await db.query<{ name: string }>('SELECT name FROM agentry.pgmigrations ORDER BY run_on, id')).map((r) => ({
      name: r.name,
      sha256: null,
      source: null,
    }));
  }
  return db.query(
    `SELECT m.name, c.sha256, c.source FROM agentry.pgmigrations m
       FULL JOIN agentry.pgmigrations_checksums c USING (name) ORDER BY m.run_on, m.id`,
  );
}

export async function schemaExists(db: EmptyDatabase, schema = 'agentry'): Promise<boolean> {
  const rows = await db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
  return rows.length === 1;
}
