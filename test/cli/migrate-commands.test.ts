import { readFile } from 'node:fs/promises';

import pg from 'pg';
import { describe, expect, it } from 'vitest';

import type { MigrateRunResult, MigrateStatusResult } from '../../src/commands/migrate.js';
import { migrateUp } from '../../src/commands/migrate.js';
import { redactUrl } from '../../src/db/url.js';
import { MIGRATION_TEMPLATE } from '../../src/migrate/files.js';
import { runCli } from '../helpers/cli.js';
import { addMigrations, cleanMigration, tempMigrationsDir } from '../helpers/migrations.js';
import { bookkeeping, emptyDatabase, schemaExists, type EmptyDatabase } from './migrate-support.js';

const ONE = '1700000003001_one';
const TWO = '1700000003002_two';
const THREE = '1700000003003_three';

const folder = () =>
  tempMigrationsDir({
    [`${ONE}.sql`]: cleanMigration('CREATE TABLE agentry.one (id bigint PRIMARY KEY);', 'DROP TABLE agentry.one;'),
    [`${TWO}.sql`]: cleanMigration('CREATE TABLE agentry.two (id bigint PRIMARY KEY);', 'DROP TABLE agentry.two;'),
    [`${THREE}.sql`]: cleanMigration('CREATE TABLE agentry.three (id bigint PRIMARY KEY);', 'DROP TABLE agentry.three;'),
  });

async function tables(db: EmptyDatabase): Promise<string[]> {
  return (
    await db.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'agentry' AND tablename !~ '^pgmigrations' ORDER BY 1`)
  ).map((r) => r.t);
}

describe('agentry migrate up / down / redo / status / create (in process)', () => {
  it('up [n], down [n|all], redo and status', async () => {
    const db = await emptyDatabase();
    const dir = await folder();
    const cli = (...args: string[]) => runCli([...db.args(dir), 'migrate', ...args]);

    const status0 = await cli('status');
    expect(status0.stdout).toMatch(/0 applied, 3 pending\n$/);

    const up1 = await cli('up', '1');
    expect(up1.code, up1.stderr).toBe(0);
    expect(up1.stdout).toBe(
      `Applied 1 migration on ${redactUrl(db.url)}:\n  + ${ONE}\nLint: squawk checked 1 migration, no problems.\n`,
    );
    const up = await cli('up');
    expect(up.stdout).toMatch(new RegExp(`Applied 2 migrations on .*:\\n {2}\\+ ${TWO}\\n {2}\\+ ${THREE}\\n`));
    expect(await tables(db)).toEqual(['one', 'three', 'two']);
    expect((await cli('up')).stdout).toMatch(/^Nothing to migrate: .* is up to date\.\n$/);

    const status = await cli('status', '--check');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`applied  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ  ${THREE}\\n3 applied, 0 pending \\(up to date\\)\\n$`));

    // redo: down 1 then up 1 of the newest, under one lock; the ledger row is written again.
    const before = await db.query<{ recorded_at: Date }>(`SELECT recorded_at FROM agentry.pgmigrations_checksums WHERE name = $1`, [THREE]);
    const redo = await cli('--json', 'redo');
    expect(redo.code, redo.stderr).toBe(0);
    const redone = JSON.parse(redo.stdout) as MigrateRunResult;
    expect(redone).toMatchObject({ direction: 'redo', dryRun: false });
    expect(redone.migrations.map((m) => [m.direction, m.name])).toEqual([
      ['down', THREE],
      ['up', THREE],
    ]);
    const after = await db.query<{ recorded_at: Date }>(`SELECT recorded_at FROM agentry.pgmigrations_checksums WHERE name = $1`, [THREE]);
    expect(after[0]!.recorded_at.getTime()).toBeGreaterThan(before[0]!.recorded_at.getTime());
    expect((await cli('redo')).stdout).toMatch(new RegExp(`^Redid ${THREE} on .*:\\n {2}- ${THREE}\\n {2}\\+ ${THREE}\\n`));

    const down = await cli('down');
    expect(down.stdout).toMatch(new RegExp(`^Reverted 1 migration on .*:\\n {2}- ${THREE}\\n$`));
    const downAll = await cli('down', 'all');
    expect(downAll.stdout).toMatch(new RegExp(`^Reverted 2 migrations on .*:\\n {2}- ${TWO}\\n {2}- ${ONE}\\n$`));
    expect(await bookkeeping(db)).toEqual([]);
    expect((await cli('down')).stdout).toMatch(/^Nothing to revert on /);
    expect((await cli('redo')).stdout).toMatch(/^Nothing to revert on /);
    expect((await cli('down', '0')).code).toBe(2);
  });

  it('redo of the newest migration after editing it re-applies the edited file; any other edit still blocks it', async () => {
    const db = await emptyDatabase();
    const dir = await folder();
    await migrateUp({ databaseUrl: db.url, migrationsDir: dir });
    await addMigrations(dir, {
      [`${THREE}.sql`]: cleanMigration('CREATE TABLE agentry.three (id bigint PRIMARY KEY, note text);', 'DROP TABLE agentry.three;'),
    });
    const redo = await runCli([...db.args(dir), 'migrate', 'redo']);
    expect(redo.code, redo.stderr).toBe(0);
    expect(redo.stderr).toBe(`agentry: warning: ${THREE}.sql changed since it was applied; reverting it runs the Down section of the current file\n`);
    expect(await db.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'three' ORDER BY 1`)).toEqual([
      { column_name: 'id' },
      { column_name: 'note' },
    ]);
    expect((await runCli([...db.args(dir), 'migrate', 'status', '--check'])).code).toBe(0);

    await addMigrations(dir, { [`${ONE}.sql`]: cleanMigration('CREATE TABLE agentry.one (id bigint PRIMARY KEY, x text);', 'DROP TABLE agentry.one;') });
    const blocked = await runCli([...db.args(dir), 'migrate', 'redo']);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toMatch(new RegExp(`^agentry: refusing to redo on .*: ${ONE}\\.sql was edited after it was applied`));
  });

  it('refuses a migration that sorts before an applied one (exit 1)', async () => {
    const db = await emptyDatabase();
    const dir = await tempMigrationsDir({ [`${TWO}.sql`]: cleanMigration('SELECT 2;') });
    await migrateUp({ databaseUrl: db.url, migrationsDir: dir });
    await addMigrations(dir, { [`${ONE}.sql`]: cleanMigration('SELECT 1;') });
    const up = await runCli([...db.args(dir), 'migrate', 'up']);
    expect(up.code).toBe(1);
    expect(up.stderr).toMatch(new RegExp(`^agentry: refusing to migrate .*: ${ONE} sorts before the applied migration ${TWO}`));
  });

  it('create writes the template with both sections and their timeouts, and it lints clean', async () => {
    const dir = await tempMigrationsDir();
    const created = await runCli(['--migrations-dir', dir, '--json', 'migrate', 'create', 'add_labels']);
    expect(created.code).toBe(0);
    const file = JSON.parse(created.stdout) as { name: string; path: string };
    expect(file.name).toMatch(/^\d{13}_add_labels$/);
    const content = await readFile(file.path, 'utf8');
    expect(content).toBe(MIGRATION_TEMPLATE);
    expect(content).toMatch(/^-- Up Migration\nSET LOCAL lock_timeout = '5s';\nSET LOCAL statement_timeout = '1min';\n\n-- Down Migration\n/);
    expect((await runCli(['--migrations-dir', dir, 'migrate', 'lint'])).code).toBe(0);
    const bad = await runCli(['--migrations-dir', dir, 'migrate', 'create', 'no spaces']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^agentry: invalid migration name "no spaces"/);
  });
});

describe('--dry-run', () => {
  it('up --dry-run prints the files and their SQL and touches nothing, not even the schema or the ledger', async () => {
    const db = await emptyDatabase();
    const dir = await folder();
    const run = await runCli([...db.args(dir), 'migrate', 'up', '2', '--dry-run']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`Dry run: would apply 2 migrations on `);
    expect(run.stdout).toContain(`(nothing was changed):\n\n-- + ${ONE}.sql (up): ${dir}/${ONE}.sql\n-- Up Migration\nSET LOCAL lock_timeout = '5s';`);
    expect(run.stdout).toContain('CREATE TABLE agentry.one (id bigint PRIMARY KEY);');
    expect(run.stdout).toContain(`-- + ${TWO}.sql (up)`);
    expect(run.stdout).not.toContain(THREE);
    expect(run.stdout).not.toContain('DROP TABLE');
    expect(run.stdout).toMatch(/Lint: squawk checked 2 migrations, no problems\.\n$/);
    expect(await schemaExists(db)).toBe(false);

    const json = JSON.parse((await runCli([...db.args(dir), '--json', 'migrate', 'up', '--dry-run'])).stdout) as MigrateRunResult;
    expect(json.dryRun).toBe(true);
    expect(json.migrations.map((m) => m.name)).toEqual([ONE, TWO, THREE]);
    expect(json.migrations[0]!.sql).toMatch(/^-- Up Migration\n[\s\S]*CREATE TABLE agentry\.one/);
    expect(await schemaExists(db)).toBe(false);
  });

  it('down and redo --dry-run print the Down (and Up) SQL and leave pgmigrations, the ledger and the tables as they were', async () => {
    const db = await emptyDatabase();
    const dir = await folder();
    await migrateUp({ databaseUrl: db.url, migrationsDir: dir });
    const snapshot = async () => ({
      bookkeeping: await bookkeeping(db),
      ledger: await db.query('SELECT * FROM agentry.pgmigrations_checksums ORDER BY name'),
      tables: await tables(db),
    });
    const before = await snapshot();

    const down = await runCli([...db.args(dir), 'migrate', 'down', '2', '--dry-run']);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toMatch(new RegExp(`^Dry run: would revert 2 migrations on .*\\n\\n-- - ${THREE}\\.sql \\(down\\): .*\\n-- Down Migration\\n`));
    expect(down.stdout.indexOf(`-- - ${THREE}.sql`)).toBeLessThan(down.stdout.indexOf(`-- - ${TWO}.sql`));
    expect(down.stdout).toContain('DROP TABLE agentry.three;');
    expect(down.stdout).not.toContain('CREATE TABLE');

    const redo = await runCli([...db.args(dir), 'migrate', 'redo', '--dry-run']);
    expect(redo.code, redo.stderr).toBe(0);
    expect(redo.stdout).toMatch(/^Dry run: would revert and re-apply 1 migration on /);
    expect(redo.stdout.indexOf(`-- - ${THREE}.sql (down)`)).toBeLessThan(redo.stdout.indexOf(`-- + ${THREE}.sql (up)`));

    expect(await snapshot()).toEqual(before);
  });

  it('on a database migrated before the ledger, a dry run says a real run would backfill, and creates nothing', async () => {
    const db = await emptyDatabase();
    const dir = await folder();
    await migrateUp({ databaseUrl: db.url, migrationsDir: dir, count: 1 });
    await db.query('DROP TABLE agentry.pgmigrations_checksums');
    const run = await runCli([...db.args(dir), 'migrate', 'up', '--dry-run']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('agentry: a real run would first record the checksums of 1 applied migration(s) that have none (backfill)\n');
    expect(await db.query(`SELECT to_regclass('agentry.pgmigrations_checksums')::text AS t`)).toEqual([{ t: null }]);
  });
});

describe('the migration lock', () => {
  const holdLock = async (db: EmptyDatabase): Promise<pg.Client> => {
    const holder = new pg.Client({ connectionString: db.url, application_name: 'agentry migrate' });
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock(7241865325823964)');
    return holder;
  };

  it('--no-lock-wait fails at once with exit 1, naming the database and the holder', async () => {
    const db = await emptyDatabase();
    const dir = await folder();
    const holder = await holdLock(db);
    try {
      const started = Date.now();
      const run = await runCli([...db.args(dir), 'migrate', 'up', '--no-lock-wait']);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(
        new RegExp(`^agentry: another agentry migrate is running on postgres://.*/${db.name} \\(server process \\d+, "agentry migrate"\\) \\(--no-lock-wait: not waiting\\); retry when it has finished\\n$`),
      );
      const timed = await runCli([...db.args(dir), 'migrate', 'down', '--lock-wait', '0.5']);
      expect(timed.code).toBe(1);
      expect(timed.stderr).toMatch(/^agentry: another agentry migrate is running on .*; waiting up to 0\.5s for it to finish\n/);
      expect(timed.stderr).toMatch(/gave up after waiting 0\.5s \(--lock-wait <seconds> waits longer\); retry when it has finished\n$/);
      expect((await runCli([...db.args(dir), 'migrate', 'up', '--lock-wait', 'soon'])).code).toBe(2);
    } finally {
      await holder.end();
    }
    expect(await bookkeeping(db)).toEqual([]);
  });

  it('by default waits for the other run, saying so, then migrates', async () => {
    const db = await emptyDatabase();
    const dir = await folder();
    const holder = await holdLock(db);
    const run = runCli([...db.args(dir), 'migrate', 'up']);
    await new Promise((resolve) => setTimeout(resolve, 700));
    await holder.end();
    const result = await run;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^agentry: another agentry migrate is running on .* \(server process \d+, "agentry migrate"\); waiting up to 60s for it to finish\n$/);
    expect((await bookkeeping(db)).map((r) => r.name)).toEqual([ONE, TWO, THREE]);
    const status = JSON.parse((await runCli([...db.args(dir), '--json', 'migrate', 'status'])).stdout) as MigrateStatusResult;
    expect(status.upToDate).toBe(true);
  });
});
