/**
 * A positional lexer for PostgreSQL source text, as the formatter needs it:
 * every token (whitespace and comments included) with its offsets, so that a
 * file can be split into top-level comments and statements, and so that the
 * formatter's output can be compared token by token with its input.
 *
 * It follows PostgreSQL's lexer (scan.l) where that matters for meaning:
 * '...' strings with '' and, after E, backslash escapes; prefixed strings
 * (E'', B'', X'', N'', U&'') as one token; "quoted identifiers";
 * $tag$ dollar-quoted bodies; $n parameters; -- and nested /* *\/ comments;
 * operators as the longest run of operator characters, cut where a comment
 * starts, with a trailing + or - dropped from a run that has none of
 * ~ ! @ # % ^ & | ` ? (so `a>-1` is `a`, `>`, `-`, `1`, as PostgreSQL reads it).
 */

export type SqlTokenKind =
  | 'space'
  | 'line-comment'
  | 'block-comment'
  /** A string constant, prefix included: 'a', E'a\n', U&'...', B'101'. */
  | 'string'
  /** A dollar-quoted string, tags included: $$ ... $$, $body$ ... $body$. */
  | 'dollar'
  | 'quoted-ident'
  /** An unquoted identifier or keyword. */
  | 'word'
  | 'param'
  | 'number'
  | 'operator'
  /** ( ) [ ] , ; . : :: := */
  | 'punct';

export interface SqlToken {
  kind: SqlTokenKind;
  text: string;
  /** [start, end) offsets in the source. */
  start: number;
  end: number;
}

export class SqlScanError extends Error {
  override name = 'SqlScanError';
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

const OPERATOR_CHARS = new Set('+-*/<>=~!@#%^&|`?');
const OPERATOR_NEEDS_SIGN = /[~!@#%^&|`?]/;
const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const NUMBER = /^(?:0[xX][0-9A-Fa-f_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)/;

/** Splits SQL text into tokens that cover it completely (concatenating their texts gives the input back). */
export function scanSql(sql: string): SqlToken[] {
  const tokens: SqlToken[] = [];
  const n = sql.length;
  let i = 0;
  const push = (kind: SqlTokenKind, end: number) => {
    tokens.push({ kind, text: sql.slice(i, end), start: i, end });
    i = end;
  };
  // End of a quoted text opened at `open` (the quote character's offset).
  const closeQuote = (open: number, quote: string, backslashes: boolean): number => {
    let j = open + 1;
    for (;;) {
      if (j >= n) throw new SqlScanError(`unterminated ${quote === '"' ? 'quoted identifier' : 'string'}`, open);
      const c = sql[j];
      if (backslashes && c === '\\') j += 2;
      else if (c === quote && sql[j + 1] === quote) j += 2;
      else if (c === quote) return j + 1;
      else j += 1;
    }
  };

  while (i < n) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    if (/\s/.test(c)) {
      let j = i + 1;
      while (j < n && /\s/.test(sql[j] as string)) j += 1;
      push('space', j);
    } else if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      push('line-comment', end < 0 ? n : end);
    } else if (c === '/' && next === '*') {
      let depth = 0;
      let j = i;
      do {
        if (j >= n) throw new SqlScanError('unterminated /* comment', i);
        if (sql.startsWith('/*', j)) {
          depth += 1;
          j += 2;
        } else if (sql.startsWith('*/', j)) {
          depth -= 1;
          j += 2;
        } else j += 1;
      } while (depth > 0);
      push('block-comment', j);
    } else if (c === "'") {
      push('string', closeQuote(i, "'", false));
    } else if (c === '"') {
      push('quoted-ident', closeQuote(i, '"', false));
    } else if (/[EeBbXxNn]/.test(c) && next === "'") {
      push('string', closeQuote(i + 1, "'", c === 'E' || c === 'e'));
    } else if ((c === 'U' || c === 'u') && next === '&' && (sql[i + 2] === "'" || sql[i + 2] === '"')) {
      const quote = sql[i + 2] as string;
      push(quote === "'" ? 'string' : 'quoted-ident', closeQuote(i + 2, quote, false));
    } else if (c === '$') {
      const rest = sql.slice(i, i + 200);
      const tag = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(rest);
      const param = /^\$\d+/.exec(rest);
      if (tag) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        if (close < 0) throw new SqlScanError(`unterminated dollar-quoted string ${tag[0]}`, i);
        push('dollar', close + tag[0].length);
      } else if (param) {
        push('param', i + param[0].length);
      } else {
        push('operator', i + 1);
      }
    } else if (/[0-9]/.test(c) || (c === '.' && next !== undefined && /[0-9]/.test(next))) {
      push('number', i + (NUMBER.exec(sql.slice(i, i + 400))?.[0].length ?? 1));
    } else if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < n && IDENT_PART.test(sql[j] as string)) j += 1;
      push('word', j);
    } else if (c === ':') {
      push('punct', next === ':' || next === '=' ? i + 2 : i + 1);
    } else if ('()[],;.'.includes(c)) {
      push('punct', i + 1);
    } else if (OPERATOR_CHARS.has(c)) {
      let j = i;
      while (j < n && OPERATOR_CHARS.has(sql[j] as string) && !sql.startsWith('--', j) && !sql.startsWith('/*', j)) j += 1;
      let run = sql.slice(i, j);
      if (run.length > 1 && !OPERATOR_NEEDS_SIGN.test(run)) {
        while (run.length > 1 && /[+-]$/.test(run)) run = run.slice(0, -1);
      }
      push('operator', i + run.length);
    } else {
      push('operator', i + 1);
    }
  }
  return tokens;
}

export function isTrivia(token: SqlToken): boolean {
  return token.kind === 'space';
}

export function isComment(token: SqlToken): boolean {
  return token.kind === 'line-comment' || token.kind === 'block-comment';
}

/**
 * What a token means, for comparing a formatted text with its source:
 * whitespace means nothing; unquoted words are compared without case
 * (PostgreSQL folds them); comments by their text (line comments without
 * trailing blanks, block comments line by line without indentation);
 * everything else exactly.
 */
export function meaning(token: SqlToken): string {
  switch (token.kind) {
    case 'word':
      return `word ${token.text.toLowerCase()}`;
    case 'line-comment':
      return `comment ${token.text.trimEnd()}`;
    case 'block-comment':
      return `comment ${token.text
        .split('\n')
        .map((line) => line.trim())
        .join('\n')}`;
    default:
      return `${token.kind} ${token.text}`;
  }
}

/** The meaningful tokens of a text (whitespace dropped), as meaning() strings. */
export function meanings(sql: string): string[] {
  return scanSql(sql)
    .filter((t) => !isTrivia(t))
    .map(meaning);
}

/** The first place where two texts' meaningful tokens differ, or null when they mean the same. */
export function firstMeaningDifference(before: string, after: string): { index: number; before: string | null; after: string | null } | null {
  const a = meanings(before);
  const b = meanings(after);
  for (let index = 0; index < Math.max(a.length, b.length); index += 1) {
    if (a[index] !== b[index]) return { index, before: a[index] ?? null, after: b[index] ?? null };
  }
  return null;
}
