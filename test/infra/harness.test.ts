import { describe, expect, inject, it } from 'vitest';

import { migrateStatus } from '../../src/commands/migrate.js';
import { useTestDatabase } from '../helpers/db.js';

describe('test harness', () => {
  const db = useTestDatabase();

  it('gives each test file its own clone of the template, migrated to head with the real migrations', async () => {
    expect(db.name).toMatch(/^agentry_test_\d+_[0-9a-f]{8}$/);
    const { rows } = await db.pool.query<{ db: string }>('SELECT current_database() AS db');
    expect(rows[0]?.db).toBe(db.name);

    const status = await migrateStatus({ databaseUrl: db.url });
    expect(status.pending).toEqual([]);
    expect(status.upToDate).toBe(true);
  });

  it('keeps the template untouched by what a test does', async () => {
    await db.pool.query('CREATE TABLE agentry.harness_scratch (id int)');
    const { rows } = await db.pool.query<{ datallowconn: boolean }>(
      'SELECT datallowconn FROM pg_database WHERE datname = $1',
      [inject('agentryTemplateDb')],
    );
    // Connections to the template are disabled, so nothing can change it.
    expect(rows[0]?.datallowconn).toBe(false);
  });
});
