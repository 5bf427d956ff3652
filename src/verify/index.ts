import { DATA_RULES } from './data-rules.js';
import { drift } from './drift-rule.js';
import { migrationChecksums } from './ledger-rule.js';
import { rolesAndPrivileges } from './privilege-rules.js';
import { duplicateIndexes, fkIndexes, invalidIndexes, partitionsAhead, primaryKeys, updatedAtTriggers } from './schema-rules.js';
import type { Rule } from './types.js';
import { vocabularies } from './vocabulary-rule.js';

/** Every rule of `agentry verify`, in the order they run and are reported. */
export const RULES: readonly Rule[] = [
  primaryKeys,
  fkIndexes,
  duplicateIndexes,
  invalidIndexes,
  updatedAtTriggers,
  vocabularies,
  partitionsAhead,
  rolesAndPrivileges,
  migrationChecksums,
  drift,
  ...DATA_RULES,
];

export const RULE_NAMES: readonly string[] = RULES.map((r) => r.name);

export * from './types.js';
export { ROLE_DESIGN, OWNERSHIP, REFERENCE_TABLES, APPEND_ONLY_TABLES, type RoleDesign, type TablePrivilege } from './design.js';
export { findCycles } from './graph.js';
export { schemaDrift } from './drift-rule.js';
