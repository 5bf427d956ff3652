/**
 * One error type for everything Agentry reports to a person, so the CLI can map
 * failures to exit codes without string matching:
 *   usage      -> bad arguments or options (exit 2)
 *   connection -> no server, refused, auth, missing database, no container engine (exit 2)
 *   privilege  -> the role connected lacks a privilege the command needs (exit 2; also
 *                 any 'failed' error caused by SQLSTATE 42501 insufficient_privilege)
 *   check      -> the command ran and found a problem (exit 1)
 *   failed     -> an operation such as a migration failed (exit 1)
 */
export type AgentryErrorKind = 'usage' | 'connection' | 'privilege' | 'check' | 'failed';

export class AgentryError extends Error {
  readonly kind: AgentryErrorKind;

  constructor(kind: AgentryErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgentryError';
    this.kind = kind;
  }
}

export function exitCodeFor(error: unknown): 1 | 2 {
  if (error instanceof AgentryError) {
    if (error.kind === 'usage' || error.kind === 'connection' || error.kind === 'privilege') return 2;
    return error.kind === 'failed' && isPrivilegeError(error) ? 2 : 1;
  }
  return isConnectionError(error) || isPrivilegeError(error) ? 2 : 1;
}

/** Connected with a role that may not do what the command does (SQLSTATE 42501 in the cause chain). */
export function isPrivilegeError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth += 1) {
    if (current instanceof AgentryError && current.kind === 'privilege') return true;
    if ((current as { code?: unknown }).code === '42501') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

// Errors that mean "could not reach or log in to the server", as opposed to a
// query failing: node errno codes plus the SQLSTATEs of the connection phase.
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  '28000', // invalid_authorization_specification
  '28P01', // invalid_password
  '3D000', // invalid_catalog_name: database does not exist
  '57P03', // cannot_connect_now: server starting up / shutting down
  '53300', // too_many_connections
]);

export function isConnectionError(error: unknown): boolean {
  if (error instanceof AgentryError) return error.kind === 'connection';
  let current: unknown = error;
  // pg and node-pg-migrate wrap errors; walk the cause chain (and AggregateError
  // from happy-eyeballs connects) to find the original code.
  for (let depth = 0; current && depth < 5; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
    if (current instanceof AggregateError && current.errors.some((e) => isConnectionError(e))) return true;
    if (current instanceof Error && /Connection terminated|timeout expired/i.test(current.message)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

export function errorMessage(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0 && !error.message) {
    return errorMessage(error.errors[0]);
  }
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
