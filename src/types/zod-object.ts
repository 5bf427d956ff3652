/**
 * kanel-zod writes an object schema as lines: `z.object({`, one
 * `  name: expression,` per column, and a closing `})` (followed by a cast).
 * These helpers read and rewrite that shape, one property at a time.
 */
import type { ConstantDeclaration } from './kanel-types.js';

export interface ZodProperty {
  /** The key as written (quoted when it must be). */
  key: string;
  /** The column name. */
  name: string;
  /** The expression without the trailing .optional() / .nullable(). */
  base: string;
  optional: boolean;
  nullable: boolean;
}

export interface ZodObject {
  properties: ZodProperty[];
}

const PROPERTY = /^ {2}("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[A-Za-z_$][\w$]*): (.*),$/;

/** Parses an object constant, or returns undefined when it is not one kanel-zod wrote. */
export function parseZodObject(declaration: ConstantDeclaration): ZodObject | undefined {
  const lines = Array.isArray(declaration.value) ? declaration.value : [declaration.value];
  if (lines[0] !== 'z.object({') return undefined;
  const last = lines[lines.length - 1] ?? '';
  if (!last.startsWith('})')) return undefined;
  const properties: ZodProperty[] = [];
  for (const line of lines.slice(1, -1)) {
    const match = PROPERTY.exec(line);
    if (!match) return undefined;
    const key = match[1] as string;
    const name = key.startsWith("'") || key.startsWith('"') ? key.slice(1, -1).replace(/\\(.)/g, '$1') : key;
    properties.push({ key, name, ...splitQualifiers(match[2] as string) });
  }
  return { properties };
}

export function splitQualifiers(expression: string): { base: string; optional: boolean; nullable: boolean } {
  let base = expression;
  let optional = false;
  let nullable = false;
  for (;;) {
    if (base.endsWith('.optional()')) {
      optional = true;
      base = base.slice(0, -'.optional()'.length);
    } else if (base.endsWith('.nullable()')) {
      nullable = true;
      base = base.slice(0, -'.nullable()'.length);
    } else {
      return { base, optional, nullable };
    }
  }
}

export function renderZodProperty(p: ZodProperty): string {
  return `${p.base}${p.optional ? '.optional()' : ''}${p.nullable ? '.nullable()' : ''}`;
}

/**
 * Writes the object back as a plain z.object: no cast, so .extend(), .pick()
 * and z.infer keep working. (That z.infer equals the interface is checked by
 * the tests through generated/tables.ts; a `satisfies` here would cost every
 * build seconds of type checking.)
 */
export function writeZodObject(declaration: ConstantDeclaration, object: ZodObject): void {
  declaration.value = ['z.object({', ...object.properties.map((p) => `  ${p.key}: ${renderZodProperty(p)},`), '})'];
}
