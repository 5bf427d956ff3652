import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { AgentryError } from '../errors.js';

/**
 * Agentry's convention: migrations/<13-digit ms timestamp>_<name>.sql. The
 * name node-pg-migrate records in pgmigrations is the file name without .sql.
 */
export const MIGRATION_FILE_PATTERN = /^(\d{13})_([A-Za-z0-9][A-Za-z0-9_-]*)\.sql$/;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/**
 * Handed to node-pg-migrate (which anchors it as ^...$) so it loads exactly the
 * files listMigrationFiles() sees: dot files and anything not ending in .sql
 * (a README, an editor backup) are not migrations.
 */
export const IGNORE_PATTERN = String.raw`(?:\..*|.*(?<!\.sql))`;

export interface MigrationFile {
  /** As recorded in pgmigrations: "1732900000000_create_tasks". */
  name: string;
  /** Absolute path. */
  path: string;
  timestamp: number;
}

export async function assertMigrationsDir(dir: string): Promise<void> {
  try {
    if ((await stat(dir)).isDirectory()) return;
  } catch {
    // fall through
  }
  throw new AgentryError('usage', `migrations folder not found: ${dir}`);
}

/** The migration files in run order; throws on a .sql file that breaks the naming convention. */
export async function listMigrationFiles(dir: string): Promise<MigrationFile[]> {
  await assertMigrationsDir(dir);
  const entries = await readdir(dir, { withFileTypes: true });
  const files: MigrationFile[] = [];
  for (const entry of entries) {
    if (!(entry.isFile() || entry.isSymbolicLink()) || entry.name.startsWith('.') || !entry.name.endsWith('.sql')) continue;
    const match = MIGRATION_FILE_PATTERN.exec(entry.name);
    if (!match) {
      throw new AgentryError(
        'check',
        `migration file ${entry.name} does not follow <13-digit ms timestamp>_<name>.sql (in ${dir})`,
      );
    }
    files.push({ name: entry.name.slice(0, -'.sql'.length), path: join(dir, entry.name), timestamp: Number(match[1]) });
  }
  // Same order as node-pg-migrate: numeric prefix, then name.
  return files.sort((a, b) => a.timestamp - b.timestamp || a.name.localeCompare(b.name));
}

/**
 * A new migration: both sections, each starting with the lock and statement
 * timeouts that squawk's require-lock-timeout / require-statement-timeout ask
 * for (SET LOCAL: they end with the migration's transaction). Adjust them to
 * the migration: a long data migration needs a longer statement_timeout.
 * It is in the house style (`agentry format --check` passes on it; the
 * format tests hold it so): at most one blank line, one newline at the end.
 */
export const MIGRATION_TEMPLATE = [
  '-- Up Migration',
  "SET LOCAL lock_timeout = '5s';",
  "SET LOCAL statement_timeout = '1min';",
  '',
  '-- Down Migration',
  "SET LOCAL lock_timeout = '5s';",
  "SET LOCAL statement_timeout = '1min';",
  '',
].join('\n');

/**
 * Writes <dir>/<timestamp>_<name>.sql with empty Up and Down sections. The
 * timestamp is now, but always after the newest existing migration, so a
 * skewed clock or two quick calls cannot produce an out-of-order file.
 */
export async function createMigrationFile(dir: string, name: string, now: Date = new Date()): Promise<MigrationFile> {
  if (!NAME_PATTERN.test(name)) {
    throw new AgentryError('usage', `invalid migration name "${name}": use letters, digits, _ and - (e.g. create_tasks)`);
  }
  const existing = await listMigrationFiles(dir);
  const last = existing.at(-1)?.timestamp ?? 0;
  const timestamp = Math.max(now.getTime(), last + 1);
  if (String(timestamp).length !== 13) {
    throw new AgentryError('failed', `cannot derive a 13-digit timestamp from ${now.toISOString()}`);
  }
  const fileName = `${timestamp}_${name}`;
  const path = join(dir, `${fileName}.sql`);
  // 'wx': never overwrite an existing migration.
  await writeFile(path, MIGRATION_TEMPLATE, { flag: 'wx' });
  return { name: fileName, path, timestamp };
}
