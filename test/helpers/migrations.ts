import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { tempDir } from './fs.js';

/** Content of an Agentry SQL migration with both sections. */
export function sqlMigration(up: string, down?: string): string {
  return `-- Up Migration\n${up}\n\n-- Down Migration\n${down ?? ''}\n`;
}

/**
 * A throw-away migrations folder under os.tmpdir(), removed after the test
 * file. files maps "<13-digit timestamp>_<name>.sql" to content.
 */
export async function tempMigrationsDir(files: Record<string, string> = {}): Promise<string> {
  const dir = await tempDir('agentry-migrations-');
  await addMigrations(dir, files);
  return dir;
}

export async function addMigrations(dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await writeFile(join(dir, name), content);
  }
}

const TIMEOUTS = "SET LOCAL lock_timeout = '5s';\nSET LOCAL statement_timeout = '1min';\n";

/**
 * Like sqlMigration, but squawk passes it under the repository's .squawk.toml
 * (as long as `up` itself is clean): each section starts with the lock and
 * statement timeouts, as `agentry migrate create` writes them.
 */
export function cleanMigration(up: string, down?: string): string {
  return `-- Up Migration\n${TIMEOUTS}${up}\n\n-- Down Migration\n${TIMEOUTS}${down ?? ''}\n`;
}
