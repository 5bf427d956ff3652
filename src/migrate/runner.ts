import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';

import { runner, type MigrationBuilder, type RunnerOption } from 'node-pg-migrate';
import type pg from 'pg';

import { connectionError } from '../db/admin.js';
import { redactSecrets } from '../db/url.js';
import { AgentryError, errorMessage, isConnectionError, isPrivilegeError } from '../errors.js';
import { AGENTRY_SCHEMA, MIGRATIONS_TABLE } from './config.js';
import { assertMigrationsDir, IGNORE_PATTERN, listMigrationFiles, type MigrationFile } from './files.js';
import {
  compareLedger,
  ledgerForgetSql,
  ledgerRecordSql,
  prepareLedger,
  readAppliedRows,
  readLedger,
  type AppliedName,
  type LedgerComparison,
  type PreparedLedger,
} from './ledger.js';
import { withMigrationLock, type LockOptions } from './lock.js';
import { migrationChecksum, splitSqlMigration, type SqlSections } from './sql.js';

export type Direction = 'up' | 'down';

export interface AppliedMigration {
  name: string;
  path: string;
  direction: Direction;
}

/** A migration file read once: what is checked, linted, printed and applied is this text. */
export interface LoadedMigration extends MigrationFile {
  content: string;
  sha256: string;
  sections: SqlSections;
}

export async function loadMigrations(migrationsDir: string): Promise<LoadedMigration[]> {
  const files = await listMigrationFiles(migrationsDir);
  const loaded: LoadedMigration[] = [];
  for (const file of files) {
    let content: string;
    try {
      content = await readFile(file.path, 'utf8');
    } catch (error) {
      throw new AgentryError('failed', `cannot read migration ${file.path}: ${errorMessage(error)}`, { cause: error });
    }
    loaded.push({ ...file, content, sha256: migrationChecksum(content), sections: splitSqlMigration(content) });
  }
  return loaded;
}

export function checksumsOf(files: readonly LoadedMigration[]): Map<string, string> {
  return new Map(files.map((f) => [f.name, f.sha256]));
}

export interface MigrationSessionOptions extends LockOptions {
  /** The database to migrate (not the maintenance database). */
  databaseUrl: string;
  migrationsDir: string;
  /** node-pg-migrate's progress lines (and, on failure, the failing SQL). */
  onLog?: (line: string) => void;
}

/**
 * One locked session on the database: the migration files (read once), the
 * ledger prepared (created, backfilled), and node-pg-migrate's runner run on
 * this session's connection as often as needed (redo runs it twice).
 */
export class MigrationSession {
  constructor(
    readonly client: pg.Client,
    readonly options: MigrationSessionOptions,
    readonly files: readonly LoadedMigration[],
    readonly prepared: PreparedLedger,
  ) {}

  async applied(): Promise<AppliedName[]> {
    return readAppliedRows(this.client);
  }

  /** Edited or missing applied migrations, compared with the files as read at the start of the session. */
  async checkLedger(): Promise<LedgerComparison> {
    return compareLedger(this.files, checksumsOf(this.files), await this.applied(), await readLedger(this.client));
  }

  /**
   * Runs node-pg-migrate with Agentry's fixed settings on this session:
   * bookkeeping in agentry.pgmigrations, search_path agentry, checkOrder, and
   * one transaction per migration (singleTransaction: false, stated because
   * the runner's .d.ts documents the opposite default) so a failing migration
   * rolls back alone. The advisory lock is already held (noLock). SQL files go
   * through Agentry's own loader: the same sections node-pg-migrate's SQL
   * loader would run, plus the ledger statement, inside the migration's
   * transaction.
   */
  async run(direction: Direction, count?: number): Promise<AppliedMigration[]> {
    const { databaseUrl, migrationsDir } = this.options;
    let current: string | undefined;
    const log = (message: unknown): void => {
      const text = String(message);
      const match = /^### MIGRATION (\S+) \((UP|DOWN)\) ###/.exec(text);
      if (match) current = match[1];
      this.options.onLog?.(redactSecrets(text, [databaseUrl]));
    };
    const byFileName = new Map(this.files.map((f) => [basename(f.path), f]));
    const loader = async (filePaths: string[]) =>
      filePaths.map((filePath) => {
        const file = byFileName.get(basename(filePath));
        if (!file) {
          throw new AgentryError('failed', `the migrations folder changed during the run (${basename(filePath)} appeared); run again`);
        }
        return { id: filePath, filePaths: [filePath], actions: sqlActions(file) };
      });
    const strategies: RunnerOption['migrationLoaderStrategies'] = [{ extensions: ['.sql'], loader }];
    try {
      const ran = await runner({
        dbClient: this.client,
        noLock: true,
        dir: migrationsDir,
        ignorePattern: IGNORE_PATTERN,
        migrationLoaderStrategies: strategies,
        direction,
        ...(count !== undefined && { count }),
        schema: AGENTRY_SCHEMA,
        createSchema: false,
        migrationsSchema: AGENTRY_SCHEMA,
        createMigrationsSchema: true,
        migrationsTable: MIGRATIONS_TABLE,
        checkOrder: true,
        singleTransaction: false,
        logger: { debug: log, info: log, warn: log, error: log },
        verbose: false,
      });
      return ran.map((m) => ({ name: m.name, path: m.path, direction }));
    } catch (error) {
      // The failed migration's transaction is aborted: end it before anything else uses the session.
      await this.client.query('ROLLBACK').catch(() => undefined);
      if (error instanceof AgentryError) throw error;
      if (isConnectionError(error)) throw connectionError(databaseUrl, error);
      const message = redactSecrets(errorMessage(error), [databaseUrl]);
      if (current) {
        throw new AgentryError('failed', `migration ${current} (${direction}) failed: ${message}`, { cause: error });
      }
      throw new AgentryError('failed', `migrate ${direction} failed: ${message}`, { cause: error });
    }
  }
}

/** What node-pg-migrate runs for one file: its section, then the ledger row, in the same transaction. */
function sqlActions(file: LoadedMigration): { up: (pgm: MigrationBuilder) => void; down: false | ((pgm: MigrationBuilder) => void) } {
  const { up, down } = file.sections;
  return {
    up: (pgm) => {
      pgm.sql(up);
      pgm.sql(ledgerRecordSql(file.name, file.sha256));
    },
    down:
      down === undefined
        ? false
        : (pgm) => {
            pgm.sql(down);
            pgm.sql(ledgerForgetSql(file.name));
          },
  };
}

/**
 * Takes the migration lock, reads the files, prepares the ledger (creating it
 * and backfilling checksums in one transaction under the lock), then hands the
 * session to fn. The lock is released when fn settles.
 */
export async function withMigrationSession<T>(options: MigrationSessionOptions, fn: (session: MigrationSession) => Promise<T>): Promise<T> {
  await assertMigrationsDir(options.migrationsDir);
  // Validates the file names before anything touches the database.
  await listMigrationFiles(options.migrationsDir);
  return withMigrationLock(options.databaseUrl, options, async (client) => {
    const files = await loadMigrations(options.migrationsDir);
    let prepared: PreparedLedger;
    try {
      prepared = await prepareLedger(client, files, checksumsOf(files));
    } catch (error) {
      if (isConnectionError(error)) throw connectionError(options.databaseUrl, error);
      const hint = isPrivilegeError(error) ? ': migrations run as a superuser or a member of agentry_owner' : '';
      throw new AgentryError('failed', `cannot prepare the checksum ledger: ${redactSecrets(errorMessage(error), [options.databaseUrl])}${hint}`, {
        cause: error,
      });
    }
    return fn(new MigrationSession(client, options, files, prepared));
  });
}
