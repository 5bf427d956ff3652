import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { isBookkeepingName } from '../catalog/diff.js';
import type { Queryable } from '../catalog/snapshot.js';
import { liveVocabularies } from '../catalog/vocabularies.js';
import { errorMessage } from '../errors.js';
import { fail, pass, plural, skip, type Rule } from './types.js';

// The vocabulary rule compares two readings of the same lists: the CHECK
// constraints of the live database (`status IN ('a', 'b')`) and what
// `agentry types` generated from the migrations into generated/. The
// generated modules are read at run time, through their zod schemas (the
// machine-readable twin of each TypeScript literal union): for a table
// `<camelName>Schema` is a z.object whose vocabulary columns are z.enum([...]),
// for a domain `<camelName>Schema` is the z.enum itself.

/** Vocabularies by key: "<table>.<column>", or "<domain>" for a domain. */
export type VocabularyMap = Map<string, { values: string[]; source: string }>;

/** Where the generated modules are: generated/ beside src/ (source checkout) or beside dist/src/ (built). */
export function defaultGeneratedDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'generated');
}

function snakeCase(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace(/^_/, '');
}

interface ZodLike {
  _zod?: { def?: { type?: string; entries?: Record<string, unknown>; values?: unknown[]; innerType?: unknown; in?: unknown; out?: unknown; shape?: unknown } };
  shape?: Record<string, unknown>;
}

/** The values of a zod enum or literal under optional/nullable/default wrappers; null for anything else. */
function enumValues(schema: unknown): string[] | null {
  let current = schema as ZodLike | undefined;
  for (let depth = 0; current && depth < 10; depth += 1) {
    const def = current._zod?.def;
    if (!def) return null;
    if (def.type === 'enum' && def.entries) return Object.values(def.entries).map(String);
    if (def.type === 'literal' && def.values) return def.values.map(String);
    if (def.innerType !== undefined) current = def.innerType as ZodLike;
    else if (def.type === 'pipe') current = def.in as ZodLike;
    else return null;
  }
  return null;
}

/** Vocabularies the generated module exports, read from its zod schemas. */
export function generatedVocabularies(module: Record<string, unknown>): VocabularyMap {
  const result: VocabularyMap = new Map();
  for (const [name, value] of Object.entries(module).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!name.endsWith('Schema') || /(Initializer|Mutator|Id)Schema$/.test(name)) continue;
    const owner = snakeCase(name.slice(0, -'Schema'.length));
    if (isBookkeepingName(owner)) continue;
    const zod = value as ZodLike;
    if (zod?._zod?.def?.type === 'object' && zod.shape) {
      for (const [column, schema] of Object.entries(zod.shape)) {
        const values = enumValues(schema);
        if (values) result.set(`${owner}.${column}`, { values, source: name });
      }
      continue;
    }
    const values = enumValues(value);
    if (values) result.set(owner, { values, source: name });
  }
  return result;
}

/** Imports generated/index (built .js, else .ts under tsx or vitest), or explains why it cannot. */
export async function loadGeneratedModule(dir: string): Promise<Record<string, unknown> | { missing: string }> {
  if (!existsSync(dir)) return { missing: `${dir} does not exist (\`agentry types\` writes it)` };
  const file = ['index.js', 'index.ts'].map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!file) return { missing: `${dir} has no index.js or index.ts (\`agentry types\` writes it)` };
  try {
    return (await import(/* @vite-ignore */ pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    return { missing: `${file} could not be loaded (${errorMessage(error)}); build it (\`npm run build\`) or run under tsx` };
  }
}

/** The live CHECK lists by key; columns of a vocabulary domain count as that domain's list. */
export async function liveVocabularyMap(db: Queryable): Promise<VocabularyMap> {
  const result: VocabularyMap = new Map();
  const domains = new Map<string, { values: string[]; source: string }>();
  for (const v of await liveVocabularies(db)) {
    if (v.ownerKind === 'domain') {
      domains.set(v.owner, { values: v.values, source: v.constraint });
      result.set(v.owner, { values: v.values, source: v.constraint });
    } else {
      result.set(`${v.owner}.${v.column}`, { values: v.values, source: v.constraint });
    }
  }
  const { rows } = await db.query<{ table: string; column: string; domain: string }>(
    `SELECT c.relname AS table, a.attname AS column, t.typname AS domain
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_type t ON t.oid = a.atttypid AND t.typtype = 'd'
      WHERE n.nspname = 'agentry' AND a.attnum > 0 AND NOT a.attisdropped AND NOT c.relispartition AND c.relkind IN ('r', 'p', 'v', 'm')`,
  );
  for (const r of rows) {
    const domain = domains.get(r.domain);
    if (domain && !result.has(`${r.table}.${r.column}`)) result.set(`${r.table}.${r.column}`, domain);
  }
  return result;
}

export const vocabularies: Rule = {
  name: 'vocabularies',
  group: 'schema',
  description: 'every vocabulary CHECK (column IN (...), on a column or a domain) lists exactly the values of the union generated/ exports for it',
  async run({ client, generatedDir }) {
    const live = await liveVocabularyMap(client);
    const module = await loadGeneratedModule(generatedDir ?? defaultGeneratedDir());
    if ('missing' in module) {
      return skip(`${plural(live.size, 'vocabulary')} read from the database's CHECKs, nothing to compare them with: ${module.missing}`);
    }
    const generated = generatedVocabularies(module);
    if (generated.size === 0) {
      return skip(`${plural(live.size, 'vocabulary')} read from the database's CHECKs, but the generated module exports no zod enum to compare them with`);
    }
    const problems: string[] = [];
    const same = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));
    for (const key of [...new Set([...live.keys(), ...generated.keys()])].sort()) {
      const l = live.get(key);
      const g = generated.get(key);
      if (l && !g) problems.push(`${key} (${l.source}): the generated type is not a union of its values`);
      else if (!l && g) problems.push(`${key} (${g.source}): generated as a union, but the database has no such CHECK`);
      else if (l && g && !same(l.values, g.values)) {
        const missing = l.values.filter((x) => !g.values.includes(x));
        const extra = g.values.filter((x) => !l.values.includes(x));
        problems.push(
          `${key} (${l.source}): ${[
            ...(missing.length > 0 ? [`allowed by the CHECK but missing from the union: ${missing.join(', ')}`] : []),
            ...(extra.length > 0 ? [`in the union but refused by the CHECK: ${extra.join(', ')}`] : []),
          ].join('; ')}`,
        );
      }
    }
    if (problems.length === 0) return pass(`all ${plural(live.size, 'vocabulary', 'vocabularies')} match the generated unions`);
    return fail(
      `${plural(problems.length, 'vocabulary differs', 'vocabularies differ')} between the database and generated/: regenerate with \`agentry types\` if the migrations changed, else the database has drifted`,
      problems,
    );
  },
};
