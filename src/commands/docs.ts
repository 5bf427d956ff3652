import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

import { withScratchDatabase } from '../catalog/scratch.js';
import { withCatalogClient } from '../catalog/session.js';
import { redactUrl } from '../db/url.js';
import { readContexts } from '../docs/contexts.js';
import { readDocModel } from '../docs/model.js';
import { renderSchemaDoc } from '../docs/render.js';
import { AgentryError } from '../errors.js';
import { packageRoot, resolveMigrationsDir } from '../migrate/config.js';

/** docs/schema.md of the Agentry package: the schema it documents is the package's migrations. */
export function defaultDocsOutput(): string {
  return join(packageRoot(), 'docs', 'schema.md');
}

export interface DocsOptions {
  /**
   * Where the schema comes from: a live database, or (adminUrl) a scratch
   * database created on that server, migrated to head and dropped again.
   */
  source: { databaseUrl: string } | { adminUrl: string };
  migrationsDir?: string;
  /** Default docs/schema.md of the Agentry package (defaultDocsOutput()). */
  output?: string;
  /** The hand-written introduction, included verbatim at the top. Default: schema.intro.md next to the output. */
  intro?: string;
  /** Compare with the output file instead of writing it. */
  check?: boolean;
  onLog?: (line: string) => void;
}

export interface DocsResult {
  output: string;
  intro: string;
  /** "scratch (migrations at head)" or the live database, password redacted. */
  source: string;
  /** --check: whether the file equals what would be generated. Otherwise true once written. */
  upToDate: boolean;
  written: boolean;
  /** --check on a stale file: the first line that differs (1-based) and both versions of it. */
  firstDifference: { line: number; expected: string | null; actual: string | null } | null;
}

function firstDifference(expected: string, actual: string): DocsResult['firstDifference'] {
  const e = expected.split('\n');
  const a = actual.split('\n');
  for (let i = 0; i < Math.max(e.length, a.length); i += 1) {
    if (e[i] !== a[i]) return { line: i + 1, expected: e[i] ?? null, actual: a[i] ?? null };
  }
  return null;
}

async function readIntro(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new AgentryError('usage', `introduction not found: ${path} (the hand-written top of the schema document); create it or pass --intro`);
    }
    throw error;
  }
}

/** Renders docs/schema.md from the schema: the introduction verbatim, then per context its tables, keys and diagrams. */
export async function generateSchemaDocs(options: DocsOptions): Promise<{ content: string; source: string }> {
  const migrationsDir = resolveMigrationsDir(options.migrationsDir);
  const intro = await readIntro(resolve(options.intro ?? join(dirname(resolve(options.output ?? defaultDocsOutput())), 'schema.intro.md')));
  const contexts = await readContexts(migrationsDir);
  const read = (url: string) => withCatalogClient(url, (client) => readDocModel(client));
  if ('databaseUrl' in options.source) {
    const model = await read(options.source.databaseUrl);
    return { content: renderSchemaDoc(intro, model, contexts), source: redactUrl(options.source.databaseUrl) };
  }
  const model = await withScratchDatabase(
    options.source.adminUrl,
    { migrationsDir, ...(options.onLog !== undefined && { onLog: options.onLog }) },
    read,
  );
  return { content: renderSchemaDoc(intro, model, contexts), source: 'scratch database migrated to head' };
}

/** `agentry docs`: writes the schema document, or with check compares it. */
export async function runDocs(options: DocsOptions): Promise<DocsResult> {
  const output = resolve(options.output ?? defaultDocsOutput());
  const intro = resolve(options.intro ?? join(dirname(output), 'schema.intro.md'));
  const { content, source } = await generateSchemaDocs({ ...options, output, intro });
  if (options.check) {
    let current: string | null = null;
    try {
      current = await readFile(output, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const difference = current === null ? { line: 1, expected: content.split('\n')[0] ?? '', actual: null } : firstDifference(content, current);
    return { output, intro, source, upToDate: difference === null, written: false, firstDifference: difference };
  }
  await mkdir(dirname(output), { recursive: true });
  await writeFile(output, content);
  return { output, intro, source, upToDate: true, written: true, firstDifference: null };
}
