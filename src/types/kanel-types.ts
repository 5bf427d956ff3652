/**
 * Kanel's types, and those of the extract-pg-schema results it carries,
 * reached through kanel itself (extract-pg-schema is kanel's dependency, not
 * ours). Type-only: nothing here loads kanel at run time.
 */
import type { InstantiatedConfig, Output, TsDeclaration, TypeImport } from 'kanel';

export type { InstantiatedConfig, Output, TsDeclaration, TypeImport };

export type PgSchema = InstantiatedConfig['schemas'][string];
export type TableDetails = PgSchema['tables'][number];
export type ViewDetails = PgSchema['views'][number];
export type MaterializedViewDetails = PgSchema['materializedViews'][number];
export type DomainDetails = PgSchema['domains'][number];
export type TableColumn = TableDetails['columns'][number];
export type ViewColumn = ViewDetails['columns'][number];
export type RelationDetails = TableDetails | ViewDetails | MaterializedViewDetails;
export type Details = Parameters<InstantiatedConfig['getMetadata']>[0];

export type InterfaceDeclaration = Extract<TsDeclaration, { declarationType: 'interface' }>;
export type InterfaceProperty = InterfaceDeclaration['properties'][number];
export type TypeDeclaration = Extract<TsDeclaration, { declarationType: 'typeDeclaration' }>;
export type ConstantDeclaration = Extract<TsDeclaration, { declarationType: 'constant' }>;
export type GenericDeclaration = Extract<TsDeclaration, { declarationType: 'generic' }>;
export type TsFileContents = Extract<Output[string], { fileType: 'typescript' }>;
export type GenerateFor = 'selector' | 'initializer' | 'mutator';
