import { spawn } from 'node:child_process';
import { cp, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { tempDir } from '../helpers/fs.js';
import { useTestDatabase } from '../helpers/db.js';
import { readmeLibraryExample } from '../helpers/readme.js';

// The package as another service gets it: `npm pack` (which runs the prepare
// script, i.e. the build) on a copy of this checkout, the tarball installed
// into a scratch project, then a TypeScript consumer type-checked against the
// installed declarations, `npx agentry` from the scratch project, and a plain
// .mjs consumer run with node against a database the installed CLI migrated.
// The working tree's dist/ is never touched: the build happens in the copy.

const repoRoot = join(import.meta.dirname, '..', '..');
/** Not copied: installed, built, local or version-control state. node_modules is linked instead (the build needs tsc). */
const NOT_COPIED = new Set(['node_modules', 'dist', '.git', '.agentry', 'reports', 'coverage', 'test']);

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * The environment of a child process: this one's minus what would point it
 * somewhere else. `npm test` runs vitest with npm_* variables of the outer npm
 * (package, lifecycle, prefix); the cache and config file locations are kept.
 * DATABASE_URL and AGENTRY_* are dropped so that each command says which
 * database it uses.
 */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_globalconfig', 'npm_config_registry']);
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    const lower = key.toLowerCase();
    if (lower.startsWith('npm_') && !keep.has(lower)) continue;
    if (key === 'DATABASE_URL' || key.startsWith('AGENTRY_') || key === 'INIT_CWD') continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

function run(command: string, args: string[], options: { cwd: string; env?: Record<string, string>; timeoutMs: number }): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: childEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`${command} ${args.join(' ')} timed out after ${options.timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Runs a command and fails with its output unless it exits 0. */
async function ok(command: string, args: string[], options: { cwd: string; env?: Record<string, string>; timeoutMs: number }): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.code} in ${options.cwd}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
  return result;
}

/** The .sql files under a folder of the checkout, as package paths ("sql/queries/work/get_task.sql"), sorted. */
async function sqlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(join(repoRoot, dir), { recursive: true });
  return entries
    .filter((f) => f.endsWith('.sql') && !f.split(/[\\/]/).some((part) => part.startsWith('.')))
    .map((f) => `${dir}/${f.split('\\').join('/')}`)
    .sort();
}

interface PackResult {
  filename: string;
  files: { path: string }[];
}

const db = useTestDatabase({ migrated: false, max: 2 });

let tarballFiles: string[] = [];
let scratch = '';
const timings: Record<string, number> = {};

beforeAll(async () => {
  // 1. A copy of the checkout (its current files, committed or not), with the repository's node_modules linked.
  const copy = join(await tempDir('agentry-pack-src-'), 'agentry');
  await mkdir(copy);
  for (const entry of await readdir(repoRoot)) {
    if (NOT_COPIED.has(entry) || entry.endsWith('.tgz')) continue;
    await cp(join(repoRoot, entry), join(copy, entry), { recursive: true });
  }
  await symlink(join(repoRoot, 'node_modules'), join(copy, 'node_modules'), 'dir');

  // 2. npm pack: prepare (the build) runs in the copy; the tarball goes to its own folder.
  const out = await tempDir('agentry-pack-out-');
  const pack = await ok('npm', ['pack', '--json', '--pack-destination', out], { cwd: copy, timeoutMs: 120_000 });
  timings.pack = pack.ms;
  const [packed] = JSON.parse(pack.stdout) as PackResult[];
  if (!packed) throw new Error(`npm pack printed no package: ${pack.stdout}`);
  tarballFiles = packed.files.map((f) => f.path).sort();

  // 3. A scratch project that depends on the tarball. The repository's lock
  //    file comes along so the dependencies are the versions this repository
  //    tested (npm drops the development ones), found in the npm cache that
  //    `npm ci` filled; --prefer-offline goes to the registry only for what
  //    the cache lacks.
  scratch = await tempDir('agentry-pack-consumer-');
  await cp(join(out, packed.filename), join(scratch, packed.filename));
  await cp(join(repoRoot, 'package-lock.json'), join(scratch, 'package-lock.json'));
  await writeFile(
    join(scratch, 'package.json'),
    `${JSON.stringify({ name: 'agentry-pack-consumer', private: true, type: 'module', dependencies: { agentry: `file:./${packed.filename}` } }, null, 2)}\n`,
  );
  const install = await ok('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: scratch, timeoutMs: 180_000 });
  timings.install = install.ms;
  // About 5 s and 20 s with a warm cache; logged so that a slow run shows where the time went.
  console.info(`pack test: npm pack (with the build) ${timings.pack} ms, npm install ${timings.install} ms`);
}, 300_000);

describe('npm pack', () => {
  it('ships what runs: the CLI, the build, migrations, named queries, lint settings; no sources or tests', async () => {
    for (const file of [
      'package.json',
      'README.md',
      'bin/agentry.js',
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/src/cli/main.js',
      'dist/src/dal/client.js',
      'dist/generated/index.js',
      'dist/generated/index.d.ts',
      'dist/generated/constraints.js',
      'sql/queries/work/get_task.sql',
      '.squawk.toml',
      '.squawk-accepted.json',
    ]) {
      expect(tarballFiles, file).toContain(file);
    }
    // Every migration and every named query of the checkout.
    for (const dir of ['migrations', 'sql']) {
      const shipped = tarballFiles.filter((f) => f.startsWith(`${dir}/`) && f.endsWith('.sql') && !f.split('/').some((part) => part.startsWith('.')));
      expect(shipped, dir).toEqual(await sqlFiles(dir));
      expect(shipped.length, dir).toBeGreaterThan(0);
    }
    expect(tarballFiles.filter((f) => /^(src|test|generated)\//.test(f) || f.startsWith('dist/test/'))).toEqual([]);
  });
});

describe('the installed package', () => {
  it('type-checks a TypeScript consumer and the README example with moduleResolution nodenext (the repository tsc, no skipLibCheck)', async () => {
    await mkdir(join(scratch, 'src'), { recursive: true });
    await writeFile(
      join(scratch, 'tsconfig.json'),
      `${JSON.stringify(
        {
          compilerOptions: {
            target: 'ES2022',
            module: 'nodenext',
            moduleResolution: 'nodenext',
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            types: ['node'],
          },
          include: ['src'],
        },
        null,
        2,
      )}\n`,
    );
    await writeFile(join(scratch, 'src', 'consumer.ts'), TYPESCRIPT_CONSUMER);
    // The README's example, as a service would paste it.
    await writeFile(join(scratch, 'src', 'readme-example.ts'), readmeLibraryExample(await readFile(join(repoRoot, 'README.md'), 'utf8')));
    const tsc = await run(join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-p', join(scratch, 'tsconfig.json')], { cwd: scratch, timeoutMs: 60_000 });
    expect(`${tsc.stdout}${tsc.stderr}`).toBe('');
    expect(tsc.code).toBe(0);
  });

  it('npx agentry --help', async () => {
    const help = await ok('npx', ['--no-install', 'agentry', '--help'], { cwd: scratch, timeoutMs: 30_000 });
    expect(help.stdout).toMatch(/^Usage: agentry /);
    expect(help.stdout).toContain('migrate');
    // The bin link itself (what npx runs): the version comes from the installed package.json.
    const version = await ok(join(scratch, 'node_modules', '.bin', 'agentry'), ['--version'], { cwd: scratch, timeoutMs: 30_000 });
    const { version: packaged } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    expect(version.stdout.trim()).toBe(packaged);
  });

  it('npx agentry migrate up, then a plain .mjs consumer creates and reads a task and gets a ConstraintViolation', async () => {
    const migrate = await ok('npx', ['--no-install', 'agentry', '--database', db.name, 'migrate', 'up'], {
      cwd: scratch,
      env: { DATABASE_URL: db.adminUrl },
      timeoutMs: 60_000,
    });
    expect(migrate.stdout).toMatch(/Applied \d+ migrations/);
    expect(migrate.stdout).toMatch(/Lint: squawk checked \d+ migrations, no problems/);

    await writeFile(join(scratch, 'consumer.mjs'), MJS_CONSUMER);
    const consumer = await ok(process.execPath, ['consumer.mjs'], { cwd: scratch, env: { DATABASE_URL: db.url }, timeoutMs: 30_000 });
    expect(JSON.parse(consumer.stdout)).toEqual({
      created: { title: 'packed task', priority: 7, status: 'pending' },
      readBack: { title: 'packed task', priority: 7, sameId: true },
      beforeSql: { isValidationError: true, isDatabaseError: true, path: ['priority'] },
      fromDatabase: {
        isConstraintViolation: true,
        isDatabaseError: true,
        kind: 'check',
        constraint: 'chk_tasks_priority_range',
        message: 'tasks.priority must be between 1 and 10 (chk_tasks_priority_range)',
      },
    });
    const { rows } = await db.pool.query<{ title: string }>('SELECT title FROM agentry.tasks ORDER BY title');
    expect(rows).toEqual([{ title: 'packed task' }]);
  });
});

/** Uses the public types: the client, an error class, generated row types and schemas from both entry points. */
const TYPESCRIPT_CONSUMER = `import { ConstraintViolation, createAgentry, type AgentryClient, type Tasks } from 'agentry';
import { tasksInitializerSchema, type TasksInitializer } from 'agentry/generated';

export async function readTask(connectionString: string, id: Tasks['id']): Promise<Tasks | undefined> {
  const agentry: AgentryClient = createAgentry({ connectionString, max: 2 });
  try {
    const [task] = await agentry.query<Tasks>('work.get_task', [id]);
    const priority: number | undefined = task?.priority;
    void priority;
    return task;
  } catch (error) {
    if (error instanceof ConstraintViolation) {
      const name: string | undefined = error.constraint;
      throw new Error(\`refused by \${name ?? 'a constraint'}\`, { cause: error });
    }
    throw error;
  } finally {
    await agentry.close();
  }
}

export const draft: TasksInitializer = tasksInitializerSchema.parse({ title: 'typed' });

// The declarations are real types, not any: each line below must fail.
declare const task: Tasks;
// @ts-expect-error priority is a number
export const wrong: string = task.priority;
// @ts-expect-error createAgentry needs a connection
createAgentry();
// @ts-expect-error the client has no such member
createAgentry({ connectionString: '' }).nonsense;
`;

/**
 * What a service without TypeScript writes: plain ESM against the installed
 * package. A priority out of range is refused twice over: work.createTask
 * checks it before any SQL (ValidationError), and the database's CHECK
 * refuses it when the named statement is run directly (ConstraintViolation,
 * worded from the package's constraint catalog).
 */
const MJS_CONSUMER = `import { ConstraintViolation, DatabaseError, ValidationError, createAgentry } from 'agentry';

const refusal = async (work) => {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('expected a refusal');
};

const agentry = createAgentry({ connectionString: process.env.DATABASE_URL, max: 2 });
try {
  const created = await agentry.work.createTask({ title: 'packed task', priority: 7 });
  const readBack = await agentry.work.getTask(created.id);
  const early = await refusal(() => agentry.work.createTask({ title: 'too urgent', priority: 2.5 }));
  const late = await refusal(() => agentry.query('work.create_tasks', [JSON.stringify([{ title: 'too urgent', priority: 11 }])]));
  process.stdout.write(JSON.stringify({
    created: { title: created.title, priority: created.priority, status: created.status },
    readBack: { title: readBack.title, priority: readBack.priority, sameId: readBack.id === created.id },
    beforeSql: { isValidationError: early instanceof ValidationError, isDatabaseError: early instanceof DatabaseError, path: early.issues?.[0]?.path },
    fromDatabase: {
      isConstraintViolation: late instanceof ConstraintViolation,
      isDatabaseError: late instanceof DatabaseError,
      kind: late.kind,
      constraint: late.constraint,
      message: late.message,
    },
  }));
} finally {
  await agentry.close();
}
`;
