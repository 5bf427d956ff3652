/**
 * The one place where Agentry declares what its json columns hold, for the
 * generated types (a TypeScript type) and zod schemas (a zod expression; `z`
 * is in scope). The two must describe the same values: test/types checks
 * that z.infer of every generated schema equals its interface.
 *
 * Only columns whose shape the database cannot tell belong here. A column
 * with a `jsonb_typeof(col) = 'object'` (or 'array') CHECK already becomes
 * Record<string, unknown> (or unknown[]) without an entry; an entry refines
 * that, and must agree with the CHECK (`json` says which kind it expects).
 * Generation fails when an entry names a column that no longer exists, is
 * not json, or contradicts its CHECK.
 */

export interface JsonShape {
  /** TypeScript type of a value (without `| null`; nullability comes from the column). */
  ts: string;
  /** zod expression for the same values (without `.nullable()`). */
  zod: string;
  /** The jsonb_typeof a CHECK on the column requires, if the entry relies on one. */
  json?: 'object' | 'array';
}

/** Keys are `table.column` in schema agentry. */
export type JsonShapeMap = Readonly<Record<string, JsonShape>>;

const stringArray: JsonShape = { ts: 'string[]', zod: 'z.array(z.string())', json: 'array' };
const record: JsonShape = { ts: 'Record<string, unknown>', zod: 'z.record(z.string(), z.unknown())', json: 'object' };

export const AGENTRY_JSON_SHAPES: JsonShapeMap = {
  // Seed 001: {os, cpu, memory_total_gb, disk_total_gb}; nothing enforces the keys, and others may come.
  'workers.system_info': {
    ts: '{ os?: string; cpu?: string; memory_total_gb?: number; disk_total_gb?: number; [key: string]: unknown }',
    zod: 'z.looseObject({ os: z.string().optional(), cpu: z.string().optional(), memory_total_gb: z.number().optional(), disk_total_gb: z.number().optional() })',
    json: 'object',
  },
  // String arrays (chk_*_string_array: jsonb_path_exists refuses any other element).
  'workers.tools': stringArray,
  'agents.capabilities': stringArray,
  'tasks.tool_preferences': stringArray,
  // No CHECK: a task's result is an object in every seed.
  'tasks.output': { ts: record.ts, zod: record.zod },
  // chk_task_chains_steps_shape: a non-empty array of objects with string name and task_type.
  'task_chains.steps': {
    ts: 'Array<{ name: string; task_type: string; capability_required?: string; input_data?: Record<string, unknown>; use_previous_output?: boolean }>',
    zod: 'z.array(z.object({ name: z.string(), task_type: z.string(), capability_required: z.string().optional(), input_data: z.record(z.string(), z.unknown()).optional(), use_previous_output: z.boolean().optional() })).min(1)',
    json: 'array',
  },
  // chk_checkpoints_subtasks_completed_uuid_array: uuid strings.
  'checkpoints.subtasks_completed': { ts: 'string[]', zod: 'z.array(z.guid())', json: 'array' },
  // Reference files or links: strings or {path|url, note} objects.
  'corrections.reference_files': {
    ts: 'Array<string | { path?: string; url?: string; note?: string }>',
    zod: 'z.array(z.union([z.string(), z.object({ path: z.string().optional(), url: z.string().optional(), note: z.string().optional() })]))',
    json: 'array',
  },
};

/**
 * NOT NULL columns without a default that a BEFORE INSERT trigger fills:
 * optional in the insert types. Keys are `table.column` in schema agentry.
 */
export const AGENTRY_TRIGGER_FILLED: readonly string[] = [
  // trg_trust_records_apply reads the agent's score under its row lock.
  'trust_records.trust_score_before',
  'trust_records.trust_score_after',
];

/** What a CHECK-derived jsonb_typeof becomes when no entry refines it. */
export const JSON_KIND_SHAPES: Readonly<Record<string, { ts: string; zod: string }>> = {
  object: { ts: 'Record<string, unknown>', zod: 'z.record(z.string(), z.unknown())' },
  array: { ts: 'unknown[]', zod: 'z.array(z.unknown())' },
  string: { ts: 'string', zod: 'z.string()' },
  number: { ts: 'number', zod: 'z.number()' },
  boolean: { ts: 'boolean', zod: 'z.boolean()' },
  null: { ts: 'null', zod: 'z.null()' },
};

/**
 * Type map additions: what node-postgres returns for these types (Kanel's
 * defaults say unknown or Date). `time` and `timetz` come back as strings;
 * `interval` as a postgres-interval object.
 */
const INTERVAL_TS = '{ years?: number; months?: number; days?: number; hours?: number; minutes?: number; seconds?: number; milliseconds?: number }';
const INTERVAL_ZOD =
  'z.object({ years: z.number().optional(), months: z.number().optional(), days: z.number().optional(), hours: z.number().optional(), minutes: z.number().optional(), seconds: z.number().optional(), milliseconds: z.number().optional() })';

export const CUSTOM_TS_TYPES: Readonly<Record<string, string>> = {
  'pg_catalog.bytea': 'Buffer',
  'pg_catalog.interval': INTERVAL_TS,
  'pg_catalog.time': 'string',
  'pg_catalog.timetz': 'string',
  'pg_catalog.name': 'string',
  'pg_catalog.cidr': 'string',
  'pg_catalog.macaddr': 'string',
};

export const CUSTOM_ZOD_TYPES: Readonly<Record<string, string>> = {
  // PostgreSQL accepts any 8-4-4-4-12 hex uuid; z.uuid() insists on an RFC 9562 version and variant.
  'pg_catalog.uuid': 'z.guid()',
  'pg_catalog.bytea': 'z.instanceof(Buffer)',
  'pg_catalog.interval': INTERVAL_ZOD,
  'pg_catalog.time': 'z.string()',
  'pg_catalog.timetz': 'z.string()',
  'pg_catalog.name': 'z.string()',
  'pg_catalog.cidr': 'z.string()',
  'pg_catalog.macaddr': 'z.string()',
};
