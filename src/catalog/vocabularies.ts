import { isBookkeepingName } from './diff.js';
import type { Queryable } from './snapshot.js';

/**
 * A vocabulary: a CHECK constraint that is exactly `column IN (literal, ...)`
 * (docs/schema.md: "every vocabulary is one named CHECK"), on a table column
 * or on a domain (its column is VALUE).
 */
export interface Vocabulary {
  constraint: string;
  /** The table, or for a domain its name. */
  owner: string;
  ownerKind: 'table' | 'domain';
  /** The column (VALUE for a domain). */
  column: string;
  /** The allowed values in the order the CHECK lists them. */
  values: string[];
}

// pg_get_constraintdef() prints `status IN ('a', 'b')` on a varchar column as
//   CHECK (((status)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[])))
// and on a text column as
//   CHECK ((status = ANY (ARRAY['a'::text, 'b'::text])))
// and a one-element list as CHECK (((status)::text = 'a'::text)).
const IN_LIST = /^CHECK \(\(\(?(?<column>"(?:[^"]|"")+"|\w+)\)?(?:::[\w ]+)? = ANY \(\(?ARRAY\[(?<list>(?:'(?:[^']|'')*'(?:::[\w ]+)?(?:, )?)+)\]\)?(?:::[\w ]+\[\])?\)\)\)?$/;
const SINGLE = /^CHECK \(\(\(?(?<column>"(?:[^"]|"")+"|\w+)\)?(?:::[\w ]+)? = (?<list>'(?:[^']|'')*'(?:::[\w ]+)?)\)\)?$/;
const LITERAL = /^'((?:[^']|'')*)'(?:::[\w ]+)?$/;

/** The literals of an ARRAY[...] body, or null when it holds anything but string literals. */
function parseLiterals(list: string): string[] | null {
  const values: string[] = [];
  // Split on commas outside quotes.
  let current = '';
  let quoted = false;
  for (const ch of list) {
    if (ch === "'") quoted = !quoted;
    if (ch === ',' && !quoted) {
      values.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  if (current.trim() !== '') values.push(current.trim());
  const parsed: string[] = [];
  for (const v of values) {
    const m = LITERAL.exec(v);
    if (!m) return null;
    parsed.push(m[1]!.replaceAll("''", "'"));
  }
  return parsed;
}

/** Parses one CHECK definition; null when it is not a plain IN-list. */
export function parseVocabularyCheck(definition: string): { column: string; values: string[] } | null {
  const m = IN_LIST.exec(definition) ?? SINGLE.exec(definition);
  if (!m?.groups) return null;
  const values = parseLiterals(m.groups.list!);
  if (!values || values.length === 0) return null;
  const raw = m.groups.column!;
  const column = raw.startsWith('"') ? raw.slice(1, -1).replaceAll('""', '"') : raw;
  return { column, values };
}

/** Every vocabulary CHECK of schema agentry (tables, not partitions, not the migration bookkeeping; and domains), sorted by owner and column. */
export async function liveVocabularies(db: Queryable): Promise<Vocabulary[]> {
  const { rows } = await db.query<{ constraint: string; owner: string; owner_kind: 'table' | 'domain'; definition: string }>(
    `SELECT k.conname AS constraint, coalesce(c.relname, t.typname) AS owner,
            CASE WHEN c.oid IS NULL THEN 'domain' ELSE 'table' END AS owner_kind, pg_get_constraintdef(k.oid) AS definition
       FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
       LEFT JOIN pg_class c ON c.oid = k.conrelid AND k.conrelid <> 0
       LEFT JOIN pg_type t ON t.oid = k.contypid AND k.contypid <> 0
      WHERE n.nspname = 'agentry' AND k.contype = 'c' AND (c.oid IS NULL OR NOT c.relispartition)
      ORDER BY 2, 1`,
  );
  const result: Vocabulary[] = [];
  for (const row of rows) {
    if (row.owner_kind === 'table' && isBookkeepingName(row.owner)) continue;
    const parsed = parseVocabularyCheck(row.definition);
    if (!parsed) continue;
    result.push({ constraint: row.constraint, owner: row.owner, ownerKind: row.owner_kind, column: parsed.column, values: parsed.values });
  }
  const byText = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
  return result.sort((a, b) => byText(a.owner, b.owner) || byText(a.column, b.column) || byText(a.constraint, b.constraint));
}
