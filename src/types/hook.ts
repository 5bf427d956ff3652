/**
 * The pre-render hook that turns Kanel's and kanel-zod's output into
 * Agentry's generated types. It runs after both (kanel-zod is itself a
 * pre-render hook) on the declarations, before anything is rendered, and:
 *
 *  - gives vocabulary columns their literal union and z.enum (vocabulary.ts),
 *    for table CHECKs and for domains such as agentry.task_status;
 *  - gives json columns their shape (shapes.ts, or the jsonb_typeof CHECK);
 *  - keeps generated and identity (GENERATED ALWAYS) columns out of the insert
 *    and update zod schemas, as Kanel already does for the interfaces;
 *  - brands exactly one id per table: the primary key column that is neither
 *    a foreign key nor a partition key (so partitioned tables' bigint ids are
 *    branded, and composite natural keys are not);
 *  - writes object schemas as plain z.object(...), inlines id schemas of
 *    other modules (kanel-zod imports them, which breaks at load time for
 *    mutually referencing tables), and uses named exports throughout.
 */
import type { CatalogExtras } from './catalog.js';
import type {
  ConstantDeclaration,
  DomainDetails,
  GenerateFor,
  InstantiatedConfig,
  InterfaceDeclaration,
  InterfaceProperty,
  Output,
  RelationDetails,
  TableColumn,
  TableDetails,
  TsDeclaration,
  TsFileContents,
  TypeDeclaration,
  TypeImport,
} from './kanel-types.js';
import { zodSchemaName } from './names.js';
import { JSON_KIND_SHAPES, type JsonShapeMap } from './shapes.js';
import { columnVocabulary, jsonKinds, listVocabularies, literalUnion, zodEnum, type Vocabulary } from './vocabulary.js';
import { parseZodObject, writeZodObject, type ZodProperty } from './zod-object.js';

export interface AgentryHookOptions {
  extras: CatalogExtras;
  /** json shapes by `table.column`. */
  shapes: JsonShapeMap;
  /** `table.column` of NOT NULL columns a trigger fills: optional on insert. */
  triggerFilled: readonly string[];
}

/** What the hook decided for one column. */
interface ColumnPlan {
  ts?: { type: string; imports: TypeImport[] };
  zod?: { base: string; imports: TypeImport[] };
  comment?: string;
  omitOnWrite?: boolean;
  insertOptional?: boolean;
}

type ColumnLike = RelationDetails['columns'][number];

const BRAND = / & \{ __brand: '[^']*' \}$/;

export function makeAgentryHook(options: AgentryHookOptions) {
  return (outputAcc: Output, config: InstantiatedConfig): Output => {
    const output: Output = { ...outputAcc };
    const schema = config.schemas[options.extras.schema];
    if (!schema) throw new Error(`schema ${options.extras.schema} was not extracted`);
    const ctx = new Context(output, config, options);

    const tables = schema.tables;
    const relations: RelationDetails[] = [...tables, ...schema.views, ...schema.materializedViews];

    checkShapes(tables, options, ctx);
    normaliseIdentifiers(tables, ctx);
    for (const domain of schema.domains) applyDomain(domain, ctx);
    const plans = new Map<string, ColumnPlan>();
    for (const table of tables) {
      for (const column of table.columns) plans.set(`${table.name}.${column.name}`, planTableColumn(table, column, ctx));
    }
    for (const relation of relations) {
      for (const column of relation.columns) {
        const plan = relation.kind === 'table' ? plans.get(`${relation.name}.${column.name}`) : planViewColumn(column, plans, options);
        if (plan) applyPlan(relation, column, plan, ctx);
      }
    }
    inlineForeignIdSchemas(ctx);
    useNamedImports(output);
    return output;
  };
}

/** Lookups into the output being rewritten. */
class Context {
  constructor(
    readonly output: Output,
    readonly config: InstantiatedConfig,
    readonly options: AgentryHookOptions,
  ) {}

  get schemaName(): string {
    return this.options.extras.schema;
  }

  file(details: RelationDetails | DomainDetails): { path: string; contents: TsFileContents } {
    const { path } = this.config.getMetadata(details, 'selector', this.config);
    const contents = this.output[path];
    if (!contents || contents.fileType !== 'typescript') throw new Error(`no generated module for ${details.schemaName}.${details.name}`);
    return { path, contents };
  }

  typeName(details: RelationDetails | DomainDetails, generateFor: GenerateFor | undefined): string {
    return this.config.getMetadata(details, generateFor, this.config).name;
  }

  identifierName(column: TableColumn, table: TableDetails): string {
    const generate = this.config.generateIdentifierType;
    if (!generate) throw new Error('Kanel has no identifier type generator');
    return generate(column, table, this.config).name;
  }

  find<K extends TsDeclaration['declarationType']>(contents: TsFileContents, kind: K, name: string): Extract<TsDeclaration, { declarationType: K }> | undefined {
    return contents.declarations.find((d): d is Extract<TsDeclaration, { declarationType: K }> => d.declarationType === kind && 'name' in d && d.name === name);
  }

  interfaces(details: RelationDetails): { generateFor: GenerateFor; declaration: InterfaceDeclaration }[] {
    const { contents } = this.file(details);
    const kinds: GenerateFor[] = details.kind === 'table' ? ['selector', 'initializer', 'mutator'] : ['selector'];
    return kinds.flatMap((generateFor) => {
      const declaration = this.find(contents, 'interface', this.typeName(details, generateFor));
      return declaration ? [{ generateFor, declaration }] : [];
    });
  }

  zodObjects(details: RelationDetails): { generateFor: GenerateFor; declaration: ConstantDeclaration }[] {
    const { contents } = this.file(details);
    const kinds: GenerateFor[] = details.kind === 'table' ? ['selector', 'initializer', 'mutator'] : ['selector'];
    return kinds.flatMap((generateFor) => {
      const declaration = this.find(contents, 'constant', zodSchemaName(this.typeName(details, generateFor)));
      return declaration ? [{ generateFor, declaration }] : [];
    });
  }

  /** Rewrites the properties of every zod object schema of `details`. */
  editZod(details: RelationDetails, edit: (p: ZodProperty, generateFor: GenerateFor) => ZodProperty | null, imports: TypeImport[] = []): void {
    for (const { generateFor, declaration } of this.zodObjects(details)) {
      const object = parseZodObject(declaration);
      if (!object) throw new Error(`cannot read kanel-zod's schema ${declaration.name}`);
      object.properties = object.properties.flatMap((p) => {
        const edited = edit(p, generateFor);
        return edited ? [edited] : [];
      });
      writeZodObject(declaration, object);
      declaration.typeImports = mergeImports(declaration.typeImports ?? [], imports);
    }
  }
}

/** Fails loudly when a shape entry names a column that is gone, is not json, or contradicts its CHECK. */
function checkShapes(tables: readonly TableDetails[], options: AgentryHookOptions, ctx: Context): void {
  const problems: string[] = [];
  for (const [key, shape] of Object.entries(options.shapes)) {
    const [tableName, columnName] = key.split('.');
    const table = tables.find((t) => t.name === tableName);
    const column = table?.columns.find((c) => c.name === columnName);
    if (!table || !column) {
      problems.push(`${key}: no such column in schema ${ctx.schemaName}`);
      continue;
    }
    if (!['pg_catalog.json', 'pg_catalog.jsonb'].includes(column.type.fullName) || column.isArray) {
      problems.push(`${key}: is ${column.expandedType}, not json or jsonb`);
      continue;
    }
    const derived = jsonKinds(table.checks, new Set(ctx.options.extras.tables.get(table.name)?.notValidChecks)).get(column.name);
    if (shape.json && (!derived || derived.kinds.length !== 1 || derived.kinds[0] !== shape.json)) {
      problems.push(`${key}: the shape expects a CHECK jsonb_typeof(${column.name}) = '${shape.json}', the database has ${derived ? derived.kinds.join(' | ') : 'none'}`);
    }
  }
  for (const key of options.triggerFilled) {
    const [tableName, columnName] = key.split('.');
    if (!tables.find((t) => t.name === tableName)?.columns.some((c) => c.name === columnName)) {
      problems.push(`${key} (trigger-filled): no such column in schema ${ctx.schemaName}`);
    }
  }
  if (problems.length > 0) throw new Error(`src/types/shapes.ts no longer matches the database:\n  ${problems.join('\n  ')}`);
}

/** The column whose values identify a row: the primary key minus partition and foreign key columns, if one is left. */
function identifierColumn(table: TableDetails, ctx: Context): TableColumn | undefined {
  const extras = ctx.options.extras.tables.get(table.name);
  if (!extras) return undefined;
  const candidates = extras.primaryKey.filter((c) => !extras.partitionKey.includes(c) && !extras.foreignKeyColumns.includes(c));
  if (candidates.length !== 1) return undefined;
  const column = table.columns.find((c) => c.name === candidates[0]);
  return column && !column.isArray ? column : undefined;
}

/**
 * Kanel brands every primary key column that is not a reference, and only on
 * tables (not partitioned ones: extract-pg-schema finds no keys there).
 * Brand the identifier column of every table and nothing else.
 */
function normaliseIdentifiers(tables: readonly TableDetails[], ctx: Context): void {
  const unbranded = new Map<string, { ts: string; tsImports: TypeImport[]; zod: string; zodImports: TypeImport[] }>();
  const zodUnbranded = new Map<string, string>();

  for (const table of tables) {
    const { path, contents } = ctx.file(table);
    const wanted = identifierColumn(table, ctx);
    for (const column of table.columns) {
      const idName = ctx.identifierName(column, table);
      const declaration = ctx.find(contents, 'typeDeclaration', idName);
      const isWanted = wanted?.name === column.name;
      if (declaration && !isWanted) {
        // Unbrand: drop the type and its schema, use the base type where they were used.
        const base = (declaration.typeDefinition[0] ?? '').replace(BRAND, '');
        const zodDeclaration = ctx.find(contents, 'constant', zodSchemaName(idName));
        const zodBase = zodDeclaration ? String(zodDeclaration.value).replace(/ as unknown as z\.(?:Schema|ZodType)<[^>]*>$/, '') : 'z.unknown()';
        unbranded.set(idName, {
          ts: base,
          tsImports: declaration.typeImports ?? [],
          zod: zodBase,
          zodImports: (zodDeclaration?.typeImports ?? []).filter((i) => i.name !== 'z'),
        });
        zodUnbranded.set(zodSchemaName(idName), idName);
        contents.declarations = contents.declarations.filter((d) => d !== declaration && d !== zodDeclaration);
      } else if (!declaration && isWanted) {
        brand(table, column, idName, path, contents, ctx, tables);
      }
    }
  }
  if (unbranded.size === 0) return;

  // Replace the removed brands wherever they were used.
  for (const contents of Object.values(ctx.output)) {
    if (contents.fileType !== 'typescript') continue;
    for (const declaration of contents.declarations) {
      if (declaration.declarationType === 'interface') {
        for (const p of declaration.properties) {
          const base = unbranded.get(p.typeName);
          if (!base) continue;
          p.typeName = base.ts;
          p.typeImports = [...(p.typeImports ?? []).filter((i) => !unbranded.has(i.name)), ...base.tsImports];
        }
      } else if (declaration.declarationType === 'constant') {
        const object = parseZodObject(declaration);
        if (!object) continue;
        let changed = false;
        const added: TypeImport[] = [];
        for (const p of object.properties) {
          const idName = zodUnbranded.get(p.base);
          const base = idName !== undefined ? unbranded.get(idName) : undefined;
          if (!base) continue;
          p.base = base.zod;
          added.push(...base.zodImports);
          changed = true;
        }
        if (!changed) continue;
        writeZodObject(declaration, object);
        declaration.typeImports = mergeImports(
          (declaration.typeImports ?? []).filter((i) => !zodUnbranded.has(i.name)),
          added,
        );
      }
    }
  }
}

function brand(table: TableDetails, column: TableColumn, idName: string, path: string, contents: TsFileContents, ctx: Context, tables: readonly TableDetails[]): void {
  const selector = ctx.find(contents, 'interface', ctx.typeName(table, 'selector'));
  const property = selector?.properties.find((p) => p.name === column.name);
  if (!selector || !property) throw new Error(`no property ${column.name} in ${selector?.name ?? table.name}`);
  const declaration: TypeDeclaration = {
    declarationType: 'typeDeclaration',
    name: idName,
    exportAs: 'named',
    typeDefinition: [`${property.typeName} & { __brand: '${table.schemaName}.${table.name}' }`],
    typeImports: property.typeImports ?? [],
    comment: [`Identifier type for ${table.schemaName}.${table.name}`],
  };
  contents.declarations.unshift(declaration);

  const zodName = zodSchemaName(idName);
  const selectorSchema = ctx.find(contents, 'constant', zodSchemaName(selector.name));
  const object = selectorSchema ? parseZodObject(selectorSchema) : undefined;
  const zodProperty = object?.properties.find((p) => p.name === column.name);
  if (!selectorSchema || !object || !zodProperty) throw new Error(`no zod property ${column.name} for ${table.name}`);
  const zodDeclaration: ConstantDeclaration = {
    declarationType: 'constant',
    name: zodName,
    type: undefined,
    value: `${zodProperty.base} as unknown as z.ZodType<${idName}>`,
    exportAs: 'named',
    typeImports: selectorSchema.typeImports?.filter((i) => i.name === 'z') ?? [],
    comment: [`Zod schema for the identifier of ${table.schemaName}.${table.name}`],
  };
  // Before the object schemas that use it.
  const firstSchema = contents.declarations.findIndex((d) => d.declarationType === 'constant');
  contents.declarations.splice(firstSchema === -1 ? contents.declarations.length : firstSchema, 0, zodDeclaration);

  const idImport: TypeImport = { name: idName, path, isDefault: false, isAbsolute: false, importAsType: true };
  const zodImport: TypeImport = { name: zodName, path, isDefault: false, isAbsolute: false, importAsType: false };
  // This table's interfaces and schemas, and every column that references it.
  const users: { relation: TableDetails; column: string }[] = [{ relation: table, column: column.name }];
  for (const other of tables) {
    for (const c of other.columns) {
      if (c.references.some((r) => r.schemaName === table.schemaName && r.tableName === table.name && r.columnName === column.name)) {
        users.push({ relation: other, column: c.name });
      }
    }
  }
  for (const use of users) {
    for (const { declaration: i } of ctx.interfaces(use.relation)) {
      const p = i.properties.find((x) => x.name === use.column);
      if (p) {
        p.typeName = idName;
        p.typeImports = [idImport];
      }
    }
    ctx.editZod(use.relation, (p) => (p.name === use.column ? { ...p, base: zodName } : p), use.relation === table ? [] : [zodImport]);
  }
}

/** A domain with a list CHECK becomes the literal union and z.enum. */
function applyDomain(domain: DomainDetails, ctx: Context): void {
  const vocabulary = domainVocabulary(domain.name, ctx);
  if (!vocabulary) return;
  const { contents } = ctx.file(domain);
  const name = ctx.typeName(domain, undefined);
  const type = ctx.find(contents, 'typeDeclaration', name);
  const schema = ctx.find(contents, 'constant', zodSchemaName(name));
  if (!type || !schema) throw new Error(`no generated declarations for domain ${domain.name}`);
  type.typeDefinition = [literalUnion(vocabulary.values)];
  type.typeImports = [];
  type.comment = [...(type.comment ?? []), `Values: CHECK ${vocabulary.constraints.join(', ')}`];
  schema.value = zodEnum(vocabulary.values);
  schema.comment = [`Zod schema for the domain ${domain.schemaName}.${domain.name}`];
}

function domainVocabulary(name: string, ctx: Context): Vocabulary | undefined {
  const extras = ctx.options.extras.domains.get(name);
  if (!extras) return undefined;
  const checks = extras.checks.map((c) => ({ name: c.name, clause: c.clause }));
  const skip = new Set(extras.checks.filter((c) => !c.validated).map((c) => c.name));
  const vocabulary = listVocabularies(checks, skip).get('VALUE');
  const domain = ctx.config.schemas[ctx.schemaName]?.domains.find((d) => d.name === name);
  const maxLength = domain?.informationSchemaValue.character_maximum_length ?? null;
  return columnVocabulary(
    { name: 'VALUE', type: extras.baseType, isArray: false, maxLength: maxLength === null ? null : Number(maxLength), deterministicCollation: extras.deterministicCollation },
    vocabulary,
  );
}

function planTableColumn(table: TableDetails, column: TableColumn, ctx: Context): ColumnPlan {
  const plan: ColumnPlan = {};
  const extras = ctx.options.extras.tables.get(table.name);
  const skip = new Set(extras?.notValidChecks);
  const key = `${table.name}.${column.name}`;
  if (column.generated === 'ALWAYS') plan.omitOnWrite = true;
  if (ctx.options.triggerFilled.includes(key)) plan.insertOptional = true;

  const isIdentifier = identifierColumn(table, ctx)?.name === column.name;
  if (!isIdentifier && column.references.length === 0) {
    const own = listVocabularies(table.checks, skip).get(column.name);
    const [domainSchema, domainName] = column.type.kind === 'domain' ? column.type.fullName.split('.') : [];
    const domain = domainSchema === ctx.schemaName && domainName ? domainVocabulary(domainName, ctx) : undefined;
    const combined: Vocabulary | undefined =
      own && domain ? { values: own.values.filter((v) => domain.values.includes(v)), constraints: [...domain.constraints, ...own.constraints] } : own;
    const vocabulary = combined
      ? columnVocabulary(
          {
            name: column.name,
            type: column.type.fullName,
            isArray: column.isArray,
            maxLength: column.maxLength,
            deterministicCollation: !extras?.nondeterministicColumns.includes(column.name),
          },
          combined,
          (type) => {
            const [s, n] = type.split('.');
            return s === ctx.schemaName ? ctx.options.extras.domains.get(n ?? '')?.baseType : undefined;
          },
        )
      : undefined;
    if (vocabulary) {
      plan.ts = { type: literalUnion(vocabulary.values), imports: [] };
      plan.zod = { base: zodEnum(vocabulary.values), imports: [] };
      plan.comment = `Values: CHECK ${vocabulary.constraints.join(', ')}`;
    }
  }

  if (['pg_catalog.json', 'pg_catalog.jsonb'].includes(column.type.fullName) && !column.isArray) {
    const shape = ctx.options.shapes[key];
    const derived = jsonKinds(table.checks, skip).get(column.name);
    const kinds = derived?.kinds ?? [];
    if (shape) {
      plan.ts = { type: shape.ts, imports: [] };
      plan.zod = { base: shape.zod, imports: [] };
    } else if (kinds.length > 0) {
      const parts = kinds.map((k) => JSON_KIND_SHAPES[k] as { ts: string; zod: string });
      plan.ts = { type: parts.map((p) => p.ts).join(' | '), imports: [] };
      plan.zod = { base: parts.length === 1 ? (parts[0] as { zod: string }).zod : `z.union([${parts.map((p) => p.zod).join(', ')}])`, imports: [] };
      plan.comment = `Shape: CHECK ${derived?.constraints.join(', ')}`;
    }
  }
  return plan;
}

/** A view column that shows a table column unchanged gets that column's type. */
function planViewColumn(column: ColumnLike, plans: ReadonlyMap<string, ColumnPlan>, options: AgentryHookOptions): ColumnPlan {
  const source = 'source' in column ? column.source : null;
  const plan: ColumnPlan = {};
  if (source && source.schema === options.extras.schema) {
    const inherited = plans.get(`${source.table}.${source.column}`);
    if (inherited?.ts && inherited.zod) {
      plan.ts = inherited.ts;
      plan.zod = inherited.zod;
    }
  }
  return plan;
}

function applyPlan(relation: RelationDetails, column: ColumnLike, plan: ColumnPlan, ctx: Context): void {
  for (const { generateFor, declaration } of ctx.interfaces(relation)) {
    const p = declaration.properties.find((x: InterfaceProperty) => x.name === column.name);
    if (!p) continue;
    if (plan.ts) {
      p.typeName = plan.ts.type;
      p.typeImports = plan.ts.imports;
      p.dimensions = 0;
    }
    if (plan.comment && generateFor === 'selector') p.comment = [...(p.comment ?? []), plan.comment];
    if (plan.insertOptional && generateFor === 'initializer') p.isOptional = true;
  }
  ctx.editZod(relation, (p, generateFor) => {
    if (p.name !== column.name) return p;
    if (plan.omitOnWrite && generateFor !== 'selector') return null;
    const edited = { ...p };
    if (plan.zod) edited.base = plan.zod.base;
    else if (column.isArray && !/\.array\(\)$/.test(edited.base) && !edited.base.startsWith('z.array(')) edited.base = `${edited.base}.array()`;
    if (plan.insertOptional && generateFor === 'initializer') edited.optional = true;
    return edited;
  });
}

/**
 * kanel-zod imports the id schemas of other tables (agentsIdSchema into
 * Tasks, tasksIdSchema into Agents): tables that reference each other then
 * read each other's constants before they exist. Write such an id schema out
 * where it is used (its base, cast to the branded type).
 */
function inlineForeignIdSchemas(ctx: Context): void {
  const ids = new Map<string, { path: string; base: string; typeName: string; imports: TypeImport[] }>();
  for (const [path, contents] of Object.entries(ctx.output)) {
    if (contents.fileType !== 'typescript') continue;
    for (const d of contents.declarations) {
      if (d.declarationType !== 'constant' || typeof d.value !== 'string') continue;
      const cast = /^(.*) as unknown as z\.(?:Schema|ZodType)<([A-Za-z_$][\w$]*)>$/.exec(d.value);
      if (!cast) continue;
      d.value = `${cast[1]} as unknown as z.ZodType<${cast[2]}>`;
      ids.set(d.name, { path, base: cast[1] as string, typeName: cast[2] as string, imports: (d.typeImports ?? []).filter((i) => i.name !== 'z') });
    }
  }
  for (const [path, contents] of Object.entries(ctx.output)) {
    if (contents.fileType !== 'typescript') continue;
    for (const d of contents.declarations) {
      if (d.declarationType !== 'constant') continue;
      const object = parseZodObject(d);
      if (!object) continue;
      const added: TypeImport[] = [];
      for (const p of object.properties) {
        const id = ids.get(p.base);
        if (!id || id.path === path) continue;
        p.base = `(${id.base} as unknown as z.ZodType<${id.typeName}>)`;
        added.push({ name: id.typeName, path: id.path, isDefault: false, isAbsolute: false, importAsType: true }, ...id.imports);
      }
      writeZodObject(d, object);
      const stillUsed = new Set(object.properties.map((p) => p.base));
      d.typeImports = mergeImports(
        (d.typeImports ?? []).filter((i) => !(ids.has(i.name) && ids.get(i.name)?.path !== path && !stillUsed.has(i.name))),
        added,
      );
    }
  }
}

/** Every declaration is a named export; Kanel still imports domains as default exports. */
function useNamedImports(output: Output): void {
  const fix = (imports: TypeImport[] | undefined) => imports?.map((i) => (i.isDefault && !i.isAbsolute ? { ...i, isDefault: false } : i));
  for (const contents of Object.values(output)) {
    if (contents.fileType !== 'typescript') continue;
    for (const d of contents.declarations) {
      d.typeImports = fix(d.typeImports);
      if (d.declarationType === 'interface') {
        for (const p of d.properties) p.typeImports = fix(p.typeImports);
      }
    }
  }
}

function mergeImports(existing: readonly TypeImport[], added: readonly TypeImport[]): TypeImport[] {
  const result = [...existing];
  for (const i of added) {
    if (!result.some((r) => r.name === i.name && r.path === i.path && r.importAsType === i.importAsType)) result.push(i);
  }
  return result;
}
