// Public library surface. The CLI (src/cli) is a thin layer over these.
export * from './db/index.js';
export * from './migrate/index.js';
export {
  migrateUp,
  migrateDown,
  migrateRedo,
  migrateStatus,
  migrateCreate,
  migrateLint,
  migrateLedger,
  parseCount,
  type MigrateTarget,
  type MigrateRunOptions,
  type MigrateRunResult,
  type MigrateStatusResult,
  type MigrateLedgerResult,
  type MigrationStep,
} from './commands/migrate.js';
export { runDemo, DEFAULT_DATABASE, type DemoOptions, type DemoResult } from './commands/demo.js';
export { runTypes, checkTypes, defaultTypesDir, type TypesOptions, type TypesResult, type TypesCheckResult } from './commands/types.js';
export { generateTypes, type GenerateTypesOptions, type GeneratedTypes } from './types/generate.js';
export { runVerify, DEFAULT_MONTHS_AHEAD, type VerifyOptions, type VerifyResult } from './commands/verify.js';
export { RULES, RULE_NAMES, ROLE_DESIGN, type Rule, type RuleResult, type RuleStatus } from './verify/index.js';
export {
  maintainPartitions,
  listPartitions,
  type MaintainPartitionsOptions,
  type MaintainPartitionsResult,
  type ListPartitionsResult,
  type PartitionedTable,
  type PartitionInfo,
} from './commands/partitions.js';
export { runDocs, generateSchemaDocs, defaultDocsOutput, type DocsOptions, type DocsResult } from './commands/docs.js';
export { runSeed, type SeedOptions, type SeedResult, type SeedProgressEvent } from './commands/seed.js';
export { contentDigest, type ContentDigest } from './seed/digest.js';
export { catalogSnapshot, type Snapshot, type SnapshotRow } from './catalog/snapshot.js';
export { diffSnapshots, describeDifference, type SchemaDifference } from './catalog/diff.js';
export { AgentryError, exitCodeFor, isConnectionError, errorMessage, type AgentryErrorKind } from './errors.js';
export * from './dal/index.js';
// The generated types and zod schemas of schema agentry (`npm run types`).
export * from '../generated/index.js';
