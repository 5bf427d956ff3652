import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

import pg from 'pg';
import { describe, expect, it } from 'vitest';

import { migrateCreate, migrateDown, migrateStatus, migrateUp } from '../../src/commands/migrate.js';
import { withDatabase } from '../../src/db/url.js';
import { AgentryError } from '../../src/errors.js';
import { MIGRATION_TEMPLATE } from '../../src/migrate/files.js';
import { useTestDatabase } from '../helpers/db.js';
import { addMigrations, sqlMigration, tempMigrationsDir } from '../helpers/migrations.js';

const FIRST = '1700000000001_widgets';
const SECOND = '1700000000002_gadgets';
const THIRD = '1700000000003_widget_color';

async function tables(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ t: string }>(
    `SELECT table_schema || '.' || table_name AS t FROM information_schema.tables
      WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
  );
  return rows.map((r) => r.t);
}

describe('migrate up/down/status on a real database', () => {
  const db = useTestDatabase({ migrated: false });

  it('runs the whole cycle against a temporary migrations folder', async () => {
    const dir = await tempMigrationsDir({
      [`${FIRST}.sql`]: sqlMigration('CREATE TABLE widgets (id int PRIMARY KEY);', 'DROP TABLE widgets;'),
      [`${SECOND}.sql`]: sqlMigration('CREATE TABLE gadgets (id int PRIMARY KEY);', 'DROP TABLE gadgets;'),
      [`${THIRD}.sql`]: sqlMigration('ALTER TABLE widgets ADD COLUMN color text;', 'ALTER TABLE widgets DROP COLUMN color;'),
      'README.md': 'not a migration',
      '.hidden.sql': 'not a migration either',
    });
    const target = { databaseUrl: db.url, migrationsDir: dir, lint: false };

    // status writes nothing: no schema, no bookkeeping table yet.
    const before = await migrateStatus(target);
    expect(before.applied).toEqual([]);
    expect(before.pending.map((m) => m.name)).toEqual([FIRST, SECOND, THIRD]);
    expect(before.upToDate).toBe(false);
    expect(await tables(db.pool)).toEqual([]);

    const one = await migrateUp({ ...target, count: 1 });
    expect(one.migrations.map((m) => m.name)).toEqual([FIRST]);
    // The bookkeeping tables and the migrated objects live in schema agentry.
    expect(await tables(db.pool)).toEqual(['agentry.pgmigrations', 'agentry.pgmigrations_checksums', 'agentry.widgets']);

    const rest = await migrateUp(target);
    expect(rest.migrations.map((m) => m.name)).toEqual([SECOND, THIRD]);
    const head = await migrateStatus(target);
    expect(head.upToDate).toBe(true);
    expect(head.applied.map((m) => m.name)).toEqual([FIRST, SECOND, THIRD]);
    expect(head.applied[0]?.runOn).toBeInstanceOf(Date);
    expect(head.database).not.toContain('@@');

    expect((await migrateUp(target)).migrations).toEqual([]);

    const down = await migrateDown(target);
    expect(down.migrations.map((m) => m.name)).toEqual([THIRD]);
    const downTwo = await migrateDown({ ...target, count: 2 });
    expect(downTwo.migrations.map((m) => m.name)).toEqual([SECOND, FIRST]);
    expect(await tables(db.pool)).toEqual(['agentry.pgmigrations', 'agentry.pgmigrations_checksums']);
    expect((await migrateStatus(target)).pending).toHaveLength(3);
  });

  it('rolls back only the failing migration (one transaction per migration)', async () => {
    const dir = await tempMigrationsDir({
      '1700000000101_good.sql': sqlMigration('CREATE TABLE good (id int);', 'DROP TABLE good;'),
      '1700000000102_bad.sql': sqlMigration('CREATE TABLE half (id int);\nSELECT no_such_function();', 'DROP TABLE half;'),
    });
    const target = { databaseUrl: db.url, migrationsDir: dir, lint: false };
    const error = await migrateUp(target).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentryError);
    expect((error as AgentryError).kind).toBe('failed');
    expect((error as AgentryError).message).toMatch(/1700000000102_bad.*no_such_function/);

    const status = await migrateStatus(target);
    expect(status.applied.map((m) => m.name)).toEqual(['1700000000101_good']);
    expect(status.pending.map((m) => m.name)).toEqual(['1700000000102_bad']);
    expect(await tables(db.pool)).toContain('agentry.good');
    expect(await tables(db.pool)).not.toContain('agentry.half');

    await migrateDown({ ...target, count: Number.POSITIVE_INFINITY });
  });

  it('refuses a migration older than an applied one (checkOrder)', async () => {
    const dir = await tempMigrationsDir({
      '1700000000202_later.sql': sqlMigration('CREATE TABLE later (id int);', 'DROP TABLE later;'),
    });
    const target = { databaseUrl: db.url, migrationsDir: dir, lint: false };
    await migrateUp(target);
    await addMigrations(dir, { '1700000000201_earlier.sql': sqlMigration('CREATE TABLE earlier (id int);') });

    const status = await migrateStatus(target);
    expect(status.outOfOrder).toEqual(['1700000000201_earlier']);
    expect(status.upToDate).toBe(false);
    await expect(migrateUp(target)).rejects.toThrow(/1700000000201_earlier/);

    await rm(join(dir, '1700000000201_earlier.sql'));
    await migrateDown(target);
  });

  it('reports an applied migration whose file is gone', async () => {
    const dir = await tempMigrationsDir({ '1700000000301_gone.sql': sqlMigration('SELECT 1;', 'SELECT 1;') });
    const target = { databaseUrl: db.url, migrationsDir: dir, lint: false };
    await migrateUp(target);
    await rm(join(dir, '1700000000301_gone.sql'));
    const status = await migrateStatus(target);
    expect(status.missing).toEqual(['1700000000301_gone']);
    expect(status.applied[0]?.path).toBeNull();
    await db.pool.query(`DELETE FROM agentry.pgmigrations WHERE name = $1`, ['1700000000301_gone']);
  });

  it('fails at once with --no-lock-wait (lockWaitMs 0) while another runner holds the advisory lock', async () => {
    const dir = await tempMigrationsDir({ '1700000000401_locked.sql': sqlMigration('SELECT 1;') });
    const holder = await db.pool.connect();
    try {
      await holder.query('SELECT pg_advisory_lock(7241865325823964)');
      await expect(migrateUp({ databaseUrl: db.url, migrationsDir: dir, lockWaitMs: 0 })).rejects.toThrow(
        /^another agentry migrate is running on postgres:\/\/.*\(server process \d+\).*--no-lock-wait/,
      );
    } finally {
      await holder.query('SELECT pg_advisory_unlock(7241865325823964)');
      holder.release();
    }
  });

  it('reports a missing database as a connection error without the password', async () => {
    const dir = await tempMigrationsDir();
    const url = new URL(withDatabase(db.adminUrl, 'agentry_no_such_db'));
    url.password = 's3cret-pw';
    const error = await migrateUp({ databaseUrl: url.toString(), migrationsDir: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentryError);
    expect((error as AgentryError).kind).toBe('connection');
    expect((error as AgentryError).message).not.toContain('s3cret-pw');
  });

  it('rejects a missing migrations folder and badly named files as clear errors', async () => {
    await expect(migrateStatus({ databaseUrl: db.url, migrationsDir: '/nonexistent/agentry' })).rejects.toThrow(
      /migrations folder not found/,
    );
    const dir = await tempMigrationsDir({ 'create_tasks.sql': sqlMigration('SELECT 1;') });
    await expect(migrateUp({ databaseUrl: db.url, migrationsDir: dir, lint: false })).rejects.toThrow(/13-digit/);
  });
});

describe('migrate create', () => {
  it('writes <13-digit timestamp>_<name>.sql with both sections, always after the newest', async () => {
    const dir = await tempMigrationsDir({ '9999999999990_future.sql': sqlMigration('SELECT 1;') });
    const first = await migrateCreate({ name: 'add_labels', migrationsDir: dir });
    expect(first.name).toBe('9999999999991_add_labels');
    expect(await readFile(first.path, 'utf8')).toBe(MIGRATION_TEMPLATE);
    expect(MIGRATION_TEMPLATE).toMatch(/^-- Up Migration\n[\s\S]*\n-- Down Migration\n/);
    expect(MIGRATION_TEMPLATE.match(/SET LOCAL lock_timeout = '5s';\nSET LOCAL statement_timeout = '1min';/g)).toHaveLength(2);

    const second = await migrateCreate({ name: 'add_more', migrationsDir: dir, now: new Date(0) });
    expect(second.timestamp).toBe(9999999999992);
    expect((await readdir(dir)).sort()).toEqual([
      '9999999999990_future.sql',
      '9999999999991_add_labels.sql',
      '9999999999992_add_more.sql',
    ]);
  });

  it('uses the current time in an empty folder and validates the name', async () => {
    const dir = await tempMigrationsDir();
    const before = Date.now();
    const file = await migrateCreate({ name: 'init', migrationsDir: dir });
    expect(file.timestamp).toBeGreaterThanOrEqual(before);
    expect(file.name).toMatch(/^\d{13}_init$/);
    await expect(migrateCreate({ name: 'bad name; drop', migrationsDir: dir })).rejects.toThrow(/invalid migration name/);
  });
});
