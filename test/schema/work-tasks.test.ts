// The one tasks table (migrations/1764547204000_work.sql): its CHECKs, foreign
// keys, input validation by type (trg_tasks_validate_input), generated
// columns and the version/updated_at trigger (trg_tasks_updated_at).
import { randomBytes, randomUUID } from 'node:crypto';

import pg from 'pg';
import { describe, expect, it } from 'vitest';

import { useTestDatabase } from '../helpers/db.js';
import { accepted, errorOf, expectRefused, SQLSTATE } from './support.js';
import {
  insertAgent,
  insertChain,
  insertPlan,
  insertRow,
  insertSchedule,
  insertSql,
  insertTask,
  insertTemplate,
  insertUser,
  insertWorker,
  insertWorkflow,
  json,
  taskById,
  unique,
} from './work-fixtures.js';

const db = useTestDatabase();

const taskCount = async (where: string, params: unknown[]): Promise<number> => {
  const { rows } = await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM agentry.tasks WHERE ${where}`, params);
  return Number(rows[0]!.n);
};

describe('tasks: rows of every seed shape go in', () => {
  it('seed 000 (type + input), seed 001 (title, description, tool preferences) and seed 004 (sync fields) rows', async () => {
    const s000 = await insertTask(db.pool, { type: 'text_analysis', input: json({ text: 'hello' }) });
    expect(s000).toMatchObject({ status: 'pending', priority: 5, retry_count: 0, max_retries: 3, version: 0 });
    const s001 = await insertRow(db.pool, 'tasks', {
      title: 'Build login page',
      description: 'With OAuth',
      tool_preferences: json(['claude_code', 'gemini_cli']),
      checkpoint_frequency: 'high',
      privacy_level: 'sensitive',
      complexity: 4,
      progress: 42.5,
    });
    expect(s001.input).toBeNull();
    const s004 = await insertRow(db.pool, 'tasks', {
      title: 'Sync me',
      mobile_task_id: 'm-1',
      device_fingerprint: 'fp',
      sync_status: 'syncing',
      estimated_hours: 1.5,
      actual_hours: 0,
      priority: 8,
      tags: ['mobile', 'ui'],
    });
    expect(s004.tags).toEqual(['mobile', 'ui']);
  });

  it('pk_tasks: an id is used once', async () => {
    const task = await insertTask(db.pool);
    await expectRefused(db.pool, ...insertSql('tasks', { id: task.id, title: 'again' }), { constraint: 'pk_tasks', table: 'tasks' });
  });
});

describe('tasks: CHECK constraints', () => {
  const bigInput = { blob: randomBytes(800_000).toString('base64') }; // ~1.07 MB of incompressible text

  // [constraint, rows refused, rows accepted]
  const cases: Array<[string, Array<Record<string, unknown>>, Array<Record<string, unknown>>]> = [
    [
      'chk_tasks_type_format',
      [{ type: 'Text_Analysis', input: json({ text: 'x' }) }, { type: 'te', input: json({ a: 1 }) }, { type: 'text-analysis', input: json({ a: 1 }) }],
      [{ type: 'research', input: json({ topic: 'x' }) }],
    ],
    ['chk_tasks_has_subject', [{ title: null }, { title: null, priority: 3, input: json({ a: 1 }) }], [{ title: null, description: 'only a description' }]],
    ['chk_tasks_priority_range', [{ priority: 0 }, { priority: 11 }, { priority: -5 }], [{ priority: 1 }, { priority: 10 }]],
    [
      'chk_tasks_input_not_empty',
      [{ input: json({}) }, { input: json([]) }, { input: json([1]) }, { input: json('text') }, { input: json(1) }, { input: 'null' }],
      [{ input: json({ a: 1 }) }, { input: null }],
    ],
    ['chk_tasks_input_size', [{ input: json(bigInput) }], [{ input: json({ blob: 'x'.repeat(10_000) }) }]],
    ['chk_tasks_parameters_object', [{ parameters: json([]) }, { parameters: json('x') }], [{ parameters: json({}) }, { parameters: json({ temperature: 0.2 }) }]],
    ['chk_tasks_metadata_object', [{ metadata: json([]) }, { metadata: 'null' }], [{ metadata: json({ k: 'v' }) }]],
    ['chk_tasks_error_details_object', [{ error_details: json('boom') }, { error_details: json([1]) }], [{ error_details: json({ stack: '...' }) }]],
    [
      'chk_tasks_tool_preferences_string_array',
      [{ tool_preferences: json(['claude_code', 1]) }, { tool_preferences: json({ tool: 'x' }) }, { tool_preferences: json([null]) }],
      [{ tool_preferences: json([]) }, { tool_preferences: json(['ollama']) }],
    ],
    [
      'chk_tasks_retry_count_valid',
      [{ retry_count: 4, max_retries: 3 }, { retry_count: -1 }],
      [{ retry_count: 3, max_retries: 3 }, { retry_count: 0, max_retries: 0 }],
    ],
    ['chk_tasks_max_retries_range', [{ max_retries: 11 }, { max_retries: 50 }], [{ max_retries: 10 }]],
    [
      'chk_tasks_retry_policy',
      [{ retry_policy: 'random' }, { retry_policy: 'EXPONENTIAL' }],
      [{ retry_policy: 'none' }, { retry_policy: 'fixed' }, { retry_policy: 'linear' }, { retry_policy: 'exponential' }],
    ],
    [
      'chk_tasks_routing_strategy',
      [{ routing_strategy: 'random' }, { routing_strategy: 'least_loaded' }],
      [{ routing_strategy: 'round_robin' }, { routing_strategy: 'trust_weighted' }],
    ],
    ['chk_tasks_progress_range', [{ progress: -1 }, { progress: 100.01 }], [{ progress: 0 }, { progress: 100 }]],
    ['chk_tasks_complexity_range', [{ complexity: 0 }, { complexity: 6 }], [{ complexity: 1 }, { complexity: 5 }]],
    [
      'chk_tasks_checkpoint_frequency',
      [{ checkpoint_frequency: 'always' }],
      [{ checkpoint_frequency: 'low' }, { checkpoint_frequency: 'medium' }, { checkpoint_frequency: 'high' }],
    ],
    ['chk_tasks_privacy_level', [{ privacy_level: 'secret' }], [{ privacy_level: 'normal' }, { privacy_level: 'sensitive' }]],
    [
      'chk_tasks_sync_status',
      [{ sync_status: 'pending' }],
      [{ sync_status: 'local' }, { sync_status: 'syncing' }, { sync_status: 'synced' }, { sync_status: 'conflict' }],
    ],
    ['chk_tasks_version_nonnegative', [{ version: -1 }], [{ version: 7 }]],
    ['chk_tasks_timeout_positive', [{ timeout_seconds: 0 }, { timeout_seconds: -30 }], [{ timeout_seconds: 1 }, { timeout_seconds: null }]],
    ['chk_tasks_usage_nonnegative', [{ tokens_used: -1 }, { cost_usd: -0.000001 }], [{ tokens_used: 1200, cost_usd: 0.0123 }]],
    ['chk_tasks_hours_nonnegative', [{ estimated_hours: -1 }, { actual_hours: -0.5 }], [{ estimated_hours: 0, actual_hours: 2.25 }]],
    [
      'chk_tasks_cancellation_fields',
      [
        { status: 'pending', cancelled_by: 'alice' },
        { status: 'running', cancellation_reason: 'no longer needed' },
        { status: 'completed', cancelled_at: '2025-01-01T00:00:00Z', created_at: '2025-01-01T00:00:00Z' },
      ],
      [{ status: 'cancelled', cancelled_by: 'alice', cancellation_reason: 'duplicate', cancelled_at: new Date() }],
    ],
    [
      'chk_tasks_timestamps_ordered',
      [
        { created_at: '2025-01-01T00:00:10Z', started_at: '2025-01-01T00:00:09Z' },
        { created_at: '2025-01-01T00:00:00Z', started_at: '2025-01-01T00:00:10Z', completed_at: '2025-01-01T00:00:09Z' },
        // never started: completed_at is measured from created_at
        { created_at: '2025-01-01T00:00:10Z', completed_at: '2025-01-01T00:00:09Z' },
      ],
      [
        { created_at: '2025-01-01T00:00:00Z', started_at: '2025-01-01T00:00:00Z', completed_at: '2025-01-01T00:00:00Z' },
        // seed 000's own rule refused this: a task cancelled before it ever ran, stamped
        { status: 'cancelled', created_at: '2025-01-01T00:00:00Z', completed_at: '2025-01-01T00:05:00Z', cancelled_at: '2025-01-01T00:05:00Z' },
      ],
    ],
  ];

  it.each(cases)('%s', async (constraint, refused, good) => {
    for (const row of refused) {
      await expectRefused(db.pool, ...insertSql('tasks', { title: unique('bad'), ...row }), { constraint, table: 'tasks' });
    }
    for (const row of good) {
      const inserted = await insertTask(db.pool, { title: unique('good'), ...row });
      expect(inserted.id).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('chk_tasks_not_own_parent: a task cannot be inserted as its own parent', async () => {
    const id = randomUUID();
    await expectRefused(db.pool, ...insertSql('tasks', { id, title: 'me', parent_task_id: id }), {
      constraint: 'chk_tasks_not_own_parent',
      table: 'tasks',
    });
    const parent = await insertTask(db.pool);
    const child = await insertTask(db.pool, { parent_task_id: parent.id });
    expect(child.parent_task_id).toBe(parent.id);
  });

  it('chk_tasks_input_size counts the value before compression: 1 MB of even highly compressible text is refused', async () => {
    // The CHECK runs before TOAST compresses the row, so the limit is on the jsonb value itself.
    await expectRefused(db.pool, ...insertSql('tasks', { type: 'research', input: json({ text: 'a'.repeat(1_048_576) }) }), {
      constraint: 'chk_tasks_input_size',
      table: 'tasks',
    });
    const task = await insertTask(db.pool, { type: 'research', input: json({ text: 'a'.repeat(1_000_000) }) });
    const [row] = await accepted<{ size: number }>(db.pool, 'SELECT pg_column_size(input) AS size FROM agentry.tasks WHERE id = $1', [task.id]);
    // stored compressed, far below the limit
    expect(row!.size).toBeLessThan(100_000);
  });

  it('the task_status domain refuses an unknown status (chk_task_status_valid), including seed 002\'s upper case', async () => {
    for (const status of ['PENDING', 'COMPLETED', 'in_progress', 'done']) {
      await expectRefused(db.pool, ...insertSql('tasks', { title: 'bad status', status }), {
        constraint: 'chk_task_status_valid',
        table: 'tasks',
      });
    }
    const task = await insertTask(db.pool, { status: 'queued' });
    const error = await errorOf(db.pool, 'UPDATE agentry.tasks SET status = $2 WHERE id = $1', [task.id, 'RUNNING']);
    expect(error.constraint).toBe('chk_task_status_valid');
    expect(error.code).toBe(SQLSTATE.checkViolation);
    expect((await taskById(db.pool, task.id)).status).toBe('queued');
  });
});

describe('tasks: foreign keys (ON DELETE / ON UPDATE shown by changing the parent)', () => {
  const danglingUuid = '00000000-0000-4000-8000-000000000000';

  it('fk_tasks_type: unknown type refused; ON DELETE RESTRICT; ON UPDATE CASCADE', async () => {
    await expectRefused(db.pool, ...insertSql('tasks', { type: 'no_such_type', input: json({ a: 1 }) }), {
      constraint: 'fk_tasks_type',
      table: 'tasks',
    });
    const name = unique('fk_type').toLowerCase();
    await insertRow(db.pool, 'task_types', { name, description: 'x', agent_type: 'DataAgent' });
    const task = await insertTask(db.pool, { type: name, input: json({ a: 1 }) });
    await expectRefused(db.pool, 'DELETE FROM agentry.task_types WHERE name = $1', [name], { constraint: 'fk_tasks_type', table: 'task_types' });
    await accepted(db.pool, 'UPDATE agentry.task_types SET name = $2 WHERE name = $1', [name, `${name}_v2`]);
    expect((await taskById(db.pool, task.id)).type).toBe(`${name}_v2`);
  });

  it('fk_tasks_agent_id: unknown agent refused; ON UPDATE CASCADE; ON DELETE SET NULL', async () => {
    await expectRefused(db.pool, ...insertSql('tasks', { title: 'x', agent_id: 'ghost-001' }), { constraint: 'fk_tasks_agent_id', table: 'tasks' });
    const agent = await insertAgent(db.pool);
    const task = await insertTask(db.pool, { agent_id: agent.id });
    const renamed = unique('renamed');
    await accepted(db.pool, 'UPDATE agentry.agents SET id = $2 WHERE id = $1', [agent.id, renamed]);
    expect((await taskById(db.pool, task.id)).agent_id).toBe(renamed);
    await accepted(db.pool, 'DELETE FROM agentry.agents WHERE id = $1', [renamed]);
    const after = await taskById(db.pool, task.id);
    expect(after.agent_id).toBeNull();
  });

  it('fk_tasks_worker_id: unknown worker refused; ON UPDATE CASCADE; ON DELETE SET NULL', async () => {
    await expectRefused(db.pool, ...insertSql('tasks', { title: 'x', worker_id: danglingUuid }), { constraint: 'fk_tasks_worker_id', table: 'tasks' });
    const worker = await insertWorker(db.pool);
    const task = await insertTask(db.pool, { worker_id: worker.id });
    const newId = randomUUID();
    await accepted(db.pool, 'UPDATE agentry.workers SET id = $2 WHERE id = $1', [worker.id, newId]);
    expect((await taskById(db.pool, task.id)).worker_id).toBe(newId);
    await accepted(db.pool, 'DELETE FROM agentry.workers WHERE id = $1', [newId]);
    expect((await taskById(db.pool, task.id)).worker_id).toBeNull();
  });

  it('fk_tasks_assigned_agent_type: unknown agent type refused; ON UPDATE CASCADE; ON DELETE RESTRICT', async () => {
    await expectRefused(db.pool, ...insertSql('tasks', { title: 'x', assigned_agent_type: 'GhostAgent' }), {
      constraint: 'fk_tasks_assigned_agent_type',
      table: 'tasks',
    });
    const name = unique('TypeAgent');
    await insertRow(db.pool, 'agent_types', { name, description: 'x' });
    const task = await insertTask(db.pool, { assigned_agent_type: name });
    await accepted(db.pool, 'UPDATE agentry.agent_types SET name = $2 WHERE name = $1', [name, `${name}2`]);
    expect((await taskById(db.pool, task.id)).assigned_agent_type).toBe(`${name}2`);
    await expectRefused(db.pool, 'DELETE FROM agentry.agent_types WHERE name = $1', [`${name}2`], {
      constraint: 'fk_tasks_assigned_agent_type',
      table: 'agent_types',
    });
  });

  it('fk_tasks_parent_task_id: unknown parent refused; ON UPDATE CASCADE; ON DELETE CASCADE (subtasks go with their task)', async () => {
    await expectRefused(db.pool, ...insertSql('tasks', { title: 'x', parent_task_id: danglingUuid }), {
      constraint: 'fk_tasks_parent_task_id',
      table: 'tasks',
    });
    const parent = await insertTask(db.pool);
    const child = await insertTask(db.pool, { parent_task_id: parent.id });
    const grandchild = await insertTask(db.pool, { parent_task_id: child.id });
    const newId = randomUUID();
    await accepted(db.pool, 'UPDATE agentry.tasks SET id = $2 WHERE id = $1', [parent.id, newId]);
    expect((await taskById(db.pool, child.id)).parent_task_id).toBe(newId);
    await accepted(db.pool, 'DELETE FROM agentry.tasks WHERE id = $1', [newId]);
    expect(await taskCount('id = ANY($1)', [[newId, child.id, grandchild.id]])).toBe(0);
  });

  it('fk_tasks_workflow_id: unknown workflow refused; ON UPDATE CASCADE; ON DELETE CASCADE', async () => {
    await expectRefused(db.pool, ...insertSql('tasks', { title: 'x', workflow_id: danglingUuid }), {
      constraint: 'fk_tasks_workflow_id',
      table: 'tasks',
    });
    const workflow = await insertWorkflow(db.pool);
    const task = await insertTask(db.pool, { workflow_id: workflow.id });
    const newId = randomUUID();
    await accepted(db.pool, 'UPDATE agentry.workflows SET id = $2 WHERE id = $1', [workflow.id, newId]);
    expect((await taskById(db.pool, task.id)).workflow_id).toBe(newId);
    await accepted(db.pool, 'DELETE FROM agentry.workflows WHERE id = $1', [newId]);
    expect(await taskCount('id = $1', [task.id])).toBe(0);
  });

  it('fk_tasks_plan_id: unknown plan refused; ON UPDATE CASCADE; ON DELETE CASCADE (also when the project goes)', async () => {
    await expectRefused(db.pool, ...insertSql('tasks', { title: 'x', plan_id: danglingUuid }), { constraint: 'fk_tasks_plan_id', table: 'tasks' });
    const plan = await insertPlan(db.pool);
    const task = await insertTask(db.pool, { plan_id: plan.id });
    const newId = randomUUID();
    await accepted(db.pool, 'UPDATE agentry.plans SET id = $2 WHERE id = $1', [plan.id, newId]);
    expect((await taskById(db.pool, task.id)).plan_id).toBe(newId);
    await accepted(db.pool, 'DELETE FROM agentry.plans WHERE id = $1', [newId]);
    expect(await taskCount('id = $1', [task.id])).toBe(0);

    const plan2 = await insertPlan(db.pool);
    const task2 = await insertTask(db.pool, { plan_id: plan2.id });
    await accepted(db.pool, 'DELETE FROM agentry.projects WHERE id = $1', [plan2.project_id]);
    expect(await taskCount('id = $1', [task2.id])).toBe(0);
  });

  it.each([
    ['fk_tasks_chain_id', 'chain_id', 'task_chains', insertChain],
    ['fk_tasks_template_id', 'template_id', 'task_templates', insertTemplate],
    ['fk_tasks_schedule_id', 'schedule_id', 'scheduled_tasks', insertSchedule],
  ] as const)('%s: unknown row refused; ON UPDATE CASCADE; ON DELETE SET NULL', async (constraint, column, table, make) => {
    await expectRefused(db.pool, ...insertSql('tasks', { title: 'x', [column]: danglingUuid }), { constraint, table: 'tasks' });
    const parent = await make(db.pool);
    const task = await insertTask(db.pool, { [column]: parent.id });
    const newId = randomUUID();
    await accepted(db.pool, `UPDATE agentry.${table} SET id = $2 WHERE id = $1`, [parent.id, newId]);
    expect((await taskById(db.pool, task.id))[column]).toBe(newId);
    await accepted(db.pool, `DELETE FROM agentry.${table} WHERE id = $1`, [newId]);
    expect((await taskById(db.pool, task.id))[column]).toBeNull();
  });

  it('fk_tasks_user_id: unknown user refused; ON UPDATE CASCADE; ON DELETE SET NULL', async () => {
    await expectRefused(db.pool, ...insertSql('tasks', { title: 'x', user_id: danglingUuid }), { constraint: 'fk_tasks_user_id', table: 'tasks' });
    const user = await insertUser(db.pool);
    const task = await insertTask(db.pool, { user_id: user.id });
    const newId = randomUUID();
    await accepted(db.pool, 'UPDATE agentry.users SET id = $2 WHERE id = $1', [user.id, newId]);
    expect((await taskById(db.pool, task.id)).user_id).toBe(newId);
    await accepted(db.pool, 'DELETE FROM agentry.users WHERE id = $1', [newId]);
    expect((await taskById(db.pool, task.id)).user_id).toBeNull();
  });

  it('fk_agents_current_task_id: an agent\'s current task must exist; ON UPDATE CASCADE; ON DELETE SET NULL', async () => {
    await expectRefused(db.pool, ...insertSql('agents', { id: unique('agent'), name: unique('A'), current_task_id: danglingUuid }), {
      constraint: 'fk_agents_current_task_id',
      table: 'agents',
    });
    const task = await insertTask(db.pool);
    const agent = await insertAgent(db.pool, { current_task_id: task.id });
    const newId = randomUUID();
    await accepted(db.pool, 'UPDATE agentry.tasks SET id = $2 WHERE id = $1', [task.id, newId]);
    const read = async () =>
      (await accepted<{ current_task_id: string | null }>(db.pool, 'SELECT current_task_id FROM agentry.agents WHERE id = $1', [agent.id]))[0]!
        .current_task_id;
    expect(await read()).toBe(newId);
    await accepted(db.pool, 'DELETE FROM agentry.tasks WHERE id = $1', [newId]);
    expect(await read()).toBeNull();
  });
});

describe('tasks: input validation by type (trg_tasks_validate_input, rules = task_types.required_input_keys)', () => {
  // Seed 000's validate_task_input_schema(): [type, a complete input, keys that must each be present]
  const rules: Array<[string, Record<string, unknown>, string[]]> = [
    ['text_analysis', { text: 'hi', language: 'en' }, ['text']],
    ['text_generation', { prompt: 'write', max_length: 10 }, ['prompt']],
    ['translation', { text: 'hallo', source_lang: 'de', target_lang: 'en' }, ['text', 'source_lang', 'target_lang']],
    ['code_generation', { specification: 'fib', language: 'python' }, ['specification']],
    ['code_analysis', { code: 'print(1)' }, ['code']],
    ['data_processing', { data: [1, 2, 3], operations: ['normalize'] }, ['data']],
  ];

  it.each(rules)('%s: a complete input goes in; each missing key is refused with AG002', async (type, input, keys) => {
    expect((await insertTask(db.pool, { type, input: json(input) })).type).toBe(type);
    for (const key of keys) {
      const { [key]: _dropped, ...rest } = input;
      const partial = Object.keys(rest).length > 0 ? rest : { unrelated: true };
      await expectRefused(db.pool, ...insertSql('tasks', { type, input: json(partial) }), {
        constraint: 'trg_tasks_validate_input',
        code: SQLSTATE.missingInput,
        table: 'tasks',
        message: `missing required input key "${key}" for task type "${type}"`,
      });
    }
  });

  it('data_analysis: "data" (seed 000) or "file_url" (seed 002) satisfies the rule; neither is refused', async () => {
    await insertTask(db.pool, { type: 'data_analysis', input: json({ data: [1, 2] }) });
    await insertTask(db.pool, { type: 'data_analysis', input: json({ file_url: 'https://storage.example.com/data.csv' }) });
    await insertTask(db.pool, { type: 'data_analysis', input: json({ data: [], file_url: 'https://x' }) });
    await expectRefused(db.pool, ...insertSql('tasks', { type: 'data_analysis', input: json({ algorithm: 'regression' }) }), {
      constraint: 'trg_tasks_validate_input',
      code: SQLSTATE.missingInput,
      table: 'tasks',
      message: 'missing required input key "data" or "file_url" for task type "data_analysis"',
    });
  });

  it('key presence is a top-level key test: a nested or differently-cased key does not count', async () => {
    for (const input of [{ payload: { text: 'x' } }, { Text: 'x' }, { texts: 'x' }]) {
      await expectRefused(db.pool, ...insertSql('tasks', { type: 'text_analysis', input: json(input) }), {
        constraint: 'trg_tasks_validate_input',
        code: SQLSTATE.missingInput,
        table: 'tasks',
      });
    }
    // a null value still counts as present (seed 000 tests `input ? key`)
    await insertTask(db.pool, { type: 'text_analysis', input: json({ text: null }) });
  });

  it('a type with rules and no input at all is refused', async () => {
    await expectRefused(db.pool, ...insertSql('tasks', { type: 'code_analysis', input: null }), {
      constraint: 'trg_tasks_validate_input',
      code: SQLSTATE.missingInput,
      table: 'tasks',
      message: /"code".*"code_analysis"/,
    });
  });

  it('types without rules take any non-empty object; no type means no rule', async () => {
    for (const type of ['code_optimization', 'data_visualization', 'research', 'summarization', 'multi_step', 'pipeline', 'fetch']) {
      expect((await insertTask(db.pool, { type, input: json({ anything: 1 }) })).type).toBe(type);
    }
    expect((await insertTask(db.pool, { title: 'no type', input: json({ whatever: true }) })).type).toBeNull();
  });

  it('an unknown type is left to fk_tasks_type (the trigger does not mask it)', async () => {
    await expectRefused(db.pool, ...insertSql('tasks', { type: 'sentiment', input: json({ text: 'x' }) }), {
      constraint: 'fk_tasks_type',
      table: 'tasks',
    });
  });

  it('UPDATE of type or input is validated too', async () => {
    const task = await insertTask(db.pool, { type: 'research', input: json({ topic: 'llms' }) });
    const changeType = await errorOf(db.pool, 'UPDATE agentry.tasks SET type = $2 WHERE id = $1', [task.id, 'code_analysis']);
    expect(changeType.code).toBe(SQLSTATE.missingInput);
    expect(changeType.constraint).toBe('trg_tasks_validate_input');
    expect(changeType.message).toContain('"code"');

    const analysis = await insertTask(db.pool, { type: 'translation', input: json({ text: 'a', source_lang: 'de', target_lang: 'en' }) });
    const dropKey = await errorOf(db.pool, 'UPDATE agentry.tasks SET input = input - $2::text WHERE id = $1', [analysis.id, 'target_lang']);
    expect(dropKey.code).toBe(SQLSTATE.missingInput);
    expect(dropKey.message).toContain('"target_lang"');
    const unchanged = await taskById(db.pool, analysis.id);
    expect(unchanged.input).toEqual({ text: 'a', source_lang: 'de', target_lang: 'en' });
    expect(unchanged.version).toBe(0);

    await accepted(db.pool, 'UPDATE agentry.tasks SET type = $2, input = $3 WHERE id = $1', [task.id, 'code_analysis', json({ code: 'x' })]);
    expect((await taskById(db.pool, task.id)).type).toBe('code_analysis');
  });

  it('rules are read from task_types: a new rule applies to new rows, and to old rows only when their input or type changes', async () => {
    const name = unique('ruled').toLowerCase();
    await insertRow(db.pool, 'task_types', { name, description: 'x', agent_type: 'DataAgent', required_input_keys: [] });
    const old = await insertTask(db.pool, { type: name, input: json({ a: 1 }) });
    await accepted(db.pool, 'UPDATE agentry.task_types SET required_input_keys = $2 WHERE name = $1', [name, ['source|url', 'format']]);

    await expectRefused(db.pool, ...insertSql('tasks', { type: name, input: json({ url: 'x' }) }), {
      constraint: 'trg_tasks_validate_input',
      code: SQLSTATE.missingInput,
      table: 'tasks',
      message: `missing required input key "format" for task type "${name}"`,
    });
    await insertTask(db.pool, { type: name, input: json({ url: 'x', format: 'csv' }) });
    // A status change does not re-validate (trigger is UPDATE OF input, type).
    await accepted(db.pool, 'UPDATE agentry.tasks SET status = $2 WHERE id = $1', [old.id, 'queued']);
    const error = await errorOf(db.pool, 'UPDATE agentry.tasks SET input = $2 WHERE id = $1', [old.id, json({ a: 2 })]);
    expect(error.constraint).toBe('trg_tasks_validate_input');
  });
});

describe('tasks: generated columns execution_time, wait_time, duration_ms', () => {
  it('are computed from explicit timestamps', async () => {
    const task = await insertTask(db.pool, {
      status: 'completed',
      created_at: '2025-03-01T10:00:00Z',
      started_at: '2025-03-01T10:00:02.5Z',
      completed_at: '2025-03-01T10:01:00.25Z',
    });
    expect(task.wait_time).toBe('2.50');
    expect(task.execution_time).toBe('57.75');
    expect(task.duration_ms).toBe('57750');
  });

  it('are NULL until the timestamps they need exist, and follow later changes', async () => {
    const task = await insertTask(db.pool, { created_at: '2025-03-01T10:00:00Z' });
    expect([task.wait_time, task.execution_time, task.duration_ms]).toEqual([null, null, null]);

    await accepted(db.pool, 'UPDATE agentry.tasks SET started_at = $2 WHERE id = $1', [task.id, '2025-03-01T10:00:30Z']);
    let row = await taskById(db.pool, task.id);
    expect([row.wait_time, row.execution_time, row.duration_ms]).toEqual(['30.00', null, null]);

    await accepted(db.pool, 'UPDATE agentry.tasks SET completed_at = $2 WHERE id = $1', [task.id, '2025-03-01T11:00:30.001Z']);
    row = await taskById(db.pool, task.id);
    expect([row.wait_time, row.execution_time, row.duration_ms]).toEqual(['30.00', '3600.00', '3600001']);

    // never started: no execution time even though completed_at is set
    const cancelled = await insertTask(db.pool, { status: 'cancelled', created_at: '2025-03-01T10:00:00Z', completed_at: '2025-03-01T10:00:05Z' });
    expect([cancelled.wait_time, cancelled.execution_time, cancelled.duration_ms]).toEqual([null, null, null]);
  });

  it('cannot be written (SQLSTATE 428C9) and a refused write leaves nothing behind', async () => {
    const before = await taskCount('true', []);
    for (const column of ['execution_time', 'wait_time', 'duration_ms']) {
      const error = await errorOf(db.pool, `INSERT INTO agentry.tasks (title, ${column}) VALUES ($1, $2)`, ['x', 1]);
      expect(error.code).toBe('428C9');
      expect(error.message).toContain(column);
    }
    expect(await taskCount('true', [])).toBe(before);
    const task = await insertTask(db.pool);
    const error = await errorOf(db.pool, 'UPDATE agentry.tasks SET duration_ms = $2 WHERE id = $1', [task.id, 5]);
    expect(error.code).toBe('428C9');
  });
});

describe('tasks: version and updated_at (trg_tasks_updated_at)', () => {
  it('every update bumps version by one and stamps updated_at, whatever the statement sets', async () => {
    const task = await insertTask(db.pool, { created_at: '2025-01-01T00:00:00Z', updated_at: '2025-01-01T00:00:00Z' });
    expect(task.version).toBe(0);
    await accepted(db.pool, 'UPDATE agentry.tasks SET progress = 10 WHERE id = $1', [task.id]);
    await accepted(db.pool, 'UPDATE agentry.tasks SET progress = 20, version = 100, updated_at = $2 WHERE id = $1', [task.id, '2020-01-01T00:00:00Z']);
    const [row] = await accepted<{ version: number; fresh: boolean }>(
      db.pool,
      'SELECT version, updated_at > $2::timestamptz AND updated_at <= now() AS fresh FROM agentry.tasks WHERE id = $1',
      [task.id, '2025-01-01T00:00:00Z'],
    );
    expect(row).toEqual({ version: 2, fresh: true });
    // a no-op update is still an update
    await accepted(db.pool, 'UPDATE agentry.tasks SET progress = progress WHERE id = $1', [task.id]);
    expect((await taskById(db.pool, task.id)).version).toBe(3);
  });

  it('optimistic locking: UPDATE ... WHERE id = $1 AND version = $2 with a stale version changes nothing', async () => {
    const task = await insertTask(db.pool);
    const first = await db.pool.query('UPDATE agentry.tasks SET progress = 50 WHERE id = $1 AND version = $2', [task.id, 0]);
    expect(first.rowCount).toBe(1);
    const stale = await db.pool.query('UPDATE agentry.tasks SET progress = 99 WHERE id = $1 AND version = $2', [task.id, 0]);
    expect(stale.rowCount).toBe(0);
    const row = await taskById(db.pool, task.id);
    expect(row.version).toBe(1);
    expect(row.progress).toBe('50.00');
  });

  it('optimistic locking under concurrency: two sessions holding version 0 race, exactly one wins', async () => {
    const task = await insertTask(db.pool);
    const a = new pg.Client({ connectionString: db.url });
    const b = new pg.Client({ connectionString: db.url });
    await Promise.all([a.connect(), b.connect()]);
    try {
      await a.query('BEGIN');
      await b.query('BEGIN');
      const winA = await a.query('UPDATE agentry.tasks SET progress = 10 WHERE id = $1 AND version = $2', [task.id, 0]);
      // b blocks on the row lock until a commits, then re-checks version = 0 against the new row.
      const pendingB = b.query('UPDATE agentry.tasks SET progress = 20 WHERE id = $1 AND version = $2', [task.id, 0]);
      await a.query('COMMIT');
      const winB = await pendingB;
      await b.query('COMMIT');
      expect([winA.rowCount, winB.rowCount]).toEqual([1, 0]);
      const row = await taskById(db.pool, task.id);
      expect([row.version, row.progress]).toEqual([1, '10.00']);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });
});
