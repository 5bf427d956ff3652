export { AGENTRY_SCHEMA, MIGRATIONS_TABLE, packageRoot, defaultMigrationsDir, resolveMigrationsDir } from './config.js';
export {
  MIGRATION_FILE_PATTERN,
  MIGRATION_TEMPLATE,
  IGNORE_PATTERN,
  listMigrationFiles,
  createMigrationFile,
  assertMigrationsDir,
  type MigrationFile,
} from './files.js';
export {
  withMigrationSession,
  loadMigrations,
  MigrationSession,
  type MigrationSessionOptions,
  type LoadedMigration,
  type AppliedMigration,
  type Direction,
} from './runner.js';
export { readStatus, readApplied, compareStatus, type MigrationStatus, type AppliedRow } from './status.js';
export {
  LEDGER_TABLE,
  checkMigrationLedger,
  compareLedger,
  type LedgerCheck,
  type LedgerRow,
  type TamperedMigration,
} from './ledger.js';
export {
  lintMigrationFiles,
  formatFinding,
  LintFailedError,
  SQUAWK_CONFIG_FILE,
  SQUAWK_ACCEPTED_FILE,
  type LintFinding,
  type LintReport,
  type AcceptedEntry,
} from './lint.js';
export { withMigrationLock, DEFAULT_LOCK_WAIT_MS, type LockOptions } from './lock.js';
export { splitSqlMigration, upSectionOnly, migrationChecksum, type SqlSections } from './sql.js';
