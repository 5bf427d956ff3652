// migrations/1764547210000_numeric_not_nan (+ _validate): numeric NaN sorts above
// every number in PostgreSQL, so a CHECK with a lower bound only ('>= 0') let it
// through. Every such CHECK now refuses it; a 0 still passes, and a rule with an
// upper bound refused NaN already.
import { beforeAll, describe, expect, it } from 'vitest';

import { useTestDatabase } from '../helpers/db.js';
import { accepted, expectRefused } from './support.js';

const db = useTestDatabase();

const BCRYPT = '$2b$12$aWCwNR76JUd8kdNXvi00VO85teFzVa16CJ.1gGJmnPrzyDVKBbjRS';

/** One row of each table, updated below to NaN (refused) and to 0 (accepted). */
const ROWS: { table: string; column: string; constraint: string; where: string }[] = [
  { table: 'task_types', column: 'avg_duration_seconds', constraint: 'chk_task_types_avg_duration_nonnegative', where: "name = 'text_analysis'" },
  { table: 'agents', column: 'average_latency_ms', constraint: 'chk_agents_average_latency_nonnegative', where: "id = 'nan-agent'" },
  { table: 'agent_capabilities', column: 'price', constraint: 'chk_agent_capabilities_price_nonnegative', where: "agent_id = 'nan-agent'" },
  { table: 'workflows', column: 'total_cost_usd', constraint: 'chk_workflows_cost_nonnegative', where: "name = 'nan workflow'" },
  { table: 'plans', column: 'estimated_hours', constraint: 'chk_plans_hours_nonnegative', where: "title = 'nan plan'" },
  { table: 'plans', column: 'actual_hours', constraint: 'chk_plans_hours_nonnegative', where: "title = 'nan plan'" },
  { table: 'tasks', column: 'estimated_hours', constraint: 'chk_tasks_hours_nonnegative', where: "title = 'nan task'" },
  { table: 'tasks', column: 'actual_hours', constraint: 'chk_tasks_hours_nonnegative', where: "title = 'nan task'" },
  { table: 'tasks', column: 'cost_usd', constraint: 'chk_tasks_usage_nonnegative', where: "title = 'nan task'" },
];

beforeAll(async () => {
  await db.pool.query(`
    WITH u AS (INSERT INTO agentry.users (username, email, password_hash) VALUES ('nan-user', 'nan@example.com', '${BCRYPT}') RETURNING id),
         p AS (INSERT INTO agentry.projects (name, created_by) SELECT 'nan project', id FROM u RETURNING id, created_by)
    INSERT INTO agentry.plans (project_id, title, created_by) SELECT id, 'nan plan', created_by FROM p`);
  await db.pool.query(`INSERT INTO agentry.agents (id, name) VALUES ('nan-agent', 'nan agent')`);
  await db.pool.query(`INSERT INTO agentry.agent_capabilities (agent_id, name, input_schema, output_schema) VALUES ('nan-agent', 'nan', '{}', '{}')`);
  await db.pool.query(`INSERT INTO agentry.workflows (name) VALUES ('nan workflow')`);
  await db.pool.query(`INSERT INTO agentry.tasks (title) VALUES ('nan task')`);
});

describe("numeric CHECKs with a lower bound only refuse 'NaN'", () => {
  it.each(ROWS)('$table.$column: NaN refused by $constraint, 0 accepted', async ({ table, column, constraint, where }) => {
    const set = (value: string) => `UPDATE agentry.${table} SET ${column} = '${value}' WHERE ${where} RETURNING ${column}::text AS v`;
    await expectRefused(db.pool, set('NaN'), [], { constraint, table });
    expect(await accepted(db.pool, set('0'))).toEqual([{ v: expect.stringMatching(/^0(\.0+)?$/) }]);
  });

  it('the constraints are validated: rows already there were checked too', async () => {
    const rows = await accepted<{ conname: string; convalidated: boolean }>(
      db.pool,
      `SELECT conname, convalidated FROM pg_catalog.pg_constraint WHERE conname = ANY($1::text[]) ORDER BY conname`,
      [[...new Set(ROWS.map((r) => r.constraint))]],
    );
    expect(rows).toHaveLength(7);
    expect(rows.every((r) => r.convalidated)).toBe(true);
  });
});
