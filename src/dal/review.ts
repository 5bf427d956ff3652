import { z } from 'zod';

import {
  checkpointsSchema,
  correctionsInitializerSchema,
  correctionsSchema,
  evaluationsInitializerSchema,
  tasksSchema,
  type Checkpoints,
  type CheckpointsId,
  type Corrections,
  type CorrectionsId,
  type Evaluations,
  type Tasks,
  type TasksId,
  type UsersId,
} from '../../generated/index.js';
import { ConflictError, NotFound, parseInput } from './errors.js';
import type { Executor } from './executor.js';
import { jsonText, jsonTextOrNull } from './values.js';
import { missedTaskUpdateError } from './work.js';

/**
 * The review context: human checkpoints on running tasks, the corrections a
 * reviewer asks for, and automated evaluations of a task's output.
 *
 * The database holds the rules: the task state machine
 * (trg_tasks_status_transition), the decision being final and deriving the
 * status (trg_checkpoints_decision), the learning record of a correction
 * (trg_corrections_learn_insert), score ranges and overall_score. This module
 * validates shapes, runs the statements and lets the mapped errors through.
 * Scores are numeric(3,1) and travel as strings ('8.5'), like every numeric.
 */

const taskIdSchema = tasksSchema.shape.id;
const checkpointIdSchema = checkpointsSchema.shape.id;
const correctionIdSchema = correctionsSchema.shape.id;
const decisionSchema = checkpointsSchema.shape.user_decision.unwrap();

const openCheckpointSchema = z.object({
  taskId: taskIdSchema,
  expectedVersion: tasksSchema.shape.version.int().nonnegative(),
  subtasksCompleted: checkpointsSchema.shape.subtasks_completed,
});

const decideCheckpointSchema = z.object({
  checkpointId: checkpointIdSchema,
  decision: decisionSchema,
  notes: checkpointsSchema.shape.decision_notes,
  reviewedBy: checkpointsSchema.shape.reviewed_by,
});

const correctionShape = correctionsInitializerSchema.shape;
const addCorrectionSchema = z.object({
  checkpointId: correctionShape.checkpoint_id,
  taskId: correctionShape.task_id,
  correctionType: correctionShape.correction_type,
  guidance: correctionShape.guidance,
  referenceFiles: correctionShape.reference_files.unwrap().default([]),
  applyToFuture: correctionShape.apply_to_future.unwrap().default(false),
});

const resolveCorrectionSchema = z.object({
  correctionId: correctionIdSchema,
  result: correctionsSchema.shape.result,
});

const evaluationShape = evaluationsInitializerSchema.shape;
const recordEvaluationSchema = z.object({
  taskId: evaluationShape.task_id,
  codeQuality: evaluationShape.code_quality,
  completeness: evaluationShape.completeness,
  security: evaluationShape.security,
  architecture: evaluationShape.architecture,
  testability: evaluationShape.testability,
  details: evaluationShape.details,
});

const listLimitSchema = z.number().int().min(1).max(1000);

export type CheckpointDecision = z.infer<typeof decisionSchema>;
export type CorrectionResult = Corrections['result'];

export interface AddCorrectionInput {
  checkpointId: CheckpointsId;
  /** The (sub)task to rework. */
  taskId: TasksId;
  correctionType: Corrections['correction_type'];
  guidance: string;
  /** Paths or links: strings or { path | url, note } objects. Default []. */
  referenceFiles?: Corrections['reference_files'];
  /** Record the guidance as a learning experience for the task's agent or type. Default false. */
  applyToFuture?: boolean;
}

/** Scores 0..10 with one decimal, as numeric strings ('8.5'); at least one is required (chk_evaluations_has_score). */
export interface RecordEvaluationInput {
  taskId: TasksId;
  codeQuality?: string | null;
  completeness?: string | null;
  security?: string | null;
  architecture?: string | null;
  testability?: string | null;
  details?: Record<string, unknown> | null;
}

export interface OpenedCheckpoint {
  checkpoint: Checkpoints;
  /** The task now in status checkpoint, with its new version for the next optimistic update. */
  task: Tasks;
}

export const reviewModule = (db: Executor) => {
  return {
    /**
     * Opens a checkpoint on a running task and moves the task to status
     * checkpoint, both in one transaction, if the task is still at
     * expectedVersion. Throws NotFound (no such task), ConflictError
     * (version_mismatch: re-read the task), IllegalTransition (the task is not
     * running), ValidationError (ids not uuids).
     */
    async openCheckpoint(taskId: TasksId, expectedVersion: number, subtasksCompleted: readonly string[] = []): Promise<OpenedCheckpoint> {
      const input = parseInput(openCheckpointSchema, { taskId, expectedVersion, subtasksCompleted }, 'checkpoint');
      return db.transaction(async (tx) => {
        const [task] = await tx.query<Tasks>('review.move_task_to_checkpoint', [input.taskId, input.expectedVersion]);
        if (!task) throw await missedTaskUpdateError(tx, input.taskId, input.expectedVersion, 'checkpoint', 'review.move_task_to_checkpoint');
        // jsonb parameter: node-postgres would send a JS array as a PostgreSQL array literal.
        const [checkpoint] = await tx.query<Checkpoints>('review.insert_checkpoint', [input.taskId, jsonText(input.subtasksCompleted, 'checkpoint', ['subtasksCompleted'])]);
        return { checkpoint: checkpoint!, task };
      });
    },

    /**
     * Records the reviewer's decision (approve, correct, reject) with notes;
     * the database sets status and reviewed_at. Throws NotFound (no such
     * checkpoint), FinalDecisionViolation (already decided, whatever the new
     * decision), ConstraintViolation (reviewedBy is no user), ValidationError.
     */
    async decideCheckpoint(
      checkpointId: CheckpointsId,
      decision: CheckpointDecision,
      notes: string | null,
      reviewedBy: UsersId | null = null,
    ): Promise<Checkpoints> {
      const input = parseInput(decideCheckpointSchema, { checkpointId, decision, notes, reviewedBy }, 'checkpoint decision');
      const [checkpoint] = await db.query<Checkpoints>('review.decide_checkpoint', [
        input.checkpointId,
        input.decision,
        input.notes,
        input.reviewedBy,
      ]);
      if (!checkpoint) throw new NotFound('checkpoint', input.checkpointId);
      return checkpoint;
    },

    /**
     * Adds a correction to a checkpoint (result pending); with applyToFuture
     * the database also records a learning_experiences row for the task's
     * agent or type. Throws ConstraintViolation (unknown checkpoint or task:
     * foreign_key; blank guidance: check), ValidationError (bad type or shape).
     */
    async addCorrection(input: AddCorrectionInput): Promise<Corrections> {
      const valid = parseInput(addCorrectionSchema, input, 'correction');
      const [correction] = await db.query<Corrections>('review.insert_correction', [
        valid.checkpointId,
        valid.taskId,
        valid.correctionType,
        valid.guidance,
        jsonText(valid.referenceFiles, 'correction', ['referenceFiles']),
        valid.applyToFuture,
      ]);
      return correction!;
    },

    /**
     * Records the outcome of a correction ('applied' or 'failed') and stamps
     * resolved_at. Throws NotFound (no such correction), ConstraintViolation
     * ('pending' cannot be resolved: chk_corrections_resolution), ValidationError.
     */
    async resolveCorrection(correctionId: CorrectionsId, result: CorrectionResult): Promise<Corrections> {
      const input = parseInput(resolveCorrectionSchema, { correctionId, result }, 'correction result');
      const [correction] = await db.query<Corrections>('review.resolve_correction', [input.correctionId, input.result]);
      if (!correction) throw new NotFound('correction', input.correctionId);
      return correction;
    },

    /**
     * Records an evaluation of a task; the row comes back with overall_score,
     * the weighted mean the database computes over the scores given. Throws
     * ConstraintViolation (score outside 0..10, no score at all, unknown
     * task), ValidationError (a score that is not a number).
     */
    async recordEvaluation(input: RecordEvaluationInput): Promise<Evaluations> {
      const valid = parseInput(recordEvaluationSchema, input, 'evaluation');
      const [evaluation] = await db.query<Evaluations>('review.insert_evaluation', [
        valid.taskId,
        valid.codeQuality ?? null,
        valid.completeness ?? null,
        valid.security ?? null,
        valid.architecture ?? null,
        valid.testability ?? null,
        jsonTextOrNull(valid.details, 'evaluation', ['details']),
      ]);
      return evaluation!;
    },

    /** Every checkpoint of a task, oldest first (empty for an unknown task). Throws ValidationError for a malformed id. */
    async listCheckpoints(taskId: TasksId): Promise<Checkpoints[]> {
      const id = parseInput(taskIdSchema, taskId, 'task id');
      return db.query<Checkpoints>('review.list_task_checkpoints', [id]);
    },

    /** The review queue: pending checkpoints, longest waiting first, at most limit (1..1000, default 50). Throws ValidationError for a bad limit. */
    async listPendingCheckpoints(limit = 50): Promise<Checkpoints[]> {
      const max = parseInput(listLimitSchema, limit, 'limit');
      return db.query<Checkpoints>('review.list_pending_checkpoints', [max]);
    },
  };
};
