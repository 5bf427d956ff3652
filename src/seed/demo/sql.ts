// SQL expression builders for the demo generator. Every random choice is a
// pure function of (seed, stream, counter) evaluated inside PostgreSQL:
// hashint8extended(counter, mix(seed, stream)), so rows are generated
// set-based (INSERT ... SELECT FROM generate_series) and the same seed gives
// the same rows whatever the batch size, the order of the batches or the
// number of connections.

/** Demo uuids: 5eed5eed-<table>-8000-8000-<counter, 12 hex digits>. Version nibble 8 (custom, RFC 9562), never produced by gen_random_uuid(). */
export const DEMO_UUID_PREFIX = '5eed5eed';

/** Table codes of the demo uuids (the second group). */
export const TABLE_CODE = {
  users: 0x01,
  apiKeys: 0x02,
  userSessions: 0x03,
  workers: 0x04,
  agentCapabilities: 0x05,
  projects: 0x06,
  plans: 0x07,
  taskChains: 0x08,
  taskTemplates: 0x09,
  scheduledTasks: 0x0a,
  workflows: 0x0b,
  tasks: 0x0c,
  checkpoints: 0x0d,
  corrections: 0x0e,
  evaluations: 0x0f,
  knowledgeEntries: 0x10,
  agentSessions: 0x11,
  contextVectors: 0x12,
  webhooks: 0x13,
  agentInteractions: 0x14,
  learningExperiences: 0x15,
  deliveryKeys: 0x16,
  manifest: 0xff,
} as const;

export type TableCode = keyof typeof TABLE_CODE;

function tableHex(table: TableCode): string {
  return TABLE_CODE[table].toString(16).padStart(4, '0');
}

/** The demo uuid of `table` for the counter expression n (an SQL bigint expression). */
export function uuidExpr(table: TableCode, n: string): string {
  return `('${DEMO_UUID_PREFIX}-${tableHex(table)}-8000-8000-' || lpad(to_hex(${n}), 12, '0'))::uuid`;
}

/** The demo uuid of `table` for a known counter, as text. */
export function demoUuid(table: TableCode, n: number): string {
  return `${DEMO_UUID_PREFIX}-${tableHex(table)}-8000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** Lowest and highest demo uuid of a table (all counters). */
export function uuidRange(table: TableCode): readonly [string, string] {
  return [`${DEMO_UUID_PREFIX}-${tableHex(table)}-8000-8000-000000000000`, `${DEMO_UUID_PREFIX}-${tableHex(table)}-8000-8000-ffffffffffff`];
}

/** SQL condition: column holds a demo uuid of `table` (an index range scan). */
export function inDemoRange(column: string, table: TableCode): string {
  const [lo, hi] = uuidRange(table);
  return `${column} BETWEEN '${lo}'::uuid AND '${hi}'::uuid`;
}

/** SQL condition: column holds a demo uuid of `table` with a counter in [lo, hi). */
export function inCounterRange(column: string, table: TableCode, lo: number, hi: number): string {
  return `${column} BETWEEN '${demoUuid(table, lo)}'::uuid AND '${demoUuid(table, Math.max(lo, hi - 1))}'::uuid`;
}

/** The counter of a demo uuid column (SQL bigint expression). */
export function counterOf(column: string): string {
  return `('x' || lpad(right(${column}::text, 12), 16, '0'))::bit(64)::bigint`;
}

/** An SQL string literal. */
export function lit(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** An SQL text[] constant. */
export function textArray(values: readonly string[]): string {
  return `ARRAY[${values.map(lit).join(', ')}]::text[]`;
}

const MASK_52 = '4503599627370495';
const TWO_52 = '4503599627370496.0';

/** 64-bit FNV-1a of a string, as a signed bigint literal. */
export function fnv64(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return BigInt.asIntN(64, hash).toString();
}

/** Random expressions for one seed. Streams name what a draw decides ('task.status'), so adding a stream never moves another. */
export class Rng {
  constructor(readonly seed: number) {}

  /** Uniform in [0, 1) from the stream and the counter expression n. */
  r(stream: string, n: string): string {
    return `((hashint8extended((${n})::bigint, ${fnv64(`${this.seed}:${stream}`)}) & ${MASK_52})::float8 / ${TWO_52})`;
  }

  /** Integer in [lo, hi]. */
  int(stream: string, n: string, lo: number | string, hi: number | string): string {
    return `((${lo}) + floor(${this.r(stream, n)} * ((${hi}) - (${lo}) + 1))::int)`;
  }

  /** One element of a constant list. */
  pick(stream: string, n: string, values: readonly string[]): string {
    return `(${textArray(values)})[1 + floor(${this.r(stream, n)} * ${values.length})::int]`;
  }

  /** A 64-character hex string (sha256) of the stream and a text expression: stable fake key material. */
  hex(stream: string, text: string): string {
    return `encode(sha256(convert_to(${lit(`${this.seed}:${stream}:`)} || (${text})::text, 'UTF8')), 'hex')`;
  }

  /** sha256 bytes (32) of the stream and a text expression. */
  sha(stream: string, text: string): string {
    return `sha256(convert_to(${lit(`${this.seed}:${stream}:`)} || (${text})::text, 'UTF8'))`;
  }
}

/** A timestamptz literal. */
export function ts(date: Date): string {
  return `'${date.toISOString()}'::timestamptz`;
}

/** An interval of a (float) number of seconds. */
export function seconds(expr: string): string {
  return `((${expr}) * interval '1 second')`;
}
