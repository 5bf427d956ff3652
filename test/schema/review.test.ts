import { randomUUID } from 'node:crypto';

import type pg from 'pg';
import { describe, expect, it } from 'vitest';

import { useTestDatabase } from '../helpers/db.js';
import { accepted, errorOf, expectRefused, SQLSTATE } from './support.js';

// Review context (migrations/1764547205000_review.sql): checkpoints, the
// corrections they ask for, and evaluations with the generated overall_score.

const db = useTestDatabase();

const BCRYPT = `$2b$12$${'a'.repeat(53)}`;

async function newTask(title = 'review fixture'): Promise<string> {
  const [row] = await accepted<{ id: string }>(db.pool, 'INSERT INTO agentry.tasks (title) VALUES ($1) RETURNING id', [title]);
  return row!.id;
}

async function newUser(): Promise<string> {
  const name = `reviewer_${randomUUID().slice(0, 8)}`;
  const [row] = await accepted<{ id: string }>(
    db.pool,
    'INSERT INTO agentry.users (username, email, password_hash) VALUES ($1, $2, $3) RETURNING id',
    [name, `${name}@example.com`, BCRYPT],
  );
  return row!.id;
}

async function newCheckpoint(taskId: string): Promise<string> {
  const [row] = await accepted<{ id: string }>(db.pool, 'INSERT INTO agentry.checkpoints (task_id) VALUES ($1) RETURNING id', [taskId]);
  return row!.id;
}

async function count(sql: string, params: unknown[]): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>(sql, params);
  return Number(rows[0]!.n);
}

/**
 * A CHECK that can never be the first one PostgreSQL reports (CHECKs run in
 * name order and a broader one refuses the same rows first) is shown to work
 * on its own: inside a transaction that is rolled back, the broader CHECKs are
 * dropped, the statement must be refused by `constraint`, and nothing is left.
 */
async function refusedInIsolation(
  table: string,
  drop: string[],
  sql: string,
  params: unknown[],
  constraint: string,
): Promise<void> {
  const before = await count(`SELECT count(*) AS n FROM agentry.${table}`, []);
  const client: pg.PoolClient = await db.pool.connect();
  try {
    await client.query('BEGIN');
    for (const name of drop) await client.query(`ALTER TABLE agentry.${table} DROP CONSTRAINT ${name}`);
    const error = await errorOf(client, sql, params);
    expect(error.constraint, error.message).toBe(constraint);
    expect(error.code).toBe(SQLSTATE.checkViolation);
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
  expect(await count(`SELECT count(*) AS n FROM agentry.${table}`, [])).toBe(before);
  // The dropped CHECKs are back.
  expect(await count(`SELECT count(*) AS n FROM pg_constraint WHERE conrelid = $1::regclass AND conname = ANY($2)`, [`agentry.${table}`, drop])).toBe(
    drop.length,
  );
}

describe('checkpoints', () => {
  it('inserts a pending checkpoint with the defaults (pending_review, no decision, no review time)', async () => {
    const task = await newTask();
    const [row] = await accepted(db.pool, 'INSERT INTO agentry.checkpoints (task_id) VALUES ($1) RETURNING *', [task]);
    expect(row).toMatchObject({ status: 'pending_review', user_decision: null, reviewed_at: null, subtasks_completed: [] });
  });

  describe('chk_checkpoints_decision_consistent', () => {
    const statuses = ['pending_review', 'approved', 'corrected', 'rejected'] as const;
    const decisions = [null, 'approve', 'correct', 'reject'] as const;
    const matching: Record<(typeof statuses)[number], (typeof decisions)[number]> = {
      pending_review: null,
      approved: 'approve',
      corrected: 'correct',
      rejected: 'reject',
    };

    // Every (status, user_decision, reviewed_at present?) combination. The
    // trigger fills status and reviewed_at only for a decision on a
    // pending_review row, so rows given a non-pending status are checked as written.
    for (const status of statuses) {
      for (const decision of decisions) {
        for (const reviewed of [false, true]) {
          const viaTrigger = status === 'pending_review' && decision !== null;
          const good = viaTrigger || (matching[status] === decision && reviewed === (status !== 'pending_review'));
          it(`${good ? 'accepts' : 'refuses'} status=${status}, user_decision=${decision ?? 'NULL'}, reviewed_at ${reviewed ? 'set' : 'NULL'}`, async () => {
            const task = await newTask();
            const sql = `INSERT INTO agentry.checkpoints (task_id, status, user_decision, reviewed_at)
                         VALUES ($1, $2, $3, CASE WHEN $4::boolean THEN now() END) RETURNING status, user_decision, reviewed_at`;
            const params = [task, status, decision, reviewed];
            if (good) {
              const [row] = await accepted<{ status: string; user_decision: string | null; reviewed_at: Date | null }>(db.pool, sql, params);
              if (viaTrigger) {
                expect(row!.status).toBe(Object.entries(matching).find(([, d]) => d === decision)![0]);
                expect(row!.reviewed_at).toBeInstanceOf(Date);
              } else {
                expect(row!.status).toBe(status);
              }
            } else {
              await expectRefused(db.pool, sql, params, { constraint: 'chk_checkpoints_decision_consistent', table: 'checkpoints' });
            }
          });
        }
      }
    }

    it('refuses an UPDATE that sets a status without a decision', async () => {
      const id = await newCheckpoint(await newTask());
      await expectRefused(db.pool, `UPDATE agentry.checkpoints SET status = 'approved', reviewed_at = now() WHERE id = $1`, [id], {
        constraint: 'chk_checkpoints_decision_consistent',
        table: 'checkpoints',
      });
      const [row] = await accepted(db.pool, 'SELECT status FROM agentry.checkpoints WHERE id = $1', [id]);
      expect(row!.status).toBe('pending_review');
    });
  });

  it('chk_checkpoints_status and chk_checkpoints_user_decision refuse unknown values (each on its own)', async () => {
    const task = await newTask();
    // With chk_checkpoints_decision_consistent in place an unknown value is refused by it first.
    await expectRefused(db.pool, `INSERT INTO agentry.checkpoints (task_id, status) VALUES ($1, 'archived')`, [task], {
      constraint: 'chk_checkpoints_decision_consistent',
      table: 'checkpoints',
    });
    await refusedInIsolation(
      'checkpoints',
      ['chk_checkpoints_decision_consistent'],
      `INSERT INTO agentry.checkpoints (task_id, status) VALUES ($1, 'archived')`,
      [task],
      'chk_checkpoints_status',
    );
    await refusedInIsolation(
      'checkpoints',
      ['chk_checkpoints_decision_consistent'],
      `INSERT INTO agentry.checkpoints (task_id, user_decision) VALUES ($1, 'maybe')`,
      [task],
      'chk_checkpoints_user_decision',
    );
  });

  describe('chk_checkpoints_subtasks_completed_uuid_array', () => {
    const good: unknown[] = [[], [randomUUID()], [randomUUID(), randomUUID().toUpperCase()]];
    const bad: unknown[] = [
      {},
      'not-an-array',
      null,
      [1, 2],
      ['not-a-uuid'],
      [randomUUID(), 42],
      [{ id: randomUUID() }],
      [`{${randomUUID()}}`],
      [`${randomUUID()}0`],
    ];
    for (const value of good) {
      it(`accepts ${JSON.stringify(value)}`, async () => {
        const task = await newTask();
        const [row] = await accepted(
          db.pool,
          'INSERT INTO agentry.checkpoints (task_id, subtasks_completed) VALUES ($1, $2::jsonb) RETURNING subtasks_completed',
          [task, JSON.stringify(value)],
        );
        expect(row!.subtasks_completed).toEqual(value);
      });
    }
    for (const value of bad) {
      it(`refuses ${JSON.stringify(value)}`, async () => {
        const task = await newTask();
        await expectRefused(
          db.pool,
          'INSERT INTO agentry.checkpoints (task_id, subtasks_completed) VALUES ($1, $2::jsonb)',
          [task, JSON.stringify(value)],
          { constraint: 'chk_checkpoints_subtasks_completed_uuid_array', table: 'checkpoints' },
        );
      });
    }
  });

  it('chk_checkpoints_reviewed_after_triggered refuses a review before the checkpoint was triggered', async () => {
    const task = await newTask();
    await accepted(
      db.pool,
      `INSERT INTO agentry.checkpoints (task_id, status, user_decision, triggered_at, reviewed_at)
       VALUES ($1, 'approved', 'approve', '2030-01-01T10:00:00Z', '2030-01-01T10:00:00Z')`,
      [task],
    );
    await expectRefused(
      db.pool,
      `INSERT INTO agentry.checkpoints (task_id, status, user_decision, triggered_at, reviewed_at)
       VALUES ($1, 'approved', 'approve', '2030-01-01T10:00:00Z', '2030-01-01T09:59:59Z')`,
      [task],
      { constraint: 'chk_checkpoints_reviewed_after_triggered', table: 'checkpoints' },
    );
    // A decision taken now on a checkpoint triggered in the future: the stamped reviewed_at is too early.
    await expectRefused(
      db.pool,
      `INSERT INTO agentry.checkpoints (task_id, user_decision, triggered_at) VALUES ($1, 'approve', now() + interval '1 day')`,
      [task],
      { constraint: 'chk_checkpoints_reviewed_after_triggered', table: 'checkpoints' },
    );
  });

  describe('trg_checkpoints_decision', () => {
    for (const [decision, status] of [
      ['approve', 'approved'],
      ['correct', 'corrected'],
      ['reject', 'rejected'],
    ] as const) {
      it(`a decision '${decision}' on a pending checkpoint sets status ${status} and reviewed_at`, async () => {
        const id = await newCheckpoint(await newTask());
        const [row] = await accepted<{ status: string; reviewed_at: Date; triggered_at: Date; is_now: boolean }>(
          db.pool,
          `UPDATE agentry.checkpoints SET user_decision = $2, decision_notes = 'looked at it' WHERE id = $1
           RETURNING status, reviewed_at, triggered_at, reviewed_at = now() AS is_now`,
          [id, decision],
        );
        expect(row!.status).toBe(status);
        expect(row!.is_now).toBe(true);
        expect(row!.reviewed_at.getTime()).toBeGreaterThanOrEqual(row!.triggered_at.getTime());
      });
    }

    it('keeps a reviewed_at given with the decision', async () => {
      const id = await newCheckpoint(await newTask());
      const [row] = await accepted<{ status: string; reviewed_at: Date }>(
        db.pool,
        `UPDATE agentry.checkpoints SET user_decision = 'reject', reviewed_at = now() + interval '1 hour' WHERE id = $1
         RETURNING status, reviewed_at`,
        [id],
      );
      expect(row!.status).toBe('rejected');
      expect(row!.reviewed_at.getTime()).toBeGreaterThan(Date.now() + 30 * 60_000);
    });

    it('a decided checkpoint cannot be re-decided, reopened or have its status changed (AG005)', async () => {
      const id = await newCheckpoint(await newTask());
      await accepted(db.pool, `UPDATE agentry.checkpoints SET user_decision = 'approve' WHERE id = $1`, [id]);
      for (const [sql, params] of [
        [`UPDATE agentry.checkpoints SET user_decision = 'reject' WHERE id = $1`, [id]],
        [`UPDATE agentry.checkpoints SET user_decision = NULL, status = 'pending_review', reviewed_at = NULL WHERE id = $1`, [id]],
        [`UPDATE agentry.checkpoints SET status = 'rejected' WHERE id = $1`, [id]],
        [`UPDATE agentry.checkpoints SET user_decision = 'correct', status = 'corrected' WHERE id = $1`, [id]],
      ] as const) {
        await expectRefused(db.pool, sql, [...params], {
          constraint: 'trg_checkpoints_decision',
          code: SQLSTATE.decisionFinal,
          table: 'checkpoints',
          message: /already decided/,
        });
      }
      const [row] = await accepted(db.pool, 'SELECT status, user_decision FROM agentry.checkpoints WHERE id = $1', [id]);
      expect(row).toMatchObject({ status: 'approved', user_decision: 'approve' });
      // Notes may still be added; setting the same decision again is no change.
      await accepted(db.pool, `UPDATE agentry.checkpoints SET decision_notes = 'ship it', user_decision = 'approve' WHERE id = $1`, [id]);
    });
  });

  describe('foreign keys', () => {
    it('fk_checkpoints_task_id: refuses an unknown task, and deleting the task deletes its checkpoints', async () => {
      await expectRefused(db.pool, 'INSERT INTO agentry.checkpoints (task_id) VALUES ($1)', [randomUUID()], {
        constraint: 'fk_checkpoints_task_id',
        table: 'checkpoints',
      });
      const task = await newTask();
      const id = await newCheckpoint(task);
      await accepted(db.pool, 'DELETE FROM agentry.tasks WHERE id = $1', [task]);
      expect(await count('SELECT count(*) AS n FROM agentry.checkpoints WHERE id = $1', [id])).toBe(0);
    });

    it('fk_checkpoints_reviewed_by: refuses an unknown user, and deleting the reviewer keeps the decided checkpoint with reviewed_by NULL', async () => {
      const task = await newTask();
      await expectRefused(db.pool, 'INSERT INTO agentry.checkpoints (task_id, reviewed_by) VALUES ($1, $2)', [task, randomUUID()], {
        constraint: 'fk_checkpoints_reviewed_by',
        table: 'checkpoints',
      });
      const user = await newUser();
      const [cp] = await accepted<{ id: string }>(
        db.pool,
        `INSERT INTO agentry.checkpoints (task_id, reviewed_by, user_decision) VALUES ($1, $2, 'approve') RETURNING id`,
        [task, user],
      );
      // The SET NULL action is an UPDATE of a decided checkpoint: trg_checkpoints_decision must let it through.
      await accepted(db.pool, 'DELETE FROM agentry.users WHERE id = $1', [user]);
      const [row] = await accepted(db.pool, 'SELECT reviewed_by, status, user_decision FROM agentry.checkpoints WHERE id = $1', [cp!.id]);
      expect(row).toMatchObject({ reviewed_by: null, status: 'approved', user_decision: 'approve' });
    });
  });
});

describe('corrections', () => {
  async function fixture(): Promise<{ task: string; checkpoint: string }> {
    const task = await newTask();
    return { task, checkpoint: await newCheckpoint(task) };
  }
  const insert = `INSERT INTO agentry.corrections (checkpoint_id, task_id, correction_type, guidance, reference_files, result, retry_count, resolved_at, created_at)
                  VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8::timestamptz, coalesce($9::timestamptz, now())) RETURNING *`;
  const row = (f: { task: string; checkpoint: string }, over: Partial<Record<string, unknown>> = {}): unknown[] => {
    const v = {
      correction_type: 'bug',
      guidance: 'Handle the empty list',
      reference_files: '["src/list.ts", {"path": "docs/lists.md", "note": "edge cases"}]',
      result: 'pending',
      retry_count: 0,
      resolved_at: null,
      created_at: null,
      ...over,
    };
    return [f.checkpoint, f.task, v.correction_type, v.guidance, v.reference_files, v.result, v.retry_count, v.resolved_at, v.created_at];
  };

  it('inserts a good correction with the defaults', async () => {
    const f = await fixture();
    const [r] = await accepted(
      db.pool,
      `INSERT INTO agentry.corrections (checkpoint_id, task_id, correction_type, guidance) VALUES ($1, $2, 'style', 'Use camelCase') RETURNING *`,
      [f.checkpoint, f.task],
    );
    expect(r).toMatchObject({ result: 'pending', retry_count: 0, apply_to_future: false, resolved_at: null, reference_files: [] });
    const [full] = await accepted(db.pool, insert, row(f));
    expect(full!.reference_files).toHaveLength(2);
  });

  for (const t of ['wrong_approach', 'incomplete', 'bug', 'style', 'missing_feature', 'other']) {
    it(`chk_corrections_correction_type accepts ${t}`, async () => {
      const f = await fixture();
      await accepted(db.pool, insert, row(f, { correction_type: t }));
    });
  }

  const refusals: Array<[string, Partial<Record<string, unknown>>]> = [
    ['chk_corrections_correction_type', { correction_type: 'typo' }],
    ['chk_corrections_guidance_not_blank', { guidance: '' }],
    ['chk_corrections_guidance_not_blank', { guidance: ' \t ' }],
    ['chk_corrections_reference_files_array', { reference_files: '{"path": "a.ts"}' }],
    ['chk_corrections_reference_files_array', { reference_files: '"a.ts"' }],
    // With resolved_at set, chk_corrections_resolution holds and the vocabulary check speaks.
    ['chk_corrections_result', { result: 'done', resolved_at: '2030-01-01T00:00:00Z', created_at: '2029-12-31T00:00:00Z' }],
    ['chk_corrections_retry_count_nonnegative', { retry_count: -1 }],
    ['chk_corrections_resolved_after_created', { result: 'applied', created_at: '2030-01-02T00:00:00Z', resolved_at: '2030-01-01T00:00:00Z' }],
  ];
  for (const [constraint, over] of refusals) {
    it(`${constraint} refuses ${JSON.stringify(over)}`, async () => {
      const f = await fixture();
      await expectRefused(db.pool, insert, row(f, over), { constraint, table: 'corrections' });
    });
  }

  describe('chk_corrections_resolution: resolved_at is set exactly when the result is not pending', () => {
    const cases: Array<[string, boolean, boolean]> = [
      ['pending', false, true],
      ['pending', true, false],
      ['applied', true, true],
      ['applied', false, false],
      ['failed', true, true],
      ['failed', false, false],
    ];
    for (const [result, resolved, good] of cases) {
      it(`${good ? 'accepts' : 'refuses'} result=${result} with resolved_at ${resolved ? 'set' : 'NULL'}`, async () => {
        const f = await fixture();
        const params = row(f, { result, resolved_at: resolved ? new Date(Date.now() + 1000).toISOString() : null });
        if (good) await accepted(db.pool, insert, params);
        else await expectRefused(db.pool, insert, params, { constraint: 'chk_corrections_resolution', table: 'corrections' });
      });
    }

    it('resolving a pending correction later needs both result and resolved_at', async () => {
      const f = await fixture();
      const [c] = await accepted<{ id: string }>(db.pool, insert, row(f));
      await expectRefused(db.pool, `UPDATE agentry.corrections SET result = 'applied' WHERE id = $1`, [c!.id], {
        constraint: 'chk_corrections_resolution',
        table: 'corrections',
      });
      const [done] = await accepted(db.pool, `UPDATE agentry.corrections SET result = 'applied', resolved_at = now() WHERE id = $1 RETURNING result`, [
        c!.id,
      ]);
      expect(done!.result).toBe('applied');
    });
  });

  it('fk_corrections_checkpoint_id: refuses an unknown checkpoint; deleting the checkpoint deletes its corrections', async () => {
    const f = await fixture();
    await expectRefused(db.pool, insert, row({ ...f, checkpoint: randomUUID() }), { constraint: 'fk_corrections_checkpoint_id', table: 'corrections' });
    const [c] = await accepted<{ id: string }>(db.pool, insert, row(f));
    await accepted(db.pool, 'DELETE FROM agentry.checkpoints WHERE id = $1', [f.checkpoint]);
    expect(await count('SELECT count(*) AS n FROM agentry.corrections WHERE id = $1', [c!.id])).toBe(0);
    expect(await count('SELECT count(*) AS n FROM agentry.tasks WHERE id = $1', [f.task])).toBe(1);
  });

  it('fk_corrections_task_id: refuses an unknown task; deleting the reworked subtask deletes the correction but not the checkpoint', async () => {
    const f = await fixture();
    await expectRefused(db.pool, insert, row({ ...f, task: randomUUID() }), { constraint: 'fk_corrections_task_id', table: 'corrections' });
    const [sub] = await accepted<{ id: string }>(db.pool, 'INSERT INTO agentry.tasks (title, parent_task_id) VALUES ($1, $2) RETURNING id', [
      'subtask',
      f.task,
    ]);
    const [c] = await accepted<{ id: string }>(db.pool, insert, row({ ...f, task: sub!.id }));
    await accepted(db.pool, 'DELETE FROM agentry.tasks WHERE id = $1', [sub!.id]);
    expect(await count('SELECT count(*) AS n FROM agentry.corrections WHERE id = $1', [c!.id])).toBe(0);
    expect(await count('SELECT count(*) AS n FROM agentry.checkpoints WHERE id = $1', [f.checkpoint])).toBe(1);
  });

  it('deleting the task deletes its checkpoints, their corrections and its evaluations', async () => {
    const f = await fixture();
    const [c] = await accepted<{ id: string }>(db.pool, insert, row(f));
    const [e] = await accepted<{ id: string }>(db.pool, 'INSERT INTO agentry.evaluations (task_id, security) VALUES ($1, 7) RETURNING id', [f.task]);
    await accepted(db.pool, 'DELETE FROM agentry.tasks WHERE id = $1', [f.task]);
    expect(await count('SELECT count(*) AS n FROM agentry.checkpoints WHERE id = $1', [f.checkpoint])).toBe(0);
    expect(await count('SELECT count(*) AS n FROM agentry.corrections WHERE id = $1', [c!.id])).toBe(0);
    expect(await count('SELECT count(*) AS n FROM agentry.evaluations WHERE id = $1', [e!.id])).toBe(0);
  });
});

describe('evaluations', () => {
  const SCORES = ['security', 'code_quality', 'completeness', 'architecture', 'testability'] as const;
  type Score = (typeof SCORES)[number];
  // Seed 001's weights, in halves so that the expected value is computed exactly.
  const HALF_WEIGHTS: Record<Score, number> = { security: 4, code_quality: 3, completeness: 3, architecture: 2, testability: 2 };

  /** Seed 001's weighted mean over the present scores, rounded to one decimal (half away from zero), as text. */
  function expectedOverall(scores: Partial<Record<Score, number>>): string | null {
    let numerator = 0; // in twentieths: half-weights times tenths
    let denominator = 0;
    for (const name of SCORES) {
      const value = scores[name];
      if (value === undefined) continue;
      numerator += HALF_WEIGHTS[name] * Math.round(value * 10);
      denominator += HALF_WEIGHTS[name];
    }
    if (denominator === 0) return null;
    const tenths = Math.floor((2 * numerator + denominator) / (2 * denominator));
    return (tenths / 10).toFixed(1);
  }

  async function insertScores(scores: Partial<Record<Score, number>>): Promise<{ id: string; overall_score: string | null }> {
    const task = await newTask();
    const [row] = await accepted<{ id: string; overall_score: string | null }>(
      db.pool,
      `INSERT INTO agentry.evaluations (task_id, security, code_quality, completeness, architecture, testability)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, overall_score`,
      [task, ...SCORES.map((s) => scores[s] ?? null)],
    );
    return row!;
  }

  const combinations: Array<Partial<Record<Score, number>>> = [
    { security: 7 },
    { testability: 3.5 },
    { code_quality: 10 },
    { architecture: 0 },
    { security: 10, code_quality: 10, completeness: 10, architecture: 10, testability: 10 },
    { security: 0, code_quality: 0, completeness: 0, architecture: 0, testability: 0 },
    { security: 8, code_quality: 7, completeness: 9, architecture: 6, testability: 5 },
    { security: 9.5, code_quality: 6.3, completeness: 7.7, architecture: 4.1, testability: 8.8 },
    { security: 10, testability: 0 },
    { security: 0, code_quality: 10 },
    { completeness: 9, architecture: 4 },
    { code_quality: 7.5, testability: 2.5 },
    { security: 6.1, architecture: 6.2 },
    { security: 1, code_quality: 2, completeness: 3 },
    { code_quality: 0.1, completeness: 0.2, architecture: 0.3, testability: 0.4 },
    // Exact ties round half away from zero: 0.15 -> 0.2, 9.95 -> 10.0.
    { architecture: 0.1, testability: 0.2 },
    { architecture: 9.9, testability: 10 },
  ];
  for (const scores of combinations) {
    const expected = expectedOverall(scores);
    it(`overall_score of ${JSON.stringify(scores)} is the weighted mean ${expected}`, async () => {
      const row = await insertScores(scores);
      expect(row.overall_score).toBe(expected);
    });
  }

  it('the expected-value helper agrees with hand-computed means', () => {
    // (8*2 + 7*1.5 + 9*1.5 + 6 + 5) / 7 = 51 / 7 = 7.285...
    expect(expectedOverall({ security: 8, code_quality: 7, completeness: 9, architecture: 6, testability: 5 })).toBe('7.3');
    // (7.5*1.5 + 2.5*1) / 2.5 = 13.75 / 2.5 = 5.5
    expect(expectedOverall({ code_quality: 7.5, testability: 2.5 })).toBe('5.5');
    // (6.1*2 + 6.2*1) / 3 = 18.4 / 3 = 6.133...
    expect(expectedOverall({ security: 6.1, architecture: 6.2 })).toBe('6.1');
    expect(expectedOverall({ architecture: 0.1, testability: 0.2 })).toBe('0.2');
    expect(expectedOverall({ architecture: 9.9, testability: 10 })).toBe('10.0');
    // (10*2 + 0*1) / 3 = 6.666...
    expect(expectedOverall({ security: 10, testability: 0 })).toBe('6.7');
    // (0*2 + 10*1.5) / 3.5 = 4.2857...
    expect(expectedOverall({ security: 0, code_quality: 10 })).toBe('4.3');
  });

  it('overall_score follows an UPDATE of the scores and cannot be written', async () => {
    const row = await insertScores({ security: 4 });
    expect(row.overall_score).toBe('4.0');
    const [updated] = await accepted<{ overall_score: string }>(
      db.pool,
      'UPDATE agentry.evaluations SET testability = 10 WHERE id = $1 RETURNING overall_score',
      [row.id],
    );
    expect(updated!.overall_score).toBe(expectedOverall({ security: 4, testability: 10 }));
    const error = await errorOf(db.pool, 'UPDATE agentry.evaluations SET overall_score = 9 WHERE id = $1', [row.id]);
    expect(error.code).toBe('428C9'); // generated_always
    const task = await newTask();
    const insertError = await errorOf(db.pool, 'INSERT INTO agentry.evaluations (task_id, security, overall_score) VALUES ($1, 5, 5)', [task]);
    expect(insertError.code).toBe('428C9');
  });

  const RANGE_CHECKS: Record<Score, string> = {
    security: 'chk_evaluations_security_range',
    code_quality: 'chk_evaluations_code_quality_range',
    completeness: 'chk_evaluations_completeness_range',
    architecture: 'chk_evaluations_architecture_range',
    testability: 'chk_evaluations_testability_range',
  };
  for (const score of SCORES) {
    const constraint = RANGE_CHECKS[score];
    it(`${constraint}: 0 and 10 are accepted, -0.1 and 10.1 refused`, async () => {
      expect((await insertScores({ [score]: 0 })).overall_score).toBe('0.0');
      expect((await insertScores({ [score]: 10 })).overall_score).toBe('10.0');
      for (const bad of [-0.1, 10.1, 99.9]) {
        const task = await newTask();
        await expectRefused(db.pool, `INSERT INTO agentry.evaluations (task_id, ${score}) VALUES ($1, $2)`, [task, bad], {
          constraint,
          table: 'evaluations',
        });
      }
    });
  }

  it('chk_evaluations_has_score refuses an evaluation without any score', async () => {
    const task = await newTask();
    await expectRefused(db.pool, `INSERT INTO agentry.evaluations (task_id, details) VALUES ($1, '{"note": "nothing measured"}')`, [task], {
      constraint: 'chk_evaluations_has_score',
      table: 'evaluations',
    });
    const row = await insertScores({ completeness: 5 });
    await expectRefused(db.pool, 'UPDATE agentry.evaluations SET completeness = NULL WHERE id = $1', [row.id], {
      constraint: 'chk_evaluations_has_score',
      table: 'evaluations',
    });
  });

  it('chk_evaluations_details_object accepts an object or NULL, refuses an array', async () => {
    const task = await newTask();
    await accepted(db.pool, `INSERT INTO agentry.evaluations (task_id, security, details) VALUES ($1, 5, '{"lint": {"errors": 0}}')`, [task]);
    await accepted(db.pool, `INSERT INTO agentry.evaluations (task_id, security, details) VALUES ($1, 5, NULL)`, [task]);
    await expectRefused(db.pool, `INSERT INTO agentry.evaluations (task_id, security, details) VALUES ($1, 5, '["lint"]')`, [task], {
      constraint: 'chk_evaluations_details_object',
      table: 'evaluations',
    });
  });

  it('fk_evaluations_task_id: refuses an unknown task; deleting the task deletes its evaluations', async () => {
    await expectRefused(db.pool, 'INSERT INTO agentry.evaluations (task_id, security) VALUES ($1, 5)', [randomUUID()], {
      constraint: 'fk_evaluations_task_id',
      table: 'evaluations',
    });
    const task = await newTask();
    await accepted(db.pool, 'INSERT INTO agentry.evaluations (task_id, security) VALUES ($1, 5), ($1, 6)', [task]);
    await accepted(db.pool, 'DELETE FROM agentry.tasks WHERE id = $1', [task]);
    expect(await count('SELECT count(*) AS n FROM agentry.evaluations WHERE task_id = $1', [task])).toBe(0);
  });
});
