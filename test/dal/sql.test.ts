import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { defaultQueriesDir, loadQueries, parseQueryFile, queries, QueryFileError } from '../../src/dal/sql.js';
import { tempDir } from '../helpers/fs.js';

const repoRoot = resolve(import.meta.dirname, '..', '..');

const GOOD = `-- name: work.claim_ready_tasks
-- description: Claims up to $2 ready tasks for a worker,
-- description: highest priority first.
-- param: $1 worker_id uuid = (SELECT id FROM agentry.workers LIMIT 1)
-- param: $2 batch_size integer = 10
-- param: $3 claimed_before timestamp with time zone = now()
-- expect: index idx_tasks_status_priority
-- expect: no-seq-scan tasks

-- The body may carry its own comments; $9 in a comment is not a parameter.
UPDATE agentry.tasks t
   SET worker_id = $1, status = 'assigned', description = E'it\\'s $8', title = $q$ $7; $q$
 WHERE t.id IN (
   SELECT id FROM agentry.tasks
    WHERE status = 'queued' AND created_at < $3 AND title <> '$6;'  /* $5; /* nested */ */
    ORDER BY priority DESC, created_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED)
RETURNING t.*;
`;

/** The problems parseQueryFile reports for source, as "line: message". */
function problemsOf(source: string, path = 'work/example.sql'): string[] {
  try {
    parseQueryFile(source, path, `/q/${path}`);
  } catch (error) {
    expect(error).toBeInstanceOf(QueryFileError);
    return (error as QueryFileError).problems.map((p) => {
      expect(p.file).toBe(`/q/${path}`);
      return `${p.line}: ${p.message}`;
    });
  }
  throw new Error('expected the file to be refused');
}

const header = (lines: string[]) => `${lines.join('\n')}\n`;
const NAME = '-- name: work.example';
const DESCRIPTION = '-- description: An example.';

describe('parseQueryFile: a good file', () => {
  it('reads the header and the one statement', () => {
    const query = parseQueryFile(GOOD, 'work/claim_ready_tasks.sql', '/abs/work/claim_ready_tasks.sql');
    expect(query.name).toBe('work.claim_ready_tasks');
    expect(query.context).toBe('work');
    expect(query.file).toBe('/abs/work/claim_ready_tasks.sql');
    expect(query.description).toBe('Claims up to $2 ready tasks for a worker, highest priority first.');
    expect(query.params).toEqual([
      { position: 1, name: 'worker_id', type: 'uuid', example: '(SELECT id FROM agentry.workers LIMIT 1)', line: 4 },
      { position: 2, name: 'batch_size', type: 'integer', example: '10', line: 5 },
      { position: 3, name: 'claimed_before', type: 'timestamp with time zone', example: 'now()', line: 6 },
    ]);
    expect(query.expectations).toEqual([
      { text: 'index idx_tasks_status_priority', line: 7 },
      { text: 'no-seq-scan tasks', line: 8 },
    ]);
    // The statement starts at its first keyword (line 11), without the trailing semicolon.
    expect(query.line).toBe(11);
    expect(query.text.startsWith('UPDATE agentry.tasks t')).toBe(true);
    expect(query.text.endsWith('RETURNING t.*')).toBe(true);
  });

  it('accepts a statement without parameters, CRLF line ends and a bare -- spacer', () => {
    const query = parseQueryFile('-- name: work.count\r\n--\r\n-- description: Count.\r\nSELECT count(*) FROM agentry.tasks\r\n', 'work/count.sql');
    expect(query.params).toEqual([]);
    expect(query.text).toBe('SELECT count(*) FROM agentry.tasks');
    expect(query.line).toBe(4);
  });
});

describe('parseQueryFile: malformed files name the line', () => {
  it('missing name', () => {
    expect(problemsOf(header([DESCRIPTION, 'SELECT 1']))).toEqual(['1: missing "-- name: <context>.<name>" header line']);
  });

  it('name that does not match the path', () => {
    expect(problemsOf(header([DESCRIPTION, '-- name: work.other', 'SELECT 1']))).toEqual([
      '2: name "work.other" does not match the file\'s path: expected "work.example"',
    ]);
  });

  it('second name line', () => {
    expect(problemsOf(header([NAME, DESCRIPTION, NAME, 'SELECT 1']))).toEqual(['3: second "-- name:" line (the first is on line 1)']);
  });

  it('missing description', () => {
    expect(problemsOf(header([NAME, 'SELECT 1']))).toEqual(['1: missing "-- description: ..." header line']);
  });

  it('unknown key (a typo)', () => {
    expect(problemsOf(header([NAME, DESCRIPTION, '-- parm: $1 id uuid = 1', 'SELECT 1']))).toEqual([
      '3: unknown header key "parm" (keys: name, description, param, expect)',
    ]);
  });

  it('prose in the header', () => {
    expect(problemsOf(header([NAME, DESCRIPTION, '-- Returns one row', 'SELECT 1']))).toEqual([
      '3: header lines are "-- key: value" (keys: name, description, param, expect); put prose in "-- description:"',
    ]);
  });

  it('key without a value', () => {
    expect(problemsOf(header([NAME, '-- description:', 'SELECT 1']))).toEqual([
      '1: missing "-- description: ..." header line',
      '2: "-- description:" needs a value',
    ]);
  });

  it('param without type or example', () => {
    expect(problemsOf(header([NAME, DESCRIPTION, '-- param: $1 id uuid', 'SELECT $1']))).toEqual([
      '3: param must read "$<n> <name> <type> = <example SQL expression>", got "$1 id uuid"',
      '4: the statement uses $1 but the header declares no parameters',
    ]);
  });

  it('params out of order or with a gap', () => {
    expect(
      problemsOf(header([NAME, DESCRIPTION, '-- param: $1 a int = 1', '-- param: $3 c int = 3', 'SELECT $1, $3'])),
    ).toEqual([
      '4: param $3 out of order: expected $2 (parameters are declared $1..$n, in order, once each)',
      '5: the statement uses $3 but the header declares only $1..$2',
    ]);
  });

  it('the same parameter name twice', () => {
    expect(problemsOf(header([NAME, DESCRIPTION, '-- param: $1 id uuid = 1', '-- param: $2 id uuid = 2', 'SELECT $1, $2']))).toEqual([
      '4: param name "id" is already used by $1',
    ]);
  });

  it('declared parameter never used (a $2 in a string or comment does not count)', () => {
    expect(
      problemsOf(header([NAME, DESCRIPTION, '-- param: $1 a int = 1', '-- param: $2 b int = 2', "SELECT $1, '$2' -- $2"])),
    ).toEqual(['4: param $2 (b) is declared but the statement never uses it']);
  });

  it('parameter used but not declared', () => {
    expect(problemsOf(header([NAME, DESCRIPTION, '-- param: $1 a int = 1', 'SELECT $1,', '  $2']))).toEqual([
      '5: the statement uses $2 but the header declares only $1..$1',
    ]);
  });

  it('two statements', () => {
    expect(problemsOf(header([NAME, DESCRIPTION, 'SELECT 1;', '', 'SELECT 2;']))).toEqual([
      '5: a second statement: a query file holds exactly one statement',
    ]);
  });

  it('a semicolon inside a string, identifier or dollar quote is not a second statement', () => {
    const query = parseQueryFile(header([NAME, DESCRIPTION, `SELECT ';' AS "a;b", $$;$$ AS c;`]), 'work/example.sql');
    expect(query.text).toBe(`SELECT ';' AS "a;b", $$;$$ AS c`);
  });

  it('no statement', () => {
    expect(problemsOf(header([NAME, DESCRIPTION, '', '-- nothing here']))).toEqual(['3: no SQL statement after the header']);
  });

  it('a header line below the header (cut short by a blank line)', () => {
    expect(problemsOf(header([NAME, DESCRIPTION, '', '-- param: $1 id uuid = 1', 'SELECT $1']))).toEqual([
      '4: "-- param:" below the header (the header ends at the first line not starting with --, line 3)',
      '5: the statement uses $1 but the header declares no parameters',
    ]);
  });

  it('a file not at <context>/<name>.sql', () => {
    expect(problemsOf(header(['-- name: example', DESCRIPTION, 'SELECT 1']), 'example.sql')).toEqual([
      '1: a query file must be sql/queries/<context>/<name>.sql, not example.sql',
    ]);
    expect(problemsOf(header(['-- name: Work.Example', DESCRIPTION, 'SELECT 1']), 'Work/Example.sql')).toEqual([
      '1: context and file name must be lower_snake_case (Work/Example.sql)',
    ]);
  });

  it('the error message lists file:line for each problem', () => {
    try {
      parseQueryFile(header([DESCRIPTION, 'SELECT $1']), 'work/example.sql', '/q/work/example.sql');
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toBe(
        '2 problems in SQL query files:\n' +
          '  /q/work/example.sql:1: missing "-- name: <context>.<name>" header line\n' +
          '  /q/work/example.sql:2: the statement uses $1 but the header declares no parameters',
      );
    }
  });
});

async function writeQueries(files: Record<string, string>): Promise<string> {
  const dir = await tempDir('agentry-queries-');
  for (const [path, source] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), source);
  }
  return dir;
}

describe('loadQueries', () => {
  it('loads every file of a folder into a registry', async () => {
    const dir = await writeQueries({
      'work/claim_ready_tasks.sql': GOOD,
      'fleet/list_workers.sql': header(['-- name: fleet.list_workers', '-- description: All workers.', 'SELECT * FROM agentry.workers']),
      'README.md': 'not a query',
      'work/.claim_ready_tasks.sql.swp': 'editor leftovers',
    });
    const registry = loadQueries(dir);
    expect(registry.names()).toEqual(['fleet.list_workers', 'work.claim_ready_tasks']);
    expect(registry.get('fleet.list_workers').file).toBe(join(dir, 'fleet', 'list_workers.sql'));
    expect([...registry].map((q) => q.name).sort()).toEqual(registry.names());
    expect(registry.has('work.nope')).toBe(false);
    expect(() => registry.get('work.nope')).toThrow(
      `unknown query "work.nope": no file ${join(dir, 'work', 'nope')}.sql (work has: work.claim_ready_tasks)`,
    );
  });

  it('reports every malformed file with its path and line, and loads nothing', async () => {
    const dir = await writeQueries({
      'work/good.sql': header(['-- name: work.good', DESCRIPTION, 'SELECT 1']),
      'work/bad_name.sql': header(['-- name: work.other', DESCRIPTION, 'SELECT 1']),
      'fleet/two.sql': header(['-- name: fleet.two', DESCRIPTION, 'SELECT 1;', 'SELECT 2;']),
    });
    let caught: unknown;
    try {
      loadQueries(dir);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(QueryFileError);
    expect((caught as Error).message).toBe(
      '2 problems in SQL query files:\n' +
        `  ${join(dir, 'fleet', 'two.sql')}:4: a second statement: a query file holds exactly one statement\n` +
        `  ${join(dir, 'work', 'bad_name.sql')}:1: name "work.other" does not match the file's path: expected "work.bad_name"`,
    );
  });

  it('refuses a folder that does not exist', () => {
    expect(() => loadQueries('/nonexistent/sql/queries')).toThrow('/nonexistent/sql/queries:0: SQL query folder not found');
  });
});

describe('the package registry (sql/queries)', () => {
  it('is the sql/queries folder of the package root, whatever the cwd', () => {
    expect(defaultQueriesDir()).toBe(join(repoRoot, 'sql', 'queries'));
  });

  it('loads every shipped file without a problem', () => {
    expect(() => loadQueries()).not.toThrow();
    expect(queries.names()).toEqual(loadQueries().names());
  });

  it('has work.get_task', () => {
    const query = queries.get('work.get_task');
    expect(query.file).toBe(join(repoRoot, 'sql', 'queries', 'work', 'get_task.sql'));
    expect(query.params.map((p) => [p.position, p.name, p.type])).toEqual([[1, 'id', 'uuid']]);
    // Whitespace is the house style's (agentry format), not part of the statement.
    expect(query.text.replace(/\s+/g, ' ')).toBe('SELECT * FROM agentry.tasks WHERE id = $1');
  });
});
