import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { runner } from 'node-pg-migrate';
import { describe, expect, it } from 'vitest';

import type { MigrateLedgerResult, MigrateRunResult, MigrateStatusResult } from '../../src/commands/migrate.js';
import { migrateDown, migrateUp } from '../../src/commands/migrate.js';
import { redactUrl } from '../../src/db/url.js';
import { checkMigrationLedger } from '../../src/migrate/ledger.js';
import { runCli } from '../helpers/cli.js';
import { cleanMigration, tempMigrationsDir } from '../helpers/migrations.js';
import { bookkeeping, emptyDatabase } from './migrate-support.js';

const A = '1700000001001_ledger_a';
const B = '1700000001002_ledger_b';
const C = '1700000001003_ledger_c';

const files = () => ({
  [`${A}.sql`]: cleanMigration('CREATE TABLE agentry.ledger_a (id bigint PRIMARY KEY);', 'DROP TABLE agentry.ledger_a;'),
  [`${B}.sql`]: cleanMigration('CREATE TABLE agentry.ledger_b (id bigint PRIMARY KEY);', 'DROP TABLE agentry.ledger_b;'),
  [`${C}.sql`]: cleanMigration('CREATE TABLE agentry.ledger_c (id bigint PRIMARY KEY);', 'DROP TABLE agentry.ledger_c;'),
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('the checksum ledger (agentry.pgmigrations_checksums)', () => {
  it('records the SHA-256 of each applied file in its migration, and forgets it on down', async () => {
    const db = await emptyDatabase();
    const dir = await tempMigrationsDir(files());
    const up = await runCli([...db.args(dir), 'migrate', 'up', '2']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toBe('');
    expect(await bookkeeping(db)).toEqual([
      { name: A, sha256: sha256(files()[`${A}.sql`]), source: 'up' },
      { name: B, sha256: sha256(files()[`${B}.sql`]), source: 'up' },
    ]);
    const [row] = await db.query<{ applied_at: Date; run_on: Date }>(
      `SELECT c.applied_at, m.run_on FROM agentry.pgmigrations_checksums c JOIN agentry.pgmigrations m USING (name) WHERE name = $1`,
      [A],
    );
    expect(row!.applied_at).toBeInstanceOf(Date);

    expect((await runCli([...db.args(dir), 'migrate', 'down'])).code).toBe(0);
    expect((await bookkeeping(db)).map((r) => r.name)).toEqual([A]);
    expect(await db.query(`SELECT name FROM agentry.pgmigrations_checksums`)).toEqual([{ name: A }]);
  });

  it('writes the ledger row in the migration’s own transaction: when the row cannot be written, the migration rolls back with it', async () => {
    const db = await emptyDatabase();
    const dir = await tempMigrationsDir(files());
    await migrateUp({ databaseUrl: db.url, migrationsDir: dir, count: 1 });
    // Sabotage the ledger: the next migration's ledger INSERT fails after its own SQL ran.
    await db.query(`CREATE FUNCTION agentry.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'ledger refused'; END $$`);
    await db.query(`CREATE TRIGGER refuse BEFORE INSERT ON agentry.pgmigrations_checksums FOR EACH ROW EXECUTE FUNCTION agentry.refuse()`);

    const up = await runCli([...db.args(dir), 'migrate', 'up', '1']);
    expect(up.code).toBe(1);
    expect(up.stderr).toMatch(new RegExp(`^agentry: migration ${B} \\(up\\) failed: ledger refused`));
    // Neither the migration's table, nor its pgmigrations row, nor a ledger row.
    expect(await db.query(`SELECT to_regclass('agentry.ledger_b')::text AS t`)).toEqual([{ t: null }]);
    expect((await bookkeeping(db)).map((r) => r.name)).toEqual([A]);
    await db.query(`DROP TRIGGER refuse ON agentry.pgmigrations_checksums`);
  });

  it('an edited applied migration: status shows it tampered, up and ledger refuse naming it (exit 1), --accept re-records it', async () => {
    const db = await emptyDatabase();
    const dir = await tempMigrationsDir(files());
    await migrateUp({ databaseUrl: db.url, migrationsDir: dir, count: 2 });
    const path = join(dir, `${A}.sql`);
    const edited = `${await readFile(path, 'utf8')}-- an innocent-looking edit\n`;
    await writeFile(path, edited);

    const status = await runCli([...db.args(dir), 'migrate', 'status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`applied .* ${A} {2}\\(TAMPERED: edited since applied, checksum differs\\)`));
    expect(status.stdout).toMatch(/2 applied, 1 pending, 1 edited since applied\n/);
    expect(status.stdout).toContain(`agentry migrate ledger --accept ${A}`);

    const json = JSON.parse((await runCli([...db.args(dir), '--json', 'migrate', 'status'])).stdout) as MigrateStatusResult;
    expect(json.upToDate).toBe(false);
    expect(json.tampered).toEqual([
      expect.objectContaining({ name: A, kind: 'edited', path, recordedSha256: sha256(files()[`${A}.sql`]), actualSha256: sha256(edited) }),
    ]);
    expect((await runCli([...db.args(dir), 'migrate', 'status', '--check'])).code).toBe(1);

    const up = await runCli([...db.args(dir), 'migrate', 'up']);
    expect(up.code).toBe(1);
    expect(up.stdout).toBe('');
    expect(up.stderr).toBe(
      `agentry: refusing to migrate ${redactUrl(db.url)}: ${A}.sql was edited after it was applied; restore the file (e.g. from version control), or after reviewing the change run \`agentry migrate ledger --accept ${A}\`\n`,
    );
    expect((await bookkeeping(db)).map((r) => r.name)).toEqual([A, B]); // C not applied

    const check = await runCli([...db.args(dir), 'migrate', 'ledger']);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(new RegExp(`edited +${A} +recorded ${sha256(files()[`${A}.sql`])}, file now ${sha256(edited)}`));
    expect(check.stderr).toMatch(new RegExp(`^agentry: the ledger does not match the files: ${A};`));
    // The library function verify uses says the same.
    const lib = await checkMigrationLedger(db.url, dir);
    expect(lib).toMatchObject({ ok: false, ledger: true, applied: 2, unrecorded: [], tampered: [{ name: A, kind: 'edited' }] });

    const accept = await runCli([...db.args(dir), '--json', 'migrate', 'ledger', '--accept', `${A}.sql`]);
    expect(accept.code, accept.stderr).toBe(0);
    const accepted = JSON.parse(accept.stdout) as MigrateLedgerResult;
    expect(accepted.accepted).toEqual([{ name: A, sha256: sha256(edited), previousSha256: sha256(files()[`${A}.sql`]) }]);
    expect(accepted.ok).toBe(true);
    expect((await bookkeeping(db))[0]).toEqual({ name: A, sha256: sha256(edited), source: 'accept' });

    const upAgain = await runCli([...db.args(dir), 'migrate', 'up']);
    expect(upAgain.code, upAgain.stderr).toBe(0);
    expect(upAgain.stdout).toMatch(new RegExp(`Applied 1 migration on .*:\\n {2}\\+ ${C}\\n`));
    expect((await runCli([...db.args(dir), 'migrate', 'status', '--check'])).code).toBe(0);
  });

  it('a removed applied migration: status shows it missing, up refuses naming it, accept cannot help, restoring the file does', async () => {
    const db = await emptyDatabase();
    const dir = await tempMigrationsDir(files());
    await migrateUp({ databaseUrl: db.url, migrationsDir: dir, count: 2 });
    const path = join(dir, `${B}.sql`);
    const content = await readFile(path, 'utf8');
    await rm(path);

    const status = await runCli([...db.args(dir), '--json', 'migrate', 'status']);
    const parsed = JSON.parse(status.stdout) as MigrateStatusResult;
    expect(parsed.missing).toEqual([B]);
    expect(parsed.tampered).toEqual([expect.objectContaining({ name: B, kind: 'missing', path: null, actualSha256: null })]);
    expect((await runCli([...db.args(dir), 'migrate', 'status'])).stdout).toMatch(new RegExp(`${B} {2}\\(TAMPERED: file missing\\)`));

    const up = await runCli([...db.args(dir), 'migrate', 'up']);
    expect(up.code).toBe(1);
    expect(up.stderr).toMatch(new RegExp(`^agentry: refusing to migrate .*: ${B}\\.sql was applied but its file is missing; restore the file \\(e\\.g\\. from version control\\)\\n$`));

    const down = await runCli([...db.args(dir), 'migrate', 'down']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(new RegExp(`^agentry: refusing to revert on .*: ${B}\\.sql was applied but its file is missing`));

    const accept = await runCli([...db.args(dir), 'migrate', 'ledger', '--accept', B]);
    expect(accept.code).toBe(1);
    expect(accept.stderr).toMatch(new RegExp(`^agentry: migration ${B} is applied but its file is missing: restore ${B}\\.sql`));
    const notApplied = await runCli([...db.args(dir), 'migrate', 'ledger', '--accept', C]);
    expect(notApplied.code).toBe(2);
    expect(notApplied.stderr).toMatch(/is not applied/);

    await writeFile(path, content);
    expect((await runCli([...db.args(dir), 'migrate', 'up'])).code).toBe(0);
    expect((await checkMigrationLedger(db.url, dir)).ok).toBe(true);
  });

  it('backfills the checksums of a database migrated before the ledger existed, and says so', async () => {
    const db = await emptyDatabase();
    const dir = await tempMigrationsDir(files());
    // What earlier Agentry versions did: node-pg-migrate alone, no ledger.
    await runner({
      databaseUrl: db.url,
      dir,
      direction: 'up',
      count: 2,
      schema: 'agentry',
      migrationsSchema: 'agentry',
      createMigrationsSchema: true,
      migrationsTable: 'pgmigrations',
      singleTransaction: false,
      log: () => undefined,
    });
    expect(await bookkeeping(db)).toEqual([
      { name: A, sha256: null, source: null },
      { name: B, sha256: null, source: null },
    ]);

    const status = await runCli([...db.args(dir), '--json', 'migrate', 'status']);
    expect(JSON.parse(status.stdout)).toMatchObject({ ledger: false, unrecorded: [A, B], tampered: [] });
    expect((await runCli([...db.args(dir), 'migrate', 'status'])).stdout).toContain(`${A}  (no checksum yet: recorded by the next migrate up)`);
    const lib = await checkMigrationLedger(db.url, dir);
    expect(lib).toMatchObject({ ok: true, ledger: false, unrecorded: [A, B] });
    // status and the check wrote nothing.
    expect(await db.query(`SELECT to_regclass('agentry.pgmigrations_checksums')::text AS t`)).toEqual([{ t: null }]);

    const up = await runCli([...db.args(dir), '--json', 'migrate', 'up']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toBe(
      'agentry: recorded the checksums of 2 migrations applied before the checksum ledger existed (backfill): their current files are taken as what was applied\n',
    );
    const result = JSON.parse(up.stdout) as MigrateRunResult;
    expect(result.backfilled).toEqual([A, B]);
    expect(result.migrations.map((m) => m.name)).toEqual([C]);
    expect(await bookkeeping(db)).toEqual([
      { name: A, sha256: sha256(files()[`${A}.sql`]), source: 'backfill' },
      { name: B, sha256: sha256(files()[`${B}.sql`]), source: 'backfill' },
      { name: C, sha256: sha256(files()[`${C}.sql`]), source: 'up' },
    ]);
    // The next run has nothing left to backfill.
    const again = await runCli([...db.args(dir), 'migrate', 'up']);
    expect(again.stderr).toBe('');
    expect(again.stdout).toMatch(/^Nothing to migrate/);
  });

  it('a down run by another tool leaves a stale ledger row, which the next run drops', async () => {
    const db = await emptyDatabase();
    const dir = await tempMigrationsDir(files());
    await migrateUp({ databaseUrl: db.url, migrationsDir: dir, count: 1 });
    await db.query(`DELETE FROM agentry.pgmigrations WHERE name = $1`, [A]);
    await db.query(`DROP TABLE agentry.ledger_a`);
    const notices: string[] = [];
    await migrateUp({ databaseUrl: db.url, migrationsDir: dir, count: 1, onNotice: (m) => notices.push(m) });
    expect(notices).toEqual([`dropped ledger rows of migrations no longer applied (reverted by another tool): ${A}`]);
    expect(await bookkeeping(db)).toEqual([{ name: A, sha256: sha256(files()[`${A}.sql`]), source: 'up' }]);
    await migrateDown({ databaseUrl: db.url, migrationsDir: dir });
  });
});
