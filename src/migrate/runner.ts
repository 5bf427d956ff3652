import { runner } from 'node-pg-migrate';

import { connectionError } from '../db/admin.js';
import { redactSecrets } from '../db/url.js';
import { AgentryError, errorMessage, isConnectionError } from '../errors.js';
import { AGENTRY_SCHEMA, MIGRATIONS_TABLE } from './config.js';
import { assertMigrationsDir, IGNORE_PATTERN, listMigrationFiles } from './files.js';

export type Direction = 'up' | 'down';
/** What to do when another runner holds the advisory lock: fail at once, or wait for it. */
export type LockMode = 'fail' | 'wait';

export interface RunMigrationsOptions {
  /** The database to migrate (not the maintenance database). */
  databaseUrl: string;
  migrationsDir: string;
  direction: Direction;
  /** Number of migrations; default: all pending for up, 1 for down. Infinity means all. */
  count?: number;
  lockMode?: LockMode;
  /** node-pg-migrate's progress lines (and, on failure, the failing SQL). */
  onLog?: (line: string) => void;
}

export interface AppliedMigration {
  name: string;
  path: string;
}

/**
 * Runs node-pg-migrate's programmatic runner with Agentry's fixed settings:
 * bookkeeping in agentry.pgmigrations (schema created when missing), the
 * search_path set to agentry, its advisory lock, checkOrder, and one
 * transaction per migration (singleTransaction: false, stated explicitly
 * because the runner's .d.ts documents the opposite default): a failing
 * migration rolls back alone and the ones before it stay applied.
 */
export async function runMigrations(options: RunMigrationsOptions): Promise<AppliedMigration[]> {
  await assertMigrationsDir(options.migrationsDir);
  // Validates the file names before anything touches the database.
  await listMigrationFiles(options.migrationsDir);

  let current: string | undefined;
  const log = (message: unknown): void => {
    const text = String(message);
    const match = /^### MIGRATION (\S+) \((UP|DOWN)\) ###/.exec(text);
    if (match) current = match[1];
    options.onLog?.(redactSecrets(text, [options.databaseUrl]));
  };

  try {
    const ran = await runner({
      databaseUrl: options.databaseUrl,
      dir: options.migrationsDir,
      ignorePattern: IGNORE_PATTERN,
      direction: options.direction,
      ...(options.count !== undefined && { count: options.count }),
      schema: AGENTRY_SCHEMA,
      createSchema: false,
      migrationsSchema: AGENTRY_SCHEMA,
      createMigrationsSchema: true,
      migrationsTable: MIGRATIONS_TABLE,
      checkOrder: true,
      singleTransaction: false,
      advisoryLockMode: options.lockMode ?? 'fail',
      logger: { debug: log, info: log, warn: log, error: log },
      verbose: false,
    });
    return ran.map((m) => ({ name: m.name, path: m.path }));
  } catch (error) {
    if (isConnectionError(error)) throw connectionError(options.databaseUrl, error);
    const message = redactSecrets(errorMessage(error), [options.databaseUrl]);
    if (current) {
      throw new AgentryError('failed', `migration ${current} (${options.direction}) failed: ${message}`, { cause: error });
    }
    throw new AgentryError('failed', `migrate ${options.direction} failed: ${message}`, { cause: error });
  }
}
