import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { AgentryError, errorMessage } from '../errors.js';
import { formatSql, type FormatNote } from '../format/format.js';
import { packageRoot, resolveMigrationsDir } from '../migrate/config.js';

export interface FormatOptions {
  /**
   * Files and folders (a folder: every .sql file under it, dot files
   * skipped). Default: the migrations folder's *.sql and sql/**\/*.sql of
   * the Agentry package.
   */
  paths?: string[];
  /** For the default paths; default: the migrations/ folder shipped with the package. */
  migrationsDir?: string;
  /** Write nothing; report the files that are not in house style. */
  check?: boolean;
}

export interface FormatFileResult {
  /** Absolute path. */
  path: string;
  /** Not in house style: rewritten, or (check) would be. */
  changed: boolean;
  /** Statements kept as written because sql-formatter could not be trusted with them. */
  notes: FormatNote[];
  /** The file could not be read or is not SQL that can be split (an unterminated string...). */
  error?: string;
}

export interface FormatResult {
  check: boolean;
  files: FormatFileResult[];
  /** Paths of the files not in house style (rewritten, or with check: to be rewritten). */
  changed: string[];
  /** Files that could not be formatted. */
  failed: string[];
  /** With check: every file in house style. Otherwise: every file could be formatted. */
  ok: boolean;
}

async function sqlFilesUnder(dir: string, recursive: boolean): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (recursive) files.push(...(await sqlFilesUnder(path, true)));
    } else if (entry.name.endsWith('.sql')) {
      files.push(path);
    }
  }
  return files.sort();
}

/** The files `agentry format` works on by default: migrations/*.sql and sql/**\/*.sql. */
export async function defaultFormatPaths(migrationsDir?: string): Promise<string[]> {
  const files: string[] = [];
  const sqlDir = join(packageRoot(), 'sql');
  for (const [dir, recursive] of [
    [resolveMigrationsDir(migrationsDir), false],
    [sqlDir, true],
  ] as const) {
    const found = await stat(dir).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (found) files.push(...(await sqlFilesUnder(dir, recursive)));
  }
  return files;
}

async function expand(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const given of paths) {
    const path = resolve(given);
    const info = await stat(path).catch(() => null);
    if (info === null) throw new AgentryError('usage', `no such file or folder: ${given}`);
    files.push(...(info.isDirectory() ? await sqlFilesUnder(path, true) : [path]));
  }
  return [...new Set(files)];
}

/**
 * `agentry format`: rewrites SQL files in the house style (src/format/), or
 * with check reports the ones that are not in it and changes nothing.
 */
export async function runFormat(options: FormatOptions = {}): Promise<FormatResult> {
  const check = options.check ?? false;
  const paths = options.paths && options.paths.length > 0 ? await expand(options.paths) : await defaultFormatPaths(options.migrationsDir);
  const files: FormatFileResult[] = [];
  for (const path of paths) {
    let source: string;
    try {
      source = await readFile(path, 'utf8');
    } catch (error) {
      files.push({ path, changed: false, notes: [], error: `cannot read it: ${errorMessage(error)}` });
      continue;
    }
    let formatted: ReturnType<typeof formatSql>;
    try {
      formatted = formatSql(source);
    } catch (error) {
      files.push({ path, changed: false, notes: [], error: errorMessage(error) });
      continue;
    }
    const changed = formatted.text !== source;
    if (changed && !check) await writeFile(path, formatted.text);
    files.push({ path, changed, notes: formatted.notes });
  }
  const changed = files.filter((f) => f.changed).map((f) => f.path);
  const failed = files.filter((f) => f.error !== undefined).map((f) => f.path);
  return { check, files, changed, failed, ok: failed.length === 0 && (!check || changed.length === 0) };
}
