import fc from 'fast-check';
import { expect } from 'vitest';

import {
  ConflictError,
  ConstraintViolation,
  CycleViolation,
  DatabaseError,
  IllegalTransition,
  MissingInputKey,
  NotFound,
  ValidationError,
} from '../../../src/dal/errors.js';

/**
 * Generators of bad DAL inputs, by the kind of value a field holds, and the
 * check that a refusal is the typed error naming the rule.
 *
 * Every generator yields a `Bad`: the value, a label for the failure report,
 * and the refusals that are right for it. A value is only generated where it is
 * bad for that field (undefined only where the field is required, null only
 * where it is not nullable, ...), so an accepted value is a finding, never a
 * false alarm of the generator.
 */

/** The typed refusals a bad value may meet. */
export type Refusal = 'validation' | 'constraint' | 'notFound' | 'conflict' | 'transition' | 'cycle';

export interface Bad {
  readonly value: unknown;
  readonly label: string;
  readonly refusals: readonly Refusal[];
  /** For a ConstraintViolation: the constraint (or trigger) that must be named. */
  readonly constraint?: string | RegExp;
}

/** Removes the key instead of setting it (a required field left out). */
export const MISSING: unique symbol = Symbol('missing');

/** A Bad that fast-check prints as its label and value (a counterexample report stays readable). */
export function bad(value: unknown, label: string, refusals: readonly Refusal[], constraint?: string | RegExp): Bad {
  const result: Bad = constraint === undefined ? { value, label, refusals } : { value, label, refusals, constraint };
  Object.defineProperty(result, fc.toStringMethod, { value: () => `${label}: ${describe(value)}`, enumerable: false });
  return result;
}

const VALIDATION = ['validation'] as const;

/** A short, printable description of a value for failure reports. */
export function describe(value: unknown): string {
  if (value === MISSING) return '<missing>';
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol' || typeof value === 'function') return String(value);
  if (value instanceof Date) return `Date(${Number.isNaN(value.getTime()) ? 'Invalid' : value.toISOString()})`;
  try {
    const text = JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
    if (text === undefined) return String(value);
    return text.length > 120 ? `${text.slice(0, 120)}... (${text.length} chars)` : text;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

// ---------------------------------------------------------------------------
// Wrong JavaScript types
// ---------------------------------------------------------------------------

/** JS kinds a field may legitimately hold; the others are wrong types for it. */
export type JsKind = 'string' | 'number' | 'boolean' | 'object' | 'array' | 'date' | 'null' | 'undefined';

const WRONG_TYPE_SAMPLES: readonly { kind: JsKind | 'other'; value: () => unknown; label: string }[] = [
  { kind: 'null', value: () => null, label: 'null' },
  { kind: 'undefined', value: () => MISSING, label: 'missing' },
  { kind: 'undefined', value: () => undefined, label: 'undefined' },
  { kind: 'boolean', value: () => true, label: 'true' },
  { kind: 'boolean', value: () => false, label: 'false' },
  { kind: 'number', value: () => 0, label: '0' },
  { kind: 'number', value: () => -1, label: '-1' },
  { kind: 'number', value: () => 1.5, label: '1.5' },
  { kind: 'number', value: () => Number.NaN, label: 'NaN' },
  { kind: 'number', value: () => Number.POSITIVE_INFINITY, label: 'Infinity' },
  { kind: 'number', value: () => Number.NEGATIVE_INFINITY, label: '-Infinity' },
  { kind: 'other', value: () => 10n, label: 'bigint 10n' },
  { kind: 'other', value: () => Symbol('s'), label: 'symbol' },
  { kind: 'other', value: () => () => 1, label: 'function' },
  { kind: 'other', value: () => new Map([['a', 1]]), label: 'Map' },
  { kind: 'string', value: () => '', label: "''" },
  { kind: 'string', value: () => '42', label: "'42'" },
  { kind: 'string', value: () => 'true', label: "'true'" },
  { kind: 'object', value: () => ({}), label: '{}' },
  { kind: 'object', value: () => ({ toString: () => 'x' }), label: '{toString}' },
  { kind: 'array', value: () => [], label: '[]' },
  { kind: 'array', value: () => ['a'], label: "['a']" },
  { kind: 'date', value: () => new Date(0), label: 'Date(0)' },
];

/**
 * Values of every JS type the field does not accept. `accepts` lists what is
 * valid: e.g. ['string'] for a required string, ['string', 'null', 'undefined']
 * for an optional nullable one. Class instances (a Map, a Date) are left out
 * where an object is accepted: zod's object() takes them; badJsonObject adds
 * them back for JSON objects, where they are refused.
 */
export function wrongType(accepts: readonly JsKind[]): fc.Arbitrary<Bad> {
  const samples = WRONG_TYPE_SAMPLES.filter((sample) => {
    // zod's object() takes any non-array object, a Date or a Map too (as an object without the keys): not a wrong type there.
    if (accepts.includes('object') && (sample.label === 'Map' || sample.kind === 'date')) return false;
    return sample.kind === 'other' || !accepts.includes(sample.kind);
  });
  return fc.constantFrom(...samples).map((sample) => bad(sample.value(), `wrong type: ${sample.label}`, VALIDATION));
}

// ---------------------------------------------------------------------------
// Strings
// ---------------------------------------------------------------------------

/** Strings an attacker or a careless caller sends: quotes, SQL, escapes, unicode. They are text, never code. */
export const HOSTILE_STRINGS: readonly string[] = [
  "'",
  "''",
  '"',
  "'; DROP TABLE agentry.tasks; --",
  "Robert'); DROP TABLE agentry.users;--",
  "' OR '1'='1",
  '1; SELECT pg_sleep(10)',
  '$1',
  '$$ $tag$ $1 $2',
  '\\',
  '\\x00',
  "E'\\\\'",
  '%_%',
  '/* comment */ --',
  'null',
  'NULL',
  'undefined',
  '{"a":1}',
  '{}',
  '{a,b}',
  '<script>alert(1)</script>',
  '${process.env.HOME}',
  '\r\n\t\v\f',
  'Zürich ünïcödé',
  'emoji 🦄🚀👩‍👩‍👧‍👦',
  '𝕳𝖊𝖑𝖑𝖔 (astral)',
  'עברית RTL \u202e',
  'zero\u200bwidth',
  '\ufeffBOM',
  '\u007f\u0001\u001f',
];

/** Any well-formed, NUL-free string, biased towards quotes, SQL fragments and unicode: what must be stored verbatim. */
export function verbatimString(options: { minLength?: number; maxLength?: number } = {}): fc.Arbitrary<string> {
  const { minLength = 0, maxLength = 200 } = options;
  const piece = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  );
  return fc
    .array(piece, { maxLength: 6 })
    .map((parts) => parts.join(''))
    .map((text) => text.replaceAll('\0', '').slice(0, maxLength))
    .filter((text) => text.length >= minLength && isWellFormed(text));
}

/** True when a JS string is Unicode text: no lone UTF-16 surrogate. */
export function isWellFormed(text: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

/** A string with a NUL byte somewhere: PostgreSQL text cannot hold one. */
export const nulString: fc.Arbitrary<Bad> = fc
  .tuple(verbatimString({ maxLength: 30 }), verbatimString({ maxLength: 30 }))
  .map(([a, b]) => bad(`${a}\0${b}`, 'string with a NUL byte', VALIDATION));

/** A string with a lone UTF-16 surrogate: not Unicode text, cannot be stored as written. */
export const loneSurrogateString: fc.Arbitrary<Bad> = fc
  .tuple(verbatimString({ maxLength: 20 }), fc.constantFrom('\uD800', '\uDBFF', '\uDC00', '\uDFFF'), verbatimString({ maxLength: 20 }))
  .filter(([a, , b]) => !/[\uD800-\uDBFF]$/.test(a) && !/^[\uDC00-\uDFFF]/.test(b))
  .map(([a, s, b]) => bad(`${a}${s}${b}`, 'string with a lone surrogate', VALIDATION));

/** Strings that cannot be stored: NUL bytes and lone surrogates. */
export const unstorableString: fc.Arbitrary<Bad> = fc.oneof(nulString, loneSurrogateString);

export interface TextOptions {
  /** Left out is valid (default false: a required field). */
  optional?: boolean;
  nullable?: boolean;
  /** varchar(n): longer strings are refused (22001, a ValidationError). */
  maxLength?: number;
  /** Strings the field's CHECK refuses, with the constraint's name. */
  invalid?: { values: fc.Arbitrary<string>; constraint: string };
  /** Strings zod refuses (an enum, a min length, ...). */
  refusedByZod?: fc.Arbitrary<string>;
}

const accepted = (base: JsKind[], options: { optional?: boolean; nullable?: boolean }): JsKind[] => [
  ...base,
  ...(options.optional ? (['undefined'] as const) : []),
  ...(options.nullable ? (['null'] as const) : []),
];

/** Bad values for a string field. */
export function badText(options: TextOptions = {}): fc.Arbitrary<Bad> {
  const arbitraries: fc.Arbitrary<Bad>[] = [wrongType(accepted(['string'], options)), unstorableString];
  if (options.maxLength !== undefined) {
    const max = options.maxLength;
    arbitraries.push(
      fc
        .tuple(fc.integer({ min: 1, max: 40 }), fc.constantFrom('x', 'é', '🦄', "'"))
        .map(([extra, ch]) => bad(ch.repeat(max + extra), `longer than varchar(${max})`, VALIDATION)),
    );
  }
  if (options.invalid) {
    const { constraint } = options.invalid;
    arbitraries.push(options.invalid.values.map((value) => bad(value, `refused by ${constraint}`, ['constraint'], constraint)));
  }
  if (options.refusedByZod) arbitraries.push(options.refusedByZod.map((value) => bad(value, 'refused by the schema', VALIDATION)));
  return fc.oneof(...arbitraries);
}

// ---------------------------------------------------------------------------
// Ids
// ---------------------------------------------------------------------------

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Strings that are not uuids: near misses, SQL, braces, spaces. */
export const malformedUuid: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    'not-a-uuid',
    '00000000-0000-0000-0000-00000000000',
    '00000000-0000-0000-0000-0000000000000',
    '{00000000-0000-4000-8000-000000000000}',
    '00000000000040008000000000000000',
    ' 00000000-0000-4000-8000-000000000000',
    '00000000-0000-4000-8000-000000000000 ',
    'g0000000-0000-4000-8000-000000000000',
    "00000000-0000-4000-8000-000000000000' OR '1'='1",
    "'; DELETE FROM agentry.tasks; --",
    'urn:uuid:00000000-0000-4000-8000-000000000000',
  ),
  fc.uuid().map((uuid) => uuid.replaceAll('-', '')),
  fc.uuid().map((uuid) => `${uuid}0`),
  fc.string({ maxLength: 40 }).filter((text) => !GUID.test(text)),
);

export interface IdOptions {
  optional?: boolean;
  nullable?: boolean;
  /** What a well-formed id that names nothing meets: NotFound, a foreign key (named), or nothing (the field is not checked: leave out). */
  unknown?: { refusal: 'notFound' } | { refusal: 'constraint'; constraint: string | RegExp };
}

/** A uuid field: wrong types, malformed uuids, and (when it must exist) well-formed unknown ones. */
export function badUuid(options: IdOptions = {}): fc.Arbitrary<Bad> {
  const arbitraries: fc.Arbitrary<Bad>[] = [
    wrongType(accepted(['string'], options)),
    malformedUuid.map((value) => bad(value, 'malformed uuid', VALIDATION)),
    nulString,
  ];
  const unknown = options.unknown;
  if (unknown) {
    arbitraries.push(
      fc
        .uuid({ version: [1, 4, 7] })
        .map((value) =>
          unknown.refusal === 'notFound' ? bad(value, 'unknown id', ['notFound']) : bad(value, 'unknown id', ['constraint'], unknown.constraint),
        ),
    );
  }
  return fc.oneof(...arbitraries);
}

/** A text id (agents.id, task type, ...) that must exist. */
export function badTextId(options: TextOptions & { unknown?: IdOptions['unknown']; unknownValues?: fc.Arbitrary<string> }): fc.Arbitrary<Bad> {
  const arbitraries: fc.Arbitrary<Bad>[] = [badText(options)];
  const unknown = options.unknown;
  if (unknown) {
    const values = options.unknownValues ?? fc.stringMatching(/^zz[a-z0-9]{6,20}$/);
    arbitraries.push(
      values.map((value) =>
        unknown.refusal === 'notFound' ? bad(value, 'unknown id', ['notFound']) : bad(value, 'unknown id', ['constraint'], unknown.constraint),
      ),
    );
  }
  return fc.oneof(...arbitraries);
}

// ---------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------

export interface IntOptions {
  optional?: boolean;
  nullable?: boolean;
  /** The valid range, inclusive. */
  min: number;
  max: number;
  /** Who refuses a value outside [min, max] but inside int4: 'validation' (zod min/max) or the named CHECK. */
  range: 'validation' | { constraint: string | RegExp };
  /** Column type: values beyond it are 22003 (a ValidationError). Default int4. */
  type?: 'int2' | 'int4' | 'int8';
}

const TYPE_LIMITS = { int2: 32_767, int4: 2_147_483_647, int8: Number.MAX_SAFE_INTEGER } as const;

/** An integer field: wrong types, fractions, NaN and infinities, out of range, beyond the column type. */
export function badInt(options: IntOptions): fc.Arbitrary<Bad> {
  const limit = TYPE_LIMITS[options.type ?? 'int4'];
  const rangeRefusal = (value: number, label: string): Bad =>
    options.range === 'validation' ? bad(value, label, VALIDATION) : bad(value, label, ['constraint'], options.range.constraint);
  const arbitraries: fc.Arbitrary<Bad>[] = [
    wrongType(accepted(['number'], options)).filter(
      (b) => typeof b.value !== 'number' || !Number.isInteger(b.value) || b.value < options.min || b.value > options.max,
    ),
    fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY).map((value) => bad(value, 'not finite', VALIDATION)),
    fc
      .double({ min: options.min, max: options.max, noNaN: true, noDefaultInfinity: true })
      .filter((value) => !Number.isInteger(value))
      .map((value) => bad(value, 'fraction', VALIDATION)),
    fc.constantFrom('1', String(options.min), '1e3', '0x10').map((value) => bad(value, 'numeric string', VALIDATION)),
  ];
  const below = Math.max(options.min - 1_000_000, -limit);
  if (options.min > -limit) {
    arbitraries.push(fc.integer({ min: below, max: options.min - 1 }).map((value) => rangeRefusal(value, `below ${options.min}`)));
  }
  if (options.max < limit) {
    arbitraries.push(
      fc.integer({ min: options.max + 1, max: Math.min(options.max + 1_000_000, limit) }).map((value) => rangeRefusal(value, `above ${options.max}`)),
    );
  }
  if (limit < Number.MAX_SAFE_INTEGER) {
    // Past the column type: zod's own bound, or PostgreSQL's conversion (22003) before any CHECK.
    arbitraries.push(
      fc
        .oneof(fc.integer({ min: limit + 1, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: Number.MIN_SAFE_INTEGER, max: -limit - 2 }))
        .map((value) => bad(value, `beyond ${options.type ?? 'int4'}`, VALIDATION)),
    );
  }
  arbitraries.push(fc.constantFrom(Number.MAX_SAFE_INTEGER + 2, 1e300, -1e300).map((value) => bad(value, 'unsafe integer', VALIDATION)));
  return fc.oneof(...arbitraries);
}

export interface DecimalOptions {
  optional?: boolean;
  nullable?: boolean;
  /** Values outside the range, as decimal strings, and who refuses them. */
  outOfRange?: { values: fc.Arbitrary<string>; constraint: string | RegExp };
  /** numeric(p, s): strings past p - s integer digits overflow (22003). */
  integerDigits?: number;
  /** Whether 'NaN' must be refused (it is below no bound and above every bound in PostgreSQL). Default true. */
  nan?: boolean;
}

/** A numeric column carried as a decimal string: numbers, non-numeric text, NaN and infinities, out of range. */
export function badDecimal(options: DecimalOptions = {}): fc.Arbitrary<Bad> {
  const arbitraries: fc.Arbitrary<Bad>[] = [
    wrongType(accepted(['string'], options)).filter((b) => typeof b.value !== 'string'),
    fc.constantFrom(0.5, 1, -1, 1e21).map((value) => bad(value, 'a JS number, not a decimal string', VALIDATION)),
    fc
      .constantFrom('', ' ', 'abc', '1,5', '1.2.3', '--1', '1e', 'e5', '0x1A', '1_000', "1'; DROP TABLE agentry.tasks; --", '½', '١٢')
      .map((value) => bad(value, 'not a number', VALIDATION)),
    fc.constantFrom('Infinity', '-Infinity', 'inf').map((value) => bad(value, 'infinite', ['validation', 'constraint'])),
    nulString,
  ];
  if (options.nan !== false) arbitraries.push(fc.constantFrom('NaN', 'nan', ' NaN ').map((value) => bad(value, 'NaN', ['validation', 'constraint'])));
  if (options.outOfRange) {
    const { constraint } = options.outOfRange;
    arbitraries.push(options.outOfRange.values.map((value) => bad(value, `out of range (${String(constraint)})`, ['constraint'], constraint)));
  }
  if (options.integerDigits !== undefined) {
    const digits = options.integerDigits;
    arbitraries.push(
      fc.integer({ min: 1, max: 30 }).map((extra) => bad(`1${'0'.repeat(digits + extra - 1)}`, 'overflows the numeric type', ['validation', 'constraint'])),
    );
  }
  return fc.oneof(...arbitraries);
}

// ---------------------------------------------------------------------------
// Enums, booleans, dates
// ---------------------------------------------------------------------------

/** Strings near a vocabulary that are not in it: case, padding, NUL, SQL. */
export function badEnum(values: readonly string[], options: { optional?: boolean; nullable?: boolean } = {}): fc.Arbitrary<Bad> {
  const near = fc
    .constantFrom(...values)
    .chain((value) => fc.constantFrom(value.toUpperCase(), ` ${value}`, `${value} `, `${value}\n`, `${value}s`, value.slice(1), `${value}'; --`, `'${value}'`));
  const others = fc.string({ maxLength: 20 });
  return fc.oneof(
    wrongType(accepted(['string'], options)),
    fc
      .oneof(near, others)
      .filter((value) => !values.includes(value))
      .map((value) => bad(value, 'not in the vocabulary', VALIDATION)),
    nulString,
  );
}

export function badBoolean(options: { optional?: boolean; nullable?: boolean } = {}): fc.Arbitrary<Bad> {
  return wrongType(accepted(['boolean'], options));
}

/** A Date field: strings, numbers, Invalid Date, dates PostgreSQL cannot hold. */
export function badDate(options: { optional?: boolean; nullable?: boolean } = {}): fc.Arbitrary<Bad> {
  return fc.oneof(
    wrongType(accepted(['date'], options)),
    fc.constantFrom('2024-01-01', '2024-01-01T00:00:00Z', 'yesterday', "now()'; --").map((value) => bad(value, 'a string, not a Date', VALIDATION)),
    fc.constant(null).map(() => bad(new Date(Number.NaN), 'Invalid Date', VALIDATION)),
    fc.integer({ min: 1, max: 1_000_000 }).map((days) => bad(new Date(-8.64e15 + days * 86_400_000), 'before 4713 BC', VALIDATION)),
  );
}

// ---------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------

/** An object nested `depth` levels: deeper than JSON.stringify and PostgreSQL's jsonb parser go. */
export function deepObject(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 0; i < depth; i += 1) value = { a: value };
  return value;
}

function cyclic(): Record<string, unknown> {
  const value: Record<string, unknown> = { a: 1 };
  value['self'] = value;
  return value;
}

/** Values zod takes as a JSON object but that JSON (or jsonb) cannot hold. */
export const unrepresentableJsonObject: fc.Arbitrary<Bad> = fc.oneof(
  fc.bigInt().map((n) => bad({ n }, 'bigint inside', VALIDATION)),
  fc.constant(null).map(() => bad(cyclic(), 'cyclic object', VALIDATION)),
  fc.integer({ min: 20_000, max: 60_000 }).map((depth) => bad(deepObject(depth), `nested ${depth} deep`, VALIDATION)),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY).map((n) => bad({ n }, `${n} inside`, VALIDATION)),
  nulString.map((b) => bad({ text: b.value }, 'NUL byte in a JSON string', VALIDATION)),
  nulString.map((b) => bad({ [b.value as string]: 1 }, 'NUL byte in a JSON key', VALIDATION)),
  loneSurrogateString.map((b) => bad({ text: b.value }, 'lone surrogate in a JSON string', VALIDATION)),
);

/** A JSON object field: arrays, scalars, and objects JSON cannot represent. */
export function badJsonObject(options: { optional?: boolean; nullable?: boolean; classInstances?: boolean } = {}): fc.Arbitrary<Bad> {
  return fc.oneof(
    wrongType(accepted(['object'], options)),
    fc.constantFrom([1, 2], ['a'], '{"a":1}', 42).map((value) => bad(value, 'not an object', VALIDATION)),
    // A Map would be stored as {}, a Date as a JSON string: refused by the schema, the JSON check, or the column's object CHECK.
    // (Not for a field zod parses with object(), which takes them as an object without keys: classInstances false.)
    ...(options.classInstances === false
      ? []
      : [
          fc
            .constantFrom(
              () => new Map([['a', 1]]),
              () => new Date(0),
            )
            .map((make) => bad(make(), 'a class instance, not a plain object', ['validation', 'constraint'])),
        ]),
    unrepresentableJsonObject,
  );
}

/** Any JSON value field (z.unknown): only what JSON cannot represent is bad. */
export const badJsonValue: fc.Arbitrary<Bad> = fc.oneof(
  fc.bigInt().map((n) => bad(n, 'bigint', VALIDATION)),
  unrepresentableJsonObject,
);

// ---------------------------------------------------------------------------
// Arrays
// ---------------------------------------------------------------------------

export interface ArrayOptions {
  optional?: boolean;
  nullable?: boolean;
  /** Bad elements (the array around them is otherwise fine). */
  element: fc.Arbitrary<Bad>;
  /** A valid element, to surround the bad one with. */
  valid: unknown;
  /** An empty array is refused by zod (min(1)) or by a named CHECK. */
  empty?: 'validation' | { constraint: string };
}

export function badArray(options: ArrayOptions): fc.Arbitrary<Bad> {
  const arbitraries: fc.Arbitrary<Bad>[] = [
    wrongType(accepted(['array'], options)),
    fc.constantFrom('a', '{a,b}').map((value) => bad(value, 'a string, not an array', VALIDATION)),
    fc.tuple(options.element, fc.nat({ max: 3 })).map(([element, at]) => {
      const array: unknown[] = [options.valid, options.valid, options.valid];
      array.splice(at, 0, element.value === MISSING ? undefined : element.value);
      return bad(array, `array element: ${element.label}`, element.refusals, element.constraint);
    }),
  ];
  const empty = options.empty;
  if (empty !== undefined) {
    arbitraries.push(fc.constant(empty === 'validation' ? bad([], 'empty array', VALIDATION) : bad([], 'empty array', ['constraint'], empty.constraint)));
  }
  return fc.oneof(...arbitraries);
}

// ---------------------------------------------------------------------------
// The refusal check
// ---------------------------------------------------------------------------

const CLASSES: Readonly<Record<Refusal, abstract new (...args: never[]) => Error>> = {
  validation: ValidationError,
  constraint: ConstraintViolation,
  notFound: NotFound,
  conflict: ConflictError,
  transition: IllegalTransition,
  cycle: CycleViolation,
};

/** How a call ended: refused (with what), or accepted (a finding). */
export type Outcome = { refused: true; error: unknown } | { refused: false; result: unknown };

/** Runs the call, sync throws and streams included: a stream is read to its end (or its error). */
export async function outcomeOf(call: () => unknown): Promise<Outcome> {
  try {
    let result = await call();
    if (result && typeof result === 'object' && Symbol.asyncIterator in result && typeof (result as { pipe?: unknown }).pipe === 'function') {
      const rows: unknown[] = [];
      for await (const row of result as AsyncIterable<unknown>) rows.push(row);
      result = rows;
    }
    return { refused: false, result };
  } catch (error) {
    return { refused: true, error };
  }
}

/**
 * The refusal must be one of the typed errors `bad` allows (never a raw pg
 * error, a TypeError, or the bare DatabaseError of an unmapped SQLSTATE), and
 * it must name the rule:
 *  - ValidationError: at least one issue; a zod one's message names the issue's path;
 *  - ConstraintViolation: a constraint name that ends the message (the one expected, when given);
 *  - NotFound: the entity and id; ConflictError: a reason.
 * `issuePath`: for a zod ValidationError, where the first issue must point (the mutated field).
 */
export function expectTypedRefusal(outcome: Outcome, wanted: Bad, where: string, issuePath?: readonly (string | number)[]): Error {
  const context = `${where} <- ${wanted.label}: ${describe(wanted.value)}`;
  if (!outcome.refused) throw new Error(`accepted a bad value (${context}); returned ${describe(outcome.result)}`);
  const error = outcome.error;
  if (!(error instanceof DatabaseError)) {
    throw new Error(`refused with an untyped ${error instanceof Error ? `${error.constructor.name}: ${error.message}` : describe(error)} (${context})`);
  }
  const matches = wanted.refusals.some((refusal) => error instanceof CLASSES[refusal]);
  if (!matches) {
    throw new Error(`refused with ${error.name} [${error.code ?? '-'}] "${error.message}", expected ${wanted.refusals.join(' or ')} (${context})`);
  }
  if (error instanceof ValidationError) {
    expect(error.issues.length, context).toBeGreaterThan(0);
    if (error instanceof MissingInputKey) expect(error.message, context).toMatch(/\(trg_tasks_validate_input\)$/);
    else expect(error.message, context).toMatch(/^invalid /);
    const first = error.issues[0]!;
    // A schema's refusal (no SQLSTATE, no statement) names the path of the input that broke it.
    const bySchema = error.code === undefined && error.query === undefined;
    if (bySchema && first.path.length > 0) expect(error.message, context).toContain(first.path.join('.'));
    if (bySchema && issuePath !== undefined && issuePath.length > 0) {
      const paths = error.issues.map((issue) => issue.path.slice(0, issuePath.length).join('.'));
      expect(paths, `${context}: the issue should point at ${issuePath.join('.')}: ${error.message}`).toContain(issuePath.join('.'));
    }
  } else if (error instanceof ConstraintViolation) {
    expect(error.constraint, context).toMatch(/^[a-z][a-z0-9_]*$|^GENERATED ALWAYS$/);
    expect(error.message.endsWith(`(${error.constraint})`), `${context}: "${error.message}" should end with the constraint`).toBe(true);
    if (wanted.constraint !== undefined) {
      if (typeof wanted.constraint === 'string') expect(error.constraint, `${context}: ${error.message}`).toBe(wanted.constraint);
      else expect(error.constraint, `${context}: ${error.message}`).toMatch(wanted.constraint);
    }
  } else if (error instanceof NotFound) {
    expect(error.message, context).toBe(`${error.entity} ${error.id} not found`);
  } else if (error instanceof ConflictError) {
    expect(error.reason, context).toBeTruthy();
  }
  return error;
}
