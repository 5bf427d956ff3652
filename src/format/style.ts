import type { FormatOptionsWithLanguage } from 'sql-formatter';

/**
 * Agentry's house SQL style: the sql-formatter options every file in
 * migrations/ and sql/ is formatted with (`agentry format`), the template of
 * `agentry migrate create`, and the SQL `agentry plan --show-sql` prints.
 * This is the one place they are chosen; src/format/format.ts applies them
 * statement by statement (see there for what it does around sql-formatter).
 *
 * Changing anything here (or upgrading sql-formatter, which is pinned)
 * reformats the published migrations: their SHA-256 changes, and every
 * database migrated before sees them as tampered (agentry migrate ledger).
 * Once a database is deployed, such a change needs `migrate ledger --accept`
 * on each of them, or must leave the published files alone.
 */
export const SQL_STYLE = {
  language: 'postgresql',
  tabWidth: 2,
  useTabs: false,
  // Case is left as written. The schema is written with keywords in
  // capitals and types, functions and identifiers in lower case, and
  // sql-formatter 15.9's case options get PostgreSQL wrong: keywordCase
  // 'upper' turns array types into TEXT[], UUID[] and VARCHAR[] whatever
  // dataTypeCase says, and dataTypeCase 'lower' turns AT TIME ZONE into
  // AT time zone (it takes TIME for the type). Unquoted words are
  // case-insensitive in PostgreSQL, so this is taste, not meaning.
  keywordCase: 'preserve',
  dataTypeCase: 'preserve',
  functionCase: 'preserve',
  identifierCase: 'preserve',
  // sql-formatter's own limit for keeping a parenthesised expression on one
  // line; it counts the content only, not the line it sits on. Blocks it
  // breaks are joined again when the line then fits LINE_WIDTH (below), so
  // this mostly decides what it keeps inline on a long line.
  expressionWidth: 80,
  logicalOperatorNewline: 'before',
  denseOperators: false,
  newlineBeforeSemicolon: false,
  // Statements are formatted one at a time; the blank lines between them are
  // the author's (at most one), not sql-formatter's.
  linesBetweenQueries: 1,
} as const satisfies FormatOptionsWithLanguage;

/**
 * What sql-formatter broke over several lines (it always breaks at AND, OR,
 * CASE and clauses, and at expressionWidth) goes back on one line when the
 * line then fits this many columns: a short statement as a whole (not a
 * CREATE TABLE), else each parenthesised expression, outer ones first: a
 * CHECK's range test, a VALUES row of reference data, a short subquery.
 */
export const LINE_WIDTH = 120;

/**
 * Statements sql-formatter does not know the grammar of, kept as written
 * (trailing blanks trimmed), each with why. Matched against the statement's
 * first tokens, lower case, separated by single spaces
 * ("create table agentry . t partition of agentry . p ...").
 */
export const KEPT_AS_WRITTEN: readonly { leading: RegExp; why: string }[] = [
  {
    leading: /^(grant|revoke)\b/,
    why: 'no GRANT/REVOKE grammar: sql-formatter breaks them as if SELECT, EXECUTE and FROM started clauses (GRANT / SELECT / ON a, / b TO ...)',
  },
  {
    leading: /^(create (or replace )?(function|procedure)|do)\b/,
    why: "routine definitions: sql-formatter breaks a function's SET search_path = ... options as UPDATE ... SET clauses and moves the comments between them; the body (a dollar-quoted string) is the author's layout anyway",
  },
  {
    leading: /^create (or replace )?(constraint )?trigger\b/,
    why: 'no CREATE TRIGGER grammar: sql-formatter breaks the column list of UPDATE OF a, b at its comma as if it were a select list',
  },
  {
    leading: /^(create table \S+( \. \S+)? partition of|alter table (only )?\S+( \. \S+)? attach partition)\b/,
    why: 'partitions: sql-formatter takes FOR VALUES FROM (...) TO (...) apart into VALUES and FROM clauses',
  },
  {
    leading: /^create policy\b/,
    why: 'no CREATE POLICY grammar: sql-formatter takes FOR SELECT for a SELECT clause',
  },
];

/**
 * Functions whose arguments are separated by keywords (extract(epoch FROM
 * t), substring(s FROM 2 FOR 3), trim(both 'x' FROM s), overlay(s PLACING
 * t FROM 2), position(a IN b)): sql-formatter takes that FROM for a FROM
 * clause and spreads the call over five lines. Their arguments are kept on
 * one line as written (whitespace runs made single spaces).
 */
export const KEYWORD_ARGUMENT_FUNCTIONS: ReadonlySet<string> = new Set(['extract', 'substring', 'trim', 'overlay', 'position']);
