import { MIGRATIONS_TABLE } from '../migrate/config.js';
import { SECTION_KEYS, type Snapshot, type SnapshotRow } from './snapshot.js';

/**
 * Comparing two catalog snapshots (catalogSnapshot()) of schema agentry: the
 * live database against one migrated to head. Before comparing, both are
 * normalised so that what legitimately differs between two correct databases
 * does not count:
 *  - the migration bookkeeping (pgmigrations and anything named
 *    pgmigrations_*: its sequence, its key, a checksum ledger) is left out;
 *  - monthly partitions <parent>_yYYYYmMM are one class: their names and
 *    bounds are replaced by a placeholder and identical rows merged, so a
 *    database maintained months ahead (or behind) still equals a fresh one,
 *    while a partition that differs in anything but its month still shows.
 */

export type ChangeKind = 'added' | 'removed' | 'changed';

export interface FieldChange {
  field: string;
  /** The reference (migrated to head) value. */
  expected: unknown;
  /** The live value. */
  actual: unknown;
}

export interface SchemaDifference {
  kind: ChangeKind;
  section: string;
  /** What the difference is about, e.g. "column tasks.priority", "index tasks.idx_tasks_parent". */
  object: string;
  /** For "changed": each property that differs. */
  changes?: FieldChange[];
}

/** Placeholder for the month of a monthly partition: audit_logs_y2025m11 -> audit_logs_yYYYYmMM. */
export const MONTH_PLACEHOLDER = 'yYYYYmMM';
const MONTHLY_SUFFIX = /_y\d{4}m\d{2}$/;

export function isBookkeepingName(name: unknown): boolean {
  return typeof name === 'string' && (name === MIGRATIONS_TABLE || name.startsWith(`${MIGRATIONS_TABLE}_`));
}

/** Which column of each section names the table (or relation) a row belongs to. */
const TABLE_COLUMN: Readonly<Record<string, string>> = {
  relations: 'name',
  columns: 'table',
  constraints: 'owner_object',
  indexes: 'table',
  triggers: 'table',
  sequences: 'name',
  policies: 'table',
  rules: 'table',
};

/** Monthly partitions of the snapshot: partition name -> parent name. */
function monthlyPartitions(snapshot: Snapshot): Map<string, string> {
  const result = new Map<string, string>();
  for (const row of snapshot.relations ?? []) {
    const name = String(row.name);
    const parent = typeof row.parents === 'string' ? row.parents : '';
    if (row.is_partition === true && MONTHLY_SUFFIX.test(name) && name.replace(MONTHLY_SUFFIX, '') === parent) {
      result.set(name, parent);
    }
  }
  return result;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The snapshot as drift compares it: no bookkeeping, no reference data, one
 * representative per class of monthly partitions (see the module comment).
 */
export function normalizeForDrift(snapshot: Snapshot): Snapshot {
  const monthly = monthlyPartitions(snapshot);
  const parents = [...new Set(monthly.values())].sort((a, b) => b.length - a.length);
  const monthPattern = parents.length > 0 ? new RegExp(`\\b(${parents.map(escapeRegExp).join('|')})_y\\d{4}m\\d{2}`, 'g') : null;
  const placeholder = (text: string): string => (monthPattern ? text.replace(monthPattern, `$1_${MONTH_PLACEHOLDER}`) : text);

  const result: Snapshot = {};
  for (const [section, rows] of Object.entries(snapshot)) {
    if (section.startsWith('data:')) continue;
    const tableColumn = TABLE_COLUMN[section];
    const seen = new Set<string>();
    const kept: SnapshotRow[] = [];
    for (const row of rows) {
      if (tableColumn !== undefined && isBookkeepingName(row[tableColumn])) continue;
      if (section === 'indexes' && isBookkeepingName(row.name)) continue;
      const ofMonthly = tableColumn !== undefined && monthly.has(String(row[tableColumn]));
      const normalized: SnapshotRow = {};
      for (const [key, value] of Object.entries(row)) {
        normalized[key] = typeof value === 'string' ? placeholder(value) : value;
      }
      if (ofMonthly) {
        // Which month is the only thing allowed to differ; is_local differs
        // for a month that partition maintenance built with LIKE and ATTACH
        // (rows were waiting in the default partition) rather than PARTITION OF.
        if (section === 'relations') normalized.partition_bound = `FOR VALUES FROM (<month start>) TO (<next month start>)`;
        if ('is_local' in normalized) normalized.is_local = null;
        if ('inherited' in normalized) normalized.inherited = null;
      }
      const serialized = JSON.stringify(normalized);
      if (seen.has(serialized)) continue;
      seen.add(serialized);
      kept.push(normalized);
    }
    result[section] = kept;
  }
  return result;
}

const RELATION_KINDS: Readonly<Record<string, string>> = {
  r: 'table',
  p: 'partitioned table',
  i: 'index',
  I: 'partitioned index',
  S: 'sequence',
  v: 'view',
  m: 'materialized view',
  c: 'composite type',
  f: 'foreign table',
  t: 'TOAST table',
};

const SECTION_NOUNS: Readonly<Record<string, string>> = {
  schema: 'schema',
  columns: 'column',
  constraints: 'constraint',
  indexes: 'index',
  triggers: 'trigger',
  functions: 'function',
  views: 'view definition',
  sequences: 'sequence',
  default_privileges: 'default privileges',
  policies: 'policy',
  rules: 'rule',
  extensions: 'extension',
};

function keyOf(section: string, row: SnapshotRow): string {
  const keys = SECTION_KEYS[section] ?? Object.keys(row);
  return keys.map((k) => String(row[k] ?? '')).join('.');
}

function objectLabel(section: string, row: SnapshotRow): string {
  const key = keyOf(section, row);
  if (section === 'relations') return `${RELATION_KINDS[String(row.kind)] ?? 'relation'} ${key}`;
  if (section === 'types') return `${row.kind === 'd' ? 'domain' : row.kind === 'e' ? 'enum' : 'type'} ${key}`;
  if (section === 'constraints') return `constraint ${String(row.owner_object)}.${String(row.name)}`;
  return `${SECTION_NOUNS[section] ?? section} ${key}`;
}

function fieldChanges(expected: SnapshotRow, actual: SnapshotRow): FieldChange[] {
  const fields = [...new Set([...Object.keys(expected), ...Object.keys(actual)])];
  return fields
    .filter((f) => JSON.stringify(expected[f] ?? null) !== JSON.stringify(actual[f] ?? null))
    .map((field) => ({ field, expected: expected[field] ?? null, actual: actual[field] ?? null }));
}

/**
 * Differences of `live` from `reference`, both as catalogSnapshot() returns
 * them (normalizeForDrift is applied here). Sorted by section, then object.
 */
export function diffSnapshots(reference: Snapshot, live: Snapshot): SchemaDifference[] {
  const ref = normalizeForDrift(reference);
  const cur = normalizeForDrift(live);
  const found: Array<SchemaDifference & { row: SnapshotRow }> = [];
  const sections = [...new Set([...Object.keys(ref), ...Object.keys(cur)])];
  for (const section of sections) {
    const group = (rows: SnapshotRow[]): Map<string, SnapshotRow[]> => {
      const map = new Map<string, SnapshotRow[]>();
      for (const row of rows) {
        const key = keyOf(section, row);
        map.set(key, [...(map.get(key) ?? []), row]);
      }
      return map;
    };
    const expected = group(ref[section] ?? []);
    const actual = group(cur[section] ?? []);
    const keys = [...new Set([...expected.keys(), ...actual.keys()])].sort();
    for (const key of keys) {
      const e = expected.get(key) ?? [];
      const a = actual.get(key) ?? [];
      if (e.length === 1 && a.length === 1) {
        const changes = fieldChanges(e[0]!, a[0]!);
        if (changes.length > 0) found.push({ kind: 'changed', section, object: objectLabel(section, a[0]!), changes, row: a[0]! });
        continue;
      }
      // Missing on one side, or several variants of one (normalised) object:
      // compare as sets of whole rows.
      const eSet = new Set(e.map((r) => JSON.stringify(r)));
      const aSet = new Set(a.map((r) => JSON.stringify(r)));
      for (const row of a) if (!eSet.has(JSON.stringify(row))) found.push({ kind: 'added', section, object: objectLabel(section, row), row });
      for (const row of e) if (!aSet.has(JSON.stringify(row))) found.push({ kind: 'removed', section, object: objectLabel(section, row), row });
    }
  }

  // One line per object: an added or removed table brings its columns,
  // constraints, indexes and triggers along, and an index is reported by the
  // indexes section, not again as a relation.
  const wholeRelations = new Set(
    found
      .filter((d) => d.section === 'relations' && d.kind !== 'changed' && !['i', 'I'].includes(String(d.row.kind)))
      .map((d) => `${d.kind}:${String(d.row.name)}`),
  );
  const indexLines = new Set(found.filter((d) => d.section === 'indexes').map((d) => `${d.kind}:${String(d.row.name)}`));
  return found
    .filter((d) => {
      if (d.section === 'relations') return !(['i', 'I'].includes(String(d.row.kind)) && indexLines.has(`${d.kind}:${String(d.row.name)}`));
      const tableColumn = TABLE_COLUMN[d.section];
      return !(tableColumn !== undefined && d.kind !== 'changed' && wholeRelations.has(`${d.kind}:${String(d.row[tableColumn])}`));
    })
    .map(({ row: _row, ...difference }) => difference);
}

function show(value: unknown): string {
  if (value === null || value === undefined) return 'none';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 160 ? `${oneLine.slice(0, 157)}...` : oneLine;
}

/** One line per difference: "added column tasks.extra", "changed index tasks.idx_x: definition: A -> B". */
export function describeDifference(d: SchemaDifference): string {
  if (d.kind !== 'changed' || !d.changes) return `${d.kind} ${d.object}`;
  return `changed ${d.object}: ${d.changes.map((c) => `${c.field}: ${show(c.expected)} -> ${show(c.actual)}`).join('; ')}`;
}
