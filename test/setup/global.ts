import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';

import type { TestProject } from 'vitest/node';

import { migrateUp } from '../../src/commands/migrate.js';
import { createDatabase, dropDatabase, listDatabases, withClient } from '../../src/db/admin.js';
import { quoteIdent } from '../../src/db/identifiers.js';
import { embeddedMajorVersion, LOCAL_STATE_DIR } from '../../src/db/embedded.js';
import { openServer, serverOptionsFromEnv, type Server } from '../../src/db/server.js';
import { withDatabase } from '../../src/db/url.js';
import './context.js';

const repoRoot = resolve(import.meta.dirname, '..', '..');

/**
 * One server for the whole run: DATABASE_URL when set (CI), else an embedded
 * server in .agentry/pg-<major>-test (separate from `npm start`'s data, so a
 * demo and a test run never fight over one data dir). A template database is
 * migrated to head once; test files clone it (CREATE DATABASE ... TEMPLATE),
 * which costs milliseconds instead of re-running every migration.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fromEnv = serverOptionsFromEnv();
  const usesEmbedded = (fromEnv.provider ?? (fromEnv.databaseUrl ? 'url' : 'embedded')) === 'embedded';
  const server = await openServer({
    ...fromEnv,
    ...(usesEmbedded && !fromEnv.dataDir && { dataDir: join(repoRoot, LOCAL_STATE_DIR, `pg-${await embeddedMajorVersion()}-test`) }),
    onNotice: (message) => console.warn(message),
  });

  let template: string | undefined;
  try {
    await dropStaleDatabases(server);
    template = `agentry_tpl_${process.pid}_${randomBytes(4).toString('hex')}`;
    await createDatabase(server.connectionString, template);
    await migrateUp({
      databaseUrl: withDatabase(server.connectionString, template),
      ...(process.env.AGENTRY_MIGRATIONS_DIR && { migrationsDir: process.env.AGENTRY_MIGRATIONS_DIR }),
    });
    // Nobody may connect to the template any more: CREATE DATABASE ... TEMPLATE
    // fails while a session (even autovacuum's) is connected to it.
    await withClient(server.connectionString, (client) =>
      client.query(`ALTER DATABASE ${quoteIdent(template as string)} WITH ALLOW_CONNECTIONS false`),
    );
  } catch (error) {
    if (template) await dropDatabase(server.connectionString, template).catch(() => undefined);
    await server.stop();
    throw error;
  }

  project.provide('agentryAdminUrl', server.connectionString);
  project.provide('agentryTemplateDb', template);
  project.provide('agentryProvider', server.provider);

  return async () => {
    try {
      await dropDatabase(server.connectionString, template as string);
    } finally {
      await server.stop();
    }
  };
}

/**
 * Test databases are named agentry_{tpl,test}_<pid>_<random>. A run that was
 * killed leaves its databases behind; drop those whose process is gone. Only
 * on a server on this machine: elsewhere a pid says nothing.
 */
async function dropStaleDatabases(server: Server): Promise<void> {
  const host = new URL(server.connectionString).hostname;
  if (server.provider !== 'embedded' && !['127.0.0.1', 'localhost', '::1', '[::1]', ''].includes(host)) return;
  const names = [
    ...(await listDatabases(server.connectionString, 'agentry\\_tpl\\_%')),
    ...(await listDatabases(server.connectionString, 'agentry\\_test\\_%')),
  ];
  for (const name of names) {
    const pid = Number(/^agentry_(?:tpl|test)_(\d+)_[0-9a-f]+$/.exec(name)?.[1]);
    if (!pid || isAlive(pid)) continue;
    await dropDatabase(server.connectionString, name).catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
