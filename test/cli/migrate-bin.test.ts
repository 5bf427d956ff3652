import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import type { MigrateStatusResult } from '../../src/commands/migrate.js';
import { runBin } from '../helpers/cli.js';
import { tempDir } from '../helpers/fs.js';
import { cleanMigration, tempMigrationsDir } from '../helpers/migrations.js';
import { bookkeeping, emptyDatabase } from './migrate-support.js';

// The real binary (node bin/agentry.js, the built dist/) in a subprocess, with
// DATABASE_URL in the environment as a user would set it.

const FIRST = '1700000004001_bin_first';
const SECOND = '1700000004002_bin_second';

describe('agentry migrate as a subprocess', () => {
  it('up, status, then a tampered file: status shows it and up refuses with exit 1, naming it', async () => {
    const db = await emptyDatabase();
    const cwd = await tempDir('agentry-bin-');
    const dir = await tempMigrationsDir({
      [`${FIRST}.sql`]: cleanMigration('CREATE TABLE agentry.bin_first (id bigint PRIMARY KEY);', 'DROP TABLE agentry.bin_first;'),
      [`${SECOND}.sql`]: cleanMigration('CREATE TABLE agentry.bin_second (id bigint PRIMARY KEY);', 'DROP TABLE agentry.bin_second;'),
    });
    const env = { DATABASE_URL: db.adminUrl, AGENTRY_DATABASE: db.name, AGENTRY_MIGRATIONS_DIR: dir };

    const up = await runBin(['migrate', 'up', '1'], { cwd, env });
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expect(up.stdout).toMatch(new RegExp(`^Applied 1 migration on postgres://.*/${db.name}:\\n {2}\\+ ${FIRST}\\nLint: squawk checked 1 migration, no problems\\.\\n$`));

    const status = await runBin(['--json', 'migrate', 'status'], { cwd, env });
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout) as MigrateStatusResult;
    expect(parsed.applied.map((m) => m.name)).toEqual([FIRST]);
    expect(parsed.pending.map((m) => m.name)).toEqual([SECOND]);
    expect(parsed).toMatchObject({ ledger: true, tampered: [], unrecorded: [], upToDate: false });

    await appendFile(join(dir, `${FIRST}.sql`), 'CREATE INDEX sneaky ON agentry.bin_first (id);\n');
    const tampered = await runBin(['migrate', 'status', '--check'], { cwd, env });
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toMatch(new RegExp(`${FIRST} {2}\\(TAMPERED: edited since applied, checksum differs\\)`));
    expect(tampered.stderr).toMatch(/^agentry: database "agentry_test_\w+" is not up to date: 1 applied, 1 pending, 1 edited since applied\n$/);

    const refused = await runBin(['migrate', 'up'], { cwd, env });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      new RegExp(`^agentry: refusing to migrate postgres://.*/${db.name}: ${FIRST}\\.sql was edited after it was applied; .*agentry migrate ledger --accept ${FIRST}\`\\n$`),
    );
    expect((await bookkeeping(db)).map((r) => r.name)).toEqual([FIRST]);

    const accepted = await runBin(['migrate', 'ledger', '--accept', FIRST], { cwd, env });
    expect(accepted.code, accepted.stderr).toBe(0);
    const rest = await runBin(['migrate', 'up'], { cwd, env });
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.stdout).toContain(`+ ${SECOND}`);
  });

  it('exits 2 on a connection error without printing the password', async () => {
    const cwd = await tempDir('agentry-bin-');
    const run = await runBin(['migrate', 'up'], { cwd, env: { DATABASE_URL: 'postgres://me:pa55-word-xyz@127.0.0.1:9/postgres' } });
    expect(run.code).toBe(2);
    expect(run.stderr).not.toContain('pa55-word-xyz');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});
