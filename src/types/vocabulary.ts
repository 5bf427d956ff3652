/**
 * Vocabulary columns: turns CHECK constraints of the form
 *
 *   status IN ('a', 'b')            printed by PostgreSQL as
 *   ((status)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[]))
 *
 * (or `status = 'a'`, or a domain CHECK on VALUE) into the list of values the
 * column may hold, so that the generated types say 'a' | 'b' instead of
 * string. The parser is pure and conservative: whatever it does not
 * understand is left alone (the column stays a string), never guessed.
 *
 * A CHECK restricts a column only through a list that is a top-level AND
 * conjunct of it (`status IN (...) AND length(x) > 0` restricts status;
 * `status IN (...) OR other IS NULL` does not). A disjunction whose every
 * branch is a list on the same column, or that column IS NULL, counts as one
 * list. Several CHECKs on one column intersect. A list holding NULL restricts
 * nothing (`x IN ('a', NULL)` is NULL, so true enough for a CHECK, for any x).
 *
 * The same parser reads `jsonb_typeof(col) = 'object'` conjuncts, from which
 * json columns get Record<string, unknown> / unknown[] (see shapes.ts).
 */
import {
  isKeyword,
  isOp,
  isPunct,
  matchingClose,
  splitTopLevel,
  SqlLexError,
  stripParens,
  tokenize,
  type Token,
} from './sql-lexer.js';

export type CheckSubject = { kind: 'column'; column: string } | { kind: 'json_typeof'; column: string };

export interface CheckFact {
  subject: CheckSubject;
  /** The allowed values, in the order the CHECK lists them, each once. */
  values: string[];
}

export interface CheckClause {
  name: string;
  clause: string;
}

/**
 * Types a column (or a literal) may be cast to on the way without changing
 * which strings compare equal. Any other cast makes the CHECK opaque.
 */
const TEXT_TYPES = new Set(['text', 'character varying', 'varchar', 'character', 'char', 'bpchar', 'name', 'unknown']);
const JSON_TYPES = new Set(['json', 'jsonb']);

/** A parsed type name: `pg_catalog."varchar"(20)[]` -> { name: 'varchar', array: true }. */
interface TypeName {
  name: string;
  array: boolean;
}

/**
 * The facts a CHECK clause enforces as top-level conjuncts. Accepts the text
 * of pg_get_constraintdef (`CHECK (...)`, maybe `NOT VALID`), a bare
 * expression, and extract-pg-schema's `clause`, which can have lost one
 * bracket at each end. Never throws.
 */
export function parseCheckClause(clause: string): CheckFact[] {
  let tokens: Token[];
  try {
    tokens = tokenize(clause);
  } catch (error) {
    if (error instanceof SqlLexError) return [];
    throw error;
  }
  if (isKeyword(tokens[0], 'CHECK')) tokens = tokens.slice(1);
  // Trailing constraint options: NOT VALID, NO INHERIT.
  for (;;) {
    const last = tokens.length;
    if (last >= 2 && isKeyword(tokens[last - 2], 'NOT') && isKeyword(tokens[last - 1], 'VALID')) tokens = tokens.slice(0, -2);
    else if (last >= 2 && isKeyword(tokens[last - 2], 'NO') && isKeyword(tokens[last - 1], 'INHERIT')) tokens = tokens.slice(0, -2);
    else break;
  }
  tokens = rebalance(tokens);
  if (tokens === undefined || tokens.length === 0) return [];
  return conjuncts(tokens);
}

/**
 * extract-pg-schema strips two brackets from each end of a clause that starts
 * with "((" and ends with "))", which for `((a)::text = ANY (...))` removes one
 * bracket that belongs to the expression. Put back what is missing; give up
 * on anything else that does not balance.
 */
function rebalance(tokens: Token[]): Token[] {
  let depth = 0;
  let lowest = 0;
  for (const t of tokens) {
    if (isPunct(t, '(')) depth += 1;
    else if (isPunct(t, ')')) depth -= 1;
    lowest = Math.min(lowest, depth);
  }
  const open = -lowest;
  const close = depth + open;
  if (open === 0 && close === 0) return tokens;
  // Only the symmetric loss is repaired; anything else is not PostgreSQL's text.
  if (open !== 1 || close !== 1) return [];
  const paren = (value: '(' | ')'): Token => ({ kind: 'punct', value });
  return [...Array.from({ length: open }, () => paren('(')), ...tokens, ...Array.from({ length: close }, () => paren(')'))];
}

/** Facts of an expression: its top-level AND conjuncts, each read as a list predicate if it is one. */
function conjuncts(tokens: readonly Token[]): CheckFact[] {
  const expression = stripParens(tokens);
  const branches = splitKeyword(expression, 'OR');
  if (branches.length > 1) {
    const fact = disjunction(branches);
    return fact ? [fact] : [];
  }
  const parts = splitKeyword(expression, 'AND');
  if (parts.length > 1) return parts.flatMap((part) => conjuncts(part));
  const simple = predicate(expression);
  return simple && simple.values !== null ? [{ subject: simple.subject, values: simple.values }] : [];
}

/** `a = 'x' OR a IN ('y', 'z') OR a IS NULL`: one list on a, in order. */
function disjunction(branches: readonly Token[][]): CheckFact | undefined {
  const parts = branches.map((b) => predicate(stripParens(b)));
  let subject: CheckSubject | undefined;
  const values: string[] = [];
  for (const part of parts) {
    if (!part) return undefined;
    if (subject && !sameSubject(subject, part.subject)) return undefined;
    subject ??= part.subject;
    if (part.values !== null) values.push(...part.values);
  }
  if (!subject || parts.every((p) => p?.values === null)) return undefined;
  return { subject, values: unique(values) };
}

function sameSubject(a: CheckSubject, b: CheckSubject): boolean {
  return a.kind === b.kind && a.column === b.column;
}

function splitKeyword(tokens: readonly Token[], word: 'AND' | 'OR'): Token[][] {
  if (word === 'OR') return splitTopLevel(tokens, (t) => isKeyword(t, 'OR'));
  // `x BETWEEN a AND b` (hand-written; PostgreSQL prints >= and <=) keeps its AND.
  let pendingBetween = false;
  return splitTopLevel(tokens, (t) => {
    if (isKeyword(t, 'BETWEEN')) pendingBetween = true;
    if (!isKeyword(t, 'AND')) return false;
    if (pendingBetween) {
      pendingBetween = false;
      return false;
    }
    return true;
  });
}

/**
 * One comparison: `subject = ANY (array)`, `subject IN (list)`,
 * `subject = literal` (either side), or `subject IS NULL` (values null).
 */
function predicate(tokens: readonly Token[]): { subject: CheckSubject; values: string[] | null } | undefined {
  if (tokens.length >= 3 && isKeyword(tokens[tokens.length - 2], 'IS') && isKeyword(tokens[tokens.length - 1], 'NULL')) {
    const subject = parseSubject(tokens.slice(0, -2));
    return subject ? { subject, values: null } : undefined;
  }

  const inAt = topLevelIndex(tokens, (t) => isKeyword(t, 'IN'));
  if (inAt > 0) {
    if (isKeyword(tokens[inAt - 1], 'NOT')) return undefined;
    const subject = parseSubject(tokens.slice(0, inAt));
    const list = tokens.slice(inAt + 1);
    if (!subject || !isPunct(list[0], '(') || matchingClose(list, 0) !== list.length - 1) return undefined;
    const values = literalList(splitTopLevel(list.slice(1, -1), (t) => isPunct(t, ',')));
    return values ? { subject, values } : undefined;
  }

  const comparisons = topLevelIndexes(tokens, (t) => t.kind === 'op' && t.value !== '::');
  if (comparisons.length !== 1) return undefined;
  const at = comparisons[0] as number;
  if (!isOp(tokens[at], '=')) return undefined;
  const left = tokens.slice(0, at);
  const right = tokens.slice(at + 1);

  if ((isKeyword(right[0], 'ANY') || isKeyword(right[0], 'SOME')) && isPunct(right[1], '(') && matchingClose(right, 1) === right.length - 1) {
    const subject = parseSubject(left);
    const values = arrayValues(right.slice(2, -1));
    return subject && values ? { subject, values } : undefined;
  }
  const leftSubject = parseSubject(left);
  if (leftSubject) {
    const value = literal(right);
    return typeof value === 'string' ? { subject: leftSubject, values: [value] } : undefined;
  }
  const rightSubject = parseSubject(right);
  const value = literal(left);
  return rightSubject && typeof value === 'string' ? { subject: rightSubject, values: [value] } : undefined;
}

function topLevelIndexes(tokens: readonly Token[], is: (t: Token) => boolean): number[] {
  const found: number[] = [];
  let depth = 0;
  tokens.forEach((t, i) => {
    if (isPunct(t, '(') || isPunct(t, '[')) depth += 1;
    else if (isPunct(t, ')') || isPunct(t, ']')) depth -= 1;
    else if (depth === 0 && is(t)) found.push(i);
  });
  return found;
}

function topLevelIndex(tokens: readonly Token[], is: (t: Token) => boolean): number {
  return topLevelIndexes(tokens, is)[0] ?? -1;
}

/** `x`, `(x)::text`, `((x)::text)::varchar`, `jsonb_typeof(x)`; casts must keep text text. */
function parseSubject(tokens: readonly Token[]): CheckSubject | undefined {
  const split = splitCasts(tokens);
  if (!split) return undefined;
  const { base, casts } = split;
  if (base.length === 1 && base[0]?.kind === 'ident') {
    const ident = base[0];
    if (!ident.quoted && isReserved(ident.value)) return undefined;
    return casts.every((c) => !c.array && TEXT_TYPES.has(c.name)) ? { kind: 'column', column: ident.value } : undefined;
  }
  const fn = base[0];
  if (
    fn?.kind === 'ident' &&
    !fn.quoted &&
    ['jsonb_typeof', 'json_typeof'].includes(fn.value.toLowerCase()) &&
    isPunct(base[1], '(') &&
    matchingClose(base, 1) === base.length - 1
  ) {
    // jsonb_typeof returns text: casts after it must keep it text.
    if (!casts.every((c) => !c.array && TEXT_TYPES.has(c.name))) return undefined;
    const argument = splitCasts(base.slice(2, -1));
    const column = argument?.base[0];
    if (!argument || argument.base.length !== 1 || column?.kind !== 'ident' || (!column.quoted && isReserved(column.value))) return undefined;
    if (!argument.casts.every((c) => !c.array && JSON_TYPES.has(c.name))) return undefined;
    return { kind: 'json_typeof', column: column.value };
  }
  if (casts.length > 0) {
    // `((x)::text)::varchar`: the bracket holds more casts; read the inside.
    const inner = parseSubject(base);
    if (inner && casts.every((c) => !c.array && TEXT_TYPES.has(c.name))) return inner;
  }
  return undefined;
}

/** Words PostgreSQL never prints unquoted as a column name, so never a subject. */
function isReserved(word: string): boolean {
  return ['NULL', 'TRUE', 'FALSE', 'ARRAY', 'ANY', 'SOME', 'ALL', 'NOT', 'AND', 'OR', 'CASE', 'IN', 'IS'].includes(word.toUpperCase());
}

/** Splits `base::type1::type2` (base without its outer brackets). */
function splitCasts(tokens: readonly Token[]): { base: readonly Token[]; casts: TypeName[] } | undefined {
  const parts = splitTopLevel(stripParens(tokens), (t) => isOp(t, '::'));
  const casts: TypeName[] = [];
  for (const part of parts.slice(1)) {
    const type = typeName(part);
    if (!type) return undefined;
    casts.push(type);
  }
  const base = stripParens(parts[0] as Token[]);
  if (base.length === 0) return undefined;
  return { base, casts };
}

/** `character varying(20)[]`, `pg_catalog.text`, `"varchar"` -> lower-case name without schema or modifiers. */
function typeName(tokens: readonly Token[]): TypeName | undefined {
  const words: string[] = [];
  let array = false;
  for (let i = 0; i < tokens.length; i += 1) {
    const t = tokens[i] as Token;
    if (t.kind === 'ident') {
      words.push(t.quoted ? t.value : t.value.toLowerCase());
    } else if (isPunct(t, '.')) {
      words.length = 0; // drop the schema
    } else if (isPunct(t, '(')) {
      const close = matchingClose(tokens, i);
      if (close === -1) return undefined;
      i = close; // type modifiers such as (20)
    } else if (isPunct(t, '[')) {
      const close = matchingClose(tokens, i);
      if (close === -1) return undefined;
      array = true;
      i = close;
    } else {
      return undefined;
    }
  }
  return words.length > 0 ? { name: words.join(' '), array } : undefined;
}

/**
 * A text literal: `'a'`, `'a'::character varying`, `('a')::text`. Returns
 * null for a NULL constant and undefined for anything else (a number, a
 * literal cast to a non-text type, an expression).
 */
function literal(tokens: readonly Token[]): string | null | undefined {
  const split = splitCasts(tokens);
  if (!split) return undefined;
  const { base, casts } = split;
  if (!casts.every((c) => !c.array && TEXT_TYPES.has(c.name))) return undefined;
  if (base.length === 1) {
    const t = base[0] as Token;
    if (t.kind === 'string') return t.value;
    if (isKeyword(t, 'NULL')) return null;
    return undefined;
  }
  if (casts.length > 0) return literal(base);
  return undefined;
}

/** Literals of a list; undefined when one is not a text literal or is NULL. */
function literalList(items: readonly Token[][]): string[] | undefined {
  const values: string[] = [];
  for (const item of items) {
    const value = literal(item);
    if (typeof value !== 'string') return undefined;
    values.push(value);
  }
  return unique(values);
}

/** `ARRAY['a', 'b']`, `(ARRAY[...])::text[]`, `'{a,b}'::text[]`. */
function arrayValues(tokens: readonly Token[]): string[] | undefined {
  const split = splitCasts(tokens);
  if (!split) return undefined;
  const { base, casts } = split;
  if (!casts.every((c) => TEXT_TYPES.has(c.name))) return undefined;
  if (isKeyword(base[0], 'ARRAY') && isPunct(base[1], '[') && matchingClose(base, 1) === base.length - 1) {
    const inner = base.slice(2, -1);
    if (inner.length === 0) return undefined;
    return literalList(splitTopLevel(inner, (t) => isPunct(t, ',')));
  }
  if (base.length === 1 && base[0]?.kind === 'string') {
    return parseArrayLiteral(base[0].value);
  }
  if (casts.length > 0) return arrayValues(base);
  return undefined;
}

/** The text form of a one-dimensional array: {a,"b c","d\"e"}; undefined for NULL elements or anything nested. */
export function parseArrayLiteral(text: string): string[] | undefined {
  const s = text.trim();
  if (!s.startsWith('{') || !s.endsWith('}')) return undefined;
  const body = s.slice(1, -1);
  if (body.trim() === '') return undefined;
  const values: string[] = [];
  let i = 0;
  for (;;) {
    while (/\s/.test(body[i] ?? '')) i += 1;
    let value = '';
    if (body[i] === '"') {
      i += 1;
      for (;;) {
        const c = body[i];
        if (c === undefined) return undefined;
        if (c === '\\') {
          value += body[i + 1] ?? '';
          i += 2;
          continue;
        }
        if (c === '"') {
          i += 1;
          break;
        }
        value += c;
        i += 1;
      }
      while (/\s/.test(body[i] ?? '')) i += 1;
    } else {
      let raw = '';
      while (i < body.length && body[i] !== ',') {
        const c = body[i] as string;
        if (c === '{' || c === '}' || c === '"') return undefined;
        if (c === '\\') {
          raw += body[i + 1] ?? '';
          i += 2;
          continue;
        }
        raw += c;
        i += 1;
      }
      value = raw.trim();
      if (value.toUpperCase() === 'NULL' || value === '') return undefined;
    }
    values.push(value);
    if (i >= body.length) break;
    if (body[i] !== ',') return undefined;
    i += 1;
  }
  return unique(values);
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

export interface Vocabulary {
  /** Allowed values in the order the (first) CHECK lists them. */
  values: string[];
  /** The CHECKs (or the domain) the values come from. */
  constraints: string[];
}

/**
 * Per column: the values that list CHECKs allow, intersected over every CHECK
 * that restricts it. `skip` names CHECKs to ignore (NOT VALID ones, whose
 * rule older rows need not follow). For a domain the column is VALUE.
 */
export function listVocabularies(checks: readonly CheckClause[], skip: ReadonlySet<string> = new Set()): Map<string, Vocabulary> {
  const result = new Map<string, Vocabulary>();
  for (const check of [...checks].sort((a, b) => a.name.localeCompare(b.name))) {
    if (skip.has(check.name)) continue;
    for (const fact of parseCheckClause(check.clause)) {
      if (fact.subject.kind !== 'column') continue;
      const known = result.get(fact.subject.column);
      if (!known) {
        result.set(fact.subject.column, { values: fact.values, constraints: [check.name] });
        continue;
      }
      const allowed = new Set(fact.values);
      known.values = known.values.filter((v) => allowed.has(v));
      if (!known.constraints.includes(check.name)) known.constraints.push(check.name);
    }
  }
  return result;
}

export const JSON_KINDS = ['object', 'array', 'string', 'number', 'boolean', 'null'] as const;
export type JsonKind = (typeof JSON_KINDS)[number];

/** Per json/jsonb column: the jsonb_typeof results its CHECKs allow (top-level conjuncts only). */
export function jsonKinds(checks: readonly CheckClause[], skip: ReadonlySet<string> = new Set()): Map<string, { kinds: JsonKind[]; constraints: string[] }> {
  const result = new Map<string, { kinds: JsonKind[]; constraints: string[] }>();
  for (const check of [...checks].sort((a, b) => a.name.localeCompare(b.name))) {
    if (skip.has(check.name)) continue;
    for (const fact of parseCheckClause(check.clause)) {
      if (fact.subject.kind !== 'json_typeof') continue;
      // A value jsonb_typeof never returns ('objct') makes the CHECK refuse every non-NULL value: leave that alone.
      const kinds = fact.values.filter((v): v is JsonKind => (JSON_KINDS as readonly string[]).includes(v));
      if (kinds.length !== fact.values.length) continue;
      const known = result.get(fact.subject.column);
      if (!known) {
        result.set(fact.subject.column, { kinds, constraints: [check.name] });
        continue;
      }
      known.kinds = known.kinds.filter((k) => kinds.includes(k));
      known.constraints.push(check.name);
    }
  }
  return result;
}

/** Column facts the vocabulary rule needs beyond its CHECKs. */
export interface VocabularyColumn {
  name: string;
  /** Qualified type, e.g. pg_catalog.varchar or agentry.task_status. */
  type: string;
  isArray: boolean;
  /** Declared length of char(n) / varchar(n), if any. */
  maxLength: number | null;
  /** false when the column's collation is nondeterministic (case-insensitive ICU...): equal is not identical there. */
  deterministicCollation?: boolean;
}

/** Base types whose values are the strings that compared equal in the CHECK. */
const TEXT_BASE_TYPES = new Set(['pg_catalog.text', 'pg_catalog.varchar', 'pg_catalog.bpchar', 'pg_catalog.char', 'pg_catalog.name']);

/**
 * The literal union a column gets, or undefined to leave it alone: text-like
 * (a domain over text counts) and not an array, with a deterministic
 * collation. `domainBase` resolves a domain to its base type. char(n) values
 * come back blank-padded, so the union holds them padded.
 */
export function columnVocabulary(
  column: VocabularyColumn,
  vocabulary: Vocabulary | undefined,
  domainBase: (type: string) => string | undefined = () => undefined,
): Vocabulary | undefined {
  if (!vocabulary || vocabulary.values.length === 0 || column.isArray || column.deterministicCollation === false) return undefined;
  const base = TEXT_BASE_TYPES.has(column.type) ? column.type : domainBase(column.type);
  if (!base || !TEXT_BASE_TYPES.has(base)) return undefined;
  if (base === 'pg_catalog.bpchar' && column.maxLength) {
    const width = column.maxLength;
    // Trailing blanks are insignificant in char(n): 'ab' and 'ab ' are one value.
    const values = unique(vocabulary.values.map((v) => v.replace(/ +$/, '').padEnd(width, ' ')));
    if (values.some((v) => v.length > width)) return undefined;
    return { values, constraints: vocabulary.constraints };
  }
  if (base === 'pg_catalog.varchar' && column.maxLength) {
    // A value longer than varchar(n) can never be stored.
    const values = vocabulary.values.filter((v) => [...v].length <= (column.maxLength as number));
    return values.length > 0 ? { values, constraints: vocabulary.constraints } : undefined;
  }
  return vocabulary;
}

/**
 * A TypeScript string literal in the generated files' style: single quotes,
 * or double quotes when that needs fewer escapes ("it's"), as Prettier does.
 */
export function tsString(value: string): string {
  const singles = value.split("'").length - 1;
  const doubles = value.split('"').length - 1;
  const quote = singles > doubles ? '"' : "'";
  let out = quote;
  for (const ch of value) {
    const code = ch.codePointAt(0) as number;
    if (ch === quote) out += `\\${quote}`;
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f || code === 0x2028 || code === 0x2029) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}${quote}`;
}

/** 'a' | 'b' for TypeScript. */
export function literalUnion(values: readonly string[]): string {
  return values.map(tsString).join(' | ');
}

/** z.enum(['a', 'b']) for zod. */
export function zodEnum(values: readonly string[]): string {
  return `z.enum([${values.map(tsString).join(', ')}])`;
}
