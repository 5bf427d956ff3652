import { ValidationError, type ValidationIssue } from './errors.js';

/**
 * Values PostgreSQL cannot store as given, refused before any SQL with a
 * ValidationError that says where and why (instead of a driver TypeError, a
 * silently changed value, or a server error after the round trip):
 *
 *  - text: a NUL character (U+0000), which PostgreSQL text and jsonb cannot
 *    hold, or a lone UTF-16 surrogate, which is not Unicode text (node-postgres
 *    would send it as U+FFFD, so it would not be stored as written);
 *  - JSON: what JSON cannot represent (a bigint, NaN or an infinity, which
 *    JSON.stringify turns into null; a Map or Set, which it turns into {}; a
 *    cycle), and nesting deeper than MAX_JSON_DEPTH levels.
 */

/** Deepest JSON nesting the DAL sends (PostgreSQL's jsonb parser and JSON.stringify both give up some thousands deep). */
export const MAX_JSON_DEPTH = 1000;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be stored as written, or undefined when it can. */
export function unstorableText(text: string): string | undefined {
  if (text.includes('\0')) return 'contains a NUL character (U+0000), which PostgreSQL text cannot store';
  if (LONE_SURROGATE.test(text)) return 'contains a lone UTF-16 surrogate, which is not Unicode text and would not be stored as written';
  return undefined;
}

type Path = (string | number)[];

function problemIn(value: unknown, path: Path, ancestors: Set<object>): ValidationIssue | undefined {
  switch (typeof value) {
    case 'string': {
      const problem = unstorableText(value);
      return problem ? { path, message: `the string ${problem}` } : undefined;
    }
    case 'number':
      return Number.isFinite(value) ? undefined : { path, message: `${value} is not a JSON number` };
    case 'bigint':
      return { path, message: 'a bigint is not a JSON number (send it as a string)' };
    case 'object':
      break;
    default:
      // undefined, functions and symbols are left out by JSON, as JSON.stringify does.
      return undefined;
  }
  if (value === null) return undefined;
  if (path.length > MAX_JSON_DEPTH) return { path: path.slice(0, 8), message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels` };
  if (ancestors.has(value)) return { path, message: 'a cyclic structure is not JSON' };
  if (value instanceof Map || value instanceof Set)
    return { path, message: `a ${value instanceof Map ? 'Map' : 'Set'} is not JSON (JSON.stringify would store {})` };
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    const converted: unknown = toJSON.call(value, '');
    return converted === value ? undefined : problemIn(converted, path, ancestors);
  }
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i += 1) {
        const problem = problemIn(value[i], [...path, i], ancestors);
        if (problem) return problem;
      }
      return undefined;
    }
    for (const [key, item] of Object.entries(value)) {
      const keyProblem = unstorableText(key);
      if (keyProblem) return { path: [...path, key], message: `the key ${keyProblem}` };
      const problem = problemIn(item, [...path, key], ancestors);
      if (problem) return problem;
    }
    return undefined;
  } finally {
    ancestors.delete(value);
  }
}

/**
 * The JSON text of a jsonb parameter. Throws ValidationError (`invalid <what>:
 * <path>: <why>`) when the value holds something JSON or PostgreSQL cannot
 * store as given; `path` is where the value sits in the caller's input.
 */
export function jsonText(value: unknown, what: string, path: Path = []): string {
  assertJson(value, what, path);
  return JSON.stringify(value);
}

/** The check of jsonText without the text: for a value sent as part of a larger JSON document. */
export function assertJson(value: unknown, what: string, path: Path = []): void {
  const problem = problemIn(value, path, new Set());
  if (problem) {
    const where = problem.path.length > 0 ? `${problem.path.join('.')}: ` : '';
    throw new ValidationError(`invalid ${what}: ${where}${problem.message}`, [problem]);
  }
}

/** jsonText, or null for null and undefined (the column's default or NULL). */
export function jsonTextOrNull(value: unknown, what: string, path: Path = []): string | null {
  return value === undefined || value === null ? null : jsonText(value, what, path);
}

/**
 * Refuses a statement's text parameters (and text elements of array
 * parameters) that PostgreSQL cannot store as written, naming the parameter:
 * the last line of defence for every statement, whatever module built it.
 */
export function assertStorableParams(statement: string, params: readonly unknown[], names: readonly string[] = []): void {
  for (let i = 0; i < params.length; i += 1) {
    const problem = paramProblem(params[i]);
    if (problem) {
      const name = `$${i + 1}${names[i] ? ` ${names[i]}` : ''}`;
      throw new ValidationError(`invalid input value: ${statement} ${name} ${problem}`, [{ path: names[i] ? [names[i] as string] : [], message: problem }], {
        query: statement,
      });
    }
  }
}

function paramProblem(value: unknown): string | undefined {
  if (typeof value === 'string') return unstorableText(value);
  if (Array.isArray(value)) {
    for (const element of value) {
      const problem = paramProblem(element);
      if (problem) return problem;
    }
  }
  return undefined;
}

/**
 * An input or options object as given (`{}` for an optional one left out);
 * ValidationError when it is something else (null, a number, an array),
 * before a field of it is read.
 */
export function objectArg<T extends object>(value: T | undefined, what: string, options: { optional?: boolean; path?: Path } = {}): T {
  if (value === undefined && options.optional !== false) return {} as T;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const path = options.path ?? [];
    throw new ValidationError(`invalid ${what}: ${path.length > 0 ? `${path.join('.')}: ` : ''}expected an object`, [{ path, message: 'expected an object' }]);
  }
  return value;
}
