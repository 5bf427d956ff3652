import type pg from 'pg';

import { AGENT_TYPES, TASK_STATUS_TRANSITIONS, TASK_TYPES } from './reference.js';

export type ReferenceTable = 'agent_types' | 'task_types' | 'task_status_transitions';

export interface ReferenceChange {
  table: ReferenceTable;
  /** The row's key: a name, or from->to for a transition. */
  key: string;
  action: 'inserted' | 'updated';
  /** For an update: the columns that differed. */
  columns: string[];
}

export interface ReferenceTableReport {
  table: ReferenceTable;
  /** Reference rows shipped by Agentry. */
  rows: number;
  inserted: number;
  updated: number;
  unchanged: number;
  /** Keys of rows the database has beyond the shipped ones (kept: they may be yours). */
  extra: string[];
}

export interface ReferenceSeedResult {
  /** false with check: nothing was written. */
  applied: boolean;
  changed: boolean;
  tables: ReferenceTableReport[];
  changes: ReferenceChange[];
}

interface Row {
  key: string;
  values: Record<string, unknown>;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

function diff(table: ReferenceTable, wanted: Row[], current: Row[]): { report: ReferenceTableReport; changes: ReferenceChange[] } {
  const byKey = new Map(current.map((r) => [r.key, r]));
  const wantedKeys = new Set(wanted.map((r) => r.key));
  const changes: ReferenceChange[] = [];
  for (const row of wanted) {
    const have = byKey.get(row.key);
    if (!have) {
      changes.push({ table, key: row.key, action: 'inserted', columns: [] });
      continue;
    }
    const columns = Object.keys(row.values).filter((c) => !same(row.values[c], have.values[c]));
    if (columns.length > 0) changes.push({ table, key: row.key, action: 'updated', columns });
  }
  const inserted = changes.filter((c) => c.action === 'inserted').length;
  const updated = changes.length - inserted;
  return {
    report: {
      table,
      rows: wanted.length,
      inserted,
      updated,
      unchanged: wanted.length - inserted - updated,
      extra: current.filter((r) => !wantedKeys.has(r.key)).map((r) => r.key).sort(),
    },
    changes,
  };
}

const agentTypeRows = (): Row[] => AGENT_TYPES.map((t) => ({ key: t.name, values: { description: t.description } }));
const taskTypeRows = (): Row[] =>
  TASK_TYPES.map((t) => ({
    key: t.name,
    values: {
      description: t.description,
      agent_type: t.agentType,
      avg_complexity: t.avgComplexity,
      avg_duration_seconds: t.avgDurationSeconds,
      required_input_keys: [...t.requiredInputKeys],
    },
  }));
const transitionRows = (): Row[] => TASK_STATUS_TRANSITIONS.map((t) => ({ key: `${t.from}->${t.to}`, values: { description: t.description } }));

/** The reference rows as the database holds them now. */
async function currentRows(client: pg.ClientBase): Promise<Record<ReferenceTable, Row[]>> {
  const agentTypes = await client.query<{ name: string; description: string }>('SELECT name, description FROM agentry.agent_types ORDER BY name');
  const taskTypes = await client.query<{
    name: string;
    description: string;
    agent_type: string;
    avg_complexity: string | null;
    avg_duration_seconds: string | null;
    required_input_keys: string[];
  }>('SELECT name, description, agent_type, avg_complexity::text, avg_duration_seconds::text, required_input_keys FROM agentry.task_types ORDER BY name');
  const transitions = await client.query<{ from_status: string; to_status: string; description: string | null }>(
    'SELECT from_status::text, to_status::text, description FROM agentry.task_status_transitions ORDER BY 1, 2',
  );
  return {
    agent_types: agentTypes.rows.map((r) => ({ key: r.name, values: { description: r.description } })),
    task_types: taskTypes.rows.map((r) => ({
      key: r.name,
      values: {
        description: r.description,
        agent_type: r.agent_type,
        avg_complexity: r.avg_complexity,
        avg_duration_seconds: r.avg_duration_seconds,
        required_input_keys: r.required_input_keys,
      },
    })),
    task_status_transitions: transitions.rows.map((r) => ({ key: `${r.from_status}->${r.to_status}`, values: { description: r.description } })),
  };
}

/**
 * Brings agent_types, task_types and task_status_transitions to the values
 * Agentry ships (src/seed/reference.ts): missing rows are inserted, rows that
 * differ are updated (INSERT ... ON CONFLICT DO UPDATE ... WHERE distinct), and
 * rows beyond the shipped ones are reported and kept. One transaction on the
 * given client; with check, only compares.
 */
export async function seedReferenceData(client: pg.ClientBase, options: { check?: boolean } = {}): Promise<ReferenceSeedResult> {
  const current = await currentRows(client);
  const parts = [
    diff('agent_types', agentTypeRows(), current.agent_types),
    diff('task_types', taskTypeRows(), current.task_types),
    diff('task_status_transitions', transitionRows(), current.task_status_transitions),
  ];
  const changes = parts.flatMap((p) => p.changes);
  const result: ReferenceSeedResult = { applied: !options.check, changed: changes.length > 0, tables: parts.map((p) => p.report), changes };
  if (options.check || changes.length === 0) return result;

  await client.query('BEGIN');
  try {
    // Agent types first: task_types.agent_type references them.
    await client.query(
      `INSERT INTO agentry.agent_types AS t (name, description)
       SELECT * FROM unnest($1::text[], $2::text[])
       ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description
       WHERE t.description IS DISTINCT FROM EXCLUDED.description`,
      [AGENT_TYPES.map((t) => t.name), AGENT_TYPES.map((t) => t.description)],
    );
    await client.query(
      `INSERT INTO agentry.task_types AS t (name, description, agent_type, avg_complexity, avg_duration_seconds, required_input_keys)
       SELECT name, description, agent_type, avg_complexity::numeric, avg_duration_seconds::numeric, keys::text[]
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
              AS i(name, description, agent_type, avg_complexity, avg_duration_seconds, keys)
       ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, agent_type = EXCLUDED.agent_type,
         avg_complexity = EXCLUDED.avg_complexity, avg_duration_seconds = EXCLUDED.avg_duration_seconds,
         required_input_keys = EXCLUDED.required_input_keys
       WHERE (t.description, t.agent_type, t.avg_complexity, t.avg_duration_seconds, t.required_input_keys)
             IS DISTINCT FROM (EXCLUDED.description, EXCLUDED.agent_type, EXCLUDED.avg_complexity, EXCLUDED.avg_duration_seconds,
                               EXCLUDED.required_input_keys)`,
      [
        TASK_TYPES.map((t) => t.name),
        TASK_TYPES.map((t) => t.description),
        TASK_TYPES.map((t) => t.agentType),
        TASK_TYPES.map((t) => t.avgComplexity),
        TASK_TYPES.map((t) => t.avgDurationSeconds),
        TASK_TYPES.map((t) => `{${t.requiredInputKeys.join(',')}}`),
      ],
    );
    await client.query(
      `INSERT INTO agentry.task_status_transitions AS t (from_status, to_status, description)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
       ON CONFLICT (from_status, to_status) DO UPDATE SET description = EXCLUDED.description
       WHERE t.description IS DISTINCT FROM EXCLUDED.description`,
      [TASK_STATUS_TRANSITIONS.map((t) => t.from), TASK_STATUS_TRANSITIONS.map((t) => t.to), TASK_STATUS_TRANSITIONS.map((t) => t.description)],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  return result;
}

/** One line per change, for people. */
export function describeReferenceChange(change: ReferenceChange): string {
  return change.action === 'inserted'
    ? `${change.table}: inserted ${change.key}`
    : `${change.table}: restored ${change.key} (${change.columns.join(', ')})`;
}
