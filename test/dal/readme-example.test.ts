import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterAll, expect, it, vi } from 'vitest';

import { tempDir } from '../helpers/fs.js';
import { useTestDatabase } from '../helpers/db.js';
import { readmeLibraryExample } from '../helpers/readme.js';

// The README's "Using the library" example, run as written against a test
// database (only `from 'agentry'` is pointed at this checkout's src/index.ts),
// so the README stays true. test/package/pack.test.ts type-checks the same
// block against the installed package.

const repoRoot = join(import.meta.dirname, '..', '..');
const db = useTestDatabase();

const savedUrl = process.env.DATABASE_URL;
afterAll(() => {
  if (savedUrl === undefined) delete process.env.DATABASE_URL;
  else process.env.DATABASE_URL = savedUrl;
});

it('runs the README example: a task, a transaction, errors by class', async () => {
  const example = readmeLibraryExample(await readFile(join(repoRoot, 'README.md'), 'utf8'));
  expect(example).toContain("from 'agentry'");
  const source = example.replaceAll("from 'agentry'", `from ${JSON.stringify(pathToFileURL(join(repoRoot, 'src', 'index.ts')).href)}`);
  const file = join(await tempDir('agentry-readme-'), 'example.ts');
  await writeFile(file, source);

  const logged: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    logged.push(args.map(String).join(' '));
  });
  process.env.DATABASE_URL = db.url; // the example reads it, as a service would
  try {
    await import(/* @vite-ignore */ pathToFileURL(file).href);
  } finally {
    log.mockRestore();
  }

  expect(logged).toEqual([
    'pending Summarise the report',
    'pending completed',
    'foreign_key fk_tasks_parent_task_id',
    'tasks.parent_task_id must refer to an existing tasks.id (fk_tasks_parent_task_id)',
  ]);

  // What the example committed: the first task, and the transaction's two tasks with their edge; no orphan.
  const { rows } = await db.pool.query<{ title: string; priority: number; depends_on: string | null }>(
    `SELECT t.title, t.priority, d.title AS depends_on
       FROM agentry.tasks t
       LEFT JOIN agentry.task_dependencies e ON e.task_id = t.id
       LEFT JOIN agentry.tasks d ON d.id = e.depends_on_id
      ORDER BY t.created_at, t.title`,
  );
  expect(rows).toEqual([
    { title: 'Summarise the report', priority: 8, depends_on: null },
    { title: 'Plan the chapter', priority: 5, depends_on: null },
    { title: 'Write the chapter', priority: 5, depends_on: 'Plan the chapter' },
  ]);
});
