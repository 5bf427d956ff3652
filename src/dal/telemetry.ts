import { z } from 'zod';

import {
  activityLogsInitializerSchema,
  activityLogsSchema,
  agentInteractionsInitializerSchema,
  agentMetricsInitializerSchema,
  agentMetricsSchema,
  learningExperiencesSchema,
  trustRecordsInitializerSchema,
  type ActivityLogs,
  type ActivityLogsInitializer,
  type AgentInteractions,
  type AgentInteractionsInitializer,
  type AgentMetrics,
  type AgentMetricsInitializer,
  type AgentsId,
  type LearningExperiences,
  type TasksId,
  type TaskTypesName,
  type TrustRecords,
} from '../../generated/index.js';
import { parseInput, ValidationError, type SafeParser } from './errors.js';
import type { Executor, RowStream } from './executor.js';
import { jsonTextOrNull, objectArg } from './values.js';

/** Rows per INSERT of a batch ingest unless the caller says otherwise. */
export const DEFAULT_INGEST_CHUNK_SIZE = 5000;
/** Rows fetched per round trip by the exports. */
export const EXPORT_BATCH_SIZE = 1000;

export interface IngestOptions {
  /** Rows per INSERT statement (default 5000). Every chunk of one call runs in one transaction. */
  chunkSize?: number;
}

export interface IngestResult {
  /** Rows written: always the number given (the batch is all or nothing). */
  inserted: number;
  /** INSERT statements it took. */
  statements: number;
}

export interface ActivityLogExport {
  /** Inclusive lower bound of created_at. */
  from: Date;
  /** Exclusive upper bound of created_at. */
  to: Date;
  /** Only this task's rows. */
  taskId?: TasksId;
}

export interface MetricsExport {
  /** Only this agent's rows (oldest first); without it every agent's, by agent and then time. */
  agentId?: AgentsId;
  /** Inclusive lower bound of recorded_at. */
  from: Date;
  /** Exclusive upper bound of recorded_at. */
  to: Date;
}

export interface LearningExperienceFilter {
  /** The agent that learned them. With taskType too: that agent's lessons of that task type. */
  agentId?: AgentsId;
  /** The task type they are about (whichever agent, or none, learned them). */
  taskType?: TaskTypesName;
  /** At most this many, newest first (default 100). */
  limit?: number;
}

/** What recordAgentInteraction takes: the insert schema without the generated id and timestamp. */
export type AgentInteractionInput = Omit<AgentInteractionsInitializer, 'id' | 'created_at'>;

const ingestOptionsSchema = z.object({ chunkSize: z.number().int().positive().optional() });
const limitSchema = z.number().int().positive().max(10_000);

const activityLogExportSchema = z.object({
  from: activityLogsSchema.shape.created_at,
  to: activityLogsSchema.shape.created_at,
  taskId: activityLogsSchema.shape.task_id.optional(),
});
const metricsExportSchema = z.object({
  agentId: agentMetricsSchema.shape.agent_id.optional(),
  from: agentMetricsSchema.shape.recorded_at,
  to: agentMetricsSchema.shape.recorded_at,
});
const trustEventSchema = trustRecordsInitializerSchema.pick({
  agent_id: true,
  event_type: true,
  trust_delta: true,
  task_id: true,
  reason: true,
});
const agentInteractionSchema = agentInteractionsInitializerSchema.omit({ id: true, created_at: true });
const learningExperienceFilterSchema = z.object({
  agentId: learningExperiencesSchema.shape.agent_id.unwrap().optional(),
  taskType: learningExperiencesSchema.shape.task_type.unwrap().optional(),
  limit: limitSchema.optional(),
});

/**
 * Parses every row of a batch before any SQL: the first row that does not
 * fit refuses the whole batch, its issues' paths starting with the row's
 * index. `take` copies the parsed row into the caller's column arrays, so
 * that no per-row object is kept beyond the parse itself.
 */
function parseRows<T>(schema: SafeParser<T>, rows: readonly unknown[], what: string, take: (row: T, index: number) => void): void {
  for (let index = 0; index < rows.length; index += 1) {
    const result = schema.safeParse(rows[index]);
    if (!result.success) {
      const issues = result.error.issues.map((issue) => ({ path: [index, ...issue.path], message: issue.message }));
      throw ValidationError.fromZod({ issues }, `${what} (row ${index}; the batch was refused, nothing was written)`);
    }
    take(result.data, index);
  }
}

/** The number of rows of a batch, once it is known to be an array. */
function batchLength(rows: unknown, what: string): number {
  if (!Array.isArray(rows)) throw new ValidationError(`invalid ${what}: expected an array of rows`, [{ path: [], message: 'expected an array' }]);
  return rows.length;
}

/** Runs the chunked INSERT `name` over column arrays in one transaction (a savepoint inside one). */
async function insertChunks(db: Executor, name: string, columns: readonly unknown[][], rowCount: number, chunkSize: number): Promise<IngestResult> {
  if (rowCount === 0) return { inserted: 0, statements: 0 };
  return db.transaction(async (tx) => {
    let inserted = 0;
    let statements = 0;
    for (let start = 0; start < rowCount; start += chunkSize) {
      const end = Math.min(start + chunkSize, rowCount);
      // One chunk is the whole batch in the common case: pass the arrays as they are.
      const params = start === 0 && end === rowCount ? columns : columns.map((column) => column.slice(start, end));
      const [row] = await tx.query<{ inserted: number }>(name, params);
      inserted += row?.inserted ?? 0;
      statements += 1;
    }
    return { inserted, statements };
  });
}

// jsonb array elements go as JSON text (values.ts's jsonTextOrNull): node-postgres would turn a JS array into a PostgreSQL array literal.

/** The telemetry context of the data-access library (see docs/dal.md). */
export const telemetryModule = (db: Executor) => ({
  /**
   * Inserts agent metrics in chunks of `chunkSize` rows (one unnest INSERT each), all in one transaction.
   * Throws ValidationError (before any SQL) naming the first bad row, ConstraintViolation (e.g. unknown agent:
   * fk_agent_metrics_agent_id) with nothing written.
   */
  async ingestAgentMetrics(rows: readonly AgentMetricsInitializer[], options: IngestOptions = {}): Promise<IngestResult> {
    const { chunkSize = DEFAULT_INGEST_CHUNK_SIZE } = parseInput(ingestOptionsSchema, objectArg(options, 'ingest options'), 'ingest options');
    const n = batchLength(rows, 'agent metrics');
    const agentIds = new Array<string>(n);
    const types = new Array<string>(n);
    const values = new Array<number>(n);
    const units = new Array<string | null>(n);
    const contexts = new Array<string | null>(n);
    const recordedAts = new Array<Date | null>(n);
    parseRows(agentMetricsInitializerSchema, rows, 'agent metrics', (row, i) => {
      agentIds[i] = row.agent_id;
      types[i] = row.metric_type;
      values[i] = row.metric_value;
      units[i] = row.metric_unit ?? null;
      contexts[i] = jsonTextOrNull(row.context, 'agent metrics', [i, 'context']);
      recordedAts[i] = row.recorded_at ?? null;
    });
    return insertChunks(db, 'telemetry.insert_agent_metrics', [agentIds, types, values, units, contexts, recordedAts], n, chunkSize);
  },

  /**
   * Inserts activity-log rows in chunks of `chunkSize` rows, all in one transaction. Throws ValidationError
   * (before any SQL) naming the first bad row, ConstraintViolation (unknown task or worker) with nothing written.
   */
  async ingestActivityLogs(rows: readonly ActivityLogsInitializer[], options: IngestOptions = {}): Promise<IngestResult> {
    const { chunkSize = DEFAULT_INGEST_CHUNK_SIZE } = parseInput(ingestOptionsSchema, objectArg(options, 'ingest options'), 'ingest options');
    const n = batchLength(rows, 'activity logs');
    const taskIds = new Array<string | null>(n);
    const workerIds = new Array<string | null>(n);
    const levels = new Array<string>(n);
    const messages = new Array<string>(n);
    const metadata = new Array<string | null>(n);
    const createdAts = new Array<Date | null>(n);
    parseRows(activityLogsInitializerSchema, rows, 'activity logs', (row, i) => {
      taskIds[i] = row.task_id ?? null;
      workerIds[i] = row.worker_id ?? null;
      levels[i] = row.level;
      messages[i] = row.message;
      metadata[i] = jsonTextOrNull(row.metadata, 'activity logs', [i, 'metadata']);
      createdAts[i] = row.created_at ?? null;
    });
    return insertChunks(db, 'telemetry.insert_activity_logs', [taskIds, workerIds, levels, messages, metadata, createdAts], n, chunkSize);
  },

  /**
   * Streams activity-log rows created in [from, to) (of one task when taskId is given), oldest first, in constant
   * memory on a pooled connection of its own (see Executor.stream). Throws ValidationError at once for bad input;
   * database errors come through the stream.
   */
  exportActivityLogs(range: ActivityLogExport): RowStream<ActivityLogs> {
    const { from, to, taskId } = parseInput(activityLogExportSchema, range, 'activity log export');
    return taskId
      ? db.stream<ActivityLogs>('telemetry.export_task_activity_logs', [taskId, from, to], { batchSize: EXPORT_BATCH_SIZE })
      : db.stream<ActivityLogs>('telemetry.export_activity_logs', [from, to], { batchSize: EXPORT_BATCH_SIZE });
  },

  /**
   * Streams metric rows recorded in [from, to): one agent's oldest first, or every agent's by agent and then time,
   * in constant memory on a pooled connection of its own. Throws ValidationError at once for bad input.
   */
  exportMetrics(range: MetricsExport): RowStream<AgentMetrics> {
    const { agentId, from, to } = parseInput(metricsExportSchema, range, 'metrics export');
    return agentId
      ? db.stream<AgentMetrics>('telemetry.export_agent_metrics', [agentId, from, to], { batchSize: EXPORT_BATCH_SIZE })
      : db.stream<AgentMetrics>('telemetry.export_metrics', [from, to], { batchSize: EXPORT_BATCH_SIZE });
  },

  /**
   * Appends a trust-ledger record; the database fills trust_score_before/after and moves the agent's trust_score.
   * `delta` is a decimal string (numeric(5,4)). Throws ValidationError for bad input, ConstraintViolation for an
   * unknown agent (fk_trust_records_agent_id) or task, a delta outside [-1, 1] or a score leaving [0, 1]
   * (chk_trust_records_after_range).
   */
  async recordTrustEvent(
    agentId: AgentsId,
    eventType: TrustRecords['event_type'],
    delta: string,
    taskId?: TasksId | null,
    reason?: string | null,
  ): Promise<TrustRecords> {
    const input = parseInput(
      trustEventSchema,
      { agent_id: agentId, event_type: eventType, trust_delta: delta, task_id: taskId, reason },
      'trust event',
    );
    const [record] = await db.query<TrustRecords>('telemetry.record_trust_event', [
      input.agent_id,
      input.event_type,
      input.trust_delta,
      input.task_id ?? null,
      input.reason ?? null,
    ]);
    return record as TrustRecords;
  },

  /**
   * Records one interaction between two agents. Throws ValidationError for bad input, ConstraintViolation for an
   * unknown agent or workflow, or an agent interacting with itself (chk_agent_interactions_distinct_agents).
   */
  async recordAgentInteraction(interaction: AgentInteractionInput): Promise<AgentInteractions> {
    const input = parseInput(agentInteractionSchema, interaction, 'agent interaction');
    const [row] = await db.query<AgentInteractions>('telemetry.insert_agent_interaction', [
      input.workflow_id ?? null,
      input.from_agent_id,
      input.to_agent_id,
      input.interaction_type,
      input.message ?? null,
      jsonTextOrNull(input.payload, 'agent interaction', ['payload']),
    ]);
    return row as AgentInteractions;
  },

  /**
   * Learning experiences, newest first: an agent's (of one task type when taskType is given too), or a task
   * type's. Throws ValidationError when neither agentId nor taskType is given, or for a bad limit.
   */
  async listLearningExperiences(filter: LearningExperienceFilter): Promise<LearningExperiences[]> {
    const { agentId, taskType, limit = 100 } = parseInput(learningExperienceFilterSchema, filter, 'learning experience filter');
    if (agentId !== undefined) {
      return db.query<LearningExperiences>('telemetry.list_agent_learning_experiences', [agentId, taskType ?? null, limit]);
    }
    if (taskType !== undefined) {
      return db.query<LearningExperiences>('telemetry.list_task_type_learning_experiences', [taskType, limit]);
    }
    throw new ValidationError('invalid learning experience filter: give agentId, taskType or both', [
      { path: ['agentId'], message: 'agentId or taskType is required' },
    ]);
  },
});
