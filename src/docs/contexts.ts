import { readFile } from 'node:fs/promises';

import { listMigrationFiles } from '../migrate/files.js';
import { byText } from './model.js';

/**
 * Which context each object belongs to. The migrations are one file per
 * context (docs/schema.md), so an object's context is the name part of the
 * migration file whose Up section creates it: 1764547202000_access.sql
 * creates users, so users is in "access". A comment holding `@context <name>`
 * overrides that (for an object created outside the migrations, or moved).
 */

export interface MigrationContext {
  /** access */
  context: string;
  /** 1764547202000_access.sql */
  file: string;
}

export interface ContextIndex {
  /** Contexts in migration order, each once. */
  contexts: MigrationContext[];
  /** Object name (table, view, domain, function) -> context. */
  byObject: Map<string, string>;
}

const CREATES = /\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:UNLOGGED\s+|MATERIALIZED\s+)?(TABLE|VIEW|DOMAIN|FUNCTION|TYPE)\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:agentry|"agentry")\.("?)([A-Za-z_][A-Za-z0-9_$]*)\2(\s+PARTITION\s+OF\b)?/gi;

/** The Up section of a migration: what comes before `-- Down Migration`, comments removed. */
function upSection(sql: string): string {
  const down = sql.search(/^--\s*Down Migration\b/im);
  const up = down === -1 ? sql : sql.slice(0, down);
  return up.replace(/--[^\n]*/g, '');
}

export async function readContexts(migrationsDir: string): Promise<ContextIndex> {
  const files = await listMigrationFiles(migrationsDir);
  const contexts: MigrationContext[] = [];
  const byObject = new Map<string, string>();
  for (const file of files) {
    const context = file.name.replace(/^\d+_/, '');
    const sql = upSection(await readFile(file.path, 'utf8'));
    let created = false;
    for (const m of sql.matchAll(CREATES)) {
      if (m[4]) continue; // a partition: described with its parent
      const name = m[3]!;
      // CREATE OR REPLACE of an object an earlier migration made (a fix) does not make a context.
      if (byObject.has(name)) continue;
      byObject.set(name, context);
      created = true;
    }
    if (created && !contexts.some((c) => c.context === context)) contexts.push({ context, file: `${file.name}.sql` });
  }
  return { contexts, byObject };
}

const TAG = /@context\s+([a-z][a-z0-9_]*)/i;

/** The context named by a comment's `@context <name>` tag, if any. */
export function taggedContext(comment: string | null): string | null {
  return comment ? (TAG.exec(comment)?.[1]?.toLowerCase() ?? null) : null;
}

/** Context of an object: the comment tag, else the migration that creates it, else "other". */
export function contextOf(index: ContextIndex, name: string, comment: string | null): string {
  return taggedContext(comment) ?? index.byObject.get(name) ?? 'other';
}

/** Context names in order: the migrations', then any others (tags, "other") alphabetically. */
export function orderedContexts(index: ContextIndex, used: Iterable<string>): string[] {
  const usedSet = new Set(used);
  const known = index.contexts.map((c) => c.context);
  const extra = [...usedSet].filter((c) => !known.includes(c)).sort(byText);
  return [...known.filter((c) => usedSet.has(c)), ...extra];
}
