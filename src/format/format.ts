import { format as sqlFormat } from 'sql-formatter';

import { errorMessage } from '../errors.js';
import { KEPT_AS_WRITTEN, KEYWORD_ARGUMENT_FUNCTIONS, LINE_WIDTH, SQL_STYLE } from './style.js';
import { firstMeaningDifference, isComment, scanSql, type SqlToken } from './tokens.js';

/**
 * The house style applied to a whole SQL file (a migration, a query file).
 *
 * sql-formatter is given one statement at a time, never the file:
 *  - Comments between statements are copied as they are: the `-- Up Migration` / `-- Down Migration` markers that
 *    node-pg-migrate splits on, the `-- key: value` header of a query file,
 *    the prose above a table. sql-formatter would keep them too, but here
 *    nothing can move them.
 *  - The author's blank lines between statements and comments are kept (runs
 *    of them become one), so related statements stay grouped. sql-formatter
 *    puts the same number of blank lines between every two statements.
 *  - Every statement sql-formatter returns is checked: its tokens (comments
 *    included, whitespace not, unquoted words without case) must be the
 *    statement's own, in order, and formatting it again must not change it.
 *    A statement that fails either check (or that sql-formatter cannot
 *    parse) is kept as written, and a note says so, so formatting can change
 *    layout only, never meaning. Dollar-quoted bodies ($$ ... $$, plpgsql)
 *    are single tokens, so they come through byte for byte.
 */

export interface FormatNote {
  /** 1-based line of the statement in the source. */
  line: number;
  message: string;
}

export interface FormattedSql {
  text: string;
  /** Statements kept as written, and why. */
  notes: FormatNote[];
}

interface Piece {
  kind: 'comment' | 'statement';
  text: string;
  /** 1-based line where it starts in the source. */
  line: number;
  /** A blank line separates it from the previous piece in the source. */
  blankBefore: boolean;
  /** A comment that starts on the line where the previous piece ends. */
  sameLine: boolean;
}

function lineAt(source: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i += 1) if (source.charCodeAt(i) === 10) line += 1;
  return line;
}

/** `-- Up Migration` / `-- Down Migration`, as node-pg-migrate finds them (src/migrate/sql.ts). */
const SECTION_MARKER = /^--[\s-]*(up|down)\s+migration/i;

/**
 * Token index ranges [first, last] (inclusive) of the statements: from the
 * first token that is neither whitespace nor a comment to the semicolon that
 * ends it at bracket depth 0 (or to its last such token at the end of the
 * text, or before a section marker, which always ends a statement). A
 * `BEGIN ATOMIC ... END` body (a SQL-standard function body) holds
 * semicolons of its own.
 */
function statementRanges(tokens: readonly SqlToken[]): [number, number][] {
  const ranges: [number, number][] = [];
  let start = -1;
  let lastCode = -1;
  let depth = 0;
  let atomic = false;
  let caseDepth = 0;
  let previousWord = '';
  for (const [index, token] of tokens.entries()) {
    if (token.kind === 'line-comment' && SECTION_MARKER.test(token.text) && start >= 0) {
      // node-pg-migrate splits the file at the marker whatever comes before it.
      ranges.push([start, lastCode]);
      start = -1;
    }
    if (token.kind === 'space' || isComment(token)) continue;
    if (start < 0) {
      start = index;
      depth = 0;
      atomic = false;
      caseDepth = 0;
      previousWord = '';
    }
    lastCode = index;
    if (token.kind === 'word') {
      const word = token.text.toLowerCase();
      if (word === 'atomic' && previousWord === 'begin') atomic = true;
      else if (atomic && word === 'case') caseDepth += 1;
      else if (atomic && word === 'end') {
        if (caseDepth > 0) caseDepth -= 1;
        else atomic = false;
      }
      previousWord = word;
      continue;
    }
    previousWord = '';
    if (token.text === '(' || token.text === '[') depth += 1;
    else if (token.text === ')' || token.text === ']') depth = Math.max(0, depth - 1);
    else if (token.text === ';' && depth === 0 && !atomic) {
      ranges.push([start, index]);
      start = -1;
    }
  }
  if (start >= 0) ranges.push([start, lastCode]);
  return ranges;
}

function splitPieces(source: string, tokens: readonly SqlToken[]): Piece[] {
  const pieces: Piece[] = [];
  const ranges = statementRanges(tokens);
  let newlines = 0;
  let seenNewline = true;
  const add = (kind: Piece['kind'], text: string, offset: number) => {
    pieces.push({
      kind,
      text,
      line: lineAt(source, offset),
      blankBefore: pieces.length > 0 && newlines >= 2,
      sameLine: pieces.length > 0 && !seenNewline,
    });
    newlines = 0;
    seenNewline = false;
  };
  let index = 0;
  let next = 0;
  while (index < tokens.length) {
    const range = ranges[next];
    const token = tokens[index] as SqlToken;
    if (range && index === range[0]) {
      const last = tokens[range[1]] as SqlToken;
      add('statement', source.slice(token.start, last.end), token.start);
      index = range[1] + 1;
      next += 1;
    } else if (token.kind === 'space') {
      const count = token.text.split('\n').length - 1;
      newlines += count;
      if (count > 0) seenNewline = true;
      index += 1;
    } else {
      // A comment outside any statement.
      add('comment', token.text, token.start);
      index += 1;
    }
  }
  return pieces;
}

const PLACEHOLDER = 'agentry_kept_';

/**
 * Replaces the arguments of calls such as extract(epoch FROM t) (see
 * KEYWORD_ARGUMENT_FUNCTIONS) by placeholders sql-formatter reads as one
 * identifier; restore() puts them back on one line.
 */
function protectKeywordArguments(statement: string): { text: string; restore: (formatted: string) => string } {
  const none = { text: statement, restore: (formatted: string) => formatted };
  if (statement.includes(PLACEHOLDER)) return none;
  const tokens = scanSql(statement);
  const kept: string[] = [];
  let out = '';
  let i = 0;
  while (i < tokens.length) {
    const token = tokens[i] as SqlToken;
    let open = i + 1;
    while (tokens[open]?.kind === 'space') open += 1;
    if (token.kind === 'word' && KEYWORD_ARGUMENT_FUNCTIONS.has(token.text.toLowerCase()) && tokens[open]?.text === '(') {
      let depth = 0;
      let close = open;
      for (; close < tokens.length; close += 1) {
        const text = (tokens[close] as SqlToken).text;
        if (text === '(' || text === '[') depth += 1;
        else if ((text === ')' || text === ']') && --depth === 0) break;
      }
      const inside = tokens.slice(open + 1, close);
      if (close < tokens.length && !inside.some(isComment)) {
        out += statement.slice(token.start, (tokens[open] as SqlToken).end) + PLACEHOLDER + String(kept.length) + ')';
        kept.push(inside.map((t) => (t.kind === 'space' ? ' ' : t.text)).join('').trim());
        i = close + 1;
        continue;
      }
    }
    out += token.text;
    i += 1;
  }
  if (kept.length === 0) return none;
  return {
    text: out,
    restore: (formatted) => formatted.replace(new RegExp(`${PLACEHOLDER}(\\d+)`, 'g'), (_, n: string) => kept[Number(n)] ?? ''),
  };
}

/** Rewrites whitespace tokens: `change` maps a token index to the whitespace that replaces it. */
function rewriteSpaces(tokens: readonly SqlToken[], change: Map<number, string>): string {
  return tokens.map((t, i) => change.get(i) ?? t.text).join('');
}

/**
 * sql-formatter puts a space between a schema-qualified name and its
 * parentheses (agentry.f ($1), EXECUTE FUNCTION agentry.f ()) and before an
 * array type's brackets (varchar(20) []): where the source has nothing
 * between a token and the ( or [ after it, nothing is put.
 */
function keepTightBrackets(source: string, formatted: string): string {
  const before = scanSql(source).filter((t) => t.kind !== 'space');
  const tokens = scanSql(formatted);
  const change = new Map<number, string>();
  let k = -1;
  for (const [index, token] of tokens.entries()) {
    if (token.kind === 'space') continue;
    k += 1;
    const previous = tokens[index - 1];
    if (k === 0 || (token.text !== '(' && token.text !== '[') || previous?.kind !== 'space' || previous.text.includes('\n')) continue;
    const was = before[k];
    const wasPrevious = before[k - 1];
    if (was?.text === token.text && wasPrevious?.end === was.start) change.set(index - 1, '');
  }
  return rewriteSpaces(tokens, change);
}

/**
 * sql-formatter keeps a parenthesised expression on one line only when its
 * content fits expressionWidth and holds no AND/OR, CASE or subquery: it
 * breaks CHECK (priority >= 1 AND priority <= 10) over four lines, and it
 * does not look at where the line starts. Here a broken block goes back on
 * one line when it holds no comment and the whole line then fits
 * LINE_WIDTH. Outer blocks are tried before the blocks inside them, so a
 * long CHECK keeps one condition per line, each condition on one line. A
 * short statement is tried first, as a whole (joinShortStatement).
 */
function joinShortBlocks(formatted: string): string {
  let text = joinShortStatement(formatted);
  // Each join removes line breaks, so this ends.
  for (;;) {
    const next = joinFirstBlock(text);
    if (next === null) return text;
    text = next;
  }
}

/** A whitespace token inside a joined stretch: nothing next to a bracket, else one space. */
function joinedSpace(tokens: readonly SqlToken[], index: number): string {
  const before = tokens[index - 1]?.text;
  const after = tokens[index + 1]?.text;
  return before === '(' || before === '[' || after === ')' || after === ']' ? '' : ' ';
}

/**
 * A whole statement that fits LINE_WIDTH on one line is one line (SELECT *
 * FROM agentry.tasks WHERE id = $1, a partial index, ALTER TABLE ... DROP
 * CONSTRAINT ...), unless it holds a comment or is a CREATE TABLE, whose
 * columns stay one per line.
 */
function joinShortStatement(text: string): string {
  const tokens = scanSql(text);
  if (tokens.some((t) => isComment(t) || (t.kind !== 'space' && t.text.includes('\n')))) return text;
  const words = tokens.filter((t) => t.kind !== 'space').slice(0, 2).map((t) => t.text.toLowerCase());
  if (words[0] === 'create' && words[1] === 'table') return text;
  const change = new Map<number, string>();
  for (const [index, token] of tokens.entries()) if (token.kind === 'space') change.set(index, joinedSpace(tokens, index));
  const joined = rewriteSpaces(tokens, change);
  return joined.length <= LINE_WIDTH ? joined : text;
}

function joinFirstBlock(text: string): string | null {
  const tokens = scanSql(text);
  const stack: number[] = [];
  const blocks: [number, number][] = [];
  for (const [index, token] of tokens.entries()) {
    if (token.text === '(' || token.text === '[') stack.push(index);
    else if ((token.text === ')' || token.text === ']') && stack.length > 0) blocks.push([stack.pop() as number, index]);
  }
  // Outer before inner, left to right.
  blocks.sort((a, b) => a[0] - b[0]);
  for (const [open, close] of blocks) {
    const inner = tokens.slice(open + 1, close);
    if (!inner.some((t) => t.kind === 'space' && t.text.includes('\n'))) continue;
    if (inner.some((t) => isComment(t) || (t.kind !== 'space' && t.text.includes('\n')))) continue;
    const change = new Map<number, string>();
    for (let j = open + 1; j < close; j += 1) if ((tokens[j] as SqlToken).kind === 'space') change.set(j, joinedSpace(tokens, j));
    const joined = rewriteSpaces(tokens, change);
    const start = (tokens[open] as SqlToken).start;
    const lineStart = joined.lastIndexOf('\n', start) + 1;
    const lineEnd = joined.indexOf('\n', start);
    if ((lineEnd < 0 ? joined.length : lineEnd) - lineStart > LINE_WIDTH) continue;
    return joined;
  }
  return null;
}

/**
 * A table constraint's REFERENCES starts a continuation line, as the schema
 * is written (FOREIGN KEY (user_id) / REFERENCES agentry.users (id) ON UPDATE
 * ... ON DELETE ...); sql-formatter puts it all on one line.
 */
function breakBeforeReferences(formatted: string): string {
  const tokens = scanSql(formatted);
  const change = new Map<number, string>();
  for (const [index, token] of tokens.entries()) {
    const previous = tokens[index - 1];
    if (token.kind !== 'word' || token.text.toUpperCase() !== 'REFERENCES' || previous?.kind !== 'space' || previous.text.includes('\n')) continue;
    const line = formatted.slice(formatted.lastIndexOf('\n', token.start) + 1, token.start);
    const constraint = /^(\s*)(ADD\s+)?(CONSTRAINT\s+\S+\s+)?FOREIGN\s+KEY\b/i.exec(line);
    if (constraint) change.set(index - 1, `\n${constraint[1] ?? ''}  `);
  }
  return rewriteSpaces(tokens, change);
}

/**
 * A session SET or RESET (SET LOCAL ROLE x, SET lock_timeout = '5s') is one
 * line: sql-formatter takes SET for the clause of UPDATE ... SET and breaks
 * the line after it.
 */
function oneLineSettings(formatted: string): string {
  const tokens = scanSql(formatted);
  const first = tokens.find((t) => t.kind !== 'space');
  if (first?.kind !== 'word' || !/^(set|reset)$/i.test(first.text)) return formatted;
  const change = new Map<number, string>();
  for (const [index, token] of tokens.entries()) if (token.kind === 'space' && token.text.includes('\n')) change.set(index, ' ');
  return rewriteSpaces(tokens, change);
}

/**
 * sql-formatter with the house style, then the repairs above, in order. They
 * only move whitespace between tokens (never inside a string or a comment),
 * and the meaning check after them still applies. Throws what sql-formatter
 * throws.
 */
function formatWithStyle(statement: string): string {
  const { text, restore } = protectKeywordArguments(statement);
  let out = restore(sqlFormat(text, SQL_STYLE).trim());
  out = keepTightBrackets(statement, out);
  out = joinShortBlocks(out);
  out = breakBeforeReferences(out);
  return oneLineSettings(out);
}

/**
 * Trailing blanks removed, and CRLF read as LF, outside strings and
 * dollar-quoted bodies, whose text is data: only in whitespace and comments.
 */
function trimLines(text: string): string {
  return scanSql(text)
    .map((t) => {
      if (t.kind === 'line-comment') return t.text.trimEnd();
      return t.kind === 'space' || t.kind === 'block-comment' ? t.text.replace(/\r\n?/g, '\n').replace(/[ \t]+(?=\n)/g, '') : t.text;
    })
    .join('');
}

/** The statement's first words, lower case, for KEPT_AS_WRITTEN. */
function leadingWords(statement: string): string {
  return scanSql(statement)
    .filter((t) => t.kind !== 'space' && !isComment(t))
    .slice(0, 12)
    .map((t) => t.text.toLowerCase())
    .join(' ');
}

/**
 * One statement in the house style. Kept as written (trailing blanks
 * trimmed): a statement of a kind listed in KEPT_AS_WRITTEN, and (with the
 * reason in `kept`) one that sql-formatter cannot parse, would change, or
 * would format differently a second time.
 */
export function formatStatement(statement: string): { text: string; kept?: string } {
  const source = trimLines(statement.trim());
  if (KEPT_AS_WRITTEN.some((k) => k.leading.test(leadingWords(source)))) return { text: source };
  let formatted: string;
  try {
    formatted = formatWithStyle(source);
  } catch (error) {
    return { text: source, kept: `sql-formatter cannot parse it (${errorMessage(error).split('\n')[0]})` };
  }
  const difference = firstMeaningDifference(source, formatted);
  if (difference) {
    return {
      text: source,
      kept: `sql-formatter would change its tokens (${difference.before ?? 'end of statement'} became ${difference.after ?? 'end of statement'})`,
    };
  }
  let again: string;
  try {
    again = formatWithStyle(formatted);
  } catch {
    again = '';
  }
  if (again !== formatted) return { text: source, kept: 'sql-formatter does not format it the same way twice' };
  return { text: formatted };
}

/**
 * `-- agentry-format-ignore: <why>` in the comment lines right above a
 * statement keeps that statement as written (like squawk-ignore, for the
 * rare statement whose hand layout says more than sql-formatter's).
 */
export const IGNORE_COMMENT = /^--\s*agentry-format-ignore\b/;

/**
 * A whole SQL file in the house style: comments and blank-line grouping
 * kept, each statement formatted, LF line ends, no trailing blanks (outside
 * strings), one newline at the end.
 */
export function formatSql(source: string): FormattedSql {
  const normalised = trimLines(source);
  const pieces = splitPieces(normalised, scanSql(normalised));
  const notes: FormatNote[] = [];
  let out = '';
  // An IGNORE_COMMENT in the run of comment lines right above a statement.
  let ignore = false;
  for (const [index, piece] of pieces.entries()) {
    let text = piece.text;
    if (piece.blankBefore) ignore = false;
    if (piece.kind === 'comment' && !piece.sameLine && IGNORE_COMMENT.test(text)) ignore = true;
    if (piece.kind === 'statement') {
      if (ignore) {
        text = trimLines(text);
      } else {
        const result = formatStatement(text);
        text = result.text;
        if (result.kept) notes.push({ line: piece.line, message: `statement kept as written: ${result.kept}` });
      }
      ignore = false;
    }
    if (index === 0) out += text;
    else if (piece.kind === 'comment' && piece.sameLine) out += ` ${text}`;
    else out += `${piece.blankBefore ? '\n\n' : '\n'}${text}`;
  }
  const text = out === '' ? '' : `${out}\n`;
  // The file as a whole: the same tokens in the same order (a last guard; each statement was checked already).
  const difference = firstMeaningDifference(normalised, text);
  if (difference) {
    throw new Error(`formatting would change the file's tokens (${difference.before ?? 'end'} became ${difference.after ?? 'end'}); this is a bug in agentry format`);
  }
  return { text, notes };
}
