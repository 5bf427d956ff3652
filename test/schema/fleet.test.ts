// Fleet context (migrations/1764547203000_fleet.sql): workers, agents,
// agent_capabilities, trg_agents_updated_at, trg_agents_trust_score_guard and
// trg_agent_capabilities_updated_at; seed 002's and 003's sample agents and
// seed 003's example queries.
import { randomBytes, randomUUID } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { useTestDatabase } from '../helpers/db.js';
import { accepted, errorOf, expectRefused, SQLSTATE } from './support.js';

const db = useTestDatabase();

const unique = (prefix: string): string => `${prefix}_${randomBytes(4).toString('hex')}`;

/** Seed 003's sample rows, byte for byte as the seed has them (L194-198), mojibake emoji included. */
const SEED_003_AGENTS =
  "INSERT INTO agents (id, name, role, model, specialties, personality_emoji) VALUES\n  ('akira-001', 'Akira - Code Review Master', 'code_review', 'claude-opus-4.1', \n   ARRAY['security', 'performance', 'architecture'], '\u00e4\u00be'),\n  ('yuki-002', 'Yuki - Test Engineering Specialist', 'test_engineering', 'openai-o3',\n   ARRAY['unit_testing', 'integration_testing', 'e2e_testing'], '\u00e2\u201e\u00ef\u00b8');";

async function newAgent(columns: Record<string, unknown> = {}): Promise<string> {
  const all: Record<string, unknown> = { id: unique('agent'), name: unique('Agent'), ...columns };
  const names = Object.keys(all);
  const [row] = await accepted<{ id: string }>(
    db.pool,
    `INSERT INTO agentry.agents (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id`,
    Object.values(all),
  );
  return row!.id;
}

async function newWorker(): Promise<string> {
  const [row] = await accepted<{ id: string }>(
    db.pool,
    `INSERT INTO agentry.workers (machine_id, machine_name, system_info, tools) VALUES ($1, 'box', '{}', '["claude_code"]') RETURNING id`,
    [unique('machine')],
  );
  return row!.id;
}

// Runs first: "get active agents" reads every online agent, and only the seed's agents exist yet.
describe('seed 003: sample agents and example queries (agent_tasks -> tasks, task_type -> type, active -> online)', () => {
  const workflowId = '670e9511-f3ac-52e5-b827-557766551111';

  it("inserts seed 003's sample INSERT INTO agents as written, mojibake emoji included", async () => {
    const result = await db.pool.query(SEED_003_AGENTS);
    expect(result.rowCount).toBe(2);
    const rows = await accepted<{ id: string; name: string; role: string; model: string; specialties: string[]; personality_emoji: string; status: string }>(
      db.pool,
      `SELECT id, name, role, model, specialties, personality_emoji, status FROM agentry.agents WHERE id IN ('akira-001', 'yuki-002') ORDER BY id`,
    );
    expect(rows).toEqual([
      {
        id: 'akira-001',
        name: 'Akira - Code Review Master',
        role: 'code_review',
        model: 'claude-opus-4.1',
        specialties: ['security', 'performance', 'architecture'],
        personality_emoji: '\u00e4\u00be',
        status: 'offline',
      },
      {
        id: 'yuki-002',
        name: 'Yuki - Test Engineering Specialist',
        role: 'test_engineering',
        model: 'openai-o3',
        specialties: ['unit_testing', 'integration_testing', 'e2e_testing'],
        personality_emoji: '\u00e2\u201e\u00ef\u00b8',
        status: 'offline',
      },
    ]);
    // Stored as the seed wrote it: ä (U+00E4) ¾ (U+00BE), not a repaired 侍.
    expect([...rows[0]!.personality_emoji].map((c) => c.codePointAt(0))).toEqual([0xe4, 0xbe]);
  });

  it("get active agents: seed 003's status 'active' is refused, 'online' is the active state", async () => {
    await expectRefused(db.pool, `UPDATE agentry.agents SET status = 'active' WHERE id = 'yuki-002'`, [], {
      constraint: 'chk_agents_status',
      table: 'agents',
    });
    await db.pool.query(`UPDATE agentry.agents SET status = 'online' WHERE id = 'yuki-002'`);
    const rows = await accepted<{ id: string; status: string }>(db.pool, `SELECT * FROM agents WHERE status = 'online'`);
    expect(rows.map((r) => [r.id, r.status])).toEqual([['yuki-002', 'online']]);
  });

  it('get agent statistics: count, AVG(duration_ms), SUM(tokens_used), SUM(cost_usd) of the last 24 hours', async () => {
    const insert = `INSERT INTO tasks (agent_id, type, description, status, created_at, started_at, completed_at, tokens_used, cost_usd)
                    VALUES ($1, 'code_review', $2, $3, now() - $4::interval, now() - $4::interval + interval '1 minute',
                            now() - $4::interval + interval '1 minute' + $5 * interval '1 millisecond', $6, $7)`;
    // Counted: completed, akira, within 24 hours.
    await db.pool.query(insert, ['akira-001', 'review a', 'completed', '2 hours', 1000, 100, '0.010000']);
    await db.pool.query(insert, ['akira-001', 'review b', 'completed', '3 hours', 2000, 200, '0.020000']);
    await db.pool.query(insert, ['akira-001', 'review c', 'completed', '4 hours', 4500, 300, '0.005000']);
    // Not counted: failed, too old, another agent.
    await db.pool.query(insert, ['akira-001', 'review d', 'failed', '2 hours', 9000, 900, '0.900000']);
    await db.pool.query(insert, ['akira-001', 'review e', 'completed', '2 days', 9000, 900, '0.900000']);
    await db.pool.query(insert, ['yuki-002', 'tests f', 'completed', '2 hours', 9000, 900, '0.900000']);

    const rows = await accepted<{ agent_id: string; total_tasks: string; avg_latency: string; total_tokens: string; total_cost: string }>(
      db.pool,
      `SELECT
           agent_id,
           COUNT(*) as total_tasks,
           AVG(duration_ms) as avg_latency,
           SUM(tokens_used) as total_tokens,
           SUM(cost_usd) as total_cost
       FROM tasks
       WHERE agent_id = $1
         AND status = 'completed'
         AND created_at > NOW() - INTERVAL '24 hours'
       GROUP BY agent_id`,
      ['akira-001'],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.agent_id).toBe('akira-001');
    expect(Number(rows[0]?.total_tasks)).toBe(3);
    expect(Number(rows[0]?.avg_latency)).toBe(2500);
    expect(Number(rows[0]?.total_tokens)).toBe(600);
    expect(rows[0]?.total_cost).toBe('0.035000');
  });

  it('get recent tasks for an agent: its 20 newest, newest first', async () => {
    for (let i = 1; i <= 21; i += 1) {
      await db.pool.query(
        `INSERT INTO tasks (agent_id, type, title, description, created_at) VALUES ($1, 'code_review', $2, 'recent', now() - $3 * interval '1 minute')`,
        ['akira-001', `recent-${i}`, i],
      );
    }
    await db.pool.query(`INSERT INTO tasks (agent_id, type, title, description) VALUES ('yuki-002', 'test_engineering', 'not akira', 'x')`);
    const rows = await accepted<{ title: string; agent_id: string; type: string; created_at: Date }>(
      db.pool,
      `SELECT * FROM tasks
       WHERE agent_id = $1
       ORDER BY created_at DESC
       LIMIT 20`,
      ['akira-001'],
    );
    expect(rows.map((r) => r.title)).toEqual(Array.from({ length: 20 }, (_, i) => `recent-${i + 1}`));
    expect(new Set(rows.map((r) => r.agent_id))).toEqual(new Set(['akira-001']));
    expect(rows[0]?.type).toBe('code_review');
  });

  it('get workflow with tasks: the workflow row and its tasks as one json_agg array', async () => {
    await db.pool.query(`INSERT INTO workflows (id, name, workflow_type, initiator) VALUES ($1, 'Review PR 42', 'code_review', 'ci')`, [workflowId]);
    const ids: string[] = [];
    for (const [agent, type] of [
      ['akira-001', 'code_review'],
      ['yuki-002', 'test_engineering'],
    ] as const) {
      const [row] = await accepted<{ id: string }>(
        db.pool,
        `INSERT INTO tasks (agent_id, workflow_id, type, description, created_at) VALUES ($1, $2, $3, 'part of PR 42', now() - interval '3 hours') RETURNING id`,
        [agent, workflowId, type],
      );
      ids.push(row!.id);
    }
    const rows = await accepted<{ id: string; name: string; total_tasks: number; tasks: { id: string; agent_id: string; type: string; workflow_id: string }[] }>(
      db.pool,
      `SELECT
           w.*,
           json_agg(t.*) as tasks
       FROM workflows w
       LEFT JOIN tasks t ON w.id = t.workflow_id
       WHERE w.id = $1
       GROUP BY w.id`,
      [workflowId],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: workflowId, name: 'Review PR 42', total_tasks: 2 });
    const tasks = rows[0]!.tasks;
    expect(tasks.map((t) => t.id).sort()).toEqual([...ids].sort());
    expect(tasks.map((t) => [t.agent_id, t.type, t.workflow_id]).sort()).toEqual([
      ['akira-001', 'code_review', workflowId],
      ['yuki-002', 'test_engineering', workflowId],
    ]);
  });
});

describe("seed 002's sample agent", () => {
  it('inserts agent_001 with its tags as capabilities, trust 0.85, its totals and 45.3 s as 45300 ms', async () => {
    await accepted(
      db.pool,
      `INSERT INTO agentry.agents (id, name, capabilities, trust_score, total_tasks_completed, total_tasks_failed, average_latency_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      ['agent_001', 'Data Processor Alpha', JSON.stringify(['data:v1', 'ml:v1', 'image:v1']), 0.85, 247, 12, 45.3 * 1000],
    );
    const rows = await accepted(
      db.pool,
      `SELECT id, name, capabilities, trust_score, total_tasks_completed, total_tasks_failed, average_latency_ms
         FROM agentry.agents WHERE id = 'agent_001'`,
    );
    expect(rows).toEqual([
      {
        id: 'agent_001',
        name: 'Data Processor Alpha',
        capabilities: ['data:v1', 'ml:v1', 'image:v1'],
        trust_score: '0.8500',
        total_tasks_completed: 247,
        total_tasks_failed: 12,
        average_latency_ms: '45300.000',
      },
    ]);
    // The capability tags are queryable by containment (idx_agents_capabilities_gin).
    const found = await accepted(db.pool, `SELECT id FROM agentry.agents WHERE capabilities @> '["ml:v1"]'`);
    expect(found).toEqual([{ id: 'agent_001' }]);
  });
});

describe('workers', () => {
  const insert = `INSERT INTO agentry.workers (machine_id, machine_name, status, system_info, tools, cpu_percent, memory_percent, disk_percent)
                  VALUES ($1, 'box', $2, $3, $4, $5, $6, $7)`;
  const row = (overrides: Partial<Record<'status' | 'system_info' | 'tools' | 'cpu' | 'memory' | 'disk', unknown>> = {}) => [
    unique('machine'),
    overrides.status ?? 'online',
    overrides.system_info ?? JSON.stringify({ os: 'linux', cpu: 'x86_64', memory_total_gb: 32, disk_total_gb: 512 }),
    overrides.tools ?? JSON.stringify(['claude_code', 'gemini_cli', 'ollama']),
    overrides.cpu ?? 0,
    overrides.memory ?? 100,
    overrides.disk ?? 55.5,
  ];

  it("accepts seed 001's machine and defaults its status to offline", async () => {
    await accepted(db.pool, insert, row());
    const [worker] = await accepted<{ status: string }>(
      db.pool,
      `INSERT INTO agentry.workers (machine_id, machine_name, system_info, tools) VALUES ($1, 'box', '{}', '[]') RETURNING status`,
      [unique('machine')],
    );
    expect(worker?.status).toBe('offline');
  });

  it('checks status, system_info and tools (chk_workers_status, chk_workers_system_info_object, chk_workers_tools_string_array)', async () => {
    await expectRefused(db.pool, insert, row({ status: 'idle' }), { constraint: 'chk_workers_status', table: 'workers' });
    await expectRefused(db.pool, insert, row({ system_info: '["linux"]' }), { constraint: 'chk_workers_system_info_object', table: 'workers' });
    for (const tools of ['["claude_code", 1]', '[null]', '[["ollama"]]', '{"claude_code": true}', '"claude_code"']) {
      await expectRefused(db.pool, insert, row({ tools }), { constraint: 'chk_workers_tools_string_array', table: 'workers' });
    }
  });

  it('keeps cpu, memory and disk percentages within 0..100', async () => {
    for (const [column, constraint] of [
      ['cpu', 'chk_workers_cpu_percent_range'],
      ['memory', 'chk_workers_memory_percent_range'],
      ['disk', 'chk_workers_disk_percent_range'],
    ] as const) {
      for (const value of [100.01, -0.01]) {
        await expectRefused(db.pool, insert, row({ [column]: value }), { constraint, table: 'workers' });
      }
    }
  });

  it('has one row per machine (uq_workers_machine_id, pk_workers)', async () => {
    const machine = unique('machine');
    const [first] = await accepted<{ id: string }>(
      db.pool,
      `INSERT INTO agentry.workers (machine_id, machine_name, system_info, tools) VALUES ($1, 'box', '{}', '[]') RETURNING id`,
      [machine],
    );
    await expectRefused(db.pool, `INSERT INTO agentry.workers (machine_id, machine_name, system_info, tools) VALUES ($1, 'box2', '{}', '[]')`, [machine], {
      constraint: 'uq_workers_machine_id',
      table: 'workers',
    });
    await expectRefused(
      db.pool,
      `INSERT INTO agentry.workers (id, machine_id, machine_name, system_info, tools) VALUES ($1, $2, 'box', '{}', '[]')`,
      [first!.id, unique('machine')],
      { constraint: 'pk_workers', table: 'workers' },
    );
  });

  it('hosts agents (fk_agents_worker_id): unknown worker refused, id change followed, deleting the worker leaves its agents unhosted', async () => {
    await expectRefused(db.pool, 'INSERT INTO agentry.agents (id, name, worker_id) VALUES ($1, $2, $3)', [unique('a'), unique('A'), randomUUID()], {
      constraint: 'fk_agents_worker_id',
      table: 'agents',
    });
    const workerId = await newWorker();
    const agentId = await newAgent({ worker_id: workerId });
    const newId = randomUUID();
    await db.pool.query('UPDATE agentry.workers SET id = $2 WHERE id = $1', [workerId, newId]);
    expect(await accepted(db.pool, 'SELECT worker_id FROM agentry.agents WHERE id = $1', [agentId])).toEqual([{ worker_id: newId }]);
    await db.pool.query('DELETE FROM agentry.workers WHERE id = $1', [newId]);
    expect(await accepted(db.pool, 'SELECT worker_id FROM agentry.agents WHERE id = $1', [agentId])).toEqual([{ worker_id: null }]);
  });
});

describe('agents', () => {
  const insertWith = (columns: string[]) =>
    `INSERT INTO agentry.agents (id, name, ${columns.join(', ')}) VALUES ($1, $2, ${columns.map((_, i) => `$${i + 3}`).join(', ')})`;
  const refuse = (columns: string[], values: unknown[], constraint: string) =>
    expectRefused(db.pool, insertWith(columns), [unique('agent'), unique('Agent'), ...values], { constraint, table: 'agents' });

  it('accepts text ids such as akira-001 and agent_001 and refuses malformed ones (chk_agents_id_format)', async () => {
    for (const id of ['b', 'akira-901', 'agent_901', 'ns:agent.7', 'X'.repeat(64)]) {
      await accepted(db.pool, 'INSERT INTO agentry.agents (id, name) VALUES ($1, $2)', [id, unique('Agent')]);
    }
    for (const id of ['-lead', '_lead', 'has space', 'a/b', 'ünï', '']) {
      await expectRefused(db.pool, 'INSERT INTO agentry.agents (id, name) VALUES ($1, $2)', [id, unique('Agent')], {
        constraint: 'chk_agents_id_format',
        table: 'agents',
      });
    }
  });

  it('has unique ids and names (pk_agents, uq_agents_name)', async () => {
    const name = unique('Agent');
    const id = await newAgent({ name });
    await expectRefused(db.pool, 'INSERT INTO agentry.agents (id, name) VALUES ($1, $2)', [id, unique('Agent')], { constraint: 'pk_agents', table: 'agents' });
    await expectRefused(db.pool, 'INSERT INTO agentry.agents (id, name) VALUES ($1, $2)', [unique('agent'), name], { constraint: 'uq_agents_name', table: 'agents' });
  });

  it('checks status and the JSON shapes', async () => {
    for (const status of ['online', 'busy', 'offline', 'maintenance']) await newAgent({ status });
    await refuse(['status'], ['inactive'], 'chk_agents_status');
    await refuse(['capabilities'], ['[1]'], 'chk_agents_capabilities_string_array');
    await refuse(['capabilities'], ['{"data": "v1"}'], 'chk_agents_capabilities_string_array');
    await refuse(['capabilities'], ['[["data:v1"]]'], 'chk_agents_capabilities_string_array');
    await refuse(['capabilities'], ['[null]'], 'chk_agents_capabilities_string_array');
    await refuse(['configuration'], ['[]'], 'chk_agents_configuration_object');
    await refuse(['metadata'], ['"x"'], 'chk_agents_metadata_object');
  });

  it('keeps a network identity complete: endpoint, public_key and signature together (chk_agents_network_identity_complete)', async () => {
    await newAgent({ endpoint: 'https://agent.example.com:8443/tasks', public_key: 'ed25519:AAAA', signature: 'sig' });
    const cols = ['endpoint', 'public_key', 'signature'];
    for (const values of [
      ['https://agent.example.com', null, null],
      [null, 'ed25519:AAAA', null],
      [null, null, 'sig'],
      ['https://agent.example.com', 'ed25519:AAAA', null],
    ]) {
      await refuse(cols, values, 'chk_agents_network_identity_complete');
    }
  });

  it('checks the endpoint is an http(s) URL (chk_agents_endpoint_url)', async () => {
    await newAgent({ endpoint: 'http://10.0.0.5:8080', public_key: 'k', signature: 's' });
    for (const endpoint of ['ftp://agent.example.com', 'agent.example.com', 'https://', 'https:///tasks', 'https://agent example.com', 'https://a.io/x y', ' https://a.io']) {
      await refuse(['endpoint', 'public_key', 'signature'], [endpoint, 'k', 's'], 'chk_agents_endpoint_url');
    }
  });

  it('keeps trust_score and success_rate within 0..1, latency and counters non-negative', async () => {
    await newAgent({ trust_score: 0, success_rate: 1 });
    await newAgent({ trust_score: 1, success_rate: 0 });
    await refuse(['trust_score'], [1.0001], 'chk_agents_trust_score_range');
    await refuse(['trust_score'], [-0.0001], 'chk_agents_trust_score_range');
    await refuse(['success_rate'], [1.5], 'chk_agents_success_rate_range');
    await refuse(['success_rate'], [-0.1], 'chk_agents_success_rate_range');
    await refuse(['average_latency_ms'], [-1], 'chk_agents_average_latency_nonnegative');
    await refuse(['total_tasks_completed'], [-1], 'chk_agents_task_counters_nonnegative');
    await refuse(['total_tasks_failed'], [-1], 'chk_agents_task_counters_nonnegative');
    await refuse(['total_tokens_used'], [-1], 'chk_agents_task_counters_nonnegative');
  });

  it('records when a retired agent was deactivated (chk_agents_retired_deactivated)', async () => {
    await refuse(['status'], ['retired'], 'chk_agents_retired_deactivated');
    await newAgent({ status: 'retired', deactivated_at: new Date() });
    const id = await newAgent();
    await expectRefused(db.pool, `UPDATE agentry.agents SET status = 'retired' WHERE id = $1`, [id], { constraint: 'chk_agents_retired_deactivated', table: 'agents' });
    await db.pool.query(`UPDATE agentry.agents SET status = 'retired', deactivated_at = now() WHERE id = $1`, [id]);
  });

  it('has a known agent type (fk_agents_type): unknown refused, rename followed (ON UPDATE CASCADE), deletion of a used type refused (RESTRICT)', async () => {
    await refuse(['type'], ['NoSuchAgent'], 'fk_agents_type');
    const typeName = unique('FleetType');
    await db.pool.query('INSERT INTO agentry.agent_types (name, description) VALUES ($1, $2)', [typeName, 'test type']);
    const id = await newAgent({ type: typeName });
    const renamed = unique('FleetRenamed');
    await db.pool.query('UPDATE agentry.agent_types SET name = $2 WHERE name = $1', [typeName, renamed]);
    expect(await accepted(db.pool, 'SELECT type FROM agentry.agents WHERE id = $1', [id])).toEqual([{ type: renamed }]);
    await expectRefused(db.pool, 'DELETE FROM agentry.agent_types WHERE name = $1', [renamed], { constraint: 'fk_agents_type', table: 'agent_types' });
    // Seed 004's types are reference rows.
    await newAgent({ type: 'codegen' });
  });

  it('stamps updated_at on every update (trg_agents_updated_at)', async () => {
    const id = await newAgent({ created_at: '2000-01-01T00:00:00Z', updated_at: '2000-01-01T00:00:00Z' });
    await db.pool.query(`UPDATE agentry.agents SET role = 'reviewer', updated_at = '1999-01-01T00:00:00Z' WHERE id = $1`, [id]);
    const [row] = await accepted<{ stamped: boolean; created_at: Date }>(
      db.pool,
      `SELECT updated_at > now() - interval '1 minute' AS stamped, created_at FROM agentry.agents WHERE id = $1`,
      [id],
    );
    expect(row?.stamped).toBe(true);
    expect(row?.created_at.toISOString()).toBe('2000-01-01T00:00:00.000Z');
  });

  it('refuses a direct change of trust_score, even by the superuser (trg_agents_trust_score_guard, AG006)', async () => {
    const id = await newAgent({ trust_score: 0.5 });
    const error = await expectRefused(db.pool, 'UPDATE agentry.agents SET trust_score = 0.9 WHERE id = $1', [id], {
      constraint: 'trg_agents_trust_score_guard',
      code: SQLSTATE.trust,
      table: 'agents',
      message: /trust_records/,
    });
    expect(error.column).toBe('trust_score');
    // Setting the flag the ledger uses does not open the gate for anyone but the owner role.
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT set_config('agentry.trust_write', 'on', true)`);
      const sneaky = await errorOf(client, 'UPDATE agentry.agents SET trust_score = 1 WHERE id = $1', [id]);
      expect([sneaky.code, sneaky.constraint]).toEqual([SQLSTATE.trust, 'trg_agents_trust_score_guard']);
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      await client.query('SET LOCAL ROLE agentry_app');
      const app = await errorOf(client, 'UPDATE agentry.agents SET trust_score = 1 WHERE id = $1', [id]);
      expect([app.code, app.constraint]).toEqual([SQLSTATE.trust, 'trg_agents_trust_score_guard']);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    // An update that leaves trust_score as it is passes.
    await db.pool.query(`UPDATE agentry.agents SET trust_score = 0.5, role = 'same trust' WHERE id = $1`, [id]);
    expect(await accepted(db.pool, 'SELECT trust_score, role FROM agentry.agents WHERE id = $1', [id])).toEqual([{ trust_score: '0.5000', role: 'same trust' }]);
  });

  it('lets trust_score move through trust_records (the ledger path the guard lets through)', async () => {
    const id = await newAgent({ trust_score: 0.5 });
    const [record] = await accepted<{ trust_score_before: string; trust_score_after: string }>(
      db.pool,
      `INSERT INTO agentry.trust_records (agent_id, event_type, trust_delta, reason) VALUES ($1, 'task_completed', 0.1, 'did well')
       RETURNING trust_score_before, trust_score_after`,
      [id],
    );
    expect(record).toEqual({ trust_score_before: '0.5000', trust_score_after: '0.6000' });
    expect(await accepted(db.pool, 'SELECT trust_score FROM agentry.agents WHERE id = $1', [id])).toEqual([{ trust_score: '0.6000' }]);
  });
});

describe('agent_capabilities', () => {
  const insert = `INSERT INTO agentry.agent_capabilities (agent_id, name, version, task_type, input_schema, output_schema, price, currency, latency_p99_ms, availability_percent)
                  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`;
  const capability = (agentId: string, overrides: Partial<Record<'name' | 'version' | 'task_type' | 'input_schema' | 'output_schema' | 'price' | 'currency' | 'latency' | 'availability', unknown>> = {}) => [
    agentId,
    'name' in overrides ? overrides.name : 'summarize',
    'version' in overrides ? overrides.version : '1.0',
    'task_type' in overrides ? overrides.task_type : 'summarization',
    overrides.input_schema ?? JSON.stringify({ type: 'object', required: ['text'] }),
    overrides.output_schema ?? JSON.stringify({ type: 'object' }),
    'price' in overrides ? overrides.price : '0.0020',
    overrides.currency ?? 'EUR',
    'latency' in overrides ? overrides.latency : 850,
    'availability' in overrides ? overrides.availability : 99.95,
  ];

  it('accepts a capability with schemas, price, currency and SLO; currency defaults to USD', async () => {
    const agentId = await newAgent();
    const rows = await accepted(db.pool, insert, capability(agentId));
    expect(rows).toHaveLength(1);
    const [row] = await accepted(
      db.pool,
      `INSERT INTO agentry.agent_capabilities (agent_id, name, input_schema, output_schema) VALUES ($1, 'bare', '{}', '{}') RETURNING currency, version`,
      [agentId],
    );
    expect(row).toEqual({ currency: 'USD', version: null });
  });

  it('has one row per agent, name and version, a missing version counting as one (uq_agent_capabilities_agent_name_version NULLS NOT DISTINCT)', async () => {
    const agentId = await newAgent();
    const [first] = await accepted<{ id: string }>(db.pool, insert, capability(agentId, { version: null }));
    await expectRefused(db.pool, insert, capability(agentId, { version: null }), {
      constraint: 'uq_agent_capabilities_agent_name_version',
      table: 'agent_capabilities',
    });
    await accepted(db.pool, insert, capability(agentId, { version: '1.0' }));
    await accepted(db.pool, insert, capability(agentId, { version: '2.0' }));
    await expectRefused(db.pool, insert, capability(agentId, { version: '2.0' }), {
      constraint: 'uq_agent_capabilities_agent_name_version',
      table: 'agent_capabilities',
    });
    // Another agent may offer the same capability.
    await accepted(db.pool, insert, capability(await newAgent(), { version: null }));
    await expectRefused(
      db.pool,
      `INSERT INTO agentry.agent_capabilities (id, agent_id, name, input_schema, output_schema) VALUES ($1, $2, 'other', '{}', '{}')`,
      [first!.id, agentId],
      { constraint: 'pk_agent_capabilities', table: 'agent_capabilities' },
    );
  });

  it('checks schemas, price, currency, latency and availability', async () => {
    const agentId = await newAgent();
    const refuse = (overrides: Parameters<typeof capability>[1], constraint: string) =>
      expectRefused(db.pool, insert, capability(agentId, { name: unique('cap'), ...overrides }), { constraint, table: 'agent_capabilities' });
    await refuse({ input_schema: '[]' }, 'chk_agent_capabilities_input_schema_object');
    await refuse({ output_schema: '"string"' }, 'chk_agent_capabilities_output_schema_object');
    await refuse({ price: '-0.0001' }, 'chk_agent_capabilities_price_nonnegative');
    for (const currency of ['usd', 'US', 'U5D', '€€€']) await refuse({ currency }, 'chk_agent_capabilities_currency_format');
    await refuse({ latency: 0 }, 'chk_agent_capabilities_latency_positive');
    await refuse({ availability: 100.01 }, 'chk_agent_capabilities_availability_range');
    await refuse({ availability: -1 }, 'chk_agent_capabilities_availability_range');
    await accepted(db.pool, insert, capability(agentId, { name: unique('cap'), price: 0, availability: 100 }));
  });

  it('belongs to an agent (fk_agent_capabilities_agent_id): unknown refused, agent rename followed, agent deletion cascades', async () => {
    await expectRefused(db.pool, insert, capability(unique('ghost')), { constraint: 'fk_agent_capabilities_agent_id', table: 'agent_capabilities' });
    const agentId = await newAgent();
    const [row] = await accepted<{ id: string }>(db.pool, insert, capability(agentId));
    const renamed = unique('renamed');
    await db.pool.query('UPDATE agentry.agents SET id = $2 WHERE id = $1', [agentId, renamed]);
    expect(await accepted(db.pool, 'SELECT agent_id FROM agentry.agent_capabilities WHERE id = $1', [row!.id])).toEqual([{ agent_id: renamed }]);
    await db.pool.query('DELETE FROM agentry.agents WHERE id = $1', [renamed]);
    expect(await accepted(db.pool, 'SELECT 1 FROM agentry.agent_capabilities WHERE id = $1', [row!.id])).toHaveLength(0);
  });

  it('names a known task type (fk_agent_capabilities_task_type): unknown refused, rename followed, deletion of a used type refused', async () => {
    const agentId = await newAgent();
    await expectRefused(db.pool, insert, capability(agentId, { task_type: 'no_such_type' }), {
      constraint: 'fk_agent_capabilities_task_type',
      table: 'agent_capabilities',
    });
    const taskType = unique('cap_type');
    await db.pool.query(`INSERT INTO agentry.task_types (name, description, agent_type) VALUES ($1, 'test', 'DataAgent')`, [taskType]);
    const [row] = await accepted<{ id: string }>(db.pool, insert, capability(agentId, { task_type: taskType }));
    const renamed = unique('cap_renamed');
    await db.pool.query('UPDATE agentry.task_types SET name = $2 WHERE name = $1', [taskType, renamed]);
    expect(await accepted(db.pool, 'SELECT task_type FROM agentry.agent_capabilities WHERE id = $1', [row!.id])).toEqual([{ task_type: renamed }]);
    await expectRefused(db.pool, 'DELETE FROM agentry.task_types WHERE name = $1', [renamed], {
      constraint: 'fk_agent_capabilities_task_type',
      table: 'task_types',
    });
  });

  it('stamps updated_at on every update (trg_agent_capabilities_updated_at)', async () => {
    const agentId = await newAgent();
    const [row] = await accepted<{ id: string }>(
      db.pool,
      `INSERT INTO agentry.agent_capabilities (agent_id, name, input_schema, output_schema, created_at, updated_at)
       VALUES ($1, 'stamp', '{}', '{}', '2000-01-01T00:00:00Z', '2000-01-01T00:00:00Z') RETURNING id`,
      [agentId],
    );
    await db.pool.query('UPDATE agentry.agent_capabilities SET deprecated = true WHERE id = $1', [row!.id]);
    expect(
      await accepted(db.pool, `SELECT deprecated, updated_at > now() - interval '1 minute' AS stamped FROM agentry.agent_capabilities WHERE id = $1`, [row!.id]),
    ).toEqual([{ deprecated: true, stamped: true }]);
  });
});
