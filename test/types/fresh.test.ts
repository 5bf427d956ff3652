import { cp, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterAll, describe, expect, inject, it } from 'vitest';

import { checkTypes, type TypesCheckResult, type TypesResult } from '../../src/commands/types.js';
import { GENERATED_HEADER } from '../../src/types/render.js';
import { runCli } from '../helpers/cli.js';
import '../setup/context.js';

const committed = resolve(import.meta.dirname, '..', '..', 'generated');
const temporary: string[] = [];

async function copyOfGenerated(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'agentry-types-test-'));
  temporary.push(dir);
  await cp(committed, dir, { recursive: true });
  return dir;
}

afterAll(async () => {
  await Promise.all(temporary.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('generated/ is fresh', () => {
  it('matches what the migrations generate (else: npm run types, and commit generated/)', async () => {
    const result = await checkTypes({ server: { databaseUrl: inject('agentryAdminUrl') } });
    expect({ differing: result.differing, missing: result.missing, extra: result.extra }).toEqual({ differing: [], missing: [], extra: [] });
    expect(result.fresh).toBe(true);
    expect(result.files).toContain('agentry/Tasks.ts');
  });
});

describe('agentry types', () => {
  it('--check exits 1 and lists differing, missing and extra files when the folder is stale', async () => {
    const dir = await copyOfGenerated();
    await writeFile(join(dir, 'agentry', 'Tasks.ts'), '// edited by hand\n');
    await unlink(join(dir, 'constraints.ts'));
    await writeFile(join(dir, 'agentry', 'Gone.ts'), `${GENERATED_HEADER.join('\n')}\n`);

    const result = await runCli(['--database-url', inject('agentryAdminUrl'), '--json', 'types', '--check', '--out', dir]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as TypesCheckResult;
    expect(report).toMatchObject({ fresh: false, differing: ['agentry/Tasks.ts'], missing: ['constraints.ts'], extra: ['agentry/Gone.ts'] });
    expect(result.stderr).toMatch(/^agentry: .* is stale: run `npm run types`/);
  });

  it('rewrites a stale folder to exactly the generated files, removing generated files the schema no longer has', async () => {
    const dir = await copyOfGenerated();
    await writeFile(join(dir, 'agentry', 'Tasks.ts'), `${GENERATED_HEADER.join('\n')}\n// stale\n`);
    await unlink(join(dir, 'index.ts'));
    await writeFile(join(dir, 'agentry', 'Gone.ts'), `${GENERATED_HEADER.join('\n')}\n`);

    const result = await runCli(['--database-url', inject('agentryAdminUrl'), '--json', 'types', '--out', dir]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as TypesResult;
    expect(report.written).toEqual(['agentry/Tasks.ts', 'index.ts']);
    expect(report.removed).toEqual(['agentry/Gone.ts']);
    for (const file of ['agentry/Tasks.ts', 'index.ts']) {
      expect(await readFile(join(dir, file), 'utf8')).toBe(await readFile(join(committed, file), 'utf8'));
    }
  });

  it('refuses, before any work, to write into a folder holding files it did not generate', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agentry-types-test-'));
    temporary.push(dir);
    await writeFile(join(dir, 'notes.md'), 'mine\n');
    const result = await runCli(['--database-url', 'postgres://nobody@127.0.0.1:9/postgres', 'types', '--out', dir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/refusing to write into .*: it holds files that agentry types did not generate \(notes\.md\)/);
    expect(await readFile(join(dir, 'notes.md'), 'utf8')).toBe('mine\n');
  });

  it('exits 2 when the server cannot be reached', async () => {
    const result = await runCli(['--database-url', 'postgres://me:secret-pw@127.0.0.1:9/postgres', 'types', '--check']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^agentry: cannot connect to postgres:\/\/me:\*\*\*@127\.0\.0\.1:9\/postgres/);
    expect(result.stderr).not.toContain('secret-pw');
  });
});
