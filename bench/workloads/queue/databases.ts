import pg from 'pg';

import { migrateUp } from '../../../src/commands/migrate.js';
import { dropDatabase, listDatabases, withClient } from '../../../src/db/admin.js';
import { quoteIdent } from '../../../src/db/identifiers.js';
import { withDatabase } from '../../../src/db/url.js';
import { dropDatabasesOfGoneRuns } from '../../lib/scratch.js';

/**
 * Databases of the queue workload: every one is named agentry_bq_<pid>_<what>
 * so that a run never touches anyone else's database, and a killed run's
 * leftovers can be recognised (by their dead pid) and dropped by the next.
 */
const PREFIX = 'agentry_bq_';

export function benchDbName(what: string): string {
  return `${PREFIX}${process.pid}_${what}`;
}

export function dbUrl(adminUrl: string, name: string): string {
  return withDatabase(adminUrl, name);
}

/** Drops agentry_bq_<pid>_* databases whose process is gone (a killed run). */
export async function dropStaleBenchDatabases(adminUrl: string): Promise<void> {
  await dropDatabasesOfGoneRuns(adminUrl, 'agentry\\_bq\\_%', (name) => /^agentry_bq_(\d+)_/.exec(name)?.[1]);
}

/** Drops every database this process created (end of the workload, or after a failure). */
export async function dropOwnBenchDatabases(adminUrl: string): Promise<void> {
  for (const name of await listDatabases(adminUrl, `${PREFIX}${process.pid}\\_%`)) {
    await dropBenchDatabase(adminUrl, name).catch(() => undefined);
  }
}

export type CloneStrategy = 'wal_log' | 'file_copy';

/**
 * CREATE DATABASE name TEMPLATE template. wal_log (the default) copies the
 * blocks through the WAL, no checkpoint: quick for small databases.
 * file_copy (PostgreSQL 15+) checkpoints and then copies the files: for the
 * backlogs, so that every timed run starts the same way (right after a
 * checkpoint) instead of meeting one at a random moment, and a 1M-task
 * backlog is copied in seconds. Retried while the template still has a
 * session (55006: a pool that is still closing).
 */
export async function cloneDatabase(adminUrl: string, template: string, name: string, strategy: CloneStrategy = 'wal_log'): Promise<void> {
  await dropBenchDatabase(adminUrl, name);
  await withClient(adminUrl, async (client) => {
    const version = Number((await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]?.v ?? 0);
    const clause = version >= 150000 ? ` STRATEGY ${strategy}` : '';
    for (let attempt = 0; ; attempt += 1) {
      try {
        await client.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}${clause}`);
        return;
      } catch (error) {
        if ((error as { code?: string }).code === '55006' && attempt < 100) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          continue;
        }
        throw error;
      }
    }
  });
}

/**
 * Drops a database of the workload once the pools that used it have let
 * their connections go (pool.end() resolves before the sockets close; a
 * connection terminated by WITH (FORCE) while closing would be an error
 * nobody listens to in a library's pool). Waits at most 5 s, then forces.
 */
export async function dropBenchDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, async (client) => {
    for (let waited = 0; waited < 5_000; waited += 50) {
      const { rows } = await client.query<{ n: string }>('SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = $1', [name]);
      if (rows[0]?.n === '0') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  await dropDatabase(adminUrl, name);
}

export async function createEmptyDatabase(adminUrl: string, name: string): Promise<void> {
  await dropBenchDatabase(adminUrl, name);
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE ${quoteIdent(name)}`));
}

/** An empty database migrated to head (Agentry's schema); the lint is skipped (no squawk run per bench). */
export async function createMigratedDatabase(adminUrl: string, name: string): Promise<void> {
  await createEmptyDatabase(adminUrl, name);
  await migrateUp({ databaseUrl: dbUrl(adminUrl, name), lint: false });
}

/** Runs fn on one connection to the named database. */
export async function withDb<T>(adminUrl: string, name: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  return withClient(dbUrl(adminUrl, name), fn);
}

/**
 * What autovacuum would have done after a bulk load (it is off on some
 * servers, and would run at a random moment anyway): the tables that hold
 * rows (the backlog) are vacuumed and analysed before the database becomes a
 * template, for every contender alike.
 */
export async function vacuumAnalyze(adminUrl: string, name: string): Promise<void> {
  await withDb(adminUrl, name, async (client) => {
    const { rows } = await client.query<{ name: string }>(
      `SELECT format('%I.%I', schemaname, relname) AS name FROM pg_stat_user_tables WHERE n_live_tup + n_dead_tup > 0 ORDER BY 1`,
    );
    // The names are the server's own, quoted by format('%I').
    if (rows.length > 0) await client.query(`VACUUM (ANALYZE) ${rows.map((r) => r.name).join(', ')}`);
  });
}

/** Total size of a database, MiB. */
export async function databaseMiB(adminUrl: string, name: string): Promise<number> {
  return withClient(adminUrl, async (client) => {
    const { rows } = await client.query<{ size: string }>('SELECT pg_database_size($1)::text AS size', [name]);
    return Number(rows[0]?.size ?? 0) / 1024 / 1024;
  });
}
