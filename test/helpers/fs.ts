import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll } from 'vitest';

/**
 * A temporary directory, removed after the file's tests. mkdtemp makes it 0700;
 * it is opened to 0755 so that, when the tests run as root, the postgres user
 * that runs an embedded server can reach data directories inside it.
 */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  afterAll(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
