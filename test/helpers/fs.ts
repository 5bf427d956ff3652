import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll } from 'vitest';

// Registered when a test file first imports this module, so it runs after
// that file's tests; a hook registered from inside a running test would not.
const created: string[] = [];
afterAll(async () => {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/**
 * A temporary directory, removed after the test file. mkdtemp makes it 0700;
 * it is opened to 0755 so that, when the tests run as root, the postgres user
 * that runs an embedded server can reach data directories inside it.
 */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  created.push(dir);
  await chmod(dir, 0o755);
  return dir;
}
