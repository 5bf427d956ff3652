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
export { runMigrations, type RunMigrationsOptions, type AppliedMigration, type Direction, type LockMode } from './runner.js';
export { readStatus, readApplied, compareStatus, type MigrationStatus, type AppliedRow } from './status.js';
