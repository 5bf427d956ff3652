import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll } from 'vitest';

/** Content of an Agentry SQL migration with both sections. */
export function sqlMigration(up: string, down?: string): string {
  return `-- Up Migration\n${up}\n\n-- Down Migration\n${down ?? ''}\n`;
}

/**
 * A throw-away migrations folder under os.tmpdir(), removed after the file's
 * tests. files maps "<13-digit timestamp>_<name>.sql" to content.
 */
export async function tempMigrationsDir(files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'agentry-migrations-'));
  afterAll(() => rm(dir, { recursive: true, force: true }));
  await addMigrations(dir, files);
  return dir;
}

export async function addMigrations(dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await writeFile(join(dir, name), content);
  }
}
