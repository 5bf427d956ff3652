import { randomBytes } from 'node:crypto';

import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';

import { createDatabase, dropDatabase } from '../../src/db/admin.js';
import { withDatabase } from '../../src/db/url.js';
import '../setup/context.js';

export interface TestDatabase {
  /** Database name, unique to this test file. */
  readonly name: string;
  /** Superuser URL of this database. */
  readonly url: string;
  /** Superuser URL of the maintenance database (for CREATE/DROP DATABASE). */
  readonly adminUrl: string;
  /** Pool on this database; search_path is agentry, public. */
  readonly pool: pg.Pool;
}

export interface UseTestDatabaseOptions {
  /** false: an empty database (no migrations applied), for tests of migrating itself. Default true. */
  migrated?: boolean;
  /** Pool size (default 5). */
  max?: number;
}

/**
 * Gives the calling test file its own database: in beforeAll a clone of the
 * migrated template (or an empty one), in afterAll the pool is ended and the
 * database dropped. Call it at the top level of a test file or describe block.
 */
export function useTestDatabase(options: UseTestDatabaseOptions = {}): TestDatabase {
  let state: { name: string; url: string; adminUrl: string; pool: pg.Pool } | undefined;

  beforeAll(async () => {
    const adminUrl = inject('agentryAdminUrl');
    const name = `agentry_test_${process.pid}_${randomBytes(4).toString('hex')}`;
    await createDatabase(adminUrl, name, options.migrated === false ? {} : { template: inject('agentryTemplateDb') });
    const url = withDatabase(adminUrl, name);
    const pool = new pg.Pool({ connectionString: url, max: options.max ?? 5, options: '-c search_path=agentry,public' });
    // A dropped connection must fail the query that used it, not crash the worker.
    pool.on('error', () => undefined);
    // pool.end() resolves before each socket has closed, and the database is
    // dropped (terminating them, 57P01) right after: a client the pool has let
    // go must still have a listener, or its late error is unhandled.
    pool.on('connect', (client) => client.on('error', () => undefined));
    state = { name, url, adminUrl, pool };
  });

  afterAll(async () => {
    if (!state) return;
    const { pool, adminUrl, name } = state;
    state = undefined;
    await pool.end();
    await dropDatabase(adminUrl, name);
  });

  const ready = () => {
    if (!state) throw new Error('useTestDatabase(): the database exists only inside tests and hooks (after beforeAll)');
    return state;
  };
  return {
    get name() {
      return ready().name;
    },
    get url() {
      return ready().url;
    },
    get adminUrl() {
      return ready().adminUrl;
    },
    get pool() {
      return ready().pool;
    },
  };
}

/** Runs fn on one client of pool inside a transaction that is always rolled back, whatever fn does. */
export async function inRolledBackTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    return await fn(client);
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}
