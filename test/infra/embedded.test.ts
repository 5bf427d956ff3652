import { cp, mkdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { checkConnection, withClient } from '../../src/db/admin.js';
import { embeddedInstallation } from '../../src/db/embedded.js';
import { openServer } from '../../src/db/server.js';
import { redactUrl } from '../../src/db/url.js';
import { AgentryError } from '../../src/errors.js';
import { tempDir } from '../helpers/fs.js';

const isRoot = process.getuid?.() === 0;

describe('embedded provider', () => {
  it('initialises, starts, serves, stops, and warm-starts the same data dir', async () => {
    const dataDir = join(await tempDir('agentry-embedded-'), 'pg');

    const cold = await openServer({ provider: 'embedded', dataDir });
    try {
      expect(cold.provider).toBe('embedded');
      expect(cold.reused).toBe(false);
      expect(cold.dataDir).toBe(dataDir);
      expect(cold.serverVersion).toMatch(/^\d+\.\d+/);
      const user = await withClient(cold.connectionString, async (c) => (await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]?.u);
      expect(user).toBe('postgres');
      // The URL carries a generated password; what we print must not.
      expect(new URL(cold.connectionString).password).not.toBe('');
      expect(redactUrl(cold.connectionString)).toContain(':***@127.0.0.1:');
    } finally {
      await cold.stop();
    }
    await expect(checkConnection(cold.connectionString)).rejects.toMatchObject({ kind: 'connection' });
    expect(await stat(join(dataDir, 'postmaster.pid')).catch(() => null)).toBeNull();

    const started = Date.now();
    const warm = await openServer({ provider: 'embedded', dataDir });
    try {
      expect(warm.reused).toBe(true);
      expect(Date.now() - started).toBeLessThan(10_000);
      await checkConnection(warm.connectionString);
    } finally {
      await warm.stop();
      await warm.stop(); // idempotent
    }
  });

  it('refuses a data dir that another server is using, with a clear message', async () => {
    const dataDir = join(await tempDir('agentry-embedded-busy-'), 'pg');
    const first = await openServer({ provider: 'embedded', dataDir });
    try {
      const error = await openServer({ provider: 'embedded', dataDir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AgentryError);
      expect((error as AgentryError).kind).toBe('connection');
      expect((error as AgentryError).message).toMatch(/in use by another PostgreSQL server/);
      await checkConnection(first.connectionString);
    } finally {
      await first.stop();
    }
  });

  it.runIf(isRoot)('as root, falls back to os.tmpdir() when the postgres user cannot reach the data dir', async () => {
    const closed = join(await tempDir('agentry-embedded-closed-'), 'home');
    await mkdir(closed, { mode: 0o700 });
    const notices: string[] = [];
    const server = await openServer({ provider: 'embedded', dataDir: join(closed, 'project', 'pg'), onNotice: (m) => notices.push(m) });
    try {
      expect(server.dataDir?.startsWith(join(tmpdir(), 'agentry-'))).toBe(true);
      expect(notices).toHaveLength(1);
      expect(notices[0]).toMatch(/postgres user cannot enter .*home, so the embedded server keeps its data in /);
      await checkConnection(server.connectionString);
    } finally {
      await server.stop();
      if (server.dataDir) await rm(join(server.dataDir, '..'), { recursive: true, force: true });
    }
  });

  it.runIf(isRoot)('as root, runs a reachable copy of binaries that sit under a closed directory (a clone under /root)', async () => {
    const closed = join(await tempDir('agentry-embedded-bin-'), 'root');
    await mkdir(closed, { mode: 0o700 });
    const installDir = join(closed, 'node_modules', 'native');
    await cp((await embeddedInstallation()).dir, installDir, { recursive: true, verbatimSymlinks: true });
    const dataDir = join(await tempDir('agentry-embedded-data-'), 'pg');
    const notices: string[] = [];
    const { startEmbedded } = await import('../../src/db/embedded.js');
    const server = await startEmbedded({ dataDir, installDir, onNotice: (m) => notices.push(m) });
    try {
      expect(notices.join('\n')).toMatch(/cannot reach .*root.*, so the embedded server runs from a copy in /);
      await checkConnection(server.connectionString);
    } finally {
      await server.stop();
      const copy = /runs from a copy in (\S+)$/.exec(notices[0] ?? '')?.[1];
      if (copy) await rm(join(copy, '..'), { recursive: true, force: true });
    }
  });
});
