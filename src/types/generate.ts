/**
 * Runs Kanel (processDatabase, with kanel-zod and Agentry's hooks) against a
 * migrated database and returns the generated files in memory: one module
 * per table, view and domain under <schema>/, plus constraints.ts and
 * index.ts. Kanel writes into a scratch folder that is removed again; what
 * lands in generated/ is decided by the caller.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';

import { withClient } from '../db/admin.js';
import { MIGRATIONS_TABLE } from '../migrate/config.js';
import { LEDGER_TABLE } from '../migrate/ledger.js';
import { AgentryError, errorMessage } from '../errors.js';
import { readCatalog, type CatalogExtras } from './catalog.js';
import { makeAgentryHook } from './hook.js';
import type { InstantiatedConfig, Output, RelationDetails, TsFileContents, TypeImport } from './kanel-types.js';
import { zodSchemaName } from './names.js';
import { finishFile, renderConstraints, renderIndex, renderTableMaps, type ModuleExports, type RelationEntry } from './render.js';
import { AGENTRY_JSON_SHAPES, AGENTRY_TRIGGER_FILLED, CUSTOM_TS_TYPES, CUSTOM_ZOD_TYPES, type JsonShapeMap } from './shapes.js';

export interface GenerateTypesOptions {
  /** URL of the database to read (migrated to head), not the maintenance database. */
  databaseUrl: string;
  /** Default agentry. */
  schema?: string;
  /** json shapes by `table.column`; default Agentry's (shapes.ts) for schema agentry, none otherwise. */
  shapes?: JsonShapeMap;
  /** NOT NULL columns a trigger fills (optional on insert); default Agentry's for schema agentry. */
  triggerFilled?: readonly string[];
  /** Kanel's warnings that are not errors. */
  onWarning?: (message: string) => void;
}

export interface GeneratedTypes {
  schema: string;
  /** Relative path (with /) -> file contents, sorted by path. */
  files: Map<string, string>;
}

/** Migration bookkeeping, not part of the data model. */
export const BOOKKEEPING_TABLES: readonly string[] = [MIGRATIONS_TABLE, LEDGER_TABLE];

export async function generateTypes(options: GenerateTypesOptions): Promise<GeneratedTypes> {
  const schema = options.schema ?? 'agentry';
  const shapes = options.shapes ?? (schema === 'agentry' ? AGENTRY_JSON_SHAPES : {});
  const triggerFilled = options.triggerFilled ?? (schema === 'agentry' ? AGENTRY_TRIGGER_FILLED : []);
  const extras = await withClient(options.databaseUrl, (client) => readCatalog(client, schema, { exclude: BOOKKEEPING_TABLES }));

  const { kanel, kanelZod } = await loadKanel();
  const staging = await mkdtemp(join(tmpdir(), 'agentry-types-'));
  const captured = new Map<string, string[]>();
  try {
    const generateZod = kanelZod.makeGenerateZodSchemas({
      getZodSchemaMetadata: (details, generateFor, config) => {
        const { name, path } = config.getMetadata(details, generateFor, config);
        const what = generateFor === 'initializer' ? 'an insert into' : generateFor === 'mutator' ? 'an update of' : 'a row of';
        return { name: zodSchemaName(name), path, comment: [`Zod schema for ${what} ${details.schemaName}.${details.name}`] };
      },
      getZodIdentifierMetadata: (column, details, config) => {
        const generate = config.generateIdentifierType;
        if (!generate) throw new Error('Kanel has no identifier type generator');
        return { name: zodSchemaName(generate(column, details, config).name), comment: [`Zod schema for the identifier of ${details.schemaName}.${details.name}`] };
      },
      zodTypeMap: { ...kanelZod.defaultZodTypeMap, ...CUSTOM_ZOD_TYPES },
      castToSchema: true,
    });
    const agentryHook = makeAgentryHook({ extras, shapes, triggerFilled });

    await quietly(options.onWarning, () =>
      kanel.processDatabase({
        connection: options.databaseUrl,
        schemas: [schema],
        outputPath: staging,
        preDeleteOutputFolder: false,
        tsModuleFormat: 'esm',
        enumStyle: 'type',
        resolveViews: true,
        customTypeMap: CUSTOM_TS_TYPES,
        // Routines (trigger functions, mostly) are not part of the data-access surface.
        typeFilter: (t) => t.kind !== 'function' && t.kind !== 'procedure' && !(t.kind === 'table' && BOOKKEEPING_TABLES.includes(t.name)),
        getMetadata: (details, generateFor, config) => ({ ...kanel.defaultGetMetadata(details, generateFor, config), exportAs: 'named' }),
        preRenderHooks: [generateZod, agentryHook, (output: Output, config: InstantiatedConfig) => addCatalogAndIndex(output, config, extras, staging)],
        postRenderHooks: [
          (path: string, lines: string[]) => {
            captured.set(toRelative(staging, path), lines);
            return lines;
          },
        ],
      }),
    );
  } finally {
    await rm(staging, { recursive: true, force: true });
  }

  const files = new Map<string, string>();
  for (const path of [...captured.keys()].sort()) files.set(path, finishFile(captured.get(path) as string[]));
  return { schema, files };
}

function toRelative(root: string, path: string): string {
  return relative(root, path).split(sep).join('/');
}

/** Adds constraints.ts, tables.ts and index.ts to Kanel's output. */
function addCatalogAndIndex(output: Output, config: InstantiatedConfig, extras: CatalogExtras, outputPath: string): Output {
  const result: Output = { ...output };
  const constraintsPath = join(outputPath, 'constraints');
  result[constraintsPath] = {
    fileType: 'typescript',
    declarations: [{ declarationType: 'generic', lines: renderConstraints(extras.constraints, extras.schema) }],
  };

  const schema = config.schemas[extras.schema];
  const entry = (details: RelationDetails): RelationEntry => {
    const kinds = details.kind === 'table' ? (['selector', 'initializer', 'mutator'] as const) : (['selector'] as const);
    const { path } = config.getMetadata(details, 'selector', config);
    return {
      name: details.name,
      path,
      types: kinds.map((k) => config.getMetadata(details, k, config).name),
    };
  };
  const byName = (a: RelationDetails, b: RelationDetails) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const tables = [...(schema?.tables ?? [])].sort(byName).map(entry);
  const views = [...(schema?.views ?? []), ...(schema?.materializedViews ?? [])].sort(byName).map(entry);
  const tablesPath = join(outputPath, 'tables');
  const maps = renderTableMaps(tables, views, extras.schema);
  const imports: TypeImport[] = [...tables, ...views].flatMap((r) =>
    r.types.flatMap((t) => [
      { name: t, path: r.path, isDefault: false, isAbsolute: false, importAsType: true },
      { name: zodSchemaName(t), path: r.path, isDefault: false, isAbsolute: false, importAsType: false },
    ]),
  );
  result[tablesPath] = { fileType: 'typescript', declarations: [{ declarationType: 'generic', lines: maps.lines, typeImports: imports }] };

  const modules: ModuleExports[] = [];
  for (const [path, contents] of Object.entries(result)) {
    if (contents.fileType !== 'typescript') continue;
    const names =
      path === constraintsPath
        ? [
            { name: 'ConstraintCatalogKind', type: true },
            { name: 'ConstraintCatalogEntry', type: true },
            { name: 'ConstraintName', type: true },
            { name: 'constraintCatalog', type: false },
            { name: 'isConstraintName', type: false },
          ]
        : path === tablesPath
          ? maps.exports
          : exportedNames(contents);
    modules.push({ specifier: `./${toRelative(outputPath, path)}.js`, names });
  }
  const seen = new Map<string, string>();
  for (const m of modules) {
    for (const n of m.names) {
      const other = seen.get(n.name);
      if (other) throw new Error(`generated name ${n.name} is exported by both ${other} and ${m.specifier}`);
      seen.set(n.name, m.specifier);
    }
  }
  result[join(outputPath, 'index')] = {
    fileType: 'typescript',
    declarations: [{ declarationType: 'generic', lines: renderIndex(modules) }],
  };
  return result;
}

function exportedNames(contents: TsFileContents): { name: string; type: boolean }[] {
  return contents.declarations.flatMap((d) => {
    if (d.declarationType === 'generic') return [];
    if (d.exportAs !== 'named') throw new Error(`${d.name} is a default export; generated modules export by name`);
    return [{ name: d.name, type: d.declarationType === 'interface' || d.declarationType === 'typeDeclaration' }];
  });
}

type KanelModule = typeof import('kanel');
type KanelZodModule = typeof import('kanel-zod');

/** kanel and kanel-zod are development dependencies, loaded only when types are generated. */
async function loadKanel(): Promise<{ kanel: KanelModule; kanelZod: KanelZodModule }> {
  try {
    const [kanel, kanelZod] = await Promise.all([import('kanel'), import('kanel-zod')]);
    // CommonJS modules: their exports object is the default import.
    return { kanel: (kanel as { default?: KanelModule }).default ?? kanel, kanelZod: (kanelZod as { default?: KanelZodModule }).default ?? kanelZod };
  } catch (error) {
    throw new AgentryError('failed', `cannot load kanel and kanel-zod (development dependencies; run npm install): ${errorMessage(error)}`, { cause: error });
  }
}

/**
 * Kanel reports through the console: the files it writes, a notice that the
 * (kanel-zod-compatible) V3 config is deprecated, and problems. Keep the
 * first two quiet, pass other warnings on, and fail on types it could not
 * map (kanel-zod would write `undefined` into a schema).
 */
async function quietly<T>(onWarning: ((message: string) => void) | undefined, fn: () => Promise<T>): Promise<T> {
  const original = { info: console.info, warn: console.warn, error: console.error, log: console.log };
  const problems: string[] = [];
  const capture =
    (level: 'info' | 'warn' | 'error' | 'log') =>
    (...args: unknown[]): void => {
      const message = args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
      if (level === 'info' && message.startsWith(' - ')) return;
      if (/deprecated V3 config format|consider migrating to V4|^Clearing old files/.test(message)) return;
      if (/Unknown type|Could not resolve/.test(message)) problems.push(message);
      else onWarning?.(message);
    };
  console.info = capture('info');
  console.warn = capture('warn');
  console.error = capture('error');
  console.log = capture('log');
  let result: T;
  try {
    result = await fn();
  } finally {
    Object.assign(console, original);
  }
  if (problems.length > 0) throw new AgentryError('failed', `type generation found types it cannot map:\n  ${problems.join('\n  ')}`);
  return result;
}
