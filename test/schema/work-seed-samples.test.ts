// Seed 000's own sample rows and its 14 example queries, and seed 002's sample
// task, run against the unified schema. This file owns its database, so the
// aggregate queries see exactly the fixture below.
import { randomBytes } from 'node:crypto';

import { beforeAll, describe, expect, it } from 'vitest';

import { useTestDatabase } from '../helpers/db.js';
import { accepted, errorOf, expectRefused } from './support.js';
import { json } from './work-fixtures.js';

const db = useTestDatabase();

// The four "Input Examples by Type" INSERTs of seed 000, verbatim (the pool's
// search_path is agentry, public, so the unqualified `tasks` resolves).
const SEED_000_INPUT_EXAMPLES = {
  text_analysis: `INSERT INTO tasks (type, input) VALUES (
    'text_analysis',
    '{
        "text": "This is sample text to analyze",
        "analysis_types": ["sentiment", "entities", "keywords"],
        "language": "en"
    }'::jsonb
)`,
  text_generation: `INSERT INTO tasks (type, input) VALUES (
    'text_generation',
    '{
        "prompt": "Write a paragraph about artificial intelligence",
        "max_length": 200,
        "temperature": 0.7,
        "model": "gpt-4"
    }'::jsonb
)`,
  code_generation: `INSERT INTO tasks (type, input) VALUES (
    'code_generation',
    '{
        "specification": "Create a Python function to calculate fibonacci numbers",
        "language": "python",
        "include_tests": true,
        "style_guide": "PEP8"
    }'::jsonb
)`,
  data_processing: `INSERT INTO tasks (type, input) VALUES (
    'data_processing',
    '{
        "data": [1, 2, 3, 4, 5],
        "operations": ["normalize", "remove_outliers"],
        "output_format": "json"
    }'::jsonb
)`,
} as const;

interface FixtureRow {
  key: string;
  type: string;
  status: string;
  priority?: number;
  input: Record<string, unknown>;
  /** interval before now(); with bucket, before the start of the current minute */
  created: string;
  started?: string;
  completed?: string;
  bucket?: boolean;
  retry_count?: number;
}

const FIXTURE: FixtureRow[] = [
  { key: 'P1', type: 'research', status: 'pending', priority: 10, input: { topic: 'agents' }, created: '1 hour' },
  { key: 'P2', type: 'research', status: 'pending', priority: 1, input: { topic: 'llm', model: 'gpt-4', temperature: 0.9 }, created: '2 hours' },
  { key: 'R1', type: 'code_analysis', status: 'running', input: { code: 'a()' }, created: '30 minutes', started: '20 minutes' },
  { key: 'R2', type: 'code_analysis', status: 'running', input: { code: 'b()' }, created: '3 minutes', started: '2 minutes' },
  { key: 'F1', type: 'data_analysis', status: 'failed', input: { data: [1] }, created: '50 minutes', started: '49 minutes', completed: '48 minutes', retry_count: 1 },
  {
    key: 'F2', type: 'data_analysis', status: 'failed', input: { file_url: 'https://storage.example.com/d.csv' },
    created: '45 minutes', started: '45 minutes', completed: '44 minutes', retry_count: 3,
  },
  {
    key: 'C1', type: 'text_analysis', status: 'completed', input: { text: 'one', language: 'en', analysis_types: ['keywords'] },
    created: '40 minutes', started: '40 minutes', completed: '39 minutes 58 seconds',
  },
  { key: 'C2', type: 'text_analysis', status: 'completed', input: { text: 'two', language: 'de' }, created: '40 minutes', started: '40 minutes', completed: '39 minutes 56 seconds' },
  { key: 'C3', type: 'text_analysis', status: 'completed', input: { text: 'three' }, created: '40 minutes', started: '40 minutes', completed: '39 minutes 54 seconds' },
  {
    key: 'TO', type: 'translation', status: 'timeout', input: { text: 'hallo', source_lang: 'de', target_lang: 'en' },
    created: '45 minutes', started: '45 minutes', completed: '44 minutes',
  },
  { key: 'Q1', type: 'summarization', status: 'queued', input: { doc: 'a' }, created: '9 minutes 55 seconds', bucket: true },
  { key: 'Q2', type: 'summarization', status: 'queued', input: { doc: 'b' }, created: '9 minutes 40 seconds', bucket: true },
  { key: 'Q4', type: 'summarization', status: 'queued', input: { doc: 'd' }, created: '19 minutes 59 seconds', bucket: true },
  { key: 'Q3', type: 'summarization', status: 'queued', input: { doc: 'c' }, created: '2 hours' },
  // > 100 KB of incompressible text, so it stays large when stored
  { key: 'BIG', type: 'research', status: 'cancelled', input: { topic: 'big', blob: randomBytes(112_000).toString('base64') }, created: '5 minutes' },
  { key: 'OLD', type: 'text_analysis', status: 'completed', input: { text: 'old' }, created: '3 days', started: '3 days', completed: '2 days 23 hours 58 minutes 20 seconds' },
];

const ids: Record<string, string> = {};

beforeAll(async () => {
  // The seed's own INSERTs, one statement (and transaction) each, so their created_at values increase.
  for (const sql of Object.values(SEED_000_INPUT_EXAMPLES)) await db.pool.query(sql);
  const seeded = await accepted<{ id: string; type: string }>(db.pool, 'SELECT id, type FROM agentry.tasks');
  expect(seeded).toHaveLength(4);
  for (const row of seeded) ids[row.type] = row.id;

  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    for (const row of FIXTURE) {
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO agentry.tasks (type, status, priority, input, retry_count, metadata, created_at, started_at, completed_at)
         SELECT $1::text, $2::text::agentry.task_status, $3::int, $4::jsonb, $5::int, $6::jsonb, c.created_at, now() - $8::interval, now() - $9::interval
           FROM (SELECT CASE WHEN $10::boolean THEN date_trunc('minute', now()) ELSE now() END - $7::interval AS created_at) c
         RETURNING id`,
        [row.type, row.status, row.priority ?? 5, json(row.input), row.retry_count ?? 0, json({ fixture: row.key }), row.created, row.started ?? null, row.completed ?? null, row.bucket ?? false],
      );
      ids[row.key] = rows[0]!.id;
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
});

const S1 = () => ids.text_analysis!;
const S2 = () => ids.text_generation!;
const S3 = () => ids.code_generation!;
const S4 = () => ids.data_processing!;
const id = (key: string) => ids[key]!;
const idSet = (rows: Array<{ id: string }>) => rows.map((r) => r.id).sort();

describe('seed 000 sample statements', () => {
  it('the four "Input Examples by Type" INSERTs went in as written, with their defaults', async () => {
    const rows = await accepted<{ id: string; type: string; status: string; priority: number; input: Record<string, unknown> }>(
      db.pool,
      'SELECT id, type, status, priority, input FROM agentry.tasks WHERE id = ANY($1) ORDER BY created_at',
      [[S1(), S2(), S3(), S4()]],
    );
    expect(rows.map((r) => [r.type, r.status, r.priority])).toEqual([
      ['text_analysis', 'pending', 5],
      ['text_generation', 'pending', 5],
      ['code_generation', 'pending', 5],
      ['data_processing', 'pending', 5],
    ]);
    expect(rows[3]!.input).toEqual({ data: [1, 2, 3, 4, 5], operations: ['normalize', 'remove_outliers'], output_format: 'json' });
  });

  it('they also go in schema-qualified', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      for (const sql of Object.values(SEED_000_INPUT_EXAMPLES)) {
        const result = await client.query(sql.replace('INSERT INTO tasks', 'INSERT INTO agentry.tasks'));
        expect(result.rowCount).toBe(1);
      }
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it("the sample INSERT INTO tasks (type, input) VALUES ('test', '{}') is refused (seed bug)", async () => {
    // Seed bug (seed-conflicts.md, 000 #3): the sample violates the seed's own
    // chk_input_not_empty ('{}' is an empty object), and 'test' is no task_types
    // row, so fk_tasks_type would refuse it too. The CHECK fires first.
    await expectRefused(db.pool, "INSERT INTO tasks (type, input) VALUES ('test', '{}')", [], {
      constraint: 'chk_tasks_input_not_empty',
      table: 'tasks',
    });
    await expectRefused(
      db.pool,
      `INSERT INTO tasks (id, type, input) VALUES (
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    'test',
    '{}'
)`,
      [],
      { constraint: 'chk_tasks_input_not_empty', table: 'tasks' },
    );
    // With a non-empty input, the unknown type is what is refused.
    await expectRefused(db.pool, 'INSERT INTO tasks (type, input) VALUES ($1, $2)', ['test', json({ a: 1 })], {
      constraint: 'fk_tasks_type',
      table: 'tasks',
    });
  });
});

describe("seed 000's 14 example queries", () => {
  it('01 statistics by type over the last 24 hours', async () => {
    const rows = await accepted<{
      type: string;
      total_tasks: string;
      completed: string;
      failed: string;
      avg_execution_time: string | null;
      median_time: number | null;
      p95_time: number | null;
    }>(
      db.pool,
      `SELECT
    type,
    COUNT(*) as total_tasks,
    COUNT(*) FILTER (WHERE status = 'completed') as completed,
    COUNT(*) FILTER (WHERE status = 'failed') as failed,
    AVG(execution_time) as avg_execution_time,
    PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY execution_time) as median_time,
    PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY execution_time) as p95_time
FROM tasks
WHERE created_at >= NOW() - INTERVAL '24 hours'
GROUP BY type
ORDER BY total_tasks DESC`,
    );
    const byType = Object.fromEntries(rows.map((r) => [r.type, r]));
    expect(Object.fromEntries(rows.map((r) => [r.type, Number(r.total_tasks)]))).toEqual({
      text_analysis: 4,
      summarization: 4,
      research: 3,
      code_analysis: 2,
      data_analysis: 2,
      text_generation: 1,
      code_generation: 1,
      data_processing: 1,
      translation: 1,
    });
    const totals = rows.map((r) => Number(r.total_tasks));
    expect(totals).toEqual([...totals].sort((a, b) => b - a));
    const text = byType.text_analysis!;
    expect([Number(text.completed), Number(text.failed)]).toEqual([3, 0]);
    expect(Number(text.avg_execution_time)).toBeCloseTo(4, 6);
    expect(text.median_time).toBeCloseTo(4, 6);
    expect(text.p95_time).toBeCloseTo(5.8, 6); // 4 + 0.9 * (6 - 4)
    expect(Number(byType.data_analysis!.failed)).toBe(2);
    expect(Number(byType.data_analysis!.avg_execution_time)).toBeCloseTo(60, 6);
    expect(byType.research!.avg_execution_time).toBeNull();
  });

  it('02 pending tasks, most urgent first (priority DESC: 10 is most urgent here; the seed wrote ASC)', async () => {
    const rows = await accepted<{ id: string; type: string; priority: number }>(
      db.pool,
      `SELECT id, type, priority, created_at
FROM tasks
WHERE status = 'pending'
ORDER BY priority DESC, created_at ASC
LIMIT 100`,
    );
    expect(rows.map((r) => r.id)).toEqual([id('P1'), S1(), S2(), S3(), S4(), id('P2')]);
    // As written in seed 000 (ASC) the least urgent task comes first.
    const asWritten = await accepted<{ id: string }>(
      db.pool,
      "SELECT id, type, priority, created_at FROM tasks WHERE status = 'pending' ORDER BY priority ASC, created_at ASC LIMIT 100",
    );
    expect(asWritten[0]!.id).toBe(id('P2'));
  });

  it('03 running tasks', async () => {
    const rows = await accepted<{ id: string; running_duration_seconds: string }>(
      db.pool,
      `SELECT id, type, agent_id, started_at,
       EXTRACT(EPOCH FROM (NOW() - started_at)) as running_duration_seconds
FROM tasks
WHERE status = 'running'
ORDER BY started_at ASC`,
    );
    expect(rows.map((r) => r.id)).toEqual([id('R1'), id('R2')]);
    expect(Number(rows[0]!.running_duration_seconds)).toBeGreaterThanOrEqual(1200);
    expect(Number(rows[0]!.running_duration_seconds)).toBeLessThan(1260);
    expect(Number(rows[1]!.running_duration_seconds)).toBeGreaterThanOrEqual(120);
    expect(Number(rows[1]!.running_duration_seconds)).toBeLessThan(180);
  });

  it('04 failed tasks that need a retry', async () => {
    const rows = await accepted<{ id: string; retry_count: number; max_retries: number }>(
      db.pool,
      `SELECT id, type, error_message, retry_count, max_retries
FROM tasks
WHERE status = 'failed'
  AND retry_count < max_retries
ORDER BY created_at ASC`,
    );
    expect(rows.map((r) => [r.id, r.retry_count, r.max_retries])).toEqual([[id('F1'), 1, 3]]);
  });

  it('05 status distribution over the last 24 hours', async () => {
    const rows = await accepted<{ status: string; count: string; percentage: string }>(
      db.pool,
      `SELECT
    status,
    COUNT(*) as count,
    ROUND(COUNT(*) * 100.0 / SUM(COUNT(*)) OVER (), 2) as percentage
FROM tasks
WHERE created_at >= NOW() - INTERVAL '24 hours'
GROUP BY status
ORDER BY count DESC`,
    );
    expect(Object.fromEntries(rows.map((r) => [r.status, [Number(r.count), r.percentage]]))).toEqual({
      pending: [6, '31.58'],
      queued: [4, '21.05'],
      completed: [3, '15.79'],
      running: [2, '10.53'],
      failed: [2, '10.53'],
      timeout: [1, '5.26'],
      cancelled: [1, '5.26'],
    });
    const counts = rows.map((r) => Number(r.count));
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
  });

  it('06 tasks stuck in running for more than 5 minutes', async () => {
    const rows = await accepted<{ id: string }>(
      db.pool,
      `SELECT
    id,
    type,
    agent_id,
    started_at,
    EXTRACT(EPOCH FROM (NOW() - started_at)) as running_duration_seconds
FROM tasks
WHERE status = 'running'
  AND started_at < NOW() - INTERVAL '5 minutes'
ORDER BY running_duration_seconds DESC`,
    );
    expect(rows.map((r) => r.id)).toEqual([id('R1')]);
  });

  it('07 queue depth per minute over the last hour', async () => {
    const rows = await accepted<{ minute: Date; queued_tasks: string }>(
      db.pool,
      `SELECT
    DATE_TRUNC('minute', created_at) as minute,
    COUNT(*) as queued_tasks
FROM tasks
WHERE status = 'queued'
  AND created_at >= NOW() - INTERVAL '1 hour'
GROUP BY minute
ORDER BY minute DESC`,
    );
    const buckets = await accepted<{ key: string; minute: Date }>(
      db.pool,
      "SELECT metadata->>'fixture' AS key, date_trunc('minute', created_at) AS minute FROM agentry.tasks WHERE id = ANY($1)",
      [[id('Q1'), id('Q2'), id('Q4')]],
    );
    const minuteOf = Object.fromEntries(buckets.map((b) => [b.key, b.minute.toISOString()]));
    expect(minuteOf.Q1).toBe(minuteOf.Q2);
    expect(rows.map((r) => [r.minute.toISOString(), Number(r.queued_tasks)])).toEqual([
      [minuteOf.Q1, 2],
      [minuteOf.Q4, 1],
    ]);
  });

  it('08 completion rate over the last 24 hours', async () => {
    const rows = await accepted<{ completed: string; failed: string; total: string; success_rate_pct: string }>(
      db.pool,
      `SELECT
    COUNT(*) FILTER (WHERE status = 'completed') as completed,
    COUNT(*) FILTER (WHERE status IN ('failed', 'timeout')) as failed,
    COUNT(*) as total,
    ROUND(
        COUNT(*) FILTER (WHERE status = 'completed') * 100.0 / COUNT(*),
        2
    ) as success_rate_pct
FROM tasks
WHERE created_at >= NOW() - INTERVAL '24 hours'`,
    );
    expect(rows).toEqual([{ completed: '3', failed: '3', total: '19', success_rate_pct: '15.79' }]);
  });

  it('09 JSONB: has a "text" key and language en', async () => {
    const rows = await accepted<{ id: string }>(
      db.pool,
      `SELECT id, type, input
FROM tasks
WHERE input ? 'text'  -- Has 'text' key
  AND input->>'language' = 'en'`,
    );
    expect(idSet(rows)).toEqual([S1(), id('C1')].sort());
  });

  it('10 JSONB: array containment', async () => {
    const rows = await accepted<{ id: string }>(
      db.pool,
      `SELECT id, type, input
FROM tasks
WHERE input->'analysis_types' @> '["sentiment"]'::jsonb`,
    );
    expect(idSet(rows)).toEqual([S1()]);
  });

  it('11 JSONB: numeric comparison', async () => {
    const rows = await accepted<{ id: string }>(
      db.pool,
      `SELECT id, type, input
FROM tasks
WHERE (input->>'max_length')::integer > 100`,
    );
    expect(idSet(rows)).toEqual([S2()]);
  });

  it('12 JSONB: containment and a numeric condition', async () => {
    const rows = await accepted<{ id: string }>(
      db.pool,
      `SELECT id, type, input
FROM tasks
WHERE input @> '{"model": "gpt-4"}'::jsonb
  AND (input->>'temperature')::float < 0.8`,
    );
    // P2 is gpt-4 too, at temperature 0.9
    expect(idSet(rows)).toEqual([S2()]);
  });

  it('13 monitor large inputs (fixed with ::bigint; as written it fails)', async () => {
    // Seed bug (seed-conflicts.md, 000 #4): pg_column_size() returns integer,
    // and pg_size_pretty(integer) is ambiguous between bigint and numeric.
    const asWritten = await errorOf(
      db.pool,
      `SELECT id, type, pg_size_pretty(pg_column_size(input)) as input_size, jsonb_pretty(input) as input_preview
FROM tasks WHERE pg_column_size(input) > 102400 ORDER BY pg_column_size(input) DESC LIMIT 10`,
    );
    expect(asWritten.code).toBe('42725');
    const rows = await accepted<{ id: string; input_size: string; input_preview: string }>(
      db.pool,
      `SELECT
    id,
    type,
    pg_size_pretty(pg_column_size(input)::bigint) as input_size,
    jsonb_pretty(input) as input_preview
FROM tasks
WHERE pg_column_size(input) > 102400  -- > 100KB
ORDER BY pg_column_size(input) DESC
LIMIT 10`,
    );
    expect(rows.map((r) => r.id)).toEqual([id('BIG')]);
    expect(rows[0]!.input_size).toMatch(/^1[0-9]{2} kB$/);
    expect(rows[0]!.input_preview).toContain('"topic": "big"');
  });

  it('14 query by id', async () => {
    const rows = await accepted<{ id: string; type: string }>(db.pool, 'SELECT * FROM tasks WHERE id = $1', [S1()]);
    expect(rows.map((r) => [r.id, r.type])).toEqual([[S1(), 'text_analysis']]);
    expect(await accepted(db.pool, 'SELECT * FROM tasks WHERE id = $1', ['550e8400-e29b-41d4-a716-446655440000'])).toEqual([]);
  });
});

describe("seed 002's sample task", () => {
  it('inserts with the renames (task_type -> type, input_data -> input, result_data -> output) and a lower-cased status', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      // "depends_on": ["task_xyz789"] would be a task_dependencies row to a task this database does not have.
      const { rows } = await client.query<{
        client_id: string;
        type: string;
        capability_required: string;
        status: string;
        priority: number;
        input: unknown;
        output: unknown;
        routing_strategy: string;
        created_at: Date;
        completed_at: Date;
        execution_time: string | null;
        started_at: Date | null;
      }>(
        `INSERT INTO agentry.tasks
           (client_id, type, capability_required, status, priority, input, output, routing_strategy, created_at, completed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         RETURNING *`,
        [
          'my_app',
          'data_analysis',
          'data:v1',
          'COMPLETED'.toLowerCase(),
          7,
          json({ file_url: 'https://storage.example.com/data.csv', algorithm: 'regression' }),
          json({ model_accuracy: 0.94, predictions_url: 'https://storage.example.com/results.json' }),
          'trust_weighted',
          '2025-11-23T14:10:00Z',
          '2025-11-23T14:12:30Z',
        ],
      );
      const row = rows[0]!;
      expect([row.client_id, row.type, row.capability_required, row.status, row.priority, row.routing_strategy]).toEqual([
        'my_app',
        'data_analysis',
        'data:v1',
        'completed',
        7,
        'trust_weighted',
      ]);
      expect(row.output).toEqual({ model_accuracy: 0.94, predictions_url: 'https://storage.example.com/results.json' });
      expect(row.created_at.toISOString()).toBe('2025-11-23T14:10:00.000Z');
      expect(row.completed_at.toISOString()).toBe('2025-11-23T14:12:30.000Z');
      // the sample never says when it started, so there is no execution time
      expect([row.started_at, row.execution_time]).toEqual([null, null]);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it("keeps seed 002's upper-case status out (chk_task_status_valid)", async () => {
    await expectRefused(
      db.pool,
      'INSERT INTO agentry.tasks (client_id, type, capability_required, status, input) VALUES ($1, $2, $3, $4, $5)',
      ['my_app', 'data_analysis', 'data:v1', 'COMPLETED', json({ file_url: 'https://x' })],
      { constraint: 'chk_task_status_valid', table: 'tasks' },
    );
  });
});
