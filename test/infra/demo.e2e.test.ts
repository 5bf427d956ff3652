import { stat } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import type { DemoResult } from '../../src/commands/demo.js';
import { runBin } from '../helpers/cli.js';
import { tempDir } from '../helpers/fs.js';

describe('agentry demo, end to end as a subprocess', () => {
  it('runs on the embedded default: creates, migrates, reports, stops; a second run is a warm no-op', async () => {
    const project = await tempDir('agentry-demo-');

    const first = await runBin(['demo', '--json'], { cwd: project, timeoutMs: 120_000 });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const result = JSON.parse(first.stdout) as DemoResult;
    expect(result.provider).toBe('embedded');
    expect(result.database).toBe('agentry');
    expect(result.databaseCreated).toBe(true);
    expect(result.status.upToDate).toBe(true);
    expect(result.status.pending).toEqual([]);
    expect(result.applied.map((m) => m.name)).toEqual(result.status.applied.map((m) => m.name));
    expect(result.serverStopped).toBe(true);
    // The demo data, verify's rules and the plans of every named query.
    expect(result.ok).toBe(true);
    expect(result.checks?.seed.demo?.rows['tasks']).toBe(10_000);
    expect(result.checks?.verify).toMatchObject({ ok: true, failed: 0 });
    expect(result.checks?.plan).toMatchObject({ ok: true, failed: 0 });
    expect(result.checks?.plan.results.length).toBeGreaterThan(50);
    // Data under the project's .agentry/, and the server really stopped.
    const dataDir = join(project, '.agentry', `pg-${result.serverVersion.split('.')[0]}`);
    expect((await stat(join(dataDir, 'PG_VERSION'))).isFile()).toBe(true);
    expect(await stat(join(dataDir, 'postmaster.pid')).catch(() => null)).toBeNull();
    expect(first.stdout).not.toMatch(/postgres:\/\/[^@\s]*:[^*@\s]+@/);

    const second = await runBin(['demo'], { cwd: project, timeoutMs: 120_000 });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/Database: agentry \(already there\)/);
    expect(second.stdout).toMatch(/Migrate: {2}nothing to apply/);
    expect(second.stdout).toMatch(/up to date/);
    expect(second.stdout).toMatch(/Seed: {5}unchanged [0-9,]+ demo rows/);
    expect(second.stdout).toMatch(/Verify: {3}15 rules pass, 0 fail/);
    expect(second.stdout).toMatch(/Plan: {5}(\d+) of \1 queries show the plan their header asks for/);
    expect(second.stdout).toMatch(/Stopped the embedded server\./);
  }, 300_000);

  it('exits 2 with one line and no password when the server is unreachable', async () => {
    const project = await tempDir('agentry-demo-bad-');
    const run = await runBin(['demo'], {
      cwd: project,
      env: { DATABASE_URL: 'postgres://agentry:hunter2-secret@127.0.0.1:9/postgres' },
    });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^agentry: cannot connect to postgres:\/\/agentry:\*\*\*@127\.0\.0\.1:9\/postgres: [^\n]+\n$/);
    expect(run.stderr).not.toContain('hunter2');
  });
});
