import { z } from 'zod';

import {
  agentsIdSchema,
  taskStatusSchema,
  tasksIdSchema,
  tasksInitializerSchema,
  tasksMutatorSchema,
  tasksSchema,
  workersIdSchema,
  workflowsIdSchema,
  workflowsInitializerSchema,
  type TaskDependencies,
  type TaskReadiness,
  type TaskStatus,
  type Tasks,
  type TasksId,
  type Workflows,
  type WorkflowsId,
} from '../../generated/index.js';
import { ConflictError, IllegalTransition, NotFound, parseInput } from './errors.js';
import type { Executor } from './executor.js';
import { assertJson, jsonText } from './values.js';

/**
 * The work context: tasks, their dependency graph and hierarchy, the claim
 * queue, the task life cycle and workflows. Every statement is a file in
 * sql/queries/work/; inputs are checked with schemas derived from generated/
 * before any SQL runs (ValidationError); the rules the database holds (state
 * machine, cycles, required input keys, foreign keys, CHECKs) are left to it
 * and come back as the mapped errors (IllegalTransition, CycleViolation,
 * MissingInputKey, ConstraintViolation).
 */

// ---------------------------------------------------------------------------
// Input schemas (derived from the generated ones)
// ---------------------------------------------------------------------------

/**
 * Integer columns refuse fractions here (a type, not a rule); their ranges
 * are the database's named CHECKs (chk_tasks_priority_range, ...), which come
 * back as a ConstraintViolation that names the rule. They are not re-typed
 * here, so there is one copy of each rule.
 */
const prioritySchema = tasksSchema.shape.priority.int();
const maxRetriesSchema = tasksSchema.shape.max_retries.int();
const complexitySchema = tasksSchema.shape.complexity.unwrap().int();
const timeoutSecondsSchema = tasksSchema.shape.timeout_seconds.unwrap().int();
const versionSchema = tasksSchema.shape.version.int().nonnegative();
const limitSchema = z.number().int().min(1).max(10_000);

/** A task is created waiting (pending) or ready to be claimed (queued); every later status is reached by a transition. */
const initialStatusSchema = taskStatusSchema.extract(['pending', 'queued']);

/** What a caller may set on a new task: the rest (version, times, usage, retry state...) belongs to the life cycle. */
export const newTaskSchema = tasksInitializerSchema
  .pick({
    id: true,
    type: true,
    title: true,
    description: true,
    priority: true,
    input: true,
    parameters: true,
    metadata: true,
    max_retries: true,
    retry_policy: true,
    assigned_agent_type: true,
    parent_task_id: true,
    workflow_id: true,
    plan_id: true,
    chain_id: true,
    template_id: true,
    schedule_id: true,
    user_id: true,
    client_id: true,
    capability_required: true,
    routing_strategy: true,
    complexity: true,
    checkpoint_frequency: true,
    privacy_level: true,
    tool_preferences: true,
    recommended_tool: true,
    tags: true,
    timeout_seconds: true,
    expires_at: true,
    estimated_hours: true,
  })
  .extend({
    status: initialStatusSchema.optional(),
    priority: prioritySchema.optional(),
    max_retries: maxRetriesSchema.optional(),
    complexity: complexitySchema.nullable().optional(),
    timeout_seconds: timeoutSecondsSchema.nullable().optional(),
    /** Tasks this one waits for: existing ones, or ones created in the same batch (give those an id). */
    depends_on: z.array(tasksIdSchema).optional(),
  })
  .strict();
export type NewTask = z.input<typeof newTaskSchema>;

/** Columns a transition may change besides the status (work.transition_task lists the same ones). */
export const taskPatchSchema = tasksMutatorSchema
  .pick({
    output: true,
    error_message: true,
    error_details: true,
    last_error: true,
    progress: true,
    metadata: true,
    parameters: true,
    assigned_tool: true,
    recommended_tool: true,
    actual_hours: true,
    worker_id: true,
    agent_id: true,
    cancelled_by: true,
    cancellation_reason: true,
  })
  .strict();
export type TaskPatch = z.input<typeof taskPatchSchema>;

/** Usage of one attempt, added to the task's tokens_used and cost_usd (numeric: a decimal string, never a float). */
export const taskUsageSchema = z
  .object({
    tokens: tasksSchema.shape.tokens_used.int().nonnegative().optional(),
    costUsd: tasksSchema.shape.cost_usd.optional(),
  })
  .strict();
export type TaskUsage = z.input<typeof taskUsageSchema>;

export const claimOptionsSchema = z
  .object({
    /** Recorded as the task's worker_id (NULL when left out). */
    workerId: workersIdSchema.optional(),
    /** Recorded as the task's agent_id (NULL when left out). */
    agentId: agentsIdSchema.optional(),
    /** At most this many tasks (1..10000). */
    batchSize: limitSchema,
    /** Only tasks of these types. */
    types: z.array(tasksSchema.shape.type.unwrap()).min(1).optional(),
    /** Only tasks whose capability_required is this. */
    capability: tasksSchema.shape.capability_required.unwrap().optional(),
    /** Where the claimed tasks go: 'assigned' (default) or straight to 'running'. */
    status: taskStatusSchema.extract(['assigned', 'running']).optional(),
  })
  .strict();
export type ClaimOptions = z.input<typeof claimOptionsSchema>;

export const taskFailureSchema = z
  .object({
    message: tasksSchema.shape.error_message.unwrap().min(1),
    details: tasksSchema.shape.error_details.unwrap().optional(),
    /** false: fail for good, even with retries left (a permanent error). Default true. */
    retryable: z.boolean().optional(),
  })
  .strict();
export type TaskFailure = z.input<typeof taskFailureSchema>;

/**
 * The retry backoff: retry n (1 for the first) waits
 *   fixed        baseSeconds
 *   linear       baseSeconds * n
 *   exponential  baseSeconds * 2^(n-1)
 * and never more than capSeconds. Computed in SQL (work.schedule_retry) from
 * the task's retry_policy and retry_count.
 */
export const retryBackoffSchema = z
  .object({
    baseSeconds: z.number().nonnegative().optional(),
    capSeconds: z.number().nonnegative().optional(),
  })
  .strict();
export type RetryBackoff = z.input<typeof retryBackoffSchema>;

/** Default backoff: 30 s, 60 s, 120 s, ... (exponential), capped at one hour. */
export const DEFAULT_RETRY_BACKOFF = Object.freeze({ baseSeconds: 30, capSeconds: 3600 });

const failOptionsSchema = z.object({ usage: taskUsageSchema.optional(), backoff: retryBackoffSchema.optional() }).strict();
export type FailOptions = z.input<typeof failOptionsSchema>;

const cancellationSchema = z
  .object({
    reason: tasksSchema.shape.cancellation_reason.unwrap().min(1),
    cancelledBy: tasksSchema.shape.cancelled_by.unwrap().optional(),
  })
  .strict();

/** What a caller may set on a new workflow; status, counters and times are kept by triggers. */
export const newWorkflowSchema = workflowsInitializerSchema
  .pick({ id: true, name: true, description: true, workflow_type: true, initiator: true, user_id: true, metadata: true })
  .strict();
export type NewWorkflow = z.input<typeof newWorkflowSchema>;

const taskIdsSchema = z.array(tasksIdSchema).min(1);

// ---------------------------------------------------------------------------
// Result types (generated types, plus what a statement derives)
// ---------------------------------------------------------------------------

/** A task of a subtask tree with its depth below the root (0 for the root). */
export type SubtaskTreeNode = Tasks & { depth: number };

/** A workflow's counters (kept by the task roll-up triggers) and what follows from them. bigint and numeric are strings. */
export type WorkflowProgress = Pick<
  Workflows,
  | 'id'
  | 'name'
  | 'status'
  | 'total_tasks'
  | 'completed_tasks'
  | 'failed_tasks'
  | 'cancelled_tasks'
  | 'total_tokens_used'
  | 'total_cost_usd'
  | 'started_at'
  | 'completed_at'
  | 'duration_ms'
> & {
  /** Tasks not yet completed, failed, timed out or cancelled. */
  remaining_tasks: number;
  /** Finished tasks (completed, failed, timed out, cancelled) as a percentage of all, numeric(5,2) as a string: "62.50". */
  percent_complete: string;
};

// ---------------------------------------------------------------------------
// The module
// ---------------------------------------------------------------------------

/**
 * After an optimistic-lock update matched nothing: the task is missing
 * (NotFound), was changed by someone else (ConflictError), or already has
 * the status asked for. The last is no move at all: the state machine only
 * judges changes (trg_tasks_status_transition does not fire when the status
 * stays), and task_status_transitions never lists X -> X
 * (chk_task_status_transitions_not_self), so it is reported as the
 * IllegalTransition the trigger raises for any unlisted move.
 */
export async function missedTaskUpdateError(
  executor: Executor,
  id: TasksId,
  expectedVersion: number,
  toStatus: TaskStatus | null,
  query: string,
): Promise<Error> {
  const [current] = await executor.query<Pick<Tasks, 'version' | 'status'>>('work.get_task_version', [id]);
  if (!current) return new NotFound('task', id);
  if (current.version !== expectedVersion || toStatus === null || current.status !== toStatus) {
    return ConflictError.versionMismatch('task', id, expectedVersion);
  }
  const rule = `illegal task status transition: ${toStatus} -> ${toStatus}`;
  return new IllegalTransition(
    { from: toStatus, to: toStatus, taskId: id, retryLimit: undefined },
    { kind: 'trigger', constraint: 'trg_tasks_status_transition', table: 'tasks', columns: ['status'], rule },
    { code: 'AG001', query },
  );
}

/** The work context of the data-access library (see docs/dal.md, "Work"). */
export const workModule = (db: Executor) => {
  /** work.update_task, and the reason when it matched nothing. toStatus null: the status stays. */
  async function runUpdate(
    executor: Executor,
    id: TasksId,
    expectedVersion: number,
    toStatus: TaskStatus | null,
    patch: z.output<typeof taskPatchSchema>,
    usage: z.output<typeof taskUsageSchema>,
  ): Promise<Tasks> {
    const [task] = await executor.query<Tasks>('work.update_task', [
      id,
      expectedVersion,
      toStatus,
      // jsonb parameters go as JSON text: node-postgres would send a JS array as a PostgreSQL array.
      jsonText(patch, 'task patch'),
      usage.tokens ?? 0,
      usage.costUsd ?? '0',
    ]);
    if (!task) throw await missedTaskUpdateError(executor, id, expectedVersion, toStatus, 'work.update_task');
    return task;
  }

  /** One statement for the batch; `single`: one task, whose problems are reported without the batch index. */
  async function insertTasks(tasks: z.output<typeof newTaskSchema>[], what: string, single = false): Promise<Tasks[]> {
    if (tasks.length === 0) return [];
    const text = single ? `[${jsonText(tasks[0], what)}]` : jsonText(tasks, what);
    return db.query<Tasks>('work.create_tasks', [text]);
  }

  /** Parses the id and expected version every life-cycle call takes. */
  function lifecycleArgs(id: unknown, expectedVersion: unknown) {
    return { id: parseInput(tasksIdSchema, id, 'task id'), version: parseInput(versionSchema, expectedVersion, 'expected version') };
  }

  async function createTasks(batch: readonly NewTask[]): Promise<Tasks[]> {
    return insertTasks(parseInput(z.array(newTaskSchema), batch, 'tasks'), 'tasks');
  }

  async function transition(id: TasksId, expectedVersion: number, toStatus: TaskStatus, patch: TaskPatch = {}, usage: TaskUsage = {}): Promise<Tasks> {
    const args = lifecycleArgs(id, expectedVersion);
    const status = parseInput(taskStatusSchema, toStatus, 'status');
    const changes = parseInput(taskPatchSchema, patch, 'task patch');
    const spent = parseInput(taskUsageSchema, usage, 'usage');
    return runUpdate(db, args.id, args.version, status, changes, spent);
  }

  return {
    /** One task by id. Throws NotFound when there is none, ValidationError for a malformed id. */
    async getTask(id: TasksId): Promise<Tasks> {
      const taskId = parseInput(tasksIdSchema, id, 'task id');
      const [task] = await db.query<Tasks>('work.get_task', [taskId]);
      if (!task) throw new NotFound('task', taskId);
      return task;
    },

    /**
     * Creates a task and its dependency edges (depends_on) in one statement:
     * all or nothing. Throws ValidationError before any SQL for bad input;
     * ConstraintViolation (foreign_key) for an unknown dependency, parent,
     * workflow or type; MissingInputKey when input lacks a key its type needs;
     * ConstraintViolation (check) for a rule such as "type, title or description".
     */
    async createTask(input: NewTask): Promise<Tasks> {
      const [task] = await insertTasks([parseInput(newTaskSchema, input, 'task')], 'task', true);
      return task as Tasks;
    },

    /**
     * Creates many tasks and their dependency edges in one statement, all or
     * nothing; tasks of the batch may depend on each other (give them ids).
     * Returns them in input order. Throws like createTask, and CycleViolation
     * when the batch's edges close a cycle.
     */
    createTasks,

    /**
     * Creates a task under parentId (its parent_task_id). Throws like
     * createTask; an unknown parent is a ConstraintViolation (fk_tasks_parent_task_id).
     */
    async createSubtask(parentId: TasksId, input: Omit<NewTask, 'parent_task_id'>): Promise<Tasks> {
      const parent = parseInput(tasksIdSchema, parentId, 'parent task id');
      const task = parseInput(newTaskSchema.omit({ parent_task_id: true }), input, 'subtask');
      const [created] = await insertTasks([{ ...task, parent_task_id: parent }], 'subtask', true);
      return created as Tasks;
    },

    /**
     * Makes taskId wait for each of dependsOnIds (edges already there are
     * kept) and returns the edges added. Throws CycleViolation when an edge
     * would close a cycle (nothing is added), ConstraintViolation for an
     * unknown task or a self edge (chk_task_dependencies_not_self).
     */
    async addDependencies(taskId: TasksId, dependsOnIds: readonly TasksId[]): Promise<TaskDependencies[]> {
      const id = parseInput(tasksIdSchema, taskId, 'task id');
      const dependsOn = parseInput(taskIdsSchema, dependsOnIds, 'dependency ids');
      return db.query<TaskDependencies>('work.add_dependencies', [id, dependsOn]);
    },

    /**
     * Claims up to batchSize ready tasks (queued, every dependency completed),
     * priority 10 first then oldest, with FOR UPDATE SKIP LOCKED so concurrent
     * claimers get disjoint batches; moves them to 'assigned' (or 'running')
     * with worker_id/agent_id set, and returns them in that order (empty when
     * nothing is ready). Throws ValidationError for bad options,
     * ConstraintViolation for an unknown worker or agent.
     */
    async claimReadyTasks(options: ClaimOptions): Promise<Tasks[]> {
      const claim = parseInput(claimOptionsSchema, options, 'claim options');
      return db.query<Tasks>('work.claim_ready_tasks', [
        claim.workerId ?? null,
        claim.agentId ?? null,
        claim.batchSize,
        claim.types ?? null,
        claim.capability ?? null,
        claim.status ?? 'assigned',
      ]);
    },

    /**
     * Moves a task to toStatus while it is still at expectedVersion,
     * applying patch and adding usage; returns the updated task (version + 1).
     * Throws IllegalTransition when the state machine has no such move,
     * ConflictError (version_mismatch) when the task changed since that
     * version, NotFound when there is no such task, ValidationError for bad
     * input. A move to the status the task already has is an IllegalTransition
     * too (use updateTask to change other columns only).
     */
    transition,

    /**
     * Changes a task's other columns (patch) and adds usage without moving its
     * status, under the same version lock: progress reports, metadata. Throws
     * ConflictError for a stale version, NotFound for a missing task,
     * ValidationError for bad input.
     */
    async updateTask(id: TasksId, expectedVersion: number, patch: TaskPatch, usage: TaskUsage = {}): Promise<Tasks> {
      const args = lifecycleArgs(id, expectedVersion);
      const changes = parseInput(taskPatchSchema, patch, 'task patch');
      const spent = parseInput(taskUsageSchema, usage, 'usage');
      return runUpdate(db, args.id, args.version, null, changes, spent);
    },

    /** pending -> queued: ready to be claimed once its dependencies are complete. Throws like transition. */
    async enqueue(id: TasksId, expectedVersion: number): Promise<Tasks> {
      return transition(id, expectedVersion, 'queued');
    },

    /** Starts the task (assigned or queued -> running; started_at is stamped). Throws like transition. */
    async start(id: TasksId, expectedVersion: number, patch: TaskPatch = {}): Promise<Tasks> {
      return transition(id, expectedVersion, 'running', patch);
    },

    /**
     * running -> completed with its output, adding this attempt's usage
     * (tokens, costUsd) to the task's totals. Throws like transition.
     */
    async complete(id: TasksId, expectedVersion: number, output: Record<string, unknown>, usage: TaskUsage = {}): Promise<Tasks> {
      return transition(id, expectedVersion, 'completed', { output }, usage);
    },

    /**
     * Fails the task (error_message, last_error, error_details; usage added)
     * and, in the same transaction, schedules a retry when it has retries left
     * and its retry_policy is not 'none' (failed -> retrying, retry_count + 1,
     * next_retry_at = now() + backoff; see RetryBackoff). Returns the task,
     * retrying or failed. Throws like transition (nothing is changed then).
     */
    async fail(id: TasksId, expectedVersion: number, failure: TaskFailure, options: FailOptions = {}): Promise<Tasks> {
      const args = lifecycleArgs(id, expectedVersion);
      const { message, details, retryable } = parseInput(taskFailureSchema, failure, 'failure');
      if (details !== undefined) assertJson(details, 'failure', ['details']);
      const { usage = {}, backoff = {} } = parseInput(failOptionsSchema, options, 'fail options');
      const patch = { error_message: message, last_error: message, ...(details !== undefined && { error_details: details }) };
      return db.transaction(async (tx) => {
        const failed = await runUpdate(tx, args.id, args.version, 'failed', patch, usage);
        if (retryable === false) return failed;
        const [retrying] = await tx.query<Tasks>('work.schedule_retry', [
          failed.id,
          failed.version,
          backoff.baseSeconds ?? DEFAULT_RETRY_BACKOFF.baseSeconds,
          backoff.capSeconds ?? DEFAULT_RETRY_BACKOFF.capSeconds,
        ]);
        // No row: the policy is 'none' or the retries are used up, so the failure is final.
        return retrying ?? failed;
      });
    },

    /**
     * Moves up to limit retrying tasks whose next_retry_at has passed back to
     * queued (next_retry_at cleared) and returns them. Concurrent callers take
     * disjoint tasks (SKIP LOCKED).
     */
    async requeueDueRetries(limit = 100): Promise<Tasks[]> {
      return db.query<Tasks>('work.requeue_due_retries', [parseInput(limitSchema, limit, 'limit')]);
    },

    /**
     * Cancels the task with a reason (and who cancelled it), stamping
     * cancelled_at. Throws like transition; a finished task cannot be
     * cancelled (IllegalTransition).
     */
    async cancel(id: TasksId, expectedVersion: number, reason: string, cancelledBy?: string): Promise<Tasks> {
      const cancellation = parseInput(cancellationSchema, { reason, cancelledBy }, 'cancellation');
      return transition(id, expectedVersion, 'cancelled', {
        cancellation_reason: cancellation.reason,
        ...(cancellation.cancelledBy !== undefined && { cancelled_by: cancellation.cancelledBy }),
      });
    },

    /**
     * Moves up to limit running tasks that have run longer than their
     * timeout_seconds to 'timeout' (terminal), with the reason in
     * error_message, and returns them. Tasks without timeout_seconds never time out.
     */
    async markTimedOut(limit = 100): Promise<Tasks[]> {
      return db.query<Tasks>('work.mark_timed_out', [parseInput(limitSchema, limit, 'limit')]);
    },

    /**
     * The task rootId and all its descendants, depth first (siblings oldest
     * first), each with its depth (root 0). Throws NotFound when there is no such task.
     */
    async getSubtaskTree(rootId: TasksId): Promise<SubtaskTreeNode[]> {
      const id = parseInput(tasksIdSchema, rootId, 'task id');
      const tree = await db.query<SubtaskTreeNode>('work.get_subtask_tree', [id]);
      if (tree.length === 0) throw new NotFound('task', id);
      return tree;
    },

    /**
     * Readiness of each task (task_readiness: unmet dependencies, blocked_by,
     * is_blocked), in the order asked. Throws NotFound for an id with no task.
     */
    async getReadiness(taskIds: readonly TasksId[]): Promise<TaskReadiness[]> {
      const ids = parseInput(taskIdsSchema, taskIds, 'task ids');
      const rows = await db.query<TaskReadiness>('work.get_readiness', [ids]);
      const byId = new Map(rows.map((row) => [row.task_id as string, row]));
      return ids.map((id) => {
        const row = byId.get(id);
        if (!row) throw new NotFound('task', id);
        return row;
      });
    },

    /** Creates a workflow (status 'pending', counters 0). Throws ValidationError for bad input, ConstraintViolation for an unknown user. */
    async createWorkflow(input: NewWorkflow): Promise<Workflows> {
      const workflow = parseInput(newWorkflowSchema, input, 'workflow');
      const [created] = await db.query<Workflows>('work.create_workflow', [jsonText(workflow, 'workflow')]);
      return created as Workflows;
    },

    /**
     * Puts existing tasks into a workflow (moving them out of any other); the
     * counters follow by trigger. Returns the tasks. All or nothing: throws
     * NotFound for a task id with no task, ConstraintViolation for an unknown workflow.
     */
    async addTasksToWorkflow(workflowId: WorkflowsId, taskIds: readonly TasksId[]): Promise<Tasks[]> {
      const workflow = parseInput(workflowsIdSchema, workflowId, 'workflow id');
      const ids = parseInput(taskIdsSchema, taskIds, 'task ids');
      return db.transaction(async (tx) => {
        const moved = await tx.query<Tasks>('work.add_tasks_to_workflow', [workflow, ids]);
        const found = new Set<string>(moved.map((task) => task.id));
        const missing = ids.find((id) => !found.has(id));
        // Throwing rolls the move of the others back.
        if (missing !== undefined) throw new NotFound('task', missing);
        return moved;
      });
    },

    /**
     * A workflow's progress: counters per end state, remaining tasks, percent
     * finished, usage, status and times, read from the counters the triggers
     * keep. Throws NotFound when there is no such workflow.
     */
    async getWorkflowProgress(workflowId: WorkflowsId): Promise<WorkflowProgress> {
      const id = parseInput(workflowsIdSchema, workflowId, 'workflow id');
      const [progress] = await db.query<WorkflowProgress>('work.get_workflow_progress', [id]);
      if (!progress) throw new NotFound('workflow', id);
      return progress;
    },
  };
};

export type WorkModule = ReturnType<typeof workModule>;
