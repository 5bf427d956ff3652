import { describe, expect, it } from 'vitest';

import type { MigrateStatusResult } from '../../src/commands/migrate.js';
import { useTestDatabase } from '../helpers/db.js';
import { runCli } from '../helpers/cli.js';
import { cleanMigration, tempMigrationsDir } from '../helpers/migrations.js';

describe('agentry CLI (in process)', () => {
  const db = useTestDatabase({ migrated: false });

  it('prints help and exits 0; usage errors exit 2', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--database-url <url>/);
    expect(help.stdout).toMatch(/Exit codes: 0 ok, 1 check or operation failed, 2 usage or connection error/);

    expect((await runCli(['no-such-command'])).code).toBe(2);
    expect((await runCli(['--provider', 'nope', 'demo'])).code).toBe(2);

    const badCount = await runCli(['--database-url', db.adminUrl, 'migrate', 'down', 'zero']);
    expect(badCount.code).toBe(2);
    expect(badCount.stderr).toMatch(/^agentry: invalid count "zero"/);
  });

  it('migrates with --database-url / --database / --migrations-dir and reports as JSON', async () => {
    const dir = await tempMigrationsDir({ '1700000000501_notes.sql': cleanMigration('CREATE TABLE agentry.notes (id bigint);', 'DROP TABLE agentry.notes;') });
    const common = ['--database-url', db.adminUrl, '--database', db.name, '--migrations-dir', dir];

    const pending = await runCli([...common, 'migrate', 'status', '--check']);
    expect(pending.code).toBe(1);
    expect(pending.stdout).toMatch(/pending\s+1700000000501_notes/);
    expect(pending.stderr).toMatch(/^agentry: database "agentry_test_\w+" is not up to date: 0 applied, 1 pending\n$/);

    const up = await runCli([...common, '--json', 'migrate', 'up']);
    expect(up.code).toBe(0);
    expect(JSON.parse(up.stdout)).toMatchObject({ direction: 'up', migrations: [{ name: '1700000000501_notes' }] });

    const status = await runCli([...common, '--json', 'migrate', 'status', '--check']);
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout) as MigrateStatusResult;
    expect(parsed.upToDate).toBe(true);
    expect(parsed.applied.map((m) => m.name)).toEqual(['1700000000501_notes']);

    const down = await runCli([...common, 'migrate', 'down', 'all']);
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(/Reverted 1 migration on .*:\n {2}- 1700000000501_notes\n/);

    const created = await runCli(['--migrations-dir', dir, '--json', 'migrate', 'create', 'add_tags']);
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout).name).toMatch(/^\d{13}_add_tags$/);
  });

  it('exits 2 for a URL and a non-url provider given together, and for an unreachable server without leaking the password', async () => {
    const both = await runCli(['--database-url', db.adminUrl, '--provider', 'embedded', 'migrate', 'status']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/exclude each other/);

    const unreachable = await runCli(['--database-url', 'postgres://me:pa55word-xyz@127.0.0.1:9/postgres', 'migrate', 'status']);
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toMatch(/^agentry: cannot connect to postgres:\/\/me:\*\*\*@127\.0\.0\.1:9\/postgres/);
    expect(unreachable.stderr).not.toContain('pa55word');
    expect(unreachable.stderr.trim().split('\n')).toHaveLength(1);
  });
});
