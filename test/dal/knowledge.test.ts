import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { AgentSessionsId, AgentsId, KnowledgeEntriesId, UsersId } from '../../generated/index.js';
import { createAgentry, type AgentryClient } from '../../src/dal/client.js';
import { ConflictError, ConstraintViolation, NotFound, ValidationError } from '../../src/dal/errors.js';
import { useTestDatabase } from '../helpers/db.js';

const db = useTestDatabase();
// The DAL runs as the application role: every statement is checked against its grants too. Fixtures use db.pool (superuser).
const AS_APP = '-c role=agentry_app';
let agentry: AgentryClient;
let author: UsersId;
let reader: UsersId;
let agentId: AgentsId;

const MISSING = '00000000-0000-4000-8000-000000000000';

async function user(name: string): Promise<UsersId> {
  const { rows } = await db.pool.query<{ id: UsersId }>(
    `INSERT INTO agentry.users (username, email, password_hash) VALUES ($1::text, $1::text || '@example.com', '$2b$12$' || repeat('a', 53)) RETURNING id`,
    [name],
  );
  return rows[0]!.id;
}

beforeAll(async () => {
  agentry = createAgentry({ connectionString: db.url, options: AS_APP, max: 4 });
  author = await user('author');
  reader = await user('reader');
  agentId = (await agentry.fleet.registerAgent({ id: 'scribe-001', name: 'Scribe' })).id;
});

afterAll(async () => {
  await agentry?.close();
});

/** A tag no other test uses, so searches see only this test's entries. */
const uniqueTag = () => `t-${randomBytes(4).toString('hex')}`;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

const entry = (fields: Partial<Parameters<AgentryClient['knowledge']['createEntry']>[0]> = {}) =>
  agentry.knowledge.createEntry({ type: 'pattern', title: 'Backoff', createdBy: author, ...fields });

describe('createEntry / getEntry', () => {
  it('creates version 1 with the table defaults', async () => {
    const created = await entry({ content: 'base * 2^n', tags: ['retry'], createdAgentId: agentId, confidenceScore: '0.85' });
    expect(created).toMatchObject({
      version: 1,
      previous_version_id: null,
      visibility: 'public',
      source: 'agent',
      categories: [],
      access_list: [],
      tags: ['retry'],
      confidence_score: '0.85',
      created_agent_id: agentId,
    });
    expect(await agentry.knowledge.getEntry(created.id)).toEqual(created);
  });

  it('refuses bad shapes before SQL and lets the database refuse unknown authors and confidence above 1', async () => {
    await expect(entry({ type: 'poem' as 'pattern' })).rejects.toThrow(ValidationError);
    await expect(entry({ createdBy: 'me' as UsersId })).rejects.toThrow(ValidationError);
    await expect(entry({ createdBy: MISSING as UsersId })).rejects.toMatchObject({ kind: 'foreign_key', constraint: 'fk_knowledge_entries_created_by' });
    await expect(entry({ confidenceScore: '1.5' })).rejects.toMatchObject({ kind: 'check', constraint: 'chk_knowledge_entries_confidence_range' });
    await expect(agentry.knowledge.getEntry(MISSING as KnowledgeEntriesId)).rejects.toThrow(NotFound);
  });
});

describe('newVersion / getHistory', () => {
  it('writes numbered versions that copy what is not changed; null clears; the history is the whole line, oldest first', async () => {
    const v1 = await entry({ content: 'one', summary: 'sum', tags: ['a', 'b'], visibility: 'team', accessList: [reader] });
    const v2 = await agentry.knowledge.newVersion(v1.id, { content: 'two', summary: null });
    expect(v2).toMatchObject({
      version: 2,
      previous_version_id: v1.id,
      content: 'two',
      summary: null,
      title: 'Backoff',
      tags: ['a', 'b'],
      visibility: 'team',
      access_list: [reader],
      created_by: author,
    });
    expect(v2.id).not.toBe(v1.id);
    const v3 = await agentry.knowledge.newVersion(v2.id, { tags: ['c'], createdBy: reader });
    expect(v3).toMatchObject({ version: 3, previous_version_id: v2.id, content: 'two', tags: ['c'], created_by: reader });

    for (const id of [v1.id, v2.id, v3.id]) {
      expect((await agentry.knowledge.getHistory(id)).map((e) => [e.id, e.version])).toEqual([
        [v1.id, 1],
        [v2.id, 2],
        [v3.id, 3],
      ]);
    }
    const single = await entry();
    expect(await agentry.knowledge.getHistory(single.id)).toEqual([single]);
  });

  it('refuses a second successor of a version with the mapped unique violation, concurrent ones included', async () => {
    const v1 = await entry();
    await agentry.knowledge.newVersion(v1.id, { content: 'first' });
    const error = await rejection(agentry.knowledge.newVersion(v1.id, { content: 'branch' }));
    expect(error).toBeInstanceOf(ConstraintViolation);
    expect(error).toMatchObject({ kind: 'unique', constraint: 'uq_knowledge_entries_previous_version_id' });

    const base = await entry();
    const results = await Promise.allSettled([
      agentry.knowledge.newVersion(base.id, { content: 'left' }),
      agentry.knowledge.newVersion(base.id, { content: 'right' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const [failed] = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(failed!.reason).toMatchObject({ kind: 'unique', constraint: 'uq_knowledge_entries_previous_version_id' });
    expect(await agentry.knowledge.getHistory(base.id)).toHaveLength(2);
  });

  it('NotFound for a missing entry; ValidationError for unknown or malformed changes', async () => {
    await expect(agentry.knowledge.newVersion(MISSING as KnowledgeEntriesId, { content: 'x' })).rejects.toThrow(NotFound);
    await expect(agentry.knowledge.getHistory(MISSING as KnowledgeEntriesId)).rejects.toThrow(NotFound);
    const v1 = await entry();
    await expect(agentry.knowledge.newVersion(v1.id, { tag: ['x'] } as never)).rejects.toThrow(ValidationError);
    await expect(agentry.knowledge.newVersion(v1.id, { visibility: 'secret' as 'public' })).rejects.toThrow(ValidationError);
    await expect(agentry.knowledge.newVersion(v1.id, { confidenceScore: '7' })).rejects.toMatchObject({ constraint: 'chk_knowledge_entries_confidence_range' });
  });
});

describe('searchByTags', () => {
  it('matches any or all tags, current versions only, newest first, with a limit', async () => {
    const [x, y] = [uniqueTag(), uniqueTag()];
    const both = await entry({ title: 'both', tags: [x, y] });
    const onlyX = await entry({ title: 'x', tags: [x] });
    const old = await entry({ title: 'old', tags: [y] });
    const current = await agentry.knowledge.newVersion(old.id, { title: 'new' });

    const any = await agentry.knowledge.searchByTags([x, y]);
    expect(any.map((e) => e.id)).toEqual([current.id, onlyX.id, both.id]);
    expect((await agentry.knowledge.searchByTags([x, y], { match: 'all' })).map((e) => e.id)).toEqual([both.id]);
    expect(await agentry.knowledge.searchByTags([x, y], { limit: 2 })).toHaveLength(2);
    await expect(agentry.knowledge.searchByTags([])).rejects.toThrow(ValidationError);
    await expect(agentry.knowledge.searchByTags([x], { limit: 0 })).rejects.toThrow(ValidationError);
  });

  it('shows private and team entries only to their author and the access list', async () => {
    const tag = uniqueTag();
    const open = await entry({ tags: [tag] });
    const mine = await entry({ tags: [tag], visibility: 'private' });
    const shared = await entry({ tags: [tag], visibility: 'team', accessList: [reader] });
    const ids = async (viewerId?: UsersId) =>
      (await agentry.knowledge.searchByTags([tag], viewerId ? { viewerId } : {})).map((e) => e.id).sort();
    expect(await ids()).toEqual([open.id]);
    expect(await ids(author)).toEqual([open.id, mine.id, shared.id].sort());
    expect(await ids(reader)).toEqual([open.id, shared.id].sort());
  });
});

describe('agent sessions and context vectors', () => {
  it('starts a session, adds vectors (touching the session), ends it once with a derived duration', async () => {
    const session = await agentry.knowledge.startAgentSession(agentId, { contextSnapshot: { task: 'parser' }, metadata: { client: 'cli' } });
    expect(session).toMatchObject({ agent_id: agentId, status: 'active', context_snapshot: { task: 'parser' }, device_info: {}, ended_at: null, duration: null });

    const vector = await agentry.knowledge.addContextVector(session.id, { vector: [0.5, -0.25, 1], contextType: 'semantic', confidenceScore: '0.8' });
    expect(vector).toMatchObject({ agent_session_id: session.id, vector_data: [0.5, -0.25, 1], context_type: 'semantic', confidence_score: '0.80' });

    const ended = await agentry.knowledge.endAgentSession(session.id, { taskCount: 3, successRate: '0.6667' });
    expect(ended).toMatchObject({ status: 'completed', task_count: 3, success_rate: '0.6667' });
    expect(ended.ended_at).toBeInstanceOf(Date);
    expect(ended.duration).not.toBeNull();
    expect(ended.last_activity_at.getTime()).toBeGreaterThanOrEqual(session.last_activity_at.getTime());

    const again = await rejection(agentry.knowledge.endAgentSession(session.id, { status: 'failed' }));
    expect(again).toBeInstanceOf(ConflictError);
    expect(again).toMatchObject({ entity: 'agent session', id: session.id });
    expect((await agentry.knowledge.endAgentSession((await agentry.knowledge.startAgentSession(agentId)).id, { status: 'failed' })).status).toBe('failed');
  });

  it('error paths: unknown agent or session, not an ending status, out-of-range rate, empty vector, unknown type', async () => {
    await expect(agentry.knowledge.startAgentSession('ghost-001' as AgentsId)).rejects.toMatchObject({
      kind: 'foreign_key',
      constraint: 'fk_agent_sessions_agent_id',
    });
    await expect(agentry.knowledge.endAgentSession(MISSING as AgentSessionsId)).rejects.toThrow(NotFound);
    await expect(agentry.knowledge.addContextVector(MISSING as AgentSessionsId, { vector: [1] })).rejects.toThrow(NotFound);
    const session = await agentry.knowledge.startAgentSession(agentId);
    await expect(agentry.knowledge.endAgentSession(session.id, { status: 'paused' as 'failed' })).rejects.toThrow(ValidationError);
    await expect(agentry.knowledge.endAgentSession(session.id, { successRate: '2' })).rejects.toMatchObject({
      kind: 'check',
      constraint: 'chk_agent_sessions_success_rate_range',
    });
    await expect(agentry.knowledge.addContextVector(session.id, { vector: [] })).rejects.toMatchObject({
      kind: 'check',
      constraint: 'chk_context_vectors_vector_shape',
    });
    await expect(agentry.knowledge.addContextVector(session.id, { vector: [1], contextType: 'vibes' as 'task' })).rejects.toThrow(ValidationError);
    await expect(agentry.knowledge.addContextVector(session.id, { vector: ['1'] as unknown as number[] })).rejects.toThrow(ValidationError);
  });
});
