// The data-access library: named SQL statements, typed errors, a client with
// transactions and context modules. See docs/dal.md.
export {
  createAgentry,
  AGENTRY_TYPES,
  type AgentryClient,
  type AgentryConnection,
  type AgentryOptions,
} from './client.js';
export {
  RESERVED_MODULE_NAMES,
  type AgentrySession,
  type BoundModules,
  type Executor,
  type IsolationLevel,
  type ModuleFactories,
  type ModuleFactory,
  type RowStream,
  type StreamOptions,
  type TransactionOptions,
} from './executor.js';
export { contextModules, type ContextModules } from './modules.js';
export {
  queries,
  loadQueries,
  parseQueryFile,
  defaultQueriesDir,
  QueryFileError,
  type QueryDefinition,
  type QueryExpectation,
  type QueryFileProblem,
  type QueryParam,
  type QueryRegistry,
} from './sql.js';
export {
  wrapError,
  mapError,
  createErrorMapper,
  describeCheck,
  parseInput,
  isRetryable,
  DatabaseError,
  ValidationError,
  MissingInputKey,
  ConstraintViolation,
  IllegalTransition,
  CycleViolation,
  AppendOnlyViolation,
  FinalDecisionViolation,
  TrustLedgerViolation,
  NotFound,
  ConflictError,
  ConnectionError,
  type ConflictReason,
  type ConstraintCatalog,
  type ConstraintInfo,
  type ConstraintKind,
  type ConstraintViolationDetails,
  type DatabaseErrorOptions,
  type SafeParser,
  type ValidationIssue,
  type ViolationKind,
  type WrapErrorOptions,
  type ZodLikeError,
} from './errors.js';

// Context modules: their input shapes, options and helpers (the functions
// themselves are reached as agentry.<context>.<function>).
export {
  DEFAULT_RETRY_BACKOFF,
  type ClaimOptions,
  type FailOptions,
  type NewTask,
  type NewWorkflow,
  type RetryBackoff,
  type SubtaskTreeNode,
  type TaskFailure,
  type TaskPatch,
  type TaskUsage,
  type WorkflowProgress,
  type WorkModule,
} from './work.js';
export type { FindAgentsOptions, ListAgentsFilter, RegisterAgentInput, RegisterWorkerInput, WorkerGauges } from './fleet.js';
export type { AddCorrectionInput, CheckpointDecision, CorrectionResult, OpenedCheckpoint, RecordEvaluationInput } from './review.js';
export {
  DEFAULT_INGEST_CHUNK_SIZE,
  EXPORT_BATCH_SIZE,
  type ActivityLogExport,
  type AgentInteractionInput,
  type IngestOptions,
  type IngestResult,
  type LearningExperienceFilter,
  type MetricsExport,
} from './telemetry.js';
export type { ContextVectorInput, CreateEntryInput, EndAgentSessionOptions, EntryChanges, SearchByTagsOptions, StartAgentSessionOptions } from './knowledge.js';
export {
  API_KEY_PREFIX,
  type ApiKeyInfo,
  type AuditEvent,
  type CreatedApiKey,
  type CreatedSession,
  type NewApiKey,
  type NewSessionOptions,
  type RateLimitDecision,
  type UserInfo,
  type UserSessionInfo,
  type VerifiedApiKey,
  type VerifiedSession,
} from './access.js';
export {
  SECRET_KEY_ENV,
  SecretKeyError,
  WEBHOOK_HEADERS,
  createIntegrationModule,
  signPayload,
  verifySignature,
  type ClaimedDelivery,
  type DeliveryRequest,
  type IntegrationOptions,
  type MarkOptions,
  type RegisterWebhookInput,
  type Webhook,
} from './integration.js';
