import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { readContexts, taggedContext } from '../../src/docs/contexts.js';
import { GENERATED_MARKER } from '../../src/docs/render.js';
import { defaultMigrationsDir } from '../../src/migrate/config.js';
import { repoRoot, runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { tempDir } from '../helpers/fs.js';

// `agentry docs`: docs/schema.md is docs/schema.intro.md verbatim followed by
// the reference generated from the schema. The committed file must be what
// the migrations at head generate (the CI check), and generation is
// deterministic.

const db = useTestDatabase();
const committed = join(repoRoot, 'docs', 'schema.md');
const intro = join(repoRoot, 'docs', 'schema.intro.md');

const live = (...args: string[]) => runCli(['--database-url', db.adminUrl, '--database', db.name, 'docs', '--from', 'live', '--intro', intro, ...args]);

describe('agentry docs --check (CI)', () => {
  it('the committed docs/schema.md is what the migrations at head generate', async () => {
    // What CI runs: the default output (docs/schema.md of the package) against a scratch database.
    const run = await runCli(['--database-url', db.adminUrl, 'docs', '--check']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/schema\.md is up to date \(checked against the scratch database migrated to head\)\.\n$/);
  });

  it('exits 1 on a stale file, naming the first line that differs and what to do', async () => {
    const dir = await tempDir('agentry-docs-');
    const stale = join(dir, 'schema.md');
    const text = await readFile(committed, 'utf8');
    await writeFile(stale, text.replace('| `pk_agent_types` | primary key |', '| `pk_agent_types` | primary  key |'));
    const run = await live('--check', '--output', stale);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/differs from line \d+:\n {2}expected: \| `pk_agent_types` \| primary key \|.*\n {2}found: {4}\| `pk_agent_types` \| primary {2}key \|/);
    expect(run.stderr).toBe(`agentry: ${stale} is stale: run \`agentry docs\` and commit it\n`);
    const missing = await live('--check', '--output', join(dir, 'none.md'));
    expect(missing.code).toBe(1);
  });
});

describe('agentry docs', () => {
  it('writes the introduction verbatim, then the generated reference; twice the same bytes', async () => {
    const dir = await tempDir('agentry-docs-');
    const first = join(dir, 'a.md');
    const second = join(dir, 'b.md');
    const run = await live('--output', first);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`Wrote ${first} (from the ${db.adminUrl.replace(/\/[^/]*$/, `/${db.name}`)}).\n`);
    expect((await live('--output', second)).code).toBe(0);
    const text = await readFile(first, 'utf8');
    expect(await readFile(second, 'utf8')).toBe(text);
    // A clone of the template is the migrations at head: the same document as the committed one.
    expect(text).toBe(await readFile(committed, 'utf8'));

    const introText = await readFile(intro, 'utf8');
    expect(text.startsWith(introText)).toBe(true);
    expect(text.slice(introText.length)).toMatch(new RegExp(`^\\n${GENERATED_MARKER.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n\\n## Reference \\(generated\\)\\n`));
    // One section per context, in migration order, each with its diagram.
    const contexts = [...text.matchAll(/^### Context: (\w+)$/gm)].map((m) => m[1]);
    expect(contexts).toEqual(['catalog', 'access', 'fleet', 'work', 'review', 'telemetry', 'knowledge', 'integration']);
    expect(text.match(/^```mermaid\nerDiagram$/gm)).toHaveLength(contexts.length + 1);
    // Tables: columns, constraints, indexes; months never appear.
    expect(text).toContain('| `status` | `agentry.task_status` | not null | `' + "'pending'::character varying" + '` |');
    expect(text).toContain("| `chk_user_sessions_status` | check (vocabulary) | `status IN ('active', 'expired', 'revoked')` |");
    expect(text).toContain('Partitioned by `RANGE (created_at)`; partitions `audit_logs_default`, `audit_logs_yYYYYmMM` (one per month).');
    expect(text).toContain('  users ||--o{ user_sessions : "user_id"');
    expect(text).toContain('  knowledge_entries |o--o| knowledge_entries : "previous_version_id"');
    expect(text).not.toMatch(/_y\d{4}m\d{2}/);
  });

  it('places a table by the migration that creates it, by an @context tag, or under "other"', async () => {
    await db.pool.query(`CREATE TABLE agentry.hand_made (id int CONSTRAINT pk_hand_made PRIMARY KEY, user_id uuid REFERENCES agentry.users (id))`);
    await db.pool.query(`CREATE TABLE agentry.tagged (id int PRIMARY KEY)`);
    await db.pool.query(`COMMENT ON TABLE agentry.tagged IS 'Belongs with the knowledge tables. @context knowledge'`);
    try {
      const dir = await tempDir('agentry-docs-');
      const out = join(dir, 'schema.md');
      expect((await live('--output', out)).code).toBe(0);
      const text = await readFile(out, 'utf8');
      const section = (name: string) => text.slice(text.indexOf(`### Context: ${name}\n`)).split(/\n### Context: /)[0]!;
      expect(section('other')).toContain('#### Table `hand_made`');
      expect(section('other')).toContain('  users |o--o{ hand_made : "user_id"');
      expect(section('knowledge')).toContain('#### Table `tagged`');
      expect(text.indexOf('### Context: other')).toBeGreaterThan(text.indexOf('### Context: integration'));
    } finally {
      await db.pool.query('DROP TABLE agentry.hand_made, agentry.tagged');
    }
  });

  it('exits 2 when the introduction is missing', async () => {
    const dir = await tempDir('agentry-docs-');
    await copyFile(committed, join(dir, 'schema.md'));
    const run = await runCli(['--database-url', db.adminUrl, '--database', db.name, 'docs', '--from', 'live', '--output', join(dir, 'schema.md')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`agentry: introduction not found: ${join(dir, 'schema.intro.md')} (the hand-written top of the schema document); create it or pass --intro\n`);
  });

  it('derives contexts from the migration files', async () => {
    const index = await readContexts(defaultMigrationsDir());
    expect(index.contexts.map((c) => c.context)).toEqual(['catalog', 'access', 'fleet', 'work', 'review', 'telemetry', 'knowledge', 'integration']);
    expect(Object.fromEntries(['users', 'tasks', 'task_status', 'set_updated_at', 'task_readiness', 'audit_logs'].map((n) => [n, index.byObject.get(n)]))).toEqual({
      users: 'access',
      tasks: 'work',
      task_status: 'catalog',
      set_updated_at: 'catalog',
      task_readiness: 'work',
      audit_logs: 'access',
    });
    expect(index.byObject.has('audit_logs_default')).toBe(false);
    expect(taggedContext('x @context Work y')).toBe('work');
    expect(taggedContext('no tag')).toBeNull();
  });
});
