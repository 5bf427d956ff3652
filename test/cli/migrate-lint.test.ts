import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import type { MigrateRunResult } from '../../src/commands/migrate.js';
import { migrateLint, migrateUp } from '../../src/commands/migrate.js';
import { listMigrationFiles } from '../../src/migrate/files.js';
import type { LintReport } from '../../src/migrate/lint.js';
import { upSectionOnly } from '../../src/migrate/sql.js';
import { repoRoot, runCli } from '../helpers/cli.js';
import { cleanMigration, sqlMigration, tempMigrationsDir } from '../helpers/migrations.js';
import { bookkeeping, emptyDatabase } from './migrate-support.js';

const ITEMS = '1700000002001_items';
const ITEMS_INDEX = '1700000002002_items_label_index';

/** A table, then (in a later migration, so on an existing table) an index built without CONCURRENTLY. */
const badFolder = () =>
  tempMigrationsDir({
    [`${ITEMS}.sql`]: cleanMigration(
      'CREATE TABLE agentry.items (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, label text);\nCREATE INDEX idx_items_id_label ON agentry.items (id, label);',
      'DROP TABLE agentry.items;',
    ),
    [`${ITEMS_INDEX}.sql`]: cleanMigration('CREATE INDEX idx_items_label ON agentry.items (label);', 'DROP INDEX agentry.idx_items_label;'),
  });

describe('agentry migrate lint', () => {
  it('passes on the shipped migrations: every finding there is a reviewed, accepted one, and every accepted entry still matches', async () => {
    const run = await runCli(['--json', 'migrate', 'lint']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as LintReport;
    expect(report.linted).toEqual((await listMigrationFiles(join(repoRoot, 'migrations'))).map((f) => f.name));
    expect(report.findings).toEqual([]);
    expect(report.accepted.length).toBeGreaterThan(0);
    expect(report.unusedAccepted).toEqual([]);
    expect(report.config).toBe(join(repoRoot, '.squawk.toml'));
    expect(report.acceptedFile).toBe(join(repoRoot, '.squawk-accepted.json'));

    const text = await runCli(['migrate', 'lint']);
    expect(text.stdout).toMatch(/^squawk: \d+ migrations linted, 0 problems, \d+ reviewed findings accepted in .*\.squawk-accepted\.json \(config .*\.squawk\.toml\)\n$/);
  });

  it('reports findings as file:line:column rule: message and exits 1; lints only the Up section', async () => {
    const dir = await badFolder();
    const run = await runCli(['--migrations-dir', dir, 'migrate', 'lint']);
    expect(run.code).toBe(1);
    // Line 4: after "-- Up Migration" and the two SET LOCAL lines. The index in
    // the first file is on a table that file creates: no finding there.
    expect(run.stdout).toMatch(
      new RegExp(`^${join(dir, ITEMS_INDEX)}\\.sql:4:1 require-concurrent-index-creation: During normal index creation, table updates are blocked`, 'm'),
    );
    expect(run.stdout).not.toContain(`${ITEMS}.sql:`);
    expect(run.stdout).not.toMatch(/ban-drop-table|DROP/); // the Down sections are not linted
    expect(run.stdout).toMatch(/squawk: 2 migrations linted, 1 problem \(config .*\.squawk\.toml\)\n$/);
    expect(run.stderr).toMatch(/^agentry: squawk found 1 problem \(listed above\)/);

    // Only the named files (a name, a file name or a path).
    expect((await runCli(['--migrations-dir', dir, 'migrate', 'lint', ITEMS])).code).toBe(0);
    expect((await runCli(['--migrations-dir', dir, 'migrate', 'lint', `${ITEMS}.sql`])).code).toBe(0);
    expect((await runCli(['migrate', 'lint', join(dir, `${ITEMS_INDEX}.sql`)])).code).toBe(1);
    const unknown = await runCli(['--migrations-dir', dir, 'migrate', 'lint', 'no_such_migration']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^agentry: no migration file "no_such_migration"/);
  });

  it('an inline squawk-ignore comment acknowledges a reviewed finding; a folder’s own .squawk.toml replaces the repository’s', async () => {
    const dir = await badFolder();
    const path = join(dir, `${ITEMS_INDEX}.sql`);
    const content = await readFile(path, 'utf8');
    await writeFile(
      path,
      content.replace('CREATE INDEX', '-- items is small: a short write block is fine\n-- squawk-ignore require-concurrent-index-creation\nCREATE INDEX'),
    );
    expect((await migrateLint({ migrationsDir: dir })).ok).toBe(true);

    const own = await tempMigrationsDir({ '1700000002101_loose.sql': sqlMigration('CREATE TABLE loose (id int);') });
    expect((await migrateLint({ migrationsDir: own })).findings.map((f) => f.rule)).toEqual(['prefer-bigint-over-int']);
    await writeFile(join(own, '.squawk.toml'), 'assume_in_transaction = true\nexcluded_rules = ["prefer-bigint-over-int"]\n');
    const report = await migrateLint({ migrationsDir: own });
    expect(report.ok).toBe(true);
    expect(report.config).toBe(join(own, '.squawk.toml'));
  });

  it('blanks everything but the Up section, keeping line numbers', () => {
    const content = sqlMigration('SELECT 1;\nSELECT 2;', 'DROP TABLE x;');
    const up = upSectionOnly(content);
    expect(up.split('\n')).toHaveLength(content.split('\n').length);
    expect(up).toContain('SELECT 2;');
    expect(up).not.toContain('Down');
    expect(up).not.toContain('DROP');
  });
});

describe('lint before applying', () => {
  it('a finding blocks up (exit 1, findings on stderr, nothing applied); --no-lint warns and applies', async () => {
    const db = await emptyDatabase();
    const dir = await badFolder();
    const up = await runCli([...db.args(dir), 'migrate', 'up']);
    expect(up.code).toBe(1);
    expect(up.stdout).toBe('');
    const lines = up.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^${join(dir, ITEMS_INDEX)}\\.sql:4:1 require-concurrent-index-creation: `));
    expect(lines[1]).toMatch(
      new RegExp(`^agentry: refusing to migrate .*/${db.name}: squawk found 1 problem in ${ITEMS_INDEX}; fix the migration, acknowledge .*squawk-ignore.*, or pass --no-lint$`),
    );
    // Nothing applied, not even the clean first migration: lint runs before anything.
    expect(await bookkeeping(db)).toEqual([]);

    // --json: the findings as data on stdout.
    const json = await runCli([...db.args(dir), '--json', 'migrate', 'up']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ lint: { ok: false, findings: [{ name: ITEMS_INDEX, line: 4, rule: 'require-concurrent-index-creation' }] } });

    // Applying only the clean one is fine.
    const one = await runCli([...db.args(dir), 'migrate', 'up', '1']);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/Lint: squawk checked 1 migration, no problems\.\n$/);

    const forced = await runCli([...db.args(dir), 'migrate', 'up', '--no-lint']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toBe("agentry: warning: --no-lint: migrations are applied without squawk's checks\n");
    expect(forced.stdout).toMatch(new RegExp(`Applied 1 migration on .*:\\n {2}\\+ ${ITEMS_INDEX}\\n$`));
    expect((await bookkeeping(db)).map((r) => r.name)).toEqual([ITEMS, ITEMS_INDEX]);
  });

  it('redo lints the migration it re-applies; the library lints by default', async () => {
    const db = await emptyDatabase();
    const dir = await badFolder();
    await migrateUp({ databaseUrl: db.url, migrationsDir: dir, lint: false });
    const redo = await runCli([...db.args(dir), 'migrate', 'redo']);
    expect(redo.code).toBe(1);
    expect(redo.stderr).toMatch(/require-concurrent-index-creation/);
    expect((await bookkeeping(db)).map((r) => r.name)).toEqual([ITEMS, ITEMS_INDEX]); // not reverted either
    const noLint = await runCli([...db.args(dir), 'migrate', 'redo', '--no-lint']);
    expect(noLint.code, noLint.stderr).toBe(0);

    const other = await emptyDatabase();
    await expect(migrateUp({ databaseUrl: other.url, migrationsDir: dir })).rejects.toThrow(/squawk found 1 problem/);
    const result: MigrateRunResult = await migrateUp({ databaseUrl: other.url, migrationsDir: dir, count: 1 });
    expect(result.lint).toMatchObject({ ok: true, linted: [ITEMS] });
  });
});
