// The containers tasks belong to: workflows (seed 003), projects and plans
// (seed 004), task_chains, task_templates and scheduled_tasks (seed 002):
// their CHECKs, foreign keys and updated_at triggers.
import { randomUUID } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { useTestDatabase } from '../helpers/db.js';
import { accepted, expectRefused } from './support.js';
import {
  CHAIN_STEPS,
  insertChain,
  insertPlan,
  insertProject,
  insertRow,
  insertSchedule,
  insertSql,
  insertTemplate,
  insertUser,
  insertWorkflow,
  json,
  unique,
} from './work-fixtures.js';

const db = useTestDatabase();

type Case = [constraint: string, refused: Array<Record<string, unknown>>, good: Array<Record<string, unknown>>];

/** Each refused row is refused by the constraint and leaves nothing; each good row goes in. */
async function checkCases(table: string, base: () => Promise<Record<string, unknown>>, [constraint, refused, good]: Case) {
  for (const row of refused) {
    await expectRefused(db.pool, ...insertSql(table, { ...(await base()), ...row }), { constraint, table });
  }
  for (const row of good) {
    const inserted = await insertRow<{ id: string }>(db.pool, table, { ...(await base()), ...row });
    expect(inserted.id).toMatch(/^[0-9a-f-]{36}$/);
  }
}

/**
 * Shows that updated_at is stamped by the trigger on every UPDATE, whatever
 * the statement sets.
 */
async function showsUpdatedAtTrigger(table: string, id: string, set: string) {
  const [row] = await accepted<{ updated_at: Date; created_at: Date; now: Date }>(
    db.pool,
    `UPDATE agentry.${table} SET ${set}, updated_at = $2 WHERE id = $1 RETURNING updated_at, created_at, now() AS now`,
    [id, '2001-01-01T00:00:00Z'],
  );
  expect(row!.updated_at).toEqual(row!.now);
  // Same millisecond as the insert is possible on a fast machine; never earlier.
  expect(row!.updated_at.getTime()).toBeGreaterThanOrEqual(row!.created_at.getTime());
}

describe('workflows', () => {
  const base = async () => ({ name: unique('wf') });
  const cases: Case[] = [
    ['chk_workflows_status', [{ status: 'RUNNING' }, { status: 'paused' }], [{ status: 'pending' }, { status: 'cancelled' }]],
    [
      'chk_workflows_counters_consistent',
      [{ total_tasks: 1, completed_tasks: 1, failed_tasks: 1 }, { total_tasks: 0, failed_tasks: -1 }],
      [{ total_tasks: 3, completed_tasks: 1, failed_tasks: 1, cancelled_tasks: 1 }],
    ],
    [
      'chk_workflows_cost_nonnegative',
      [{ total_tokens_used: -1 }, { total_cost_usd: -0.01 }],
      [{ total_tokens_used: 10, total_cost_usd: 0.5 }],
    ],
    [
      'chk_workflows_timestamps_ordered',
      [
        { created_at: '2025-01-01T00:00:10Z', started_at: '2025-01-01T00:00:00Z' },
        { created_at: '2025-01-01T00:00:00Z', started_at: '2025-01-01T00:00:10Z', completed_at: '2025-01-01T00:00:05Z' },
        { created_at: '2025-01-01T00:00:10Z', completed_at: '2025-01-01T00:00:05Z' },
      ],
      [
        { created_at: '2025-01-01T00:00:00Z', started_at: '2025-01-01T00:00:01Z', completed_at: '2025-01-01T00:00:02Z' },
        { created_at: '2025-01-01T00:00:00Z', completed_at: '2025-01-01T00:00:02Z' },
      ],
    ],
    ['chk_workflows_metadata_object', [{ metadata: json([]) }, { metadata: json('x') }], [{ metadata: json({ source: 'cli' }) }]],
  ];
  it.each(cases)('%s', async (...c) => checkCases('workflows', base, c));

  it('pk_workflows', async () => {
    const w = await insertWorkflow(db.pool);
    await expectRefused(db.pool, ...insertSql('workflows', { id: w.id, name: 'again' }), { constraint: 'pk_workflows', table: 'workflows' });
  });

  it('duration_ms is generated from started_at and completed_at', async () => {
    const w = await insertRow<{ duration_ms: string | null }>(db.pool, 'workflows', {
      name: 'timed',
      created_at: '2025-01-01T00:00:00Z',
      started_at: '2025-01-01T00:00:01Z',
      completed_at: '2025-01-01T00:02:01.5Z',
    });
    expect(w.duration_ms).toBe('120500');
    const open = await insertRow<{ duration_ms: string | null }>(db.pool, 'workflows', { name: 'open', started_at: new Date(Date.now() + 1000) });
    expect(open.duration_ms).toBeNull();
  });

  it('fk_workflows_user_id: unknown user refused; ON UPDATE CASCADE; ON DELETE SET NULL', async () => {
    await expectRefused(db.pool, ...insertSql('workflows', { name: 'x', user_id: randomUUID() }), {
      constraint: 'fk_workflows_user_id',
      table: 'workflows',
    });
    const user = await insertUser(db.pool);
    const w = await insertWorkflow(db.pool, { user_id: user.id });
    const newId = randomUUID();
    await accepted(db.pool, 'UPDATE agentry.users SET id = $2 WHERE id = $1', [user.id, newId]);
    const read = async () => (await accepted<{ user_id: string | null }>(db.pool, 'SELECT user_id FROM agentry.workflows WHERE id = $1', [w.id]))[0]!.user_id;
    expect(await read()).toBe(newId);
    await accepted(db.pool, 'DELETE FROM agentry.users WHERE id = $1', [newId]);
    expect(await read()).toBeNull();
  });

  it('trg_workflows_updated_at stamps updated_at', async () => {
    const w = await insertWorkflow(db.pool);
    await showsUpdatedAtTrigger('workflows', w.id, "description = 'changed'");
  });

  it('trg_workflows_derive_state leaves a hand-set status alone while no counter or started_at changes', async () => {
    const w = await insertWorkflow(db.pool);
    const [row] = await accepted<{ status: string }>(db.pool, 'UPDATE agentry.workflows SET status = $2 WHERE id = $1 RETURNING status', [
      w.id,
      'cancelled',
    ]);
    expect(row?.status).toBe('cancelled');
    // a counter change re-derives it
    const [derived] = await accepted<{ status: string; completed_at: Date | null }>(
      db.pool,
      'UPDATE agentry.workflows SET total_tasks = 1, completed_tasks = 1 WHERE id = $1 RETURNING status, completed_at',
      [w.id],
    );
    expect(derived?.status).toBe('completed');
    expect(derived?.completed_at).not.toBeNull();
  });
});

describe('projects', () => {
  const base = async () => ({ name: unique('project'), created_by: (await insertUser(db.pool)).id });
  const cases: Case[] = [
    ['chk_projects_status', [{ status: 'draft' }, { status: 'ACTIVE' }], [{ status: 'active' }, { status: 'completed' }, { status: 'archived' }]],
    ['chk_projects_metadata_object', [{ metadata: json([1]) }], [{ metadata: json({ repo: 'x' }) }]],
  ];
  it.each(cases)('%s', async (...c) => checkCases('projects', base, c));

  it('pk_projects', async () => {
    const p = await insertProject(db.pool);
    await expectRefused(db.pool, ...insertSql('projects', { ...(await base()), id: p.id }), { constraint: 'pk_projects', table: 'projects' });
  });

  it('fk_projects_created_by: unknown user refused; ON UPDATE CASCADE; ON DELETE RESTRICT', async () => {
    await expectRefused(db.pool, ...insertSql('projects', { name: 'x', created_by: randomUUID() }), {
      constraint: 'fk_projects_created_by',
      table: 'projects',
    });
    const p = await insertProject(db.pool);
    const newId = randomUUID();
    await accepted(db.pool, 'UPDATE agentry.users SET id = $2 WHERE id = $1', [p.created_by, newId]);
    const [row] = await accepted<{ created_by: string }>(db.pool, 'SELECT created_by FROM agentry.projects WHERE id = $1', [p.id]);
    expect(row?.created_by).toBe(newId);
    await expectRefused(db.pool, 'DELETE FROM agentry.users WHERE id = $1', [newId], { constraint: 'fk_projects_created_by', table: 'users' });
  });

  it('trg_projects_updated_at stamps updated_at', async () => {
    const p = await insertProject(db.pool);
    await showsUpdatedAtTrigger('projects', p.id, "description = 'changed'");
  });
});

describe('plans', () => {
  const base = async () => {
    const project = await insertProject(db.pool);
    return { project_id: project.id, title: unique('plan'), created_by: project.created_by };
  };
  const cases: Case[] = [
    [
      'chk_plans_status',
      [{ status: 'archived' }, { status: 'DRAFT' }],
      ['draft', 'active', 'paused', 'completed', 'cancelled'].map((status) => ({ status })),
    ],
    ['chk_plans_priority_range', [{ priority: 0 }, { priority: 11 }], [{ priority: 1 }, { priority: 10 }]],
    ['chk_plans_hours_nonnegative', [{ estimated_hours: -1 }, { actual_hours: -0.25 }], [{ estimated_hours: 0, actual_hours: 12.5 }]],
    ['chk_plans_agent_count_positive', [{ agent_count: 0 }, { agent_count: -2 }], [{ agent_count: 1 }, { agent_count: 8 }]],
    [
      'chk_plans_scaling_strategy',
      [{ scaling_strategy: 'manual' }],
      [{ scaling_strategy: 'fixed' }, { scaling_strategy: 'adaptive' }, { scaling_strategy: 'elastic' }],
    ],
    ['chk_plans_metadata_object', [{ metadata: json('x') }], [{ metadata: json({}) }]],
  ];
  it.each(cases)('%s', async (...c) => checkCases('plans', base, c));

  it('pk_plans', async () => {
    const plan = await insertPlan(db.pool);
    await expectRefused(db.pool, ...insertSql('plans', { ...(await base()), id: plan.id }), { constraint: 'pk_plans', table: 'plans' });
  });

  it('fk_plans_project_id: unknown project refused; ON UPDATE CASCADE; ON DELETE CASCADE', async () => {
    await expectRefused(db.pool, ...insertSql('plans', { ...(await base()), project_id: randomUUID() }), {
      constraint: 'fk_plans_project_id',
      table: 'plans',
    });
    const plan = await insertPlan(db.pool);
    const newId = randomUUID();
    await accepted(db.pool, 'UPDATE agentry.projects SET id = $2 WHERE id = $1', [plan.project_id, newId]);
    const [row] = await accepted<{ project_id: string }>(db.pool, 'SELECT project_id FROM agentry.plans WHERE id = $1', [plan.id]);
    expect(row?.project_id).toBe(newId);
    await accepted(db.pool, 'DELETE FROM agentry.projects WHERE id = $1', [newId]);
    expect(await accepted(db.pool, 'SELECT 1 FROM agentry.plans WHERE id = $1', [plan.id])).toHaveLength(0);
  });

  it('fk_plans_created_by: unknown user refused; ON UPDATE CASCADE; ON DELETE RESTRICT', async () => {
    await expectRefused(db.pool, ...insertSql('plans', { ...(await base()), created_by: randomUUID() }), {
      constraint: 'fk_plans_created_by',
      table: 'plans',
    });
    // the plan's author differs from the project's owner
    const project = await insertProject(db.pool);
    const author = await insertUser(db.pool);
    const plan = await insertRow<{ id: string }>(db.pool, 'plans', { project_id: project.id, title: 't', created_by: author.id });
    const newId = randomUUID();
    await accepted(db.pool, 'UPDATE agentry.users SET id = $2 WHERE id = $1', [author.id, newId]);
    const [row] = await accepted<{ created_by: string }>(db.pool, 'SELECT created_by FROM agentry.plans WHERE id = $1', [plan.id]);
    expect(row?.created_by).toBe(newId);
    await expectRefused(db.pool, 'DELETE FROM agentry.users WHERE id = $1', [newId], { constraint: 'fk_plans_created_by', table: 'users' });
  });

  it('fk_plans_assigned_to: unknown user refused; ON UPDATE CASCADE; ON DELETE SET NULL', async () => {
    await expectRefused(db.pool, ...insertSql('plans', { ...(await base()), assigned_to: randomUUID() }), {
      constraint: 'fk_plans_assigned_to',
      table: 'plans',
    });
    const assignee = await insertUser(db.pool);
    const plan = await insertPlan(db.pool, { assigned_to: assignee.id });
    const newId = randomUUID();
    await accepted(db.pool, 'UPDATE agentry.users SET id = $2 WHERE id = $1', [assignee.id, newId]);
    const read = async () => (await accepted<{ assigned_to: string | null }>(db.pool, 'SELECT assigned_to FROM agentry.plans WHERE id = $1', [plan.id]))[0]!.assigned_to;
    expect(await read()).toBe(newId);
    await accepted(db.pool, 'DELETE FROM agentry.users WHERE id = $1', [newId]);
    expect(await read()).toBeNull();
  });

  it('trg_plans_updated_at stamps updated_at', async () => {
    const plan = await insertPlan(db.pool);
    await showsUpdatedAtTrigger('plans', plan.id, 'priority = 9');
  });
});

describe('task_chains', () => {
  const base = async () => ({ name: unique('chain'), client_id: 'my_app', steps: json(CHAIN_STEPS) });
  const cases: Case[] = [
    [
      'chk_task_chains_steps_shape',
      [
        { steps: json([]) }, // no steps
        { steps: json({ name: 'a', task_type: 'fetch' }) }, // not an array
        { steps: json('fetch, process') },
        { steps: 'null' },
        { steps: json(['fetch']) }, // element not an object
        { steps: json([{ name: 'a' }]) }, // no task_type
        { steps: json([{ task_type: 'fetch' }]) }, // no name
        { steps: json([{ name: 'a', task_type: 'fetch' }, { name: 'b', task_type: 7 }]) }, // task_type not a string
        { steps: json([{ name: null, task_type: 'fetch' }]) },
        { steps: json([{ name: 'a', task_type: 'fetch' }, [1]]) },
      ],
      [{ steps: json([{ name: 'only', task_type: 'research' }]) }, { steps: json(CHAIN_STEPS) }],
    ],
    [
      'chk_task_chains_current_step_range',
      [{ current_step: -1 }, { current_step: 3 }],
      [{ current_step: 0 }, { current_step: 2 }], // 2 = past the last of two steps: done
    ],
    [
      'chk_task_chains_status',
      [{ status: 'PENDING' }, { status: 'paused' }],
      ['pending', 'running', 'completed', 'failed', 'cancelled'].map((status) => ({ status })),
    ],
    ['chk_task_chains_step_results_object', [{ step_results: json([]) }], [{ step_results: json({ fetch_data: { rows: 3 } }) }]],
    [
      'chk_task_chains_timestamps_ordered',
      [
        { created_at: '2025-01-01T00:00:10Z', started_at: '2025-01-01T00:00:00Z' },
        { created_at: '2025-01-01T00:00:00Z', started_at: '2025-01-01T00:00:10Z', completed_at: '2025-01-01T00:00:01Z' },
      ],
      [{ created_at: '2025-01-01T00:00:00Z', started_at: '2025-01-01T00:00:10Z', completed_at: '2025-01-01T00:01:00Z' }],
    ],
  ];
  it.each(cases)('%s', async (...c) => checkCases('task_chains', base, c));

  it('pk_task_chains', async () => {
    const chain = await insertChain(db.pool);
    await expectRefused(db.pool, ...insertSql('task_chains', { ...(await base()), id: chain.id }), {
      constraint: 'pk_task_chains',
      table: 'task_chains',
    });
  });

  it('current_step may not be moved past the steps an UPDATE leaves', async () => {
    const chain = await insertChain(db.pool, { current_step: 2 });
    await expectRefused(
      db.pool,
      'UPDATE agentry.task_chains SET steps = $2 WHERE id = $1',
      [chain.id, json([{ name: 'one', task_type: 'fetch' }])],
      { constraint: 'chk_task_chains_current_step_range', table: 'task_chains' },
    );
  });
});

describe('task_templates', () => {
  const base = async () => ({
    name: unique('template'),
    client_id: 'my_app',
    task_type: 'data_analysis',
    capability_required: 'data:v1',
    default_input: json({ file_url: 'https://x' }),
  });
  const cases: Case[] = [
    ['chk_task_templates_default_input_object', [{ default_input: json([]) }, { default_input: json('x') }], [{ default_input: json({}) }]],
    ['chk_task_templates_default_priority_range', [{ default_priority: 0 }, { default_priority: 11 }], [{ default_priority: 10 }]],
    ['chk_task_templates_default_timeout_positive', [{ default_timeout_seconds: 0 }], [{ default_timeout_seconds: 1 }]],
    ['chk_task_templates_default_max_retries_range', [{ default_max_retries: -1 }, { default_max_retries: 11 }], [{ default_max_retries: 0 }, { default_max_retries: 10 }]],
    ['chk_task_templates_times_used_nonnegative', [{ times_used: -1 }], [{ times_used: 0 }, { times_used: 42 }]],
  ];
  it.each(cases)('%s', async (...c) => checkCases('task_templates', base, c));

  it('pk_task_templates', async () => {
    const t = await insertTemplate(db.pool);
    await expectRefused(db.pool, ...insertSql('task_templates', { ...(await base()), id: t.id }), {
      constraint: 'pk_task_templates',
      table: 'task_templates',
    });
  });

  it('fk_task_templates_task_type: unknown type refused; ON UPDATE CASCADE; ON DELETE RESTRICT', async () => {
    await expectRefused(db.pool, ...insertSql('task_templates', { ...(await base()), task_type: 'no_such_type' }), {
      constraint: 'fk_task_templates_task_type',
      table: 'task_templates',
    });
    const type = unique('tpl_type').toLowerCase();
    await insertRow(db.pool, 'task_types', { name: type, description: 'x', agent_type: 'DataAgent' });
    const t = await insertTemplate(db.pool, { task_type: type });
    await accepted(db.pool, 'UPDATE agentry.task_types SET name = $2 WHERE name = $1', [type, `${type}_v2`]);
    const [row] = await accepted<{ task_type: string }>(db.pool, 'SELECT task_type FROM agentry.task_templates WHERE id = $1', [t.id]);
    expect(row?.task_type).toBe(`${type}_v2`);
    await expectRefused(db.pool, 'DELETE FROM agentry.task_types WHERE name = $1', [`${type}_v2`], {
      constraint: 'fk_task_templates_task_type',
      table: 'task_types',
    });
  });

  it('trg_task_templates_updated_at stamps updated_at', async () => {
    const t = await insertTemplate(db.pool);
    await showsUpdatedAtTrigger('task_templates', t.id, 'times_used = times_used + 1');
  });
});

describe('scheduled_tasks', () => {
  const base = async () => ({
    name: unique('schedule'),
    client_id: 'my_app',
    cron_expression: '0 9 * * 1-5',
    task_type: 'fetch',
    capability_required: 'api:v1',
    input: json({ source: 'database' }),
  });
  const cases: Case[] = [
    [
      'chk_scheduled_tasks_cron_expression',
      ['* * * *', '61 * * * *', '*/0 * * * *', 'every 5 minutes', '0 9 * * MON-XYZ', '@reboot'].map((cron_expression) => ({ cron_expression })),
      // seed 002's four examples, names and a macro
      ['*/5 * * * *', '0 */2 * * *', '0 9 * * 1-5', '0 0 1 * *', '0 6 * JAN,JUL MON-FRI', '@hourly'].map((cron_expression) => ({ cron_expression })),
    ],
    [
      'chk_scheduled_tasks_timezone',
      ['Mars/Olympus', 'XYZ3', '+05:30', 'europe/paris'].map((timezone) => ({ timezone })),
      ['UTC', 'Europe/Paris', 'America/Los_Angeles'].map((timezone) => ({ timezone })),
    ],
    ['chk_scheduled_tasks_input_object', [{ input: json([]) }, { input: json(1) }], [{ input: json({}) }]],
    ['chk_scheduled_tasks_priority_range', [{ priority: 0 }, { priority: 11 }], [{ priority: 1 }, { priority: 10 }]],
    ['chk_scheduled_tasks_timeout_positive', [{ timeout_seconds: 0 }], [{ timeout_seconds: 3600 }]],
    [
      'chk_scheduled_tasks_run_counters_consistent',
      [{ total_runs: 1, successful_runs: 1, failed_runs: 1 }, { total_runs: 0, failed_runs: -1 }],
      [{ total_runs: 5, successful_runs: 3, failed_runs: 1 }],
    ],
  ];
  it.each(cases)('%s', async (...c) => checkCases('scheduled_tasks', base, c));

  it('the timezone defaults to UTC', async () => {
    const s = await insertRow<{ timezone: string }>(db.pool, 'scheduled_tasks', await base());
    expect(s.timezone).toBe('UTC');
  });

  it('pk_scheduled_tasks', async () => {
    const s = await insertSchedule(db.pool);
    await expectRefused(db.pool, ...insertSql('scheduled_tasks', { ...(await base()), id: s.id }), {
      constraint: 'pk_scheduled_tasks',
      table: 'scheduled_tasks',
    });
  });

  it('a cron expression or time zone cannot be changed into a bad one', async () => {
    const s = await insertSchedule(db.pool);
    await expectRefused(db.pool, 'UPDATE agentry.scheduled_tasks SET cron_expression = $2 WHERE id = $1', [s.id, '0 25 * * *'], {
      constraint: 'chk_scheduled_tasks_cron_expression',
      table: 'scheduled_tasks',
    });
    await expectRefused(db.pool, 'UPDATE agentry.scheduled_tasks SET timezone = $2 WHERE id = $1', [s.id, 'Atlantis/Capital'], {
      constraint: 'chk_scheduled_tasks_timezone',
      table: 'scheduled_tasks',
    });
  });

  it('fk_scheduled_tasks_task_type: unknown type refused; ON UPDATE CASCADE; ON DELETE RESTRICT', async () => {
    await expectRefused(db.pool, ...insertSql('scheduled_tasks', { ...(await base()), task_type: 'no_such_type' }), {
      constraint: 'fk_scheduled_tasks_task_type',
      table: 'scheduled_tasks',
    });
    const type = unique('sched_type').toLowerCase();
    await insertRow(db.pool, 'task_types', { name: type, description: 'x', agent_type: 'DataAgent' });
    const s = await insertSchedule(db.pool, { task_type: type });
    await accepted(db.pool, 'UPDATE agentry.task_types SET name = $2 WHERE name = $1', [type, `${type}_v2`]);
    const [row] = await accepted<{ task_type: string }>(db.pool, 'SELECT task_type FROM agentry.scheduled_tasks WHERE id = $1', [s.id]);
    expect(row?.task_type).toBe(`${type}_v2`);
    await expectRefused(db.pool, 'DELETE FROM agentry.task_types WHERE name = $1', [`${type}_v2`], {
      constraint: 'fk_scheduled_tasks_task_type',
      table: 'task_types',
    });
  });
});
