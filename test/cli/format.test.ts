import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { defaultFormatPaths, type FormatResult } from '../../src/commands/format.js';
import { parseQueryFile } from '../../src/dal/sql.js';
import { formatSql, formatStatement } from '../../src/format/format.js';
import { firstMeaningDifference, isComment, scanSql } from '../../src/format/tokens.js';
import { MIGRATION_TEMPLATE } from '../../src/migrate/files.js';
import { displayPath } from '../../src/migrate/lint.js';
import { splitSqlMigration } from '../../src/migrate/sql.js';
import { repoRoot, runBin, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/fs.js';

interface RepoFile {
  /** Relative to the repository: migrations/..., sql/queries/.... */
  name: string;
  source: string;
}

let files: RepoFile[] = [];

beforeAll(async () => {
  const paths = await defaultFormatPaths();
  files = await Promise.all(paths.map(async (path) => ({ name: relative(repoRoot, path), source: await readFile(path, 'utf8') })));
});

/**
 * The file laid out badly, tokens unchanged: every run of whitespace becomes
 * one space, except the line break that ends a line comment and blank lines
 * (which only group statements).
 */
function uglify(source: string): string {
  const tokens = scanSql(source);
  return tokens
    .map((t, i) => {
      if (t.kind !== 'space') return t.text;
      if (t.text.includes('\n\n')) return '\n\n';
      return tokens[i - 1]?.kind === 'line-comment' ? '\n' : ' ';
    })
    .join('');
}

const dollarBodies = (sql: string) => scanSql(sql).filter((t) => t.kind === 'dollar').map((t) => t.text);
const comments = (sql: string) => scanSql(sql).filter(isComment).map((t) => t.text);
const header = (sql: string) => sql.split('\n').slice(0, sql.split('\n').findIndex((line) => !line.startsWith('--')));

describe('the house style on the repository files', () => {
  it('covers every migration and query file', () => {
    expect(files.filter((f) => f.name.startsWith('migrations/')).length).toBeGreaterThanOrEqual(9);
    expect(files.filter((f) => f.name.startsWith('sql/queries/')).length).toBeGreaterThan(50);
  });

  it('every file is in house style (else: agentry format, and commit), and formatting is idempotent', () => {
    const stale = files.filter((f) => formatSql(f.source).text !== f.source).map((f) => f.name);
    expect(stale, 'not in house style: run `agentry format`').toEqual([]);
    for (const f of files) {
      const once = formatSql(f.source);
      expect(once.notes, f.name).toEqual([]);
      expect(formatSql(once.text).text, f.name).toBe(once.text);
    }
  });

  it('a badly laid-out copy of every file formats to the same tokens, idempotently, with no statement kept back', () => {
    for (const f of files) {
      const ugly = uglify(f.source);
      expect(firstMeaningDifference(f.source, ugly), f.name).toBeNull();
      const once = formatSql(ugly);
      expect(firstMeaningDifference(f.source, once.text), f.name).toBeNull();
      expect(once.notes, f.name).toEqual([]);
      expect(formatSql(once.text).text, f.name).toBe(once.text);
    }
  });

  it('keeps every dollar-quoted body and every comment byte for byte, in order', () => {
    const withBodies = files.filter((f) => dollarBodies(f.source).length > 0);
    expect(withBodies.length).toBeGreaterThan(5);
    for (const f of files) {
      const formatted = formatSql(uglify(f.source)).text;
      expect(dollarBodies(formatted), f.name).toEqual(dollarBodies(f.source));
      expect(comments(formatted), f.name).toEqual(comments(f.source).map((c) => c.trimEnd()));
    }
  });

  it('keeps the Up and Down sections of every migration: markers on their own lines, the same statements in each', () => {
    for (const f of files.filter((x) => x.name.startsWith('migrations/'))) {
      const formatted = formatSql(uglify(f.source)).text;
      const [before, after] = [splitSqlMigration(f.source), splitSqlMigration(formatted)];
      // A section runs from its marker line (splitSqlMigration counts the blank lines before it in).
      expect(after.up.trimStart().split('\n')[0], f.name).toBe('-- Up Migration');
      expect(after.down?.trimStart().split('\n')[0], f.name).toBe('-- Down Migration');
      expect(firstMeaningDifference(before.up, after.up), f.name).toBeNull();
      expect(firstMeaningDifference(before.down ?? '', after.down ?? ''), f.name).toBeNull();
    }
  });

  it('leaves a query file’s header as it is: the same contiguous -- key: value lines at the top, read the same', () => {
    const queryFiles = files.filter((f) => f.name.startsWith('sql/queries/'));
    for (const f of queryFiles) {
      const formatted = formatSql(uglify(f.source)).text;
      expect(header(formatted), f.name).toEqual(header(f.source));
      const path = f.name.slice('sql/queries/'.length);
      const [was, is] = [parseQueryFile(f.source, path), parseQueryFile(formatted, path)];
      expect({ ...is, text: undefined }, f.name).toEqual({ ...was, text: undefined });
      expect(firstMeaningDifference(was.text, is.text), f.name).toBeNull();
    }
  });

  it('agentry format --check passes on the repository (a badly formatted migration or query file fails the suite)', async () => {
    const run = await runCli(['--json', 'format', '--check']);
    expect(run.code, run.stdout).toBe(0);
    const result = JSON.parse(run.stdout) as FormatResult;
    expect(result.files.map((f) => relative(repoRoot, f.path))).toEqual(files.map((f) => f.name));
    expect(result).toMatchObject({ check: true, ok: true, changed: [], failed: [] });
  });
});

describe('formatting statements', () => {
  it('lays out a statement, and keeps GRANT, routines, triggers and partitions as written', () => {
    expect(formatSql("select a,b from t where a=1 and (b=2 or c is null) order by a;\n").text).toBe(
      'select a, b from t where a = 1 and (b = 2 or c is null) order by a;\n',
    );
    // Longer than a line: one clause and one item per line, AND/OR first.
    expect(
      formatSql('SELECT t.id, t.title, a.name FROM agentry.tasks t JOIN agentry.agents a ON a.id = t.agent_id WHERE t.status = $1 AND (a.status = $2 OR a.status IS NULL);\n').text,
    ).toBe(
      'SELECT\n  t.id,\n  t.title,\n  a.name\nFROM\n  agentry.tasks t\n  JOIN agentry.agents a ON a.id = t.agent_id\nWHERE\n  t.status = $1\n  AND (a.status = $2 OR a.status IS NULL);\n',
    );
    const kept = [
      'GRANT SELECT, INSERT ON agentry.a, agentry.b TO agentry_app;',
      'CREATE FUNCTION agentry.f() RETURNS int\nLANGUAGE sql SET search_path = pg_catalog AS $$ SELECT 1 $$;',
      'CREATE TRIGGER trg_t BEFORE UPDATE OF a, b ON agentry.t\n  FOR EACH ROW EXECUTE FUNCTION agentry.f();',
      "CREATE TABLE agentry.t_y2026m01 PARTITION OF agentry.t FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');",
    ];
    for (const statement of kept) expect(formatSql(`${statement}\n`).text).toBe(`${statement}\n`);
  });

  it('repairs what sql-formatter gets wrong for PostgreSQL, keeping every token', () => {
    const cases: [string, string][] = [
      // SET is not UPDATE's SET clause.
      ['SET   LOCAL ROLE agentry_owner;', 'SET LOCAL ROLE agentry_owner;'],
      // extract(epoch FROM ...) is one call, not a FROM clause.
      ['SELECT extract(epoch FROM (b - a)) * 1000 AS ms FROM t', 'SELECT extract(epoch FROM (b - a)) * 1000 AS ms FROM t'],
      // No space between a qualified function and its arguments, nor before an array type's brackets.
      ['SELECT agentry.f($1), x::varchar(20)[]', 'SELECT agentry.f($1), x::varchar(20)[]'],
      // A CHECK that fits stays one line; a foreign key's REFERENCES starts a continuation line.
      [
        'CREATE TABLE agentry.t (a int CHECK (a >= 0 AND a <= 10), b uuid, CONSTRAINT fk_t_b FOREIGN KEY (b) REFERENCES agentry.u (id) ON DELETE CASCADE);',
        'CREATE TABLE agentry.t (\n  a int CHECK (a >= 0 AND a <= 10),\n  b uuid,\n  CONSTRAINT fk_t_b FOREIGN KEY (b)\n    REFERENCES agentry.u (id) ON DELETE CASCADE\n);',
      ],
    ];
    for (const [input, expected] of cases) {
      expect(formatStatement(input)).toEqual({ text: expected });
      expect(firstMeaningDifference(input, expected)).toBeNull();
    }
  });

  it('keeps a statement sql-formatter would change or cannot parse as written, with a note', () => {
    // sql-formatter splits the national string N'abc' into N 'abc', another statement.
    const national = formatSql("-- Up Migration\nSELECT  n'abc'  AS x;\n");
    expect(national.text).toBe("-- Up Migration\nSELECT  n'abc'  AS x;\n");
    expect(national.notes).toEqual([{ line: 2, message: expect.stringMatching(/kept as written: sql-formatter would change its tokens \(string n'abc' became word n\)/) }]);
    expect(formatStatement('SELECT 5 !').kept).toMatch(/sql-formatter cannot parse it/);
  });

  it('keeps comments, blank-line groups and section markers where they are; -- agentry-format-ignore keeps a statement', () => {
    const source = [
      '-- Up Migration',
      '-- about t',
      'create table t (a int);   ',
      'create index i on t (a); -- why',
      '',
      '',
      '-- agentry-format-ignore: laid out by hand',
      'select 1,',
      '       2;',
      'select 1,   2',
      '-- Down Migration',
      'drop table t;',
    ].join('\n');
    expect(formatSql(source)).toEqual({
      text: [
        '-- Up Migration',
        '-- about t',
        'create table t (a int);',
        'create index i on t (a); -- why',
        '',
        '-- agentry-format-ignore: laid out by hand',
        'select 1,',
        '       2;',
        'select 1, 2',
        '-- Down Migration',
        'drop table t;',
        '',
      ].join('\n'),
      notes: [],
    });
  });

  it('never touches the text of a string or a dollar-quoted body: trailing blanks and CRLF in them are data', () => {
    const body = 'CREATE FUNCTION agentry.f() RETURNS text LANGUAGE plpgsql AS $$\r\nBEGIN   \r\n  RETURN \'a  \r\nb\';\r\nEND\r\n$$;';
    const source = `-- Up Migration   \r\nSELECT 'x  \r\ny' AS s,   1;  \r\n${body}\r\n`;
    const { text, notes } = formatSql(source);
    expect(notes).toEqual([]);
    expect(text).toBe(`-- Up Migration\nSELECT\n  'x  \r\ny' AS s,\n  1;\n${body}\n`);
    expect(dollarBodies(text)).toEqual(dollarBodies(source));
  });

  it('the migrate create template is in house style', () => {
    expect(formatSql(MIGRATION_TEMPLATE).text).toBe(MIGRATION_TEMPLATE);
  });
});

describe('agentry format (CLI)', () => {
  const BAD = "-- Up Migration\nselect a,b from t where a=1;\n\n\n\n-- Down Migration\nselect 1 ;";

  it('--check exits 1 naming a badly formatted file and changes nothing; format rewrites it; then --check passes', async () => {
    const dir = await tempDir('agentry-format-');
    const bad = join(dir, 'bad.sql');
    const good = join(dir, 'nested', 'good.sql');
    await writeFile(bad, BAD);
    await mkdir(join(dir, 'nested'));
    await writeFile(good, 'SELECT 1;\n');

    const check = await runCli(['format', '--check', dir]);
    expect(check.code).toBe(1);
    expect(check.stdout).toBe(`1 of 2 files not in house style:\n  differs   ${displayPath(bad)}\n`);
    expect(check.stderr).toBe('agentry: 1 file not in house style: run `agentry format` and commit the result\n');
    expect(await readFile(bad, 'utf8')).toBe(BAD);

    const write = await runCli(['--json', 'format', dir]);
    expect(write.code).toBe(0);
    expect(JSON.parse(write.stdout)).toMatchObject({ check: false, ok: true, changed: [bad], failed: [] });
    expect(await readFile(bad, 'utf8')).toBe('-- Up Migration\nselect a, b from t where a = 1;\n\n-- Down Migration\nselect 1;\n');

    expect(await runCli(['format', '--check', bad, good])).toEqual({ code: 0, stdout: '2 files checked: all in house style.\n', stderr: '' });
    expect((await runCli(['format', dir])).stdout).toBe('2 files checked: all in house style, nothing rewritten.\n');
  });

  it('a file it cannot split exits 1, a missing path exits 2', async () => {
    const dir = await tempDir('agentry-format-');
    await writeFile(join(dir, 'open.sql'), "SELECT 'never closed;\n");
    const open = await runCli(['format', dir]);
    expect(open.code).toBe(1);
    expect(open.stderr).toMatch(/^agentry: cannot format 1 file: .*open\.sql: unterminated string\n$/);
    const missing = await runCli(['format', join(dir, 'nope.sql')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^agentry: no such file or folder: .*nope\.sql\n$/);
  });

  it('migrate create writes a migration that format --check accepts', async () => {
    const dir = await tempDir('agentry-format-');
    expect((await runCli(['--migrations-dir', dir, 'migrate', 'create', 'add_labels'])).code).toBe(0);
    expect(await runCli(['--migrations-dir', dir, 'format', '--check'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+ files checked: all in house style\.\n$/) });
  });

  it('the binary (a real subprocess): --check fails with exit 1, format fixes the file, --check --json passes', async () => {
    const dir = await tempDir('agentry-format-bin-');
    const bad = join(dir, 'bad.sql');
    await writeFile(bad, BAD);
    const check = await runBin(['format', '--check', 'bad.sql'], { cwd: dir });
    expect(check.code, check.stderr).toBe(1);
    expect(check.stdout).toBe('1 of 1 file not in house style:\n  differs   bad.sql\n');
    expect(check.stderr).toBe('agentry: 1 file not in house style: run `agentry format` and commit the result\n');
    expect(await runBin(['format', 'bad.sql'], { cwd: dir })).toEqual({ code: 0, stdout: 'Formatted 1 of 1 file:\n  ~ bad.sql\n', stderr: '' });
    const json = await runBin(['--json', 'format', '--check', 'bad.sql'], { cwd: dir });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ check: true, ok: true, changed: [] });
  });
});
