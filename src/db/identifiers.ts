import { AgentryError } from '../errors.js';

/**
 * The only way Agentry puts an identifier (database, schema, table, role name)
 * into SQL text. Values always go through $n parameters instead; identifiers
 * cannot be parameters in PostgreSQL, so they are quoted here and nowhere else.
 */
export function quoteIdent(name: string): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new AgentryError('usage', 'an SQL identifier must be a non-empty string');
  }
  if (name.includes('\0')) {
    throw new AgentryError('usage', 'an SQL identifier cannot contain a NUL character');
  }
  // PostgreSQL silently truncates longer names (NAMEDATALEN 64), which would
  // make two different names collide; refuse instead.
  if (Buffer.byteLength(name, 'utf8') > 63) {
    throw new AgentryError('usage', `identifier is longer than 63 bytes: ${name.slice(0, 70)}`);
  }
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a possibly schema-qualified name given as parts: ['agentry', 'tasks']. */
export function quoteQualified(...parts: string[]): string {
  return parts.map(quoteIdent).join('.');
}

/**
 * Database names Agentry creates itself (the main database, test and template
 * databases) are restricted to a boring alphabet so they can appear in file
 * names, logs and URLs without further escaping.
 */
export function assertSimpleDatabaseName(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new AgentryError(
      'usage',
      `invalid database name "${name}": use lower-case letters, digits and _ (at most 63, not starting with a digit)`,
    );
  }
  return name;
}
