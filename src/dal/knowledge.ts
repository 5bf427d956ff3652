import { z } from 'zod';

import {
  agentSessionsInitializerSchema,
  agentSessionsSchema,
  contextVectorsInitializerSchema,
  knowledgeEntriesInitializerSchema,
  knowledgeEntriesSchema,
  usersSchema,
  type AgentSessions,
  type AgentSessionsId,
  type AgentsId,
  type ContextVectors,
  type KnowledgeEntries,
  type KnowledgeEntriesId,
  type UsersId,
} from '../../generated/index.js';
import { ConflictError, NotFound, parseInput } from './errors.js';
import type { Executor } from './executor.js';
import { assertJson, jsonTextOrNull as json } from './values.js';

/**
 * The knowledge context: versioned knowledge entries (a version line through
 * previous_version_id), agent working sessions and their context vectors.
 *
 * The database numbers versions (trg_knowledge_entries_version) and keeps the
 * history a line (uq_knowledge_entries_previous_version_id: one successor per
 * version, so a second newVersion of the same entry, concurrent or not, is a
 * ConstraintViolation of kind unique). numeric values (confidence_score,
 * success_rate) travel as strings.
 */

const entryShape = knowledgeEntriesInitializerSchema.shape;
const entryIdSchema = knowledgeEntriesSchema.shape.id;
const sessionIdSchema = agentSessionsSchema.shape.id;
const limitSchema = z.number().int().min(1).max(1000);

/** Content columns of an entry, camelCase -> column. What createEntry takes and newVersion may change. */
const ENTRY_COLUMNS = {
  type: 'type',
  title: 'title',
  content: 'content',
  summary: 'summary',
  tags: 'tags',
  categories: 'categories',
  source: 'source',
  createdBy: 'created_by',
  createdAgentId: 'created_agent_id',
  taskId: 'task_id',
  confidenceScore: 'confidence_score',
  visibility: 'visibility',
  accessList: 'access_list',
  deviceFingerprint: 'device_fingerprint',
} as const satisfies Record<string, keyof KnowledgeEntries>;

const createEntrySchema = z.object({
  type: entryShape.type,
  title: entryShape.title,
  content: entryShape.content,
  summary: entryShape.summary,
  tags: entryShape.tags,
  categories: entryShape.categories,
  source: entryShape.source,
  createdBy: entryShape.created_by,
  createdAgentId: entryShape.created_agent_id,
  taskId: entryShape.task_id,
  confidenceScore: entryShape.confidence_score,
  visibility: entryShape.visibility,
  accessList: entryShape.access_list,
  deviceFingerprint: entryShape.device_fingerprint,
});

// Every content column may change in a new version; strict, so that a typo
// ("tag") is refused instead of silently copying the old value.
const versionChangesSchema = createEntrySchema.partial().strict();

const searchSchema = z.object({
  tags: z.array(entryShape.tags.unwrap().element).min(1),
  match: z.enum(['any', 'all']).default('any'),
  viewerId: usersSchema.shape.id.optional(),
  limit: limitSchema.default(50),
});

const startSessionSchema = z.object({
  agentId: agentSessionsInitializerSchema.shape.agent_id,
  contextSnapshot: agentSessionsInitializerSchema.shape.context_snapshot,
  mobileSessionId: agentSessionsInitializerSchema.shape.mobile_session_id,
  deviceInfo: agentSessionsInitializerSchema.shape.device_info,
  metadata: agentSessionsInitializerSchema.shape.metadata,
});

const endSessionSchema = z.object({
  sessionId: sessionIdSchema,
  // A session ends completed or failed; active and paused are not endings.
  status: agentSessionsSchema.shape.status.extract(['completed', 'failed']).default('completed'),
  taskCount: agentSessionsInitializerSchema.shape.task_count,
  successRate: agentSessionsInitializerSchema.shape.success_rate,
});

const contextVectorSchema = z.object({
  sessionId: sessionIdSchema,
  vector: contextVectorsInitializerSchema.shape.vector_data,
  contextType: contextVectorsInitializerSchema.shape.context_type,
  confidenceScore: contextVectorsInitializerSchema.shape.confidence_score,
});

export type CreateEntryInput = z.input<typeof createEntrySchema>;
/** The columns to change in the next version; the others are copied. null clears a nullable column. */
export type EntryChanges = z.input<typeof versionChangesSchema>;
export interface SearchByTagsOptions {
  /** 'any' (default): entries with at least one of the tags (&&); 'all': entries with every tag (@>). */
  match?: 'any' | 'all';
  /** Also return the private and team entries this user wrote or is on the access list of. */
  viewerId?: UsersId;
  /** 1..1000, default 50. */
  limit?: number;
}
export interface StartAgentSessionOptions {
  contextSnapshot?: Record<string, unknown>;
  mobileSessionId?: string | null;
  deviceInfo?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}
export interface EndAgentSessionOptions {
  /** Default 'completed'. */
  status?: 'completed' | 'failed';
  taskCount?: number;
  /** 0..1 as a numeric string ('0.9167'). */
  successRate?: string | null;
}
export interface ContextVectorInput {
  vector: number[];
  contextType?: ContextVectors['context_type'];
  /** 0..1 as a numeric string ('0.80'). */
  confidenceScore?: string | null;
}

// jsonb parameters go as JSON text (json: values.ts's jsonTextOrNull): node-postgres would send a JS array as a PostgreSQL array literal.

export const knowledgeModule = (db: Executor) => {
  return {
    /**
     * Creates a knowledge entry (version 1); omitted fields take the table's
     * defaults (public, source agent). Throws ValidationError (shape, unknown
     * type or visibility), ConstraintViolation (unknown author, agent or task:
     * foreign_key; confidence outside 0..1: check).
     */
    async createEntry(input: CreateEntryInput): Promise<KnowledgeEntries> {
      const v = parseInput(createEntrySchema, input, 'knowledge entry');
      const [entry] = await db.query<KnowledgeEntries>('knowledge.insert_entry', [
        v.type,
        v.title,
        v.content ?? null,
        v.summary ?? null,
        v.tags ?? null,
        v.categories ?? null,
        v.source ?? null,
        v.createdBy,
        v.createdAgentId ?? null,
        v.taskId ?? null,
        v.confidenceScore ?? null,
        v.visibility ?? null,
        v.accessList ?? null,
        v.deviceFingerprint ?? null,
      ]);
      return entry!;
    },

    /** One entry by id. Throws NotFound, ValidationError (not a uuid). */
    async getEntry(entryId: KnowledgeEntriesId): Promise<KnowledgeEntries> {
      const id = parseInput(entryIdSchema, entryId, 'knowledge entry id');
      const [entry] = await db.query<KnowledgeEntries>('knowledge.get_entry', [id]);
      if (!entry) throw new NotFound('knowledge entry', id);
      return entry;
    },

    /**
     * Writes the next version of an entry: a new row with the changes, the
     * other content copied, previous_version_id set and the version numbered
     * by the database. Throws NotFound (no such entry), ConstraintViolation
     * (the entry already has a successor: kind unique,
     * uq_knowledge_entries_previous_version_id; or a changed value breaks a
     * rule), ValidationError (unknown or malformed change).
     */
    async newVersion(previousId: KnowledgeEntriesId, changes: EntryChanges = {}): Promise<KnowledgeEntries> {
      const id = parseInput(entryIdSchema, previousId, 'knowledge entry id');
      const valid = parseInput(versionChangesSchema, changes, 'knowledge entry changes');
      assertJson(valid, 'knowledge entry changes');
      const columns: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(valid)) {
        if (value !== undefined) columns[ENTRY_COLUMNS[key as keyof typeof ENTRY_COLUMNS]] = value;
      }
      const [entry] = await db.query<KnowledgeEntries>('knowledge.insert_next_version', [id, JSON.stringify(columns)]);
      if (!entry) throw new NotFound('knowledge entry', id);
      return entry;
    },

    /**
     * The version line an entry belongs to, oldest first: every predecessor
     * and successor of it, itself included. Throws NotFound, ValidationError.
     */
    async getHistory(entryId: KnowledgeEntriesId): Promise<KnowledgeEntries[]> {
      const id = parseInput(entryIdSchema, entryId, 'knowledge entry id');
      const history = await db.query<KnowledgeEntries>('knowledge.get_history', [id]);
      if (history.length === 0) throw new NotFound('knowledge entry', id);
      return history;
    },

    /**
     * Current versions tagged with any (default) or all of the tags, newest
     * first: public ones, plus the private and team ones of options.viewerId.
     * Throws ValidationError (no tags, bad limit or viewer id).
     */
    async searchByTags(tags: readonly string[], options: SearchByTagsOptions = {}): Promise<KnowledgeEntries[]> {
      const v = parseInput(searchSchema, { tags, ...options }, 'tag search');
      return db.query<KnowledgeEntries>(`knowledge.search_by_tags_${v.match}`, [v.tags, v.viewerId ?? null, v.limit]);
    },

    /**
     * Starts a working session (active) for an agent. Throws
     * ConstraintViolation (unknown agent: foreign_key), ValidationError.
     */
    async startAgentSession(agentId: AgentsId, options: StartAgentSessionOptions = {}): Promise<AgentSessions> {
      const v = parseInput(startSessionSchema, { agentId, ...options }, 'agent session');
      const [session] = await db.query<AgentSessions>('knowledge.insert_agent_session', [
        v.agentId,
        json(v.contextSnapshot, 'agent session', ['contextSnapshot']),
        v.mobileSessionId ?? null,
        json(v.deviceInfo, 'agent session', ['deviceInfo']),
        json(v.metadata, 'agent session', ['metadata']),
      ]);
      return session!;
    },

    /**
     * Ends a session (completed by default, or failed) with its task count
     * and success rate; duration is derived by the database. Throws NotFound,
     * ConflictError (the session has already ended: re-read it),
     * ConstraintViolation (success rate outside 0..1), ValidationError.
     */
    async endAgentSession(sessionId: AgentSessionsId, options: EndAgentSessionOptions = {}): Promise<AgentSessions> {
      const v = parseInput(endSessionSchema, { sessionId, ...options }, 'session end');
      return db.transaction(async (tx) => {
        const [session] = await tx.query<AgentSessions>('knowledge.end_agent_session', [
          v.sessionId,
          v.status,
          v.taskCount ?? null,
          v.successRate ?? null,
        ]);
        if (session) return session;
        const [existing] = await tx.query<AgentSessions>('knowledge.get_agent_session', [v.sessionId]);
        if (!existing) throw new NotFound('agent session', v.sessionId);
        throw new ConflictError(`agent session ${v.sessionId} has already ended (${existing.status})`, {
          reason: 'version_mismatch',
          entity: 'agent session',
          id: v.sessionId,
        });
      });
    },

    /**
     * Adds a context vector to a session and marks the session active now.
     * Throws NotFound (no such session), ConstraintViolation (empty vector,
     * confidence outside 0..1: check), ValidationError (shape, unknown type).
     */
    async addContextVector(sessionId: AgentSessionsId, input: ContextVectorInput): Promise<ContextVectors> {
      const v = parseInput(contextVectorSchema, { sessionId, ...input }, 'context vector');
      const [vector] = await db.query<ContextVectors>('knowledge.insert_context_vector', [
        v.sessionId,
        v.vector,
        v.contextType ?? null,
        v.confidenceScore ?? null,
      ]);
      if (!vector) throw new NotFound('agent session', v.sessionId);
      return vector;
    },
  };
};
