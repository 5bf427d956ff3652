import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { CheckpointsId, CorrectionsId, TasksId, UsersId } from '../../generated/index.js';
import { createAgentry, type AgentryClient } from '../../src/dal/client.js';
import {
  ConflictError,
  ConstraintViolation,
  FinalDecisionViolation,
  IllegalTransition,
  NotFound,
  ValidationError,
} from '../../src/dal/errors.js';
import { useTestDatabase } from '../helpers/db.js';

const db = useTestDatabase();
// The DAL runs as the application role: every statement is checked against its grants too. Fixtures use db.pool (superuser).
const AS_APP = '-c role=agentry_app';
let agentry: AgentryClient;
let reviewer: UsersId;

const MISSING = '00000000-0000-4000-8000-000000000000';

beforeAll(async () => {
  agentry = createAgentry({ connectionString: db.url, options: AS_APP, max: 4 });
  const { rows } = await db.pool.query<{ id: UsersId }>(
    `INSERT INTO agentry.users (username, email, password_hash)
     VALUES ('reviewer', 'reviewer@example.com', '$2b$12$' || repeat('a', 53)) RETURNING id`,
  );
  reviewer = rows[0]!.id;
});

afterAll(async () => {
  await agentry?.close();
});

/** A task inserted straight into a status (the transition trigger guards updates only). */
async function taskIn(status: string, fields: { type?: string; input?: object } = {}): Promise<{ id: TasksId; version: number }> {
  const { rows } = await db.pool.query<{ id: TasksId; version: number }>(
    `INSERT INTO agentry.tasks (title, status, type, input) VALUES ('review fixture', $1, $2, $3) RETURNING id, version`,
    [status, fields.type ?? null, fields.input ?? null],
  );
  return rows[0]!;
}

async function openOn(status = 'running') {
  const task = await taskIn(status);
  return agentry.review.openCheckpoint(task.id, task.version);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('openCheckpoint', () => {
  it('opens a pending checkpoint and moves the task running -> checkpoint with a new version', async () => {
    const task = await taskIn('running');
    const sub = await taskIn('completed');
    const { checkpoint, task: moved } = await agentry.review.openCheckpoint(task.id, task.version, [sub.id]);
    expect(checkpoint).toMatchObject({ task_id: task.id, status: 'pending_review', subtasks_completed: [sub.id], user_decision: null });
    expect(checkpoint.triggered_at).toBeInstanceOf(Date);
    expect(moved).toMatchObject({ id: task.id, status: 'checkpoint', version: task.version + 1 });
  });

  it('refuses a stale version with ConflictError and leaves no checkpoint', async () => {
    const task = await taskIn('running');
    await db.pool.query(`UPDATE agentry.tasks SET priority = 7 WHERE id = $1`, [task.id]);
    const error = await rejection(agentry.review.openCheckpoint(task.id, task.version));
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ reason: 'version_mismatch', entity: 'task', id: task.id, expectedVersion: task.version, retryable: false });
    expect(await agentry.review.listCheckpoints(task.id)).toEqual([]);
  });

  it('throws NotFound for a missing task and IllegalTransition for a task that is not running', async () => {
    await expect(agentry.review.openCheckpoint(MISSING as TasksId, 0)).rejects.toThrow(NotFound);
    const queued = await taskIn('queued');
    const error = await rejection(agentry.review.openCheckpoint(queued.id, queued.version));
    expect(error).toBeInstanceOf(IllegalTransition);
    expect(error).toMatchObject({ from: 'queued', to: 'checkpoint', taskId: queued.id });
    expect(await agentry.review.listCheckpoints(queued.id)).toEqual([]);
  });

  it('refuses malformed ids before any SQL', async () => {
    await expect(agentry.review.openCheckpoint('nope' as TasksId, 0)).rejects.toThrow(ValidationError);
    const task = await taskIn('running');
    const error = await rejection(agentry.review.openCheckpoint(task.id, task.version, ['not-a-uuid']));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues[0]!.path).toEqual(['subtasksCompleted', 0]);
  });

  it('is one unit with an enclosing transaction: rolled back with it', async () => {
    const task = await taskIn('running');
    const sentinel = new Error('abort');
    await expect(
      agentry.transaction(async (tx) => {
        await tx.review.openCheckpoint(task.id, task.version);
        throw sentinel;
      }),
    ).rejects.toBe(sentinel);
    const { rows } = await db.pool.query(`SELECT status, version FROM agentry.tasks WHERE id = $1`, [task.id]);
    expect(rows[0]).toEqual({ status: 'running', version: task.version });
    expect(await agentry.review.listCheckpoints(task.id)).toEqual([]);
  });
});

describe('decideCheckpoint', () => {
  it('records the decision; the database derives status and reviewed_at', async () => {
    const { checkpoint } = await openOn();
    const decided = await agentry.review.decideCheckpoint(checkpoint.id, 'approve', 'fine', reviewer);
    expect(decided).toMatchObject({ id: checkpoint.id, status: 'approved', user_decision: 'approve', decision_notes: 'fine', reviewed_by: reviewer });
    expect(decided.reviewed_at).toBeInstanceOf(Date);
    const corrected = await agentry.review.decideCheckpoint((await openOn()).checkpoint.id, 'correct', null);
    expect(corrected).toMatchObject({ status: 'corrected', reviewed_by: null, decision_notes: null });
  });

  it('refuses a second decision, the same one included, with FinalDecisionViolation', async () => {
    const { checkpoint } = await openOn();
    await agentry.review.decideCheckpoint(checkpoint.id, 'reject', 'wrong approach', reviewer);
    for (const decision of ['approve', 'reject'] as const) {
      const error = await rejection(agentry.review.decideCheckpoint(checkpoint.id, decision, 'again'));
      expect(error).toBeInstanceOf(FinalDecisionViolation);
      expect(error).toMatchObject({ checkpointId: checkpoint.id, decision: 'reject', constraint: 'trg_checkpoints_decision' });
    }
    const [kept] = await agentry.review.listCheckpoints(checkpoint.task_id);
    expect(kept).toMatchObject({ status: 'rejected', decision_notes: 'wrong approach', reviewed_by: reviewer });
  });

  it('throws NotFound, the foreign-key violation for an unknown reviewer, and ValidationError for a bad decision', async () => {
    await expect(agentry.review.decideCheckpoint(MISSING as CheckpointsId, 'approve', null)).rejects.toThrow(NotFound);
    const { checkpoint } = await openOn();
    const error = await rejection(agentry.review.decideCheckpoint(checkpoint.id, 'approve', null, MISSING as UsersId));
    expect(error).toBeInstanceOf(ConstraintViolation);
    expect(error).toMatchObject({ kind: 'foreign_key', constraint: 'fk_checkpoints_reviewed_by' });
    await expect(agentry.review.decideCheckpoint(checkpoint.id, 'maybe' as 'approve', null)).rejects.toThrow(ValidationError);
  });
});

describe('addCorrection / resolveCorrection', () => {
  it('adds a correction; applyToFuture records a learning experience through the trigger', async () => {
    const task = await taskIn('running', { type: 'code_review' });
    const { checkpoint } = await agentry.review.openCheckpoint(task.id, task.version);
    const correction = await agentry.review.addCorrection({
      checkpointId: checkpoint.id,
      taskId: task.id,
      correctionType: 'bug',
      guidance: 'Handle empty input.',
      referenceFiles: ['src/a.ts', { url: 'https://example.com/spec', note: 'section 4' }],
      applyToFuture: true,
    });
    expect(correction).toMatchObject({ result: 'pending', resolved_at: null, apply_to_future: true, correction_type: 'bug' });
    expect(correction.reference_files).toEqual(['src/a.ts', { url: 'https://example.com/spec', note: 'section 4' }]);
    const { rows } = await db.pool.query(
      `SELECT task_type, task_id, source, outcome, lesson FROM agentry.learning_experiences WHERE correction_id = $1`,
      [correction.id],
    );
    expect(rows).toEqual([{ task_type: 'code_review', task_id: task.id, source: 'correction', outcome: 'corrected', lesson: 'Handle empty input.' }]);

    const quiet = await agentry.review.addCorrection({ checkpointId: checkpoint.id, taskId: task.id, correctionType: 'style', guidance: 'Rename x.' });
    expect(quiet).toMatchObject({ apply_to_future: false, reference_files: [] });
    const { rowCount } = await db.pool.query(`SELECT 1 FROM agentry.learning_experiences WHERE correction_id = $1`, [quiet.id]);
    expect(rowCount).toBe(0);
  });

  it('lets the database refuse blank guidance and unknown checkpoints; refuses a bad type before SQL', async () => {
    const { checkpoint } = await openOn();
    const base = { checkpointId: checkpoint.id, taskId: checkpoint.task_id, correctionType: 'bug' as const };
    const blank = await rejection(agentry.review.addCorrection({ ...base, guidance: '   ' }));
    expect(blank).toMatchObject({ kind: 'check', constraint: 'chk_corrections_guidance_not_blank' });
    const unknown = await rejection(agentry.review.addCorrection({ ...base, checkpointId: MISSING as CheckpointsId, guidance: 'x' }));
    expect(unknown).toMatchObject({ kind: 'foreign_key', constraint: 'fk_corrections_checkpoint_id' });
    await expect(agentry.review.addCorrection({ ...base, correctionType: 'typo' as 'bug', guidance: 'x' })).rejects.toThrow(ValidationError);
  });

  it('resolves a correction with its result and time; pending, unknown ids and bad results are refused', async () => {
    const { checkpoint } = await openOn();
    const correction = await agentry.review.addCorrection({ checkpointId: checkpoint.id, taskId: checkpoint.task_id, correctionType: 'incomplete', guidance: 'Add tests.' });
    const resolved = await agentry.review.resolveCorrection(correction.id, 'applied');
    expect(resolved).toMatchObject({ id: correction.id, result: 'applied' });
    expect(resolved.resolved_at).toBeInstanceOf(Date);
    const pending = await rejection(agentry.review.resolveCorrection(correction.id, 'pending'));
    expect(pending).toMatchObject({ kind: 'check', constraint: 'chk_corrections_resolution' });
    await expect(agentry.review.resolveCorrection(MISSING as CorrectionsId, 'failed')).rejects.toThrow(NotFound);
    await expect(agentry.review.resolveCorrection(correction.id, 'done' as 'applied')).rejects.toThrow(ValidationError);
  });
});

describe('recordEvaluation', () => {
  it('returns the row with the generated weighted overall_score (numeric as string)', async () => {
    const task = await taskIn('completed');
    // (8.0 * 2.0 + 6.0 * 1.5) / 3.5 = 7.142... -> 7.1
    const evaluation = await agentry.review.recordEvaluation({ taskId: task.id, security: '8', codeQuality: '6.0', details: { tool: 'lint' } });
    expect(evaluation).toMatchObject({ task_id: task.id, security: '8.0', code_quality: '6.0', completeness: null, overall_score: '7.1', details: { tool: 'lint' } });
  });

  it('lets the database refuse out-of-range, missing scores and unknown tasks; non-numbers are ValidationErrors', async () => {
    const task = await taskIn('completed');
    await expect(agentry.review.recordEvaluation({ taskId: task.id, security: '10.5' })).rejects.toMatchObject({
      kind: 'check',
      constraint: 'chk_evaluations_security_range',
    });
    await expect(agentry.review.recordEvaluation({ taskId: task.id })).rejects.toMatchObject({ constraint: 'chk_evaluations_has_score' });
    await expect(agentry.review.recordEvaluation({ taskId: MISSING as TasksId, testability: '5' })).rejects.toMatchObject({
      kind: 'foreign_key',
      constraint: 'fk_evaluations_task_id',
    });
    await expect(agentry.review.recordEvaluation({ taskId: task.id, security: 'high' })).rejects.toThrow(ValidationError);
    await expect(agentry.review.recordEvaluation({ taskId: task.id, security: 8 as unknown as string })).rejects.toThrow(ValidationError);
  });
});

describe('listCheckpoints / listPendingCheckpoints', () => {
  it("lists a task's checkpoints oldest first", async () => {
    const task = await taskIn('running');
    const first = await agentry.review.openCheckpoint(task.id, task.version);
    await agentry.review.decideCheckpoint(first.checkpoint.id, 'approve', null);
    // checkpoint -> running again, then a second checkpoint
    await db.pool.query(`UPDATE agentry.tasks SET status = 'running' WHERE id = $1`, [task.id]);
    const second = await agentry.review.openCheckpoint(task.id, first.task.version + 1);
    const listed = await agentry.review.listCheckpoints(task.id);
    expect(listed.map((c) => [c.id, c.status])).toEqual([
      [first.checkpoint.id, 'approved'],
      [second.checkpoint.id, 'pending_review'],
    ]);
    await expect(agentry.review.listCheckpoints('x' as TasksId)).rejects.toThrow(ValidationError);
  });

  it('lists the review queue: pending only, longest waiting first, at most limit', async () => {
    const a = await openOn();
    const b = await openOn();
    const decided = await openOn();
    await agentry.review.decideCheckpoint(decided.checkpoint.id, 'approve', null);
    const queue = await agentry.review.listPendingCheckpoints(1000);
    expect(queue.every((c) => c.status === 'pending_review')).toBe(true);
    const ids = queue.map((c) => c.id);
    expect(ids).not.toContain(decided.checkpoint.id);
    expect(ids.indexOf(a.checkpoint.id)).toBeLessThan(ids.indexOf(b.checkpoint.id));
    expect(ids.indexOf(a.checkpoint.id)).toBeGreaterThanOrEqual(0);
    expect(await agentry.review.listPendingCheckpoints(1)).toHaveLength(1);
    await expect(agentry.review.listPendingCheckpoints(0)).rejects.toThrow(ValidationError);
  });
});
