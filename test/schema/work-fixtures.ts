// Small row builders shared by the work-context schema tests
// (test/schema/work-*.test.ts). Every builder inserts fresh rows with unique
// names, so tests never depend on each other's data.
import { randomBytes } from 'node:crypto';

import type pg from 'pg';

type Queryable = pg.Pool | pg.PoolClient | pg.Client;

/** jsonb parameters go as JSON text: node-postgres would send a JS array as a PostgreSQL array. */
export const json = (value: unknown): string => JSON.stringify(value);

export const unique = (prefix: string): string => `${prefix}_${randomBytes(5).toString('hex')}`;

/** A bcrypt-shaped hash (chk_users_password_hash_format). */
export const BCRYPT = `$2b$12$${'a'.repeat(53)}`;

/**
 * INSERT INTO agentry.<table> (<columns of row>) VALUES ($1, ...) RETURNING *.
 * Column names come from the test code; every value is a bind parameter.
 */
export async function insertRow<T extends pg.QueryResultRow = pg.QueryResultRow>(
  db: Queryable,
  table: string,
  row: Record<string, unknown>,
): Promise<T> {
  const columns = Object.keys(row);
  const sql = `INSERT INTO agentry.${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`;
  const { rows } = await db.query<T>(sql, Object.values(row));
  return rows[0]!;
}

/** The SQL and parameters insertRow would run, for expectRefused. */
export function insertSql(table: string, row: Record<string, unknown>): [string, unknown[]] {
  const columns = Object.keys(row);
  return [
    `INSERT INTO agentry.${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
    Object.values(row),
  ];
}

export interface TaskRow extends Record<string, unknown> {
  id: string;
  status: string;
  version: number;
  retry_count: number;
  max_retries: number;
  created_at: Date;
  updated_at: Date;
  assigned_at: Date | null;
  started_at: Date | null;
  completed_at: Date | null;
  cancelled_at: Date | null;
}

export const insertTask = (db: Queryable, row: Record<string, unknown> = {}): Promise<TaskRow> =>
  insertRow<TaskRow>(db, 'tasks', { title: unique('task'), ...row });

export async function taskById(db: Queryable, id: string): Promise<TaskRow> {
  const { rows } = await db.query<TaskRow>('SELECT * FROM agentry.tasks WHERE id = $1', [id]);
  if (!rows[0]) throw new Error(`task ${id} not found`);
  return rows[0];
}

export const insertUser = (db: Queryable): Promise<{ id: string }> =>
  insertRow(db, 'users', { username: unique('user'), email: `${unique('mail')}@example.com`, password_hash: BCRYPT }) as Promise<{
    id: string;
  }>;

export const insertWorker = (db: Queryable): Promise<{ id: string }> =>
  insertRow(db, 'workers', {
    machine_id: unique('machine'),
    machine_name: 'test machine',
    system_info: json({ os: 'linux' }),
    tools: json(['claude_code']),
  }) as Promise<{ id: string }>;

export const insertAgent = (db: Queryable, row: Record<string, unknown> = {}): Promise<{ id: string }> =>
  insertRow(db, 'agents', { id: unique('agent'), name: unique('Agent'), ...row }) as Promise<{ id: string }>;

export const insertWorkflow = (db: Queryable, row: Record<string, unknown> = {}): Promise<{ id: string }> =>
  insertRow(db, 'workflows', { name: unique('workflow'), ...row }) as Promise<{ id: string }>;

export async function insertProject(db: Queryable): Promise<{ id: string; created_by: string }> {
  const user = await insertUser(db);
  return insertRow(db, 'projects', { name: unique('project'), created_by: user.id }) as Promise<{ id: string; created_by: string }>;
}

export async function insertPlan(db: Queryable, row: Record<string, unknown> = {}): Promise<{ id: string; project_id: string }> {
  const project = await insertProject(db);
  return insertRow(db, 'plans', {
    project_id: project.id,
    title: unique('plan'),
    created_by: project.created_by,
    ...row,
  }) as Promise<{ id: string; project_id: string }>;
}

export const CHAIN_STEPS = [
  { name: 'fetch_data', task_type: 'fetch', capability_required: 'api:v1', input_data: { source: 'database' } },
  { name: 'process_data', task_type: 'process', capability_required: 'data:v1', use_previous_output: true },
];

export const insertChain = (db: Queryable, row: Record<string, unknown> = {}): Promise<{ id: string }> =>
  insertRow(db, 'task_chains', { name: unique('chain'), client_id: 'my_app', steps: json(CHAIN_STEPS), ...row }) as Promise<{
    id: string;
  }>;

export const insertTemplate = (db: Queryable, row: Record<string, unknown> = {}): Promise<{ id: string }> =>
  insertRow(db, 'task_templates', {
    name: unique('template'),
    client_id: 'my_app',
    task_type: 'data_analysis',
    capability_required: 'data:v1',
    default_input: json({ file_url: 'https://storage.example.com/data.csv' }),
    ...row,
  }) as Promise<{ id: string }>;

export const insertSchedule = (db: Queryable, row: Record<string, unknown> = {}): Promise<{ id: string }> =>
  insertRow(db, 'scheduled_tasks', {
    name: unique('schedule'),
    client_id: 'my_app',
    cron_expression: '*/5 * * * *',
    task_type: 'fetch',
    capability_required: 'api:v1',
    input: json({ source: 'database' }),
    ...row,
  }) as Promise<{ id: string }>;
