import { mkdir, mkdtemp, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';

import { withScratchDatabase } from '../catalog/scratch.js';
import { openServer, type OpenServerOptions } from '../db/server.js';
import { AgentryError } from '../errors.js';
import { packageRoot } from '../migrate/config.js';
import { generateTypes, type GeneratedTypes } from '../types/generate.js';
import { GENERATED_HEADER } from '../types/render.js';

export interface TypesOptions {
  server?: OpenServerOptions;
  migrationsDir?: string;
  /** Where the generated files go (default: generated/ of the package). */
  outDir?: string;
  /** node-pg-migrate's progress lines. */
  onLog?: (line: string) => void;
  /** Kanel's warnings. */
  onWarning?: (message: string) => void;
}

export interface TypesResult {
  outDir: string;
  /** Every generated file, relative to outDir, sorted. */
  files: string[];
  /** Files written because they were new or different. */
  written: string[];
  /** Earlier generated files that the schema no longer produces. */
  removed: string[];
}

export interface TypesCheckResult {
  outDir: string;
  /** true when outDir holds exactly what generation produces. */
  fresh: boolean;
  files: string[];
  /** Files whose contents differ. */
  differing: string[];
  /** Files generation produces that outDir lacks. */
  missing: string[];
  /** Files in outDir that generation does not produce. */
  extra: string[];
}

export function defaultTypesDir(): string {
  return join(packageRoot(), 'generated');
}

/**
 * `agentry types`: creates a scratch database on the server, migrates it to
 * head, generates the types from it, drops it, and makes outDir hold exactly
 * the generated files (removing generated files the schema no longer has).
 */
export async function runTypes(options: TypesOptions = {}): Promise<TypesResult> {
  const outDir = resolve(options.outDir ?? defaultTypesDir());
  // outDir is Agentry's alone: refuse (before any work) to overwrite or delete a file it did not write.
  const existing = await listFiles(outDir);
  const foreign: string[] = [];
  for (const file of existing) {
    if (!(await isGenerated(join(outDir, file)))) foreign.push(file);
  }
  if (foreign.length > 0) {
    throw new AgentryError('usage', `refusing to write into ${outDir}: it holds files that agentry types did not generate (${foreign.join(', ')})`);
  }
  const generated = await generateFromMigrations(options);

  const written: string[] = [];
  for (const [file, contents] of generated.files) {
    const path = join(outDir, file);
    if ((await readIfExists(path)) === contents) continue;
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, contents, 'utf8');
    written.push(file);
  }
  const removed = existing.filter((f) => !generated.files.has(f));
  for (const file of removed) {
    await rm(join(outDir, file), { force: true });
    await removeEmptyParents(join(outDir, file), outDir);
  }
  return { outDir, files: [...generated.files.keys()], written, removed };
}

/**
 * `agentry types --check`: regenerates into a temporary folder and compares
 * it with outDir, file by file. Writes nothing to outDir.
 */
export async function checkTypes(options: TypesOptions = {}): Promise<TypesCheckResult> {
  const outDir = resolve(options.outDir ?? defaultTypesDir());
  const generated = await generateFromMigrations(options);
  const temporary = await mkdtemp(join(tmpdir(), 'agentry-types-check-'));
  try {
    for (const [file, contents] of generated.files) {
      await mkdir(dirname(join(temporary, file)), { recursive: true });
      await writeFile(join(temporary, file), contents, 'utf8');
    }
    const fresh = await listFiles(temporary);
    const current = new Set(await listFiles(outDir));
    const differing: string[] = [];
    const missing: string[] = [];
    for (const file of fresh) {
      if (!current.has(file)) missing.push(file);
      else if ((await readFile(join(outDir, file), 'utf8')) !== (await readFile(join(temporary, file), 'utf8'))) differing.push(file);
    }
    const extra = [...current].filter((f) => !generated.files.has(f)).sort();
    return { outDir, fresh: differing.length === 0 && missing.length === 0 && extra.length === 0, files: fresh, differing, missing, extra };
  } finally {
    await rm(temporary, { recursive: true, force: true });
  }
}

/** A scratch database on the chosen server, migrated to head, generated from, dropped. */
async function generateFromMigrations(options: TypesOptions): Promise<GeneratedTypes> {
  const server = await openServer(options.server ?? {});
  try {
    return await withScratchDatabase(
      server.connectionString,
      {
        ...(options.migrationsDir !== undefined && { migrationsDir: options.migrationsDir }),
        ...(options.onLog !== undefined && { onLog: options.onLog }),
      },
      (databaseUrl) => generateTypes({ databaseUrl, ...(options.onWarning !== undefined && { onWarning: options.onWarning }) }),
    );
  } finally {
    await server.stop();
  }
}

/** Files under dir (relative, with /, sorted); none when dir does not exist. */
async function listFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function isGenerated(path: string): Promise<boolean> {
  const contents = await readIfExists(path);
  return contents !== undefined && contents.startsWith(GENERATED_HEADER[0] as string);
}

async function removeEmptyParents(file: string, root: string): Promise<void> {
  for (let dir = dirname(file); dir !== root && dir.startsWith(root); dir = dirname(dir)) {
    try {
      await rmdir(dir);
    } catch {
      return;
    }
  }
}
