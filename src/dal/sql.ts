import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

import { packageRoot } from '../migrate/config.js';

/**
 * Named SQL statements. Every statement the DAL runs lives in
 * sql/queries/<context>/<name>.sql, one parameterised statement per file,
 * under a header of `-- key: value` lines that both the DAL and the plan
 * checker (which EXPLAINs these same files) read:
 *
 *   -- name: work.get_task
 *   -- description: One task by id.
 *   -- param: $1 id uuid = (SELECT id FROM agentry.tasks LIMIT 1)
 *   -- expect: index pk_tasks
 *   SELECT * FROM agentry.tasks WHERE id = $1
 *
 * Rules (each broken one is reported with the file and line):
 *  - The header is the run of `--` lines at the top of the file; a line that
 *    does not start with `--` (a blank line, the statement) ends it. Every
 *    header line is `-- key: value` with a known key, or a bare `--`.
 *  - `name` (exactly one) is `<context>.<name>` and equals the file's path
 *    under sql/queries: work/get_task.sql is work.get_task.
 *  - `description` (at least one; several lines are joined) says what the
 *    statement is for.
 *  - `param` lines declare $1..$n in order, one each, as
 *    `$<n> <name> <PostgreSQL type> = <example SQL expression>`; the example
 *    is what the plan checker substitutes to EXPLAIN the statement. Every
 *    declared parameter is used, and the statement uses no other.
 *  - `expect` lines are plan assertions for the plan checker (free-form for
 *    now, e.g. `index idx_tasks_status_priority`, `no-seq-scan tasks`).
 *  - After the header comes exactly one statement (a trailing semicolon is
 *    allowed). Header keys further down are refused, as a header that was cut
 *    short by a blank line.
 */

export interface QueryParam {
  /** 1 for $1. */
  readonly position: number;
  readonly name: string;
  /** PostgreSQL type as written, e.g. uuid, integer, text[], timestamp with time zone. */
  readonly type: string;
  /** SQL expression the plan checker uses as the parameter's value. */
  readonly example: string;
  readonly line: number;
}

export interface QueryExpectation {
  readonly text: string;
  readonly line: number;
}

export interface QueryDefinition {
  /** <context>.<name>, e.g. work.get_task. */
  readonly name: string;
  readonly context: string;
  /** Absolute path of the file (or the name given to parseQueryFile). */
  readonly file: string;
  readonly description: string;
  readonly params: readonly QueryParam[];
  readonly expectations: readonly QueryExpectation[];
  /** The statement, without the header and without a trailing semicolon. */
  readonly text: string;
  /** Line of the file on which the statement starts. */
  readonly line: number;
}

export interface QueryFileProblem {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/** One or more SQL files are malformed; message lists every problem as file:line: message. */
export class QueryFileError extends Error {
  override name = 'QueryFileError';
  readonly problems: readonly QueryFileProblem[];

  constructor(problems: readonly QueryFileProblem[]) {
    super(
      problems.length === 1
        ? formatProblem(problems[0] as QueryFileProblem)
        : `${problems.length} problems in SQL query files:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`,
    );
    this.problems = problems;
  }
}

function formatProblem(problem: QueryFileProblem): string {
  return `${problem.file}:${problem.line}: ${problem.message}`;
}

const HEADER_KEYS = ['name', 'description', 'param', 'expect'] as const;
type HeaderKey = (typeof HEADER_KEYS)[number];
const SEGMENT = /^[a-z][a-z0-9_]*$/;
const PARAM = /^\$(\d+)\s+([A-Za-z_][A-Za-z0-9_]*)\s+([^=]+?)\s*=\s*(\S.*)$/;

/** Where a $n, a statement-separating semicolon or a statement starts, outside strings and comments. */
interface StatementScan {
  /** $n -> line of its first use. */
  params: Map<number, number>;
  /** [start offset, line] of each non-empty statement. */
  statements: { start: number; end: number; line: number }[];
}

/**
 * Walks SQL text the way PostgreSQL's lexer separates tokens that matter
 * here: '...' (with '' and, in E'...', backslash escapes), "...", $tag$...$tag$,
 * -- and nested /* *\/ comments. Parameters and semicolons inside those are
 * not parameters or semicolons.
 */
function scanStatements(text: string, firstLine: number): StatementScan {
  const params = new Map<number, number>();
  const statements: StatementScan['statements'] = [];
  let line = firstLine;
  let statementStart = -1;
  let statementLine = firstLine;
  const isWordChar = (ch: string | undefined) => ch !== undefined && /[A-Za-z0-9_$]/.test(ch);
  const markCode = (at: number) => {
    if (statementStart < 0) {
      statementStart = at;
      statementLine = line;
    }
  };
  // Advances to `end`, counting newlines on the way.
  const skipTo = (from: number, end: number) => {
    for (let j = from; j < end && j < text.length; j += 1) if (text[j] === '\n') line += 1;
    return end;
  };

  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    const next = text[i + 1];
    if (ch === '\n') {
      line += 1;
      i += 1;
    } else if (/\s/.test(ch)) {
      i += 1;
    } else if (ch === '-' && next === '-') {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end;
    } else if (ch === '/' && next === '*') {
      let depth = 1;
      let j = i + 2;
      while (j < text.length && depth > 0) {
        if (text[j] === '/' && text[j + 1] === '*') {
          depth += 1;
          j += 2;
        } else if (text[j] === '*' && text[j + 1] === '/') {
          depth -= 1;
          j += 2;
        } else j += 1;
      }
      i = skipTo(i, j);
    } else if (ch === "'") {
      markCode(i);
      const escapes = (text[i - 1] === 'E' || text[i - 1] === 'e') && !isWordChar(text[i - 2]);
      let j = i + 1;
      while (j < text.length) {
        if (escapes && text[j] === '\\') j += 2;
        else if (text[j] === "'" && text[j + 1] === "'") j += 2;
        else if (text[j] === "'") break;
        else j += 1;
      }
      i = skipTo(i, j + 1);
    } else if (ch === '"') {
      markCode(i);
      let j = i + 1;
      while (j < text.length && !(text[j] === '"' && text[j + 1] !== '"')) j += text[j] === '"' ? 2 : 1;
      i = skipTo(i, j + 1);
    } else if (ch === '$' && !isWordChar(text[i - 1])) {
      markCode(i);
      const param = /^\$(\d+)/.exec(text.slice(i, i + 12));
      const tag = param ? null : /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i, i + 66));
      if (param) {
        const position = Number(param[1]);
        if (!params.has(position)) params.set(position, line);
        i += param[0].length;
      } else if (tag) {
        const close = text.indexOf(tag[0], i + tag[0].length);
        i = skipTo(i, close < 0 ? text.length : close + tag[0].length);
      } else i += 1;
    } else if (ch === ';') {
      if (statementStart >= 0) statements.push({ start: statementStart, end: i, line: statementLine });
      statementStart = -1;
      i += 1;
    } else {
      markCode(i);
      i += 1;
    }
  }
  if (statementStart >= 0) statements.push({ start: statementStart, end: text.length, line: statementLine });
  return { params, statements };
}

/**
 * Parses one query file. `relativePath` is the path under sql/queries
 * (work/get_task.sql), from which the name must follow; `file` is what
 * problems are reported against. Throws QueryFileError listing every problem.
 */
export function parseQueryFile(source: string, relativePath: string, file: string = relativePath): QueryDefinition {
  const problems: QueryFileProblem[] = [];
  const problem = (line: number, message: string) => problems.push({ file, line, message });

  const segments = relativePath.split(/[\\/]/);
  const expectedName =
    segments.length === 2 && segments[1]?.endsWith('.sql') ? `${segments[0]}.${(segments[1] as string).slice(0, -'.sql'.length)}` : undefined;
  if (expectedName === undefined) {
    problem(1, `a query file must be sql/queries/<context>/<name>.sql, not ${relativePath}`);
  } else if (!expectedName.split('.').every((segment) => SEGMENT.test(segment))) {
    problem(1, `context and file name must be lower_snake_case (${relativePath})`);
  }

  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  let name: { value: string; line: number } | undefined;
  const descriptions: string[] = [];
  const params: QueryParam[] = [];
  const expectations: QueryExpectation[] = [];

  let index = 0;
  for (; index < lines.length; index += 1) {
    const text = lines[index] as string;
    const lineNumber = index + 1;
    if (!text.startsWith('--')) break;
    const content = text.slice(2).trim();
    if (content === '') continue;
    const entry = /^([A-Za-z_-]+):\s*(.*)$/.exec(content);
    if (!entry) {
      problem(lineNumber, `header lines are "-- key: value" (keys: ${HEADER_KEYS.join(', ')}); put prose in "-- description:"`);
      continue;
    }
    const key = entry[1] as string;
    const value = (entry[2] as string).trim();
    if (!(HEADER_KEYS as readonly string[]).includes(key)) {
      problem(lineNumber, `unknown header key "${key}" (keys: ${HEADER_KEYS.join(', ')})`);
      continue;
    }
    if (value === '') {
      problem(lineNumber, `"-- ${key}:" needs a value`);
      continue;
    }
    switch (key as HeaderKey) {
      case 'name':
        if (name) problem(lineNumber, `second "-- name:" line (the first is on line ${name.line})`);
        else name = { value, line: lineNumber };
        break;
      case 'description':
        descriptions.push(value);
        break;
      case 'param': {
        const match = PARAM.exec(value);
        if (!match) {
          problem(lineNumber, `param must read "$<n> <name> <type> = <example SQL expression>", got "${value}"`);
          break;
        }
        const position = Number(match[1]);
        const expected = params.length + 1;
        if (position !== expected) {
          problem(lineNumber, `param $${position} out of order: expected $${expected} (parameters are declared $1..$n, in order, once each)`);
        }
        const paramName = match[2] as string;
        const clash = params.find((p) => p.name === paramName);
        if (clash) problem(lineNumber, `param name "${paramName}" is already used by $${clash.position}`);
        params.push({ position, name: paramName, type: (match[3] as string).trim(), example: (match[4] as string).trim(), line: lineNumber });
        break;
      }
      case 'expect':
        expectations.push({ text: value, line: lineNumber });
        break;
    }
  }
  const headerEnd = index; // lines[headerEnd] is the first line after the header

  if (!name) {
    problem(1, 'missing "-- name: <context>.<name>" header line');
  } else if (expectedName !== undefined && name.value !== expectedName) {
    problem(name.line, `name "${name.value}" does not match the file's path: expected "${expectedName}"`);
  }
  if (descriptions.length === 0) problem(1, 'missing "-- description: ..." header line');

  // Header keys below the header were meant for it: say so rather than ignore them.
  for (let j = headerEnd; j < lines.length; j += 1) {
    const stray = /^--\s*(name|description|param|expect):/.exec(lines[j] as string);
    if (stray) problem(j + 1, `"-- ${stray[1]}:" below the header (the header ends at the first line not starting with --, line ${headerEnd + 1})`);
  }

  const bodyOffset = lines.slice(0, headerEnd).reduce((sum, text) => sum + text.length + 1, 0);
  const normalised = lines.join('\n');
  const body = normalised.slice(Math.min(bodyOffset, normalised.length));
  const scan = scanStatements(body, headerEnd + 1);

  let statementText = '';
  let statementLine = headerEnd + 1;
  if (scan.statements.length === 0) {
    problem(Math.min(headerEnd + 1, lines.length), 'no SQL statement after the header');
  } else {
    const first = scan.statements[0] as StatementScan['statements'][number];
    statementText = body.slice(first.start, first.end).trimEnd();
    statementLine = first.line;
    const second = scan.statements[1];
    if (second) problem(second.line, 'a second statement: a query file holds exactly one statement');
  }

  for (const param of params) {
    if (!scan.params.has(param.position)) problem(param.line, `param $${param.position} (${param.name}) is declared but the statement never uses it`);
  }
  for (const [position, line] of [...scan.params].sort((a, b) => a[0] - b[0])) {
    if (position < 1 || position > params.length) {
      problem(line, `the statement uses $${position} but the header declares ${params.length === 0 ? 'no parameters' : `only $1..$${params.length}`}`);
    }
  }

  if (problems.length > 0) throw new QueryFileError(problems.sort((a, b) => a.line - b.line));
  const fullName = (name as { value: string }).value;
  return {
    name: fullName,
    context: fullName.slice(0, fullName.indexOf('.')),
    file,
    description: descriptions.join(' '),
    params,
    expectations,
    text: statementText,
    line: statementLine,
  };
}

/** Named statements, loaded from one sql/queries folder. */
export interface QueryRegistry {
  /** The statement called `name` (e.g. 'work.claim_ready_tasks'); throws when there is none. */
  get(name: string): QueryDefinition;
  has(name: string): boolean;
  /** Every name, sorted. */
  names(): string[];
  [Symbol.iterator](): Iterator<QueryDefinition>;
}

class LoadedQueryRegistry implements QueryRegistry {
  readonly #byName: ReadonlyMap<string, QueryDefinition>;
  readonly #dir: string;

  constructor(definitions: readonly QueryDefinition[], dir: string) {
    this.#byName = new Map(definitions.map((definition) => [definition.name, definition]));
    this.#dir = dir;
  }

  get(name: string): QueryDefinition {
    const definition = this.#byName.get(name);
    if (definition) return definition;
    const context = name.split('.')[0] ?? '';
    const siblings = this.names().filter((known) => known.startsWith(`${context}.`));
    throw new Error(
      `unknown query "${name}": no file ${join(this.#dir, ...name.split('.'))}.sql` +
        (siblings.length > 0 ? ` (${context} has: ${siblings.join(', ')})` : ''),
    );
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  names(): string[] {
    return [...this.#byName.keys()].sort();
  }

  [Symbol.iterator](): Iterator<QueryDefinition> {
    return this.#byName.values();
  }
}

function listSqlFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    // Dotfiles are editor and OS leftovers (.#x.sql, .DS_Store), never queries.
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...listSqlFiles(path));
    else if (entry.name.endsWith('.sql')) files.push(path);
  }
  return files.sort();
}

/** sql/queries of the installed package, found from this module's location like migrations/ is. */
export function defaultQueriesDir(): string {
  return join(packageRoot(), 'sql', 'queries');
}

/**
 * Reads and checks every .sql file under dir (synchronously: it runs once, at
 * first use, and a broken file should stop the process at start-up rather
 * than at the first request that needs it). Throws QueryFileError naming
 * every malformed file and line.
 */
export function loadQueries(dir: string = defaultQueriesDir()): QueryRegistry {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new QueryFileError([{ file: dir, line: 0, message: 'SQL query folder not found' }]);
  }
  const definitions: QueryDefinition[] = [];
  const problems: QueryFileProblem[] = [];
  for (const file of listSqlFiles(dir)) {
    try {
      definitions.push(parseQueryFile(readFileSync(file, 'utf8'), relative(dir, file).split(sep).join('/'), file));
    } catch (error) {
      if (!(error instanceof QueryFileError)) throw error;
      problems.push(...error.problems);
    }
  }
  if (problems.length > 0) throw new QueryFileError(problems);
  return new LoadedQueryRegistry(definitions, dir);
}

let packageQueries: QueryRegistry | undefined;

/**
 * The package's own statements (sql/queries), loaded at first use. A failed
 * load is not cached: the next use reads the files again.
 */
export const queries: QueryRegistry = {
  get: (name) => (packageQueries ??= loadQueries()).get(name),
  has: (name) => (packageQueries ??= loadQueries()).has(name),
  names: () => (packageQueries ??= loadQueries()).names(),
  [Symbol.iterator]: () => (packageQueries ??= loadQueries())[Symbol.iterator](),
};
