import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { generateTypes } from '../../src/types/generate.js';
import {
  columnVocabulary,
  jsonKinds,
  listVocabularies,
  parseArrayLiteral,
  parseCheckClause,
  tsString,
  type CheckFact,
} from '../../src/types/vocabulary.js';
import { useTestDatabase } from '../helpers/db.js';

const column = (name: string, ...values: string[]): CheckFact => ({ subject: { kind: 'column', column: name }, values });

describe('parseCheckClause', () => {
  it('reads the list PostgreSQL prints for col IN (...), in the order it lists the values', () => {
    const clause =
      "CHECK (((status)::text = ANY ((ARRAY['online'::character varying, 'offline'::character varying, 'busy'::character varying])::text[])))";
    expect(parseCheckClause(clause)).toEqual([column('status', 'online', 'offline', 'busy')]);
    // The same without CHECK, and as written by hand.
    expect(parseCheckClause("(kind = ANY (ARRAY['x'::text, 'y'::text]))")).toEqual([column('kind', 'x', 'y')]);
    expect(parseCheckClause("status IN ('b', 'a')")).toEqual([column('status', 'b', 'a')]);
    expect(parseCheckClause("status = ANY ('{a,\"b c\",\"d\\\"e\"}'::text[])")).toEqual([column('status', 'a', 'b c', 'd"e')]);
  });

  it("reads extract-pg-schema's clause, which can have lost a bracket at each end", () => {
    expect(parseCheckClause("(status)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[])")).toEqual([column('status', 'a', 'b')]);
    expect(parseCheckClause("status)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[]")).toEqual([column('status', 'a', 'b')]);
  });

  it('decodes quotes and escapes in values, and keeps case, order and unusual characters', () => {
    expect(parseCheckClause("CHECK ((mood = ANY (ARRAY['it''s'::text, 'a\"b'::text, ''::text])))")).toEqual([column('mood', "it's", 'a"b', '')]);
    expect(parseCheckClause("mood IN (E'it\\'s', E'tab\\there', $$dollar's$$, $q$x$q$)")).toEqual([column('mood', "it's", 'tab\there', "dollar's", 'x')]);
    expect(parseCheckClause("c IN ('B', 'a', 'A', 'a', 'é', 'ü')")).toEqual([column('c', 'B', 'a', 'A', 'é', 'ü')]);
  });

  it('reads col = value on either side, quoted column names, domain VALUE and NOT VALID', () => {
    expect(parseCheckClause("CHECK (((eq)::text = 'fixed'::text))")).toEqual([column('eq', 'fixed')]);
    expect(parseCheckClause("'fixed' = eq")).toEqual([column('eq', 'fixed')]);
    expect(parseCheckClause('CHECK ((("Status")::text = \'x\'::text))')).toEqual([column('Status', 'x')]);
    expect(parseCheckClause("CHECK (((VALUE)::text = ANY ((ARRAY['a'::character varying])::text[])))")).toEqual([column('VALUE', 'a')]);
    expect(parseCheckClause("CHECK (((a)::text = ANY ((ARRAY['x'::character varying])::text[]))) NOT VALID")).toEqual([column('a', 'x')]);
    expect(parseCheckClause("CHECK ((((s)::text)::character varying(20) = 'x'::character varying(20)))")).toEqual([column('s', 'x')]);
  });

  it('takes a list that is a top-level AND conjunct, even next to other conditions', () => {
    expect(parseCheckClause("CHECK ((((status)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[])) AND (length((status)::text) > 0)))")).toEqual([
      column('status', 'a', 'b'),
    ]);
    expect(parseCheckClause("(a IN ('x', 'y')) AND (b IN ('z')) AND c > 1")).toEqual([column('a', 'x', 'y'), column('b', 'z')]);
    expect(parseCheckClause("a IN ('x', 'y') AND n BETWEEN 1 AND 2")).toEqual([column('a', 'x', 'y')]);
    expect(parseCheckClause("((a IN ('x')) AND ((b = 'y') AND (c = 'z')))")).toEqual([column('a', 'x'), column('b', 'y'), column('c', 'z')]);
  });

  it('takes a disjunction only when every branch lists the same column or says it IS NULL', () => {
    expect(parseCheckClause("((maybe IS NULL) OR ((maybe)::text = 'only'::text))")).toEqual([column('maybe', 'only')]);
    expect(parseCheckClause("((a)::text = 'x'::text) OR ((a)::text = 'y'::text) OR (a IN ('x', 'z'))")).toEqual([column('a', 'x', 'y', 'z')]);
    // Another column in a branch: the list no longer restricts a.
    expect(parseCheckClause("(a IN ('x', 'y')) OR (id > 10)")).toEqual([]);
    expect(parseCheckClause("(a IN ('x')) OR (b IN ('y'))")).toEqual([]);
    expect(parseCheckClause("(a IS NULL) OR (b IS NULL)")).toEqual([]);
    // An AND below an OR is not a top-level conjunct.
    expect(parseCheckClause("((a IN ('x')) AND (b > 0)) OR (c IS NULL)")).toEqual([]);
  });

  it('leaves negations, lists holding NULL, non-text values and casts, and expressions alone', () => {
    for (const clause of [
      "NOT (a IN ('x'))",
      "a NOT IN ('x')",
      "((a)::text <> ALL ((ARRAY['x'::character varying])::text[]))",
      "a IN ('x', NULL)",
      "(a = ANY (ARRAY['x'::text, NULL::text]))",
      "a = NULL",
      '(priority = ANY (ARRAY[1, 2, 3]))',
      'priority IN (1, 2)',
      "((a)::integer = ANY (ARRAY['1'::integer]))",
      "(a = ANY (ARRAY['2024-01-01'::date]))",
      "(lower((a)::text) = ANY (ARRAY['x'::text]))",
      "((a || b) = 'x'::text)",
      "(a ~ '^x$'::text)",
      "a IN (b, 'x')",
      "(a = ANY (ARRAY[]::text[]))",
      "a = ANY ('{x,NULL}'::text[])",
      "a = U&'\\0061'",
      "CASE WHEN a = 'x' THEN true END",
    ]) {
      expect({ clause, facts: parseCheckClause(clause) }).toEqual({ clause, facts: [] });
    }
  });

  it('never throws on text it cannot read', () => {
    for (const clause of ['', 'CHECK', 'CHECK (((', "a IN ('unterminated", '"a" IN (\'x\'', ')))((( ', 'a = ANY (ARRAY[', 'a IN (', '/* open comment']) {
      expect(parseCheckClause(clause)).toEqual([]);
    }
  });

  it('reads jsonb_typeof conjuncts for json columns', () => {
    expect(parseCheckClause("CHECK ((jsonb_typeof(metadata) = 'object'::text))")).toEqual([{ subject: { kind: 'json_typeof', column: 'metadata' }, values: ['object'] }]);
    expect(
      parseCheckClause("CHECK (((jsonb_typeof(tools) = 'array'::text) AND (NOT jsonb_path_exists(tools, 'strict $[*]?(@.type() != \"string\")'::jsonpath))))"),
    ).toEqual([{ subject: { kind: 'json_typeof', column: 'tools' }, values: ['array'] }]);
    expect(parseCheckClause("json_typeof(doc) IN ('object', 'array')")).toEqual([{ subject: { kind: 'json_typeof', column: 'doc' }, values: ['object', 'array'] }]);
    expect(parseCheckClause("jsonb_typeof((doc)::jsonb) = 'object'")).toEqual([{ subject: { kind: 'json_typeof', column: 'doc' }, values: ['object'] }]);
    // Not a conjunct: nothing.
    expect(parseCheckClause("(jsonb_typeof(doc) = 'object'::text) OR (doc IS NULL) OR (x > 1)")).toEqual([]);
  });
});

describe('vocabularies of a table', () => {
  it('intersects several CHECKs on one column, in the order of the first, and skips NOT VALID ones', () => {
    const checks = [
      { name: 'chk_b', clause: "narrowed IN ('c', 'b', 'z')" },
      { name: 'chk_a', clause: "narrowed IN ('a', 'b', 'c')" },
      { name: 'chk_later', clause: "legacy IN ('old', 'new')" },
    ];
    expect(listVocabularies(checks)).toEqual(
      new Map([
        ['narrowed', { values: ['b', 'c'], constraints: ['chk_a', 'chk_b'] }],
        ['legacy', { values: ['old', 'new'], constraints: ['chk_later'] }],
      ]),
    );
    expect(listVocabularies(checks, new Set(['chk_later'])).has('legacy')).toBe(false);
  });

  it('keeps the json kinds a column may have', () => {
    const kinds = jsonKinds([
      { name: 'chk_doc_object', clause: "CHECK ((jsonb_typeof(doc) = 'object'::text))" },
      { name: 'chk_weird', clause: "jsonb_typeof(other) = 'objct'" },
    ]);
    expect(kinds).toEqual(new Map([['doc', { kinds: ['object'], constraints: ['chk_doc_object'] }]]));
  });

  it('applies to text-like, non-array columns with a deterministic collation; pads char(n); drops values too long for varchar(n)', () => {
    const vocabulary = { values: ['ab', 'abc'], constraints: ['chk'] };
    const base = { name: 'c', isArray: false, maxLength: null };
    expect(columnVocabulary({ ...base, type: 'pg_catalog.text' }, vocabulary)).toEqual(vocabulary);
    expect(columnVocabulary({ ...base, type: 'pg_catalog.int4' }, vocabulary)).toBeUndefined();
    expect(columnVocabulary({ ...base, type: 'pg_catalog.text', isArray: true }, vocabulary)).toBeUndefined();
    expect(columnVocabulary({ ...base, type: 'pg_catalog.text', deterministicCollation: false }, vocabulary)).toBeUndefined();
    expect(columnVocabulary({ ...base, type: 'pg_catalog.bpchar', maxLength: 3 }, vocabulary)?.values).toEqual(['ab ', 'abc']);
    expect(columnVocabulary({ ...base, type: 'pg_catalog.varchar', maxLength: 2 }, vocabulary)?.values).toEqual(['ab']);
    expect(columnVocabulary({ ...base, type: 'app.mood' }, vocabulary, (t) => (t === 'app.mood' ? 'pg_catalog.text' : undefined))).toEqual(vocabulary);
    expect(columnVocabulary({ ...base, type: 'app.level' }, vocabulary, () => 'pg_catalog.int4')).toBeUndefined();
  });

  it('parses array literals and writes TypeScript strings', () => {
    expect(parseArrayLiteral('{a, b ,"c,d"}')).toEqual(['a', 'b', 'c,d']);
    expect(parseArrayLiteral('{}')).toBeUndefined();
    expect(parseArrayLiteral('{{a},{b}}')).toBeUndefined();
    expect(parseArrayLiteral('{a,NULL}')).toBeUndefined();
    expect(tsString('plain')).toBe("'plain'");
    expect(tsString("it's")).toBe('"it\'s"');
    expect(tsString('say "hi"')).toBe('\'say "hi"\'');
    expect(tsString('a\\b\nc\u2028')).toBe("'a\\\\b\\nc\\u2028'");
  });
});

describe('vocabulary unions end to end (scratch schema)', () => {
  const db = useTestDatabase({ migrated: false });
  const outDir = resolve(import.meta.dirname, '..', '..', '.agentry', `types-e2e-${process.pid}-${randomBytes(4).toString('hex')}`);
  let files: Map<string, string>;
  let icu = false;

  beforeAll(async () => {
    icu = (await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_collation WHERE collprovider = 'i'")).rows[0]?.n !== 0;
    await db.pool.query(`
      CREATE SCHEMA vocab;
      ${icu ? "CREATE COLLATION vocab.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);" : ''}
      CREATE DOMAIN vocab.mood AS text CONSTRAINT chk_mood CHECK (VALUE IN ('happy', 'it''s complicated'));
      CREATE TABLE vocab.things (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        status varchar(20) NOT NULL CONSTRAINT chk_things_status CHECK (status IN ('new', 'it''s done', 'Mixed Case')),
        maybe text CONSTRAINT chk_things_maybe CHECK (maybe IN ('x', 'y')),
        combined text NOT NULL DEFAULT 'a' CONSTRAINT chk_things_combined CHECK (combined IN ('a', 'b') AND length(combined) = 1),
        either_or text CONSTRAINT chk_things_either_or CHECK (either_or IN ('p', 'q') OR id > 10),
        null_ok text CONSTRAINT chk_things_null_ok CHECK (null_ok IS NULL OR null_ok = 'only'),
        eq text NOT NULL DEFAULT 'fixed' CONSTRAINT chk_things_eq CHECK (eq = 'fixed'),
        priority int NOT NULL DEFAULT 1 CONSTRAINT chk_things_priority CHECK (priority IN (1, 2, 3)),
        code_text int CONSTRAINT chk_things_code_text CHECK (code_text::text IN ('1', '2')),
        padded char(3) CONSTRAINT chk_things_padded CHECK (padded IN ('ab', 'abc')),
        ordered text NOT NULL DEFAULT 'mu' CONSTRAINT chk_things_ordered CHECK (ordered IN ('zeta', 'alpha', 'mu')),
        narrowed text NOT NULL DEFAULT 'c'
          CONSTRAINT chk_things_narrowed_a CHECK (narrowed IN ('a', 'b', 'c'))
          CONSTRAINT chk_things_narrowed_b CHECK (narrowed IN ('c', 'b')),
        insensitive text ${icu ? 'COLLATE vocab.ci' : ''} CONSTRAINT chk_things_insensitive CHECK (insensitive IN ('a', 'b')),
        with_null text CONSTRAINT chk_things_with_null CHECK (with_null IN ('a', NULL)),
        feeling vocab.mood,
        calm vocab.mood CONSTRAINT chk_things_calm CHECK (calm IN ('happy')),
        tags text[] CONSTRAINT chk_things_tags CHECK (tags <@ ARRAY['a', 'b']),
        doc jsonb NOT NULL DEFAULT '{}' CONSTRAINT chk_things_doc_object CHECK (jsonb_typeof(doc) = 'object'),
        list jsonb CONSTRAINT chk_things_list_array CHECK (jsonb_typeof(list) = 'array' AND jsonb_array_length(list) < 5),
        loose jsonb,
        total int GENERATED ALWAYS AS (priority * 2) STORED
      );
      ALTER TABLE vocab.things ADD COLUMN legacy text;
      ALTER TABLE vocab.things ADD CONSTRAINT chk_things_legacy CHECK (legacy IN ('old', 'new')) NOT VALID;
      -- Partitioned, identity id: branded although extract-pg-schema sees no key there.
      CREATE TABLE vocab.events (
        id bigint GENERATED ALWAYS AS IDENTITY,
        at timestamptz NOT NULL,
        kind text NOT NULL CONSTRAINT chk_events_kind CHECK (kind IN ('start', 'stop')),
        PRIMARY KEY (id, at)
      ) PARTITION BY RANGE (at);
      CREATE TABLE vocab.events_default PARTITION OF vocab.events DEFAULT;
      -- Composite natural key: no brands.
      CREATE TABLE vocab.pairs (
        a text NOT NULL CONSTRAINT chk_pairs_a CHECK (a IN ('l', 'r')),
        b text NOT NULL,
        PRIMARY KEY (a, b)
      );
      -- Tables that reference each other must still load.
      CREATE TABLE vocab.left_side (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), right_id uuid);
      CREATE TABLE vocab.right_side (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), left_id uuid REFERENCES vocab.left_side (id));
      ALTER TABLE vocab.left_side ADD FOREIGN KEY (right_id) REFERENCES vocab.right_side (id);
      CREATE VIEW vocab.thing_status AS SELECT id, status, tags FROM vocab.things;
    `);
    ({ files } = await generateTypes({ databaseUrl: db.url, schema: 'vocab' }));
    for (const [file, contents] of files) {
      await mkdir(dirname(join(outDir, file)), { recursive: true });
      await writeFile(join(outDir, file), contents);
    }
  });

  afterAll(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  /** The declaration of one property in one interface of a module. */
  const property = (file: string, iface: string, name: string): string | undefined => {
    const text = files.get(file) ?? '';
    const body = new RegExp(`export interface ${iface} \\{([\\s\\S]*?)\\n\\}`).exec(text)?.[1] ?? '';
    return new RegExp(`^  ${name}(\\??): (.*);$`, 'm').exec(body)?.slice(1).join('|');
  };

  it('turns list CHECKs into literal unions in CHECK order, and leaves everything else alone', () => {
    const row = (name: string) => property('vocab/Things.ts', 'Things', name);
    expect(row('status')).toBe(`|'new' | "it's done" | 'Mixed Case'`);
    expect(row('maybe')).toBe("|'x' | 'y' | null");
    expect(row('combined')).toBe("|'a' | 'b'");
    expect(row('either_or')).toBe('|string | null');
    expect(row('null_ok')).toBe("|'only' | null");
    expect(row('eq')).toBe("|'fixed'");
    expect(row('priority')).toBe('|number');
    expect(row('code_text')).toBe('|number | null');
    expect(row('padded')).toBe("|'ab ' | 'abc' | null");
    expect(row('ordered')).toBe("|'zeta' | 'alpha' | 'mu'");
    expect(row('narrowed')).toBe("|'b' | 'c'");
    expect(row('insensitive')).toBe(icu ? '|string | null' : "|'a' | 'b' | null");
    expect(row('with_null')).toBe('|string | null');
    expect(row('feeling')).toBe('|Mood | null');
    expect(row('calm')).toBe("|'happy' | null");
    expect(row('tags')).toBe('|string[] | null');
    expect(row('legacy')).toBe('|string | null');
    expect(files.get('vocab/Mood.ts')).toContain(`export type Mood = 'happy' | "it's complicated";`);
    expect(files.get('vocab/Mood.ts')).toContain(`export const moodSchema = z.enum(['happy', "it's complicated"]);`);
    expect(property('vocab/Events.ts', 'Events', 'kind')).toBe("|'start' | 'stop'");
    expect(property('vocab/Pairs.ts', 'Pairs', 'a')).toBe("|'l' | 'r'");
    // A view column showing a table column unchanged gets its union.
    expect(property('vocab/ThingStatus.ts', 'ThingStatus', 'status')).toMatch(/^\|'new' \| "it's done" \| 'Mixed Case'/);
  });

  it('types json columns from their jsonb_typeof CHECK', () => {
    expect(property('vocab/Things.ts', 'Things', 'doc')).toBe('|Record<string, unknown>');
    expect(property('vocab/Things.ts', 'Things', 'list')).toBe('|unknown[] | null');
    expect(property('vocab/Things.ts', 'Things', 'loose')).toBe('|unknown | null');
  });

  it('keeps generated and identity columns out of inserts and updates, and brands one id per table', () => {
    for (const iface of ['ThingsInitializer', 'ThingsMutator']) {
      expect(property('vocab/Things.ts', iface, 'total')).toBeUndefined();
      expect(property('vocab/Things.ts', iface, 'id')).toBeUndefined();
      expect(property('vocab/Things.ts', iface, 'status')).toBeDefined();
    }
    expect(property('vocab/Things.ts', 'Things', 'id')).toBe('|ThingsId');
    expect(property('vocab/Events.ts', 'Events', 'id')).toBe('|EventsId');
    expect(files.get('vocab/Events.ts')).toContain("export type EventsId = string & { __brand: 'vocab.events' };");
    expect(property('vocab/Pairs.ts', 'Pairs', 'b')).toBe('|string');
    expect(files.get('vocab/Pairs.ts')).not.toContain('__brand');
    expect(property('vocab/RightSide.ts', 'RightSide', 'left_id')).toBe('|LeftSideId | null');
  });

  it('writes zod schemas that load (even for tables that reference each other) and enforce the unions', async () => {
    const things = await import(join(outDir, 'vocab', 'Things.ts'));
    await import(join(outDir, 'vocab', 'LeftSide.ts'));
    const index = await import(join(outDir, 'index.ts'));
    expect(index.rightSideSchema.parse({ id: '00000000-0000-0000-0000-000000000001', left_id: null })).toBeTruthy();

    const insert = things.thingsInitializerSchema;
    const ok = insert.safeParse({ status: "it's done", padded: 'ab ', feeling: "it's complicated", total: 3 });
    expect(ok.success).toBe(true);
    // Generated columns are not part of the insert schema: dropped, never sent.
    expect(ok.data).not.toHaveProperty('total');
    expect(Object.keys(insert.shape)).not.toContain('total');
    expect(Object.keys(insert.shape)).not.toContain('id');
    expect(Object.keys(things.thingsMutatorSchema.shape)).not.toContain('total');
    expect(Object.keys(things.thingsSchema.shape)).toContain('total');

    expect(insert.safeParse({ status: 'New' }).success).toBe(false);
    expect(insert.safeParse({ status: 'new', maybe: null }).success).toBe(true);
    expect(insert.safeParse({ status: 'new', maybe: 'z' }).success).toBe(false);
    expect(insert.safeParse({ status: 'new', feeling: 'sad' }).success).toBe(false);
    expect(insert.safeParse({ status: 'new', doc: [] }).success).toBe(false);
    expect(insert.safeParse({ status: 'new', either_or: 'anything' }).success).toBe(true);
  });

  it('fails loudly when a json shape entry names a column that is gone, is not json, or contradicts its CHECK', async () => {
    const shape = { ts: 'string[]', zod: 'z.array(z.string())', json: 'array' as const };
    const attempt = generateTypes({
      databaseUrl: db.url,
      schema: 'vocab',
      shapes: { 'things.gone': shape, 'things.status': shape, 'things.doc': shape, 'things.list': shape },
      triggerFilled: ['things.vanished'],
    });
    await expect(attempt).rejects.toThrow(
      [
        'src/types/shapes.ts no longer matches the database:',
        '  things.gone: no such column in schema vocab',
        '  things.status: is pg_catalog.varchar, not json or jsonb',
        "  things.doc: the shape expects a CHECK jsonb_typeof(doc) = 'array', the database has object",
        '  things.vanished (trigger-filled): no such column in schema vocab',
      ].join('\n'),
    );
  });

  it('agrees with the database: every union value is accepted, anything else refused', async () => {
    await db.pool.query("INSERT INTO vocab.things (status, padded, feeling) VALUES ('it''s done', 'ab', 'it''s complicated')");
    const { rows } = await db.pool.query<{ padded: string }>('SELECT padded FROM vocab.things');
    // char(3) comes back padded, as the union says.
    expect(rows[0]?.padded).toBe('ab ');
    await expect(db.pool.query("INSERT INTO vocab.things (status) VALUES ('New')")).rejects.toMatchObject({ constraint: 'chk_things_status' });
  });
});
