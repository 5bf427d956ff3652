import { afterAll, beforeAll, expect, it } from 'vitest';

import { constraintCatalog } from '../../generated/constraints.js';
import { createAgentry, type AgentryClient } from '../../src/dal/client.js';
import { ConstraintViolation } from '../../src/dal/errors.js';
import { useTestDatabase } from '../helpers/db.js';

// createAgentry with no options words its errors with the package's generated
// constraint catalog (generated/constraints.ts), not with names alone.

const db = useTestDatabase();
let agentry: AgentryClient;

beforeAll(() => {
  agentry = createAgentry({ connectionString: db.url });
});

afterAll(async () => {
  await agentry?.close();
});

it('the generated catalog knows chk_tasks_priority_range', () => {
  expect(constraintCatalog.chk_tasks_priority_range).toMatchObject({ table: 'tasks', kind: 'check', columns: ['priority'] });
});

it('a CHECK violation says the rule in words and names the constraint, with no options', async () => {
  // The named statement directly: work.createTask would refuse the priority before any SQL.
  const error = await agentry.query('work.create_tasks', [JSON.stringify([{ title: 'default catalog', priority: 11 }])]).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConstraintViolation);
  const violation = error as ConstraintViolation;
  expect(violation).toMatchObject({ kind: 'check', code: '23514', constraint: 'chk_tasks_priority_range', table: 'tasks', query: 'work.create_tasks' });
  expect(violation.rule).toBe('tasks.priority must be between 1 and 10');
  expect(violation.message).toBe('tasks.priority must be between 1 and 10 (chk_tasks_priority_range)');
});

it('an error thrown inside a transaction callback is worded with the same catalog', async () => {
  const error = await agentry
    .transaction(async () => {
      await db.pool.query(`INSERT INTO agentry.tasks (title, priority) VALUES ('default catalog', 0)`);
    })
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConstraintViolation);
  expect((error as Error).message).toBe('tasks.priority must be between 1 and 10 (chk_tasks_priority_range)');
});

it('constraints: {} opts out: the name and table only', async () => {
  const bare = createAgentry({ connectionString: db.url }, { constraints: {} });
  try {
    const error = await bare
      .transaction(async () => {
        await db.pool.query(`INSERT INTO agentry.tasks (title, priority) VALUES ('no catalog', 0)`);
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConstraintViolation);
    expect((error as Error).message).toBe('tasks failed a check (chk_tasks_priority_range)');
  } finally {
    await bare.close();
  }
});
