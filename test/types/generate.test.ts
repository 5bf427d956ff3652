import { beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';

import {
  agentMetricsInitializerSchema,
  constraintCatalog,
  isConstraintName,
  tableSchemaMap,
  tasksInitializerSchema,
  tasksMutatorSchema,
  tasksSchema,
  taskStatusSchema,
  viewSchemaMap,
  workersSchema,
  type AgentMetrics,
  type AgentMetricsId,
  type AgentMetricsInitializer,
  type Checkpoints,
  type Corrections,
  type EvaluationsInitializer,
  type TableName,
  type TableTypeMap,
  type TaskChains,
  type TaskReadiness,
  type Tasks,
  type TasksId,
  type TasksInitializer,
  type TasksMutator,
  type TaskStatus,
  type ViewName,
  type ViewTypeMap,
  type Workers,
} from '../../generated/index.js';
import type { ConstraintCatalog } from '../../src/dal/errors.js';
import { generateTypes } from '../../src/types/generate.js';
import { useTestDatabase } from '../helpers/db.js';

type Status = 'pending' | 'initializing' | 'queued' | 'assigned' | 'running' | 'checkpoint' | 'correcting' | 'retrying' | 'completed' | 'failed' | 'cancelled' | 'timeout';

// ---------------------------------------------------------------------------
// Type level (checked by `npm run typecheck`; vitest only runs the bodies)
// ---------------------------------------------------------------------------

/** Mutual assignability: what z.infer gives and what the interface says accept the same values. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type TableMismatches = {
  [T in TableName]: {
    [K in keyof TableTypeMap[T]]: Same<z.output<(typeof tableSchemaMap)[T][K & keyof (typeof tableSchemaMap)[T]]>, TableTypeMap[T][K]> extends true
      ? never
      : `${T}.${K & string}`;
  }[keyof TableTypeMap[T]];
}[TableName];
type ViewMismatches = {
  [V in ViewName]: Same<z.output<(typeof viewSchemaMap)[V]['select']>, ViewTypeMap[V]['select']> extends true ? never : V;
}[ViewName];

describe('generated types (type level)', () => {
  it('gives vocabulary columns literal unions and json columns their shapes', () => {
    expectTypeOf<Tasks['status']>().toEqualTypeOf<Status>();
    expectTypeOf<TaskStatus>().toEqualTypeOf<Status>();
    expectTypeOf<Tasks['retry_policy']>().toEqualTypeOf<'none' | 'fixed' | 'linear' | 'exponential'>();
    expectTypeOf<Workers['status']>().toEqualTypeOf<'online' | 'offline' | 'busy'>();
    expectTypeOf<Workers['tools']>().toEqualTypeOf<string[]>();
    expectTypeOf<Workers['system_info']['memory_total_gb']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<Tasks['input']>().toEqualTypeOf<Record<string, unknown> | null>();
    expectTypeOf<Tasks['tool_preferences']>().toEqualTypeOf<string[] | null>();
    expectTypeOf<TaskChains['steps'][number]['use_previous_output']>().toEqualTypeOf<boolean | undefined>();
    expectTypeOf<Checkpoints['subtasks_completed']>().toEqualTypeOf<string[]>();
    expectTypeOf<Corrections['reference_files'][number]>().toEqualTypeOf<string | { path?: string; url?: string; note?: string }>();
    expectTypeOf<Corrections['result']>().toEqualTypeOf<'pending' | 'applied' | 'failed'>();
    expectTypeOf<TaskReadiness['blocked_by']>().toEqualTypeOf<string[]>();
  });

  it('leaves generated and identity columns out of insert and update types, and brands ids', () => {
    expectTypeOf<TasksInitializer>().not.toHaveProperty('execution_time');
    expectTypeOf<TasksInitializer>().not.toHaveProperty('wait_time');
    expectTypeOf<TasksInitializer>().not.toHaveProperty('duration_ms');
    expectTypeOf<TasksMutator>().not.toHaveProperty('duration_ms');
    expectTypeOf<TasksInitializer>().toHaveProperty('status');
    expectTypeOf<EvaluationsInitializer>().not.toHaveProperty('overall_score');
    expectTypeOf<AgentMetricsInitializer>().not.toHaveProperty('id');
    expectTypeOf<AgentMetrics['id']>().toEqualTypeOf<AgentMetricsId>();
    expectTypeOf<Tasks['id']>().toEqualTypeOf<TasksId>();
    expectTypeOf<string>().not.toExtend<TasksId>();

    // @ts-expect-error a generated column is not part of an insert
    const generated: TasksInitializer = { title: 'x', execution_time: '1.00' };
    // @ts-expect-error not a task status
    const badStatus: TasksInitializer = { title: 'x', status: 'done' };
    // @ts-expect-error an identity column is not part of an insert
    const identity: AgentMetricsInitializer = { id: '1', agent_id: 'a' as AgentMetrics['agent_id'], metric_type: 'cost', metric_value: 1 };
    void [generated, badStatus, identity];
  });

  it('zod schemas infer exactly the interfaces, for every table and view', () => {
    expectTypeOf<TableMismatches>().toEqualTypeOf<never>();
    expectTypeOf<ViewMismatches>().toEqualTypeOf<never>();
    expectTypeOf<z.output<typeof tasksSchema>['status']>().toEqualTypeOf<Status>();
  });

  it("the constraint catalog fits the data-access library's ConstraintCatalog", () => {
    expectTypeOf(constraintCatalog).toExtend<ConstraintCatalog>();
  });
});

// ---------------------------------------------------------------------------
// Run time: the committed zod schemas, and a fresh generation from the real schema
// ---------------------------------------------------------------------------

describe('generated zod schemas', () => {
  it('the tasks insert schema accepts a good status and refuses a bad one', () => {
    expect(tasksInitializerSchema.safeParse({ title: 'write docs', status: 'queued' }).success).toBe(true);
    const bad = tasksInitializerSchema.safeParse({ title: 'write docs', status: 'done' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['status']);
    expect(taskStatusSchema.options).toEqual([
      'pending', 'initializing', 'queued', 'assigned', 'running', 'checkpoint', 'correcting', 'retrying', 'completed', 'failed', 'cancelled', 'timeout',
    ]);
  });

  it('leaves generated and identity columns out of the insert and update schemas only', () => {
    for (const column of ['execution_time', 'wait_time', 'duration_ms']) {
      expect(Object.keys(tasksSchema.shape)).toContain(column);
      expect(Object.keys(tasksInitializerSchema.shape)).not.toContain(column);
      expect(Object.keys(tasksMutatorSchema.shape)).not.toContain(column);
    }
    expect(Object.keys(agentMetricsInitializerSchema.shape)).not.toContain('id');
    expect(Object.keys(tableSchemaMap.evaluations.insert.shape)).not.toContain('overall_score');
    for (const table of ['audit_logs', 'activity_logs', 'trust_records', 'webhook_deliveries'] as const) {
      expect(Object.keys(tableSchemaMap[table].select.shape)).toContain('id');
      expect(Object.keys(tableSchemaMap[table].insert.shape)).not.toContain('id');
      expect(Object.keys(tableSchemaMap[table].update.shape)).not.toContain('id');
    }
  });

  it('checks json shapes', () => {
    const row = {
      id: '6f1c2b7e-0000-4000-8000-000000000001',
      machine_id: 'm1',
      machine_name: 'box',
      status: 'online',
      system_info: { os: 'linux', cpu: 'x86_64', memory_total_gb: 32, disk_total_gb: 512, gpu: 'none' },
      tools: ['claude_code'],
      cpu_percent: null,
      memory_percent: null,
      disk_percent: null,
      last_heartbeat: null,
      registered_at: new Date(),
    };
    const parsed = workersSchema.parse(row);
    expect(parsed.system_info.gpu).toBe('none');
    expect(workersSchema.safeParse({ ...row, tools: [1] }).success).toBe(false);
    expect(workersSchema.safeParse({ ...row, status: 'asleep' }).success).toBe(false);
    expect(tableSchemaMap.task_chains.insert.safeParse({ name: 'c', client_id: 'app', steps: [] }).success).toBe(false);
    expect(tableSchemaMap.task_chains.insert.safeParse({ name: 'c', client_id: 'app', steps: [{ name: 's', task_type: 'fetch' }] }).success).toBe(true);
    expect(tableSchemaMap.corrections.update.safeParse({ reference_files: ['a.ts', { path: 'b.md', note: 'edge' }] }).success).toBe(true);
    expect(tableSchemaMap.corrections.update.safeParse({ reference_files: [{ path: 1 }] }).success).toBe(false);
  });

  it('catalogues constraints, unique indexes and trigger errors by name', () => {
    expect(constraintCatalog.uq_users_email).toMatchObject({ table: 'users', kind: 'unique', columns: ['email'], sqlstate: '23505' });
    expect(constraintCatalog.uq_users_email.definition).toMatch(/UNIQUE INDEX uq_users_email .*lower/);
    expect(constraintCatalog.chk_tasks_retry_policy).toMatchObject({ table: 'tasks', kind: 'check', columns: ['retry_policy'], sqlstate: '23514' });
    expect(constraintCatalog.fk_tasks_agent_id).toMatchObject({ kind: 'foreign_key', columns: ['agent_id'], references: { table: 'agents', columns: ['id'] } });
    expect(constraintCatalog.pk_agent_metrics).toMatchObject({ kind: 'primary_key', columns: ['agent_id', 'recorded_at', 'id'] });
    expect(constraintCatalog.chk_task_status_valid).toMatchObject({ table: 'task_status', domain: 'task_status', kind: 'check' });
    expect(constraintCatalog.chk_task_status_valid.columns).toContain('tasks.status');
    expect(constraintCatalog.trg_tasks_status_transition).toMatchObject({ table: 'tasks', kind: 'trigger', columns: ['status'], sqlstate: 'AG001' });
    expect(constraintCatalog.trg_tasks_status_transition.definition).toMatch(/illegal task status transition/);
    expect(constraintCatalog.trg_audit_logs_no_truncate).toMatchObject({ table: 'audit_logs', kind: 'trigger', sqlstate: 'AG004' });
    const triggers = Object.entries(constraintCatalog).filter(([, e]) => e.kind === 'trigger').map(([name]) => name);
    expect(triggers.sort()).toEqual([
      'trg_agents_trust_score_guard',
      'trg_audit_logs_append_only',
      'trg_audit_logs_no_truncate',
      'trg_checkpoints_decision',
      'trg_task_dependencies_no_cycle',
      'trg_tasks_parent_cycle',
      'trg_tasks_status_transition',
      'trg_tasks_validate_input',
      'trg_trust_records_append_only',
      'trg_trust_records_apply',
    ]);
    // Partitions repeat their parent's rules under month names: never listed.
    expect(Object.entries(constraintCatalog).filter(([n, e]) => /_y\d{4}m\d{2}/.test(n) || /_y\d{4}m\d{2}$|_default$/.test(e.table))).toEqual([]);
    expect(isConstraintName('chk_tasks_priority_range')).toBe(true);
    expect(isConstraintName('constructor')).toBe(false);
  });
});

describe('generation from the real schema', () => {
  const db = useTestDatabase();
  let files: Map<string, string>;

  beforeAll(async () => {
    ({ files } = await generateTypes({ databaseUrl: db.url }));
  });

  it('writes one module per table, view and domain, the catalog, the table maps and the index', async () => {
    const { rows } = await db.pool.query<{ relname: string }>(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'agentry' AND c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition
          AND c.relname NOT IN ('pgmigrations', 'pgmigrations_checksums')`,
    );
    const pascal = (name: string) => name.replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
    const expected = [...rows.map((r) => `agentry/${pascal(r.relname)}.ts`), 'agentry/TaskStatus.ts', 'constraints.ts', 'index.ts', 'tables.ts'].sort();
    expect([...files.keys()]).toEqual(expected);
    expect([...files.keys()]).toContain('agentry/TaskReadiness.ts');
  });

  it('makes tasks.status the 12-value union of the task_status domain, in the order of its CHECK', () => {
    expect(files.get('agentry/TaskStatus.ts')).toContain(
      "export type TaskStatus = 'pending' | 'initializing' | 'queued' | 'assigned' | 'running' | 'checkpoint' | 'correcting' | 'retrying' | 'completed' | 'failed' | 'cancelled' | 'timeout';",
    );
    expect(files.get('agentry/Tasks.ts')).toMatch(/^ {2}status: TaskStatus;$/m);
    expect(files.get('agentry/Tasks.ts')).not.toMatch(/^ {2}status: string/m);
    expect(files.get('agentry/Workers.ts')).toMatch(/^ {2}tools: string\[\];$/m);
  });

  it('is deterministic and free of timestamps', async () => {
    const again = await generateTypes({ databaseUrl: db.url });
    expect(again.files).toEqual(files);
    for (const contents of files.values()) {
      expect(contents).not.toMatch(/\b20\d\d-\d\d-\d\d[T ]\d\d:/);
      expect(contents.endsWith('\n')).toBe(true);
      expect(contents).not.toMatch(/[ \t]$/m);
    }
  });
});
