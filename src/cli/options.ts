import { AgentryError, errorMessage } from '../errors.js';

/** Parses an integer option within [min, max]; a usage error (exit 2) otherwise. */
export function integerOption(flag: string, min: number, max: number): (value: string) => number {
  return (value: string) => {
    if (!/^-?\d+$/.test(value.trim())) throw new AgentryError('usage', `${flag} expects an integer, not "${value}"`);
    const n = Number(value);
    if (n < min || n > max) throw new AgentryError('usage', `${flag} must be between ${min} and ${max}, not ${n}`);
    return n;
  };
}

/** Parses --as-of: a date (YYYY-MM-DD, read as UTC midnight) or an ISO 8601 timestamp. */
export function dateOption(flag: string): (value: string) => Date {
  return (value: string) => {
    const text = value.trim();
    const date = /^\d{4}-\d{2}-\d{2}$/.test(text) ? new Date(`${text}T00:00:00Z`) : /^\d{4}-\d{2}-\d{2}T/.test(text) ? new Date(text) : null;
    if (date === null || Number.isNaN(date.getTime())) {
      throw new AgentryError('usage', `${flag} expects a date such as 2026-01-31 or an ISO timestamp, not "${value}"`);
    }
    return date;
  };
}

/** Say what creates the database when it is missing. */
export function hintMissingDatabase(error: unknown): never {
  if (error instanceof AgentryError && /database ".*" does not exist/.test(error.message)) {
    throw new AgentryError(error.kind, `${errorMessage(error)} (\`agentry demo\` creates it; or pick one with --database)`, { cause: error });
  }
  throw error;
}
