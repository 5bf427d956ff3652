/**
 * A small lexer for the SQL that PostgreSQL prints back (pg_get_constraintdef,
 * function bodies) and for hand-written clauses in tests. It knows string
 * literals in all their forms, quoted identifiers, comments and operators,
 * which is what the CHECK-clause parser (vocabulary.ts) and the trigger
 * scanner (catalog.ts) need; it is not a full SQL grammar.
 */

export type Token =
  /** A string constant, decoded ('it''s' -> it's). */
  | { kind: 'string'; value: string }
  /** A string form we do not decode (U&'...', B'...', X'...'): never a vocabulary value. */
  | { kind: 'opaque-string'; value: string }
  /** An identifier: unquoted ones as written, quoted ones decoded ("a""b" -> a"b). */
  | { kind: 'ident'; value: string; quoted: boolean }
  | { kind: 'number'; value: string }
  | { kind: 'punct'; value: '(' | ')' | '[' | ']' | ',' | ';' | '.' }
  /** Operators, '::' included. */
  | { kind: 'op'; value: string }
  /** A positional parameter ($1). */
  | { kind: 'param'; value: string };

const OPERATOR_CHARS = new Set('+-*/<>=~!@#%^&|`?:');
const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_PART = /[A-Za-z0-9_$\u0080-\uffff]/;

export class SqlLexError extends Error {}

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = sql.length;

  const readQuoted = (start: number, quote: string, backslashEscapes: boolean): { value: string; end: number } => {
    let value = '';
    let j = start;
    for (;;) {
      if (j >= n) throw new SqlLexError(`unterminated ${quote === '"' ? 'identifier' : 'string'} at offset ${start - 1}`);
      const c = sql[j] as string;
      if (backslashEscapes && c === '\\') {
        const { text, length } = decodeBackslash(sql, j);
        value += text;
        j += length;
        continue;
      }
      if (c === quote) {
        if (sql[j + 1] === quote) {
          value += quote;
          j += 2;
          continue;
        }
        return { value, end: j + 1 };
      }
      value += c;
      j += 1;
    }
  };

  while (i < n) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    if (c === '-' && next === '-') {
      while (i < n && sql[i] !== '\n') i += 1;
      continue;
    }
    if (c === '/' && next === '*') {
      // Block comments nest in PostgreSQL.
      let depth = 0;
      do {
        if (sql.startsWith('/*', i)) {
          depth += 1;
          i += 2;
        } else if (sql.startsWith('*/', i)) {
          depth -= 1;
          i += 2;
        } else if (i >= n) {
          throw new SqlLexError('unterminated comment');
        } else {
          i += 1;
        }
      } while (depth > 0);
      continue;
    }
    if (c === "'") {
      const { value, end } = readQuoted(i + 1, "'", false);
      tokens.push({ kind: 'string', value });
      i = end;
      continue;
    }
    if ((c === 'E' || c === 'e') && next === "'") {
      const { value, end } = readQuoted(i + 2, "'", true);
      tokens.push({ kind: 'string', value });
      i = end;
      continue;
    }
    if ((c === 'U' || c === 'u') && next === '&' && (sql[i + 2] === "'" || sql[i + 2] === '"')) {
      const quote = sql[i + 2] as string;
      const { value, end } = readQuoted(i + 3, quote, false);
      // Unicode escapes (and UESCAPE) are not decoded: such a string never counts as a value.
      tokens.push(quote === "'" ? { kind: 'opaque-string', value } : { kind: 'ident', value, quoted: true });
      i = end;
      continue;
    }
    if ((c === 'B' || c === 'b' || c === 'X' || c === 'x') && next === "'") {
      const { value, end } = readQuoted(i + 2, "'", false);
      tokens.push({ kind: 'opaque-string', value });
      i = end;
      continue;
    }
    if (c === '$') {
      const dollar = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(sql.slice(i));
      if (dollar) {
        const tag = dollar[0];
        const close = sql.indexOf(tag, i + tag.length);
        if (close === -1) throw new SqlLexError('unterminated dollar-quoted string');
        tokens.push({ kind: 'string', value: sql.slice(i + tag.length, close) });
        i = close + tag.length;
        continue;
      }
      const param = /^\$\d+/.exec(sql.slice(i));
      if (param) {
        tokens.push({ kind: 'param', value: param[0] });
        i += param[0].length;
        continue;
      }
    }
    if (c === '"') {
      const { value, end } = readQuoted(i + 1, '"', false);
      tokens.push({ kind: 'ident', value, quoted: true });
      i = end;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && next !== undefined && /[0-9]/.test(next))) {
      const number = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(sql.slice(i));
      const text = number?.[0] ?? c;
      tokens.push({ kind: 'number', value: text });
      i += text.length;
      continue;
    }
    if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < n && IDENT_PART.test(sql[j] as string)) j += 1;
      tokens.push({ kind: 'ident', value: sql.slice(i, j), quoted: false });
      i = j;
      continue;
    }
    if (c === '(' || c === ')' || c === '[' || c === ']' || c === ',' || c === ';' || c === '.') {
      tokens.push({ kind: 'punct', value: c });
      i += 1;
      continue;
    }
    if (OPERATOR_CHARS.has(c)) {
      let j = i;
      // An operator ends where a comment starts.
      while (j < n && OPERATOR_CHARS.has(sql[j] as string) && !sql.startsWith('--', j) && !sql.startsWith('/*', j)) j += 1;
      tokens.push({ kind: 'op', value: sql.slice(i, j) });
      i = j;
      continue;
    }
    throw new SqlLexError(`unexpected character ${JSON.stringify(c)} at offset ${i}`);
  }
  return tokens;
}

function decodeBackslash(sql: string, at: number): { text: string; length: number } {
  const c = sql[at + 1];
  if (c === undefined) return { text: '\\', length: 1 };
  const simple: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
  if (c in simple) return { text: simple[c] as string, length: 2 };
  const octal = /^[0-7]{1,3}/.exec(sql.slice(at + 1));
  if (octal) return { text: String.fromCharCode(parseInt(octal[0], 8)), length: 1 + octal[0].length };
  const hex = /^x([0-9A-Fa-f]{1,2})/.exec(sql.slice(at + 1));
  if (hex) return { text: String.fromCharCode(parseInt(hex[1] as string, 16)), length: 1 + hex[0].length };
  const unicode = /^(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))/.exec(sql.slice(at + 1));
  if (unicode) return { text: String.fromCodePoint(parseInt((unicode[1] ?? unicode[2]) as string, 16)), length: 1 + unicode[0].length };
  return { text: c, length: 2 };
}

export function isKeyword(token: Token | undefined, word: string): boolean {
  return token !== undefined && token.kind === 'ident' && !token.quoted && token.value.toUpperCase() === word;
}

export function isPunct(token: Token | undefined, value: string): boolean {
  return token !== undefined && token.kind === 'punct' && token.value === value;
}

export function isOp(token: Token | undefined, value: string): boolean {
  return token !== undefined && token.kind === 'op' && token.value === value;
}

/** Index of the bracket that closes the one at `open`, or -1. */
export function matchingClose(tokens: readonly Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i += 1) {
    const t = tokens[i];
    if (isPunct(t, '(') || isPunct(t, '[')) depth += 1;
    else if (isPunct(t, ')') || isPunct(t, ']')) {
      depth -= 1;
      if (depth === 0) return i;
      if (depth < 0) return -1;
    }
  }
  return -1;
}

/** Removes parentheses that wrap the whole token list, as often as they do. */
export function stripParens(tokens: readonly Token[]): readonly Token[] {
  let current = tokens;
  while (current.length >= 2 && isPunct(current[0], '(') && matchingClose(current, 0) === current.length - 1) {
    current = current.slice(1, -1);
  }
  return current;
}

/** Splits at tokens matching `is` that sit outside any brackets. */
export function splitTopLevel(tokens: readonly Token[], is: (token: Token, index: number) => boolean): Token[][] {
  const parts: Token[][] = [[]];
  let depth = 0;
  tokens.forEach((t, index) => {
    if (isPunct(t, '(') || isPunct(t, '[')) depth += 1;
    else if (isPunct(t, ')') || isPunct(t, ']')) depth -= 1;
    if (depth === 0 && is(t, index)) {
      parts.push([]);
      return;
    }
    (parts[parts.length - 1] as Token[]).push(t);
  });
  return parts;
}
