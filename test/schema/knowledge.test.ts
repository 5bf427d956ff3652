// Knowledge context (migrations/1764547207000_knowledge.sql): knowledge_entries
// with trg_knowledge_entries_version and trg_knowledge_entries_updated_at,
// agent_sessions with its generated duration, context_vectors.
import { randomBytes, randomUUID } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { useTestDatabase } from '../helpers/db.js';
import { accepted, errorOf, expectRefused } from './support.js';

const db = useTestDatabase();

const unique = (prefix: string): string => `${prefix}_${randomBytes(4).toString('hex')}`;
const BCRYPT = '$2b$12$aWCwNR76JUd8kdNXvi00VO85teFzVa16CJ.1gGJmnPrzyDVKBbjRS';

async function newUser(): Promise<string> {
  const username = unique('author');
  const [row] = await accepted<{ id: string }>(
    db.pool,
    'INSERT INTO agentry.users (username, email, password_hash) VALUES ($1, $2, $3) RETURNING id',
    [username, `${username}@example.com`, BCRYPT],
  );
  return row!.id;
}

async function newAgent(): Promise<string> {
  const [row] = await accepted<{ id: string }>(db.pool, 'INSERT INTO agentry.agents (id, name) VALUES ($1, $2) RETURNING id', [unique('agent'), unique('Agent')]);
  return row!.id;
}

interface Entry {
  id: string;
  version: number;
  previous_version_id: string | null;
}

async function newEntry(createdBy: string, columns: Record<string, unknown> = {}): Promise<Entry> {
  const all: Record<string, unknown> = { type: 'adr', title: unique('ADR'), created_by: createdBy, ...columns };
  const names = Object.keys(all);
  const [row] = await accepted<Entry>(
    db.pool,
    `INSERT INTO agentry.knowledge_entries (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})
     RETURNING id, version, previous_version_id`,
    Object.values(all),
  );
  return row!;
}

describe('knowledge_entries', () => {
  const insert = `INSERT INTO agentry.knowledge_entries (type, title, created_by, visibility, confidence_score, version, access_list)
                  VALUES ($1, $2, $3, $4, $5, $6, $7)`;

  it("accepts seed 004's entry with its defaults", async () => {
    const userId = await newUser();
    const agentId = await newAgent();
    const [row] = await accepted(
      db.pool,
      `INSERT INTO agentry.knowledge_entries (type, title, content, tags, categories, created_by, created_agent_id, confidence_score, visibility, access_list)
       VALUES ('code_snippet', 'Retry with jitter', 'sleep(base * 2 ** n + rand())', $1, $2, $3, $4, 0.9, 'team', $5)
       RETURNING version, source, mobile_synced, previous_version_id`,
      [['retry', 'backoff'], ['patterns'], userId, agentId, [userId]],
    );
    expect(row).toEqual({ version: 1, source: 'agent', mobile_synced: false, previous_version_id: null });
    // Tag search uses the array operators (idx_knowledge_entries_tags_gin).
    expect(await accepted(db.pool, `SELECT title FROM agentry.knowledge_entries WHERE tags @> '{backoff}'`)).toEqual([{ title: 'Retry with jitter' }]);
  });

  it('checks type, visibility, confidence, version and access_list', async () => {
    const userId = await newUser();
    const good: unknown[] = ['pattern', unique('t'), userId, 'private', 1, 1, []];
    await accepted(db.pool, insert, good);
    const refuse = (index: number, value: unknown, constraint: string) => {
      const params = [...good];
      params[index] = value;
      params[1] = unique('t');
      return expectRefused(db.pool, insert, params, { constraint, table: 'knowledge_entries' });
    };
    await refuse(0, 'note', 'chk_knowledge_entries_type');
    await refuse(3, 'secret', 'chk_knowledge_entries_visibility');
    await refuse(4, 1.01, 'chk_knowledge_entries_confidence_range');
    await refuse(4, -0.01, 'chk_knowledge_entries_confidence_range');
    await refuse(5, 0, 'chk_knowledge_entries_version_positive');
    await refuse(6, [userId, null], 'chk_knowledge_entries_access_list_no_nulls');
    for (const type of ['code_snippet', 'adr', 'documentation', 'pattern', 'task_template']) {
      await accepted(db.pool, insert, [type, unique('t'), userId, 'public', 0, 1, []]);
    }
  });

  it('refuses an entry that is its own previous version (chk_knowledge_entries_not_own_previous)', async () => {
    const userId = await newUser();
    const id = randomUUID();
    await expectRefused(
      db.pool,
      `INSERT INTO agentry.knowledge_entries (id, type, title, created_by, previous_version_id) VALUES ($1, 'adr', 'self', $2, $1)`,
      [id, userId],
      { constraint: 'chk_knowledge_entries_not_own_previous', table: 'knowledge_entries' },
    );
    const entry = await newEntry(userId);
    await expectRefused(db.pool, 'UPDATE agentry.knowledge_entries SET previous_version_id = id WHERE id = $1', [entry.id], {
      constraint: 'chk_knowledge_entries_not_own_previous',
      table: 'knowledge_entries',
    });
  });

  it('numbers a new version after the one it replaces (trg_knowledge_entries_version)', async () => {
    const userId = await newUser();
    const v1 = await newEntry(userId);
    expect(v1.version).toBe(1);
    // A version given by the caller is overruled by the chain.
    const v2 = await newEntry(userId, { previous_version_id: v1.id, version: 7 });
    expect(v2).toMatchObject({ version: 2, previous_version_id: v1.id });
    const v3 = await newEntry(userId, { previous_version_id: v2.id });
    expect(v3.version).toBe(3);
    // Re-pointing an entry renumbers it too.
    const loose = await newEntry(userId, { version: 1 });
    const [moved] = await accepted<{ version: number }>(
      db.pool,
      'UPDATE agentry.knowledge_entries SET previous_version_id = $2 WHERE id = $1 RETURNING version',
      [loose.id, v3.id],
    );
    expect(moved?.version).toBe(4);
  });

  it('keeps history a line: a second successor of one version is refused (uq_knowledge_entries_previous_version_id)', async () => {
    const userId = await newUser();
    const v1 = await newEntry(userId);
    await newEntry(userId, { previous_version_id: v1.id });
    await expectRefused(
      db.pool,
      `INSERT INTO agentry.knowledge_entries (type, title, created_by, previous_version_id) VALUES ('adr', 'fork', $1, $2)`,
      [userId, v1.id],
      { constraint: 'uq_knowledge_entries_previous_version_id', table: 'knowledge_entries' },
    );
  });

  it('links versions by fk_knowledge_entries_previous_version_id: unknown refused, id change followed, deleting a version unlinks its successor', async () => {
    const userId = await newUser();
    await expectRefused(
      db.pool,
      `INSERT INTO agentry.knowledge_entries (type, title, created_by, previous_version_id) VALUES ('adr', 'dangling', $1, $2)`,
      [userId, randomUUID()],
      { constraint: 'fk_knowledge_entries_previous_version_id', table: 'knowledge_entries' },
    );
    const v1 = await newEntry(userId);
    const v2 = await newEntry(userId, { previous_version_id: v1.id });
    const newId = randomUUID();
    await db.pool.query('UPDATE agentry.knowledge_entries SET id = $2 WHERE id = $1', [v1.id, newId]);
    expect(await accepted(db.pool, 'SELECT previous_version_id, version FROM agentry.knowledge_entries WHERE id = $1', [v2.id])).toEqual([
      { previous_version_id: newId, version: 2 },
    ]);
    await db.pool.query('DELETE FROM agentry.knowledge_entries WHERE id = $1', [newId]);
    expect(await accepted(db.pool, 'SELECT previous_version_id, version FROM agentry.knowledge_entries WHERE id = $1', [v2.id])).toEqual([
      { previous_version_id: null, version: 2 },
    ]);
  });

  it('is written by a user (fk_knowledge_entries_created_by): unknown refused, id change followed, deleting the author refused', async () => {
    await expectRefused(db.pool, `INSERT INTO agentry.knowledge_entries (type, title, created_by) VALUES ('adr', 'orphan', $1)`, [randomUUID()], {
      constraint: 'fk_knowledge_entries_created_by',
      table: 'knowledge_entries',
    });
    const userId = await newUser();
    const entry = await newEntry(userId);
    const newId = randomUUID();
    await db.pool.query('UPDATE agentry.users SET id = $2 WHERE id = $1', [userId, newId]);
    expect(await accepted(db.pool, 'SELECT created_by FROM agentry.knowledge_entries WHERE id = $1', [entry.id])).toEqual([{ created_by: newId }]);
    await expectRefused(db.pool, 'DELETE FROM agentry.users WHERE id = $1', [newId], { constraint: 'fk_knowledge_entries_created_by', table: 'users' });
  });

  it('outlives the agent and the task it came from (fk_knowledge_entries_created_agent_id, fk_knowledge_entries_task_id: SET NULL)', async () => {
    const userId = await newUser();
    await expectRefused(
      db.pool,
      `INSERT INTO agentry.knowledge_entries (type, title, created_by, created_agent_id) VALUES ('adr', 't', $1, $2)`,
      [userId, unique('ghost')],
      { constraint: 'fk_knowledge_entries_created_agent_id', table: 'knowledge_entries' },
    );
    await expectRefused(
      db.pool,
      `INSERT INTO agentry.knowledge_entries (type, title, created_by, task_id) VALUES ('adr', 't', $1, $2)`,
      [userId, randomUUID()],
      { constraint: 'fk_knowledge_entries_task_id', table: 'knowledge_entries' },
    );
    const agentId = await newAgent();
    const [task] = await accepted<{ id: string }>(db.pool, `INSERT INTO agentry.tasks (title) VALUES ('write the ADR') RETURNING id`);
    const entry = await newEntry(userId, { created_agent_id: agentId, task_id: task!.id });
    const renamed = unique('renamed');
    await db.pool.query('UPDATE agentry.agents SET id = $2 WHERE id = $1', [agentId, renamed]);
    expect(await accepted(db.pool, 'SELECT created_agent_id FROM agentry.knowledge_entries WHERE id = $1', [entry.id])).toEqual([{ created_agent_id: renamed }]);
    await db.pool.query('DELETE FROM agentry.agents WHERE id = $1', [renamed]);
    await db.pool.query('DELETE FROM agentry.tasks WHERE id = $1', [task!.id]);
    expect(await accepted(db.pool, 'SELECT created_agent_id, task_id FROM agentry.knowledge_entries WHERE id = $1', [entry.id])).toEqual([
      { created_agent_id: null, task_id: null },
    ]);
  });

  it('has a primary key (pk_knowledge_entries) and stamps updated_at (trg_knowledge_entries_updated_at)', async () => {
    const userId = await newUser();
    const entry = await newEntry(userId, { created_at: '2000-01-01T00:00:00Z', updated_at: '2000-01-01T00:00:00Z' });
    await expectRefused(db.pool, `INSERT INTO agentry.knowledge_entries (id, type, title, created_by) VALUES ($1, 'adr', 'dup', $2)`, [entry.id, userId], {
      constraint: 'pk_knowledge_entries',
      table: 'knowledge_entries',
    });
    await db.pool.query(`UPDATE agentry.knowledge_entries SET summary = 'updated', updated_at = '1999-01-01' WHERE id = $1`, [entry.id]);
    expect(
      await accepted(db.pool, `SELECT summary, updated_at > now() - interval '1 minute' AS stamped FROM agentry.knowledge_entries WHERE id = $1`, [entry.id]),
    ).toEqual([{ summary: 'updated', stamped: true }]);
  });
});

describe('agent_sessions', () => {
  const insert = `INSERT INTO agentry.agent_sessions (agent_id, status, context_snapshot, device_info, metadata, started_at, ended_at, task_count, success_rate)
                  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`;
  const row = (agentId: string, overrides: Partial<Record<'status' | 'context_snapshot' | 'device_info' | 'metadata' | 'started_at' | 'ended_at' | 'task_count' | 'success_rate', unknown>> = {}) => [
    agentId,
    overrides.status ?? 'completed',
    overrides.context_snapshot ?? JSON.stringify({ open_files: ['a.ts'] }),
    overrides.device_info ?? JSON.stringify({ model: 'Pixel 8' }),
    overrides.metadata ?? JSON.stringify({}),
    overrides.started_at ?? '2026-01-01T10:00:00Z',
    'ended_at' in overrides ? overrides.ended_at : '2026-01-01T11:30:00Z',
    overrides.task_count ?? 4,
    'success_rate' in overrides ? overrides.success_rate : 0.75,
  ];

  it('derives duration from started_at and ended_at (generated column)', async () => {
    const agentId = await newAgent();
    const [done] = await accepted<{ id: string }>(db.pool, insert, row(agentId));
    expect(await accepted(db.pool, 'SELECT duration::text AS duration FROM agentry.agent_sessions WHERE id = $1', [done!.id])).toEqual([{ duration: '01:30:00' }]);
    const [open] = await accepted<{ id: string }>(db.pool, insert, row(agentId, { status: 'active', ended_at: null }));
    expect(await accepted(db.pool, 'SELECT duration FROM agentry.agent_sessions WHERE id = $1', [open!.id])).toEqual([{ duration: null }]);
    await db.pool.query(`UPDATE agentry.agent_sessions SET status = 'completed', ended_at = started_at + interval '2 days 5 minutes' WHERE id = $1`, [open!.id]);
    expect(await accepted(db.pool, 'SELECT duration::text AS duration FROM agentry.agent_sessions WHERE id = $1', [open!.id])).toEqual([
      { duration: '2 days 00:05:00' },
    ]);
  });

  it('refuses a written duration (generated always)', async () => {
    const agentId = await newAgent();
    const [{ n: before } = { n: '' }] = await accepted<{ n: string }>(db.pool, 'SELECT count(*) AS n FROM agentry.agent_sessions');
    const error = await errorOf(db.pool, `INSERT INTO agentry.agent_sessions (agent_id, duration) VALUES ($1, interval '1 hour')`, [agentId]);
    expect(error.code).toBe('428C9');
    expect(error.message).toMatch(/duration/);
    expect(await accepted(db.pool, 'SELECT count(*) AS n FROM agentry.agent_sessions')).toEqual([{ n: before }]);
  });

  it('checks status, JSON shapes, time order, task_count and success_rate', async () => {
    const agentId = await newAgent();
    for (const status of ['active', 'paused', 'completed', 'failed']) await accepted(db.pool, insert, row(agentId, { status }));
    const refuse = (overrides: Parameters<typeof row>[1], constraint: string) =>
      expectRefused(db.pool, insert, row(agentId, overrides), { constraint, table: 'agent_sessions' });
    await refuse({ status: 'running' }, 'chk_agent_sessions_status');
    await refuse({ context_snapshot: '[]' }, 'chk_agent_sessions_context_snapshot_object');
    await refuse({ device_info: '"phone"' }, 'chk_agent_sessions_device_info_object');
    await refuse({ metadata: '[1]' }, 'chk_agent_sessions_metadata_object');
    await refuse({ ended_at: '2026-01-01T09:59:59Z' }, 'chk_agent_sessions_ended_after_start');
    await refuse({ task_count: -1 }, 'chk_agent_sessions_task_count_nonnegative');
    await refuse({ success_rate: 1.0001 }, 'chk_agent_sessions_success_rate_range');
    await refuse({ success_rate: -0.5 }, 'chk_agent_sessions_success_rate_range');
  });

  it('belongs to an agent (fk_agent_sessions_agent_id): unknown refused, rename followed, agent deletion cascades to sessions and their vectors', async () => {
    await expectRefused(db.pool, insert, row(unique('ghost')), { constraint: 'fk_agent_sessions_agent_id', table: 'agent_sessions' });
    const agentId = await newAgent();
    const [session] = await accepted<{ id: string }>(db.pool, insert, row(agentId));
    await accepted(db.pool, `INSERT INTO agentry.context_vectors (agent_session_id, vector_data) VALUES ($1, '{0.5,0.25}')`, [session!.id]);
    const renamed = unique('renamed');
    await db.pool.query('UPDATE agentry.agents SET id = $2 WHERE id = $1', [agentId, renamed]);
    expect(await accepted(db.pool, 'SELECT agent_id FROM agentry.agent_sessions WHERE id = $1', [session!.id])).toEqual([{ agent_id: renamed }]);
    await db.pool.query('DELETE FROM agentry.agents WHERE id = $1', [renamed]);
    expect(await accepted(db.pool, 'SELECT 1 FROM agentry.agent_sessions WHERE id = $1', [session!.id])).toHaveLength(0);
    expect(await accepted(db.pool, 'SELECT 1 FROM agentry.context_vectors WHERE agent_session_id = $1', [session!.id])).toHaveLength(0);
  });

  it('has a primary key (pk_agent_sessions)', async () => {
    const agentId = await newAgent();
    const [session] = await accepted<{ id: string }>(db.pool, insert, row(agentId));
    await expectRefused(db.pool, 'INSERT INTO agentry.agent_sessions (id, agent_id) VALUES ($1, $2)', [session!.id, agentId], {
      constraint: 'pk_agent_sessions',
      table: 'agent_sessions',
    });
  });
});

describe('context_vectors', () => {
  const insert = 'INSERT INTO agentry.context_vectors (agent_session_id, vector_data, context_type, confidence_score) VALUES ($1, $2, $3, $4) RETURNING id';

  async function newSession(): Promise<string> {
    const [row] = await accepted<{ id: string }>(db.pool, 'INSERT INTO agentry.agent_sessions (agent_id) VALUES ($1) RETURNING id', [await newAgent()]);
    return row!.id;
  }

  it('stores a one-dimensional vector without gaps and refuses any other shape (chk_context_vectors_vector_shape)', async () => {
    const sessionId = await newSession();
    const [row] = await accepted<{ id: string }>(db.pool, insert, [sessionId, [0.5, -0.25, 1], 'semantic', 0.85]);
    expect(await accepted(db.pool, 'SELECT vector_data FROM agentry.context_vectors WHERE id = $1', [row!.id])).toEqual([{ vector_data: [0.5, -0.25, 1] }]);
    for (const vector of [[], [[1, 2], [3, 4]], [1, null]]) {
      await expectRefused(db.pool, insert, [sessionId, vector, 'semantic', 0.5], { constraint: 'chk_context_vectors_vector_shape', table: 'context_vectors' });
    }
  });

  it('checks context_type and confidence_score', async () => {
    const sessionId = await newSession();
    for (const type of ['semantic', 'collaborative', 'task', null]) await accepted(db.pool, insert, [sessionId, [1], type, 1]);
    await expectRefused(db.pool, insert, [sessionId, [1], 'visual', 0.5], { constraint: 'chk_context_vectors_context_type', table: 'context_vectors' });
    await expectRefused(db.pool, insert, [sessionId, [1], 'task', 1.01], { constraint: 'chk_context_vectors_confidence_range', table: 'context_vectors' });
    await expectRefused(db.pool, insert, [sessionId, [1], 'task', -0.01], { constraint: 'chk_context_vectors_confidence_range', table: 'context_vectors' });
  });

  it('belongs to a session (fk_context_vectors_agent_session_id): unknown refused, id change followed, session deletion cascades', async () => {
    await expectRefused(db.pool, insert, [randomUUID(), [1], 'task', 0.5], { constraint: 'fk_context_vectors_agent_session_id', table: 'context_vectors' });
    const sessionId = await newSession();
    const [row] = await accepted<{ id: string }>(db.pool, insert, [sessionId, [1, 2], 'task', 0.5]);
    const newId = randomUUID();
    await db.pool.query('UPDATE agentry.agent_sessions SET id = $2 WHERE id = $1', [sessionId, newId]);
    expect(await accepted(db.pool, 'SELECT agent_session_id FROM agentry.context_vectors WHERE id = $1', [row!.id])).toEqual([{ agent_session_id: newId }]);
    await db.pool.query('DELETE FROM agentry.agent_sessions WHERE id = $1', [newId]);
    expect(await accepted(db.pool, 'SELECT 1 FROM agentry.context_vectors WHERE id = $1', [row!.id])).toHaveLength(0);
  });

  it('has a primary key (pk_context_vectors)', async () => {
    const sessionId = await newSession();
    const [row] = await accepted<{ id: string }>(db.pool, insert, [sessionId, [1], 'task', 0.5]);
    await expectRefused(db.pool, `INSERT INTO agentry.context_vectors (id, agent_session_id, vector_data) VALUES ($1, $2, '{1}')`, [row!.id, sessionId], {
      constraint: 'pk_context_vectors',
      table: 'context_vectors',
    });
  });
});
