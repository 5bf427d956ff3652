import type pg from 'pg';

export type RuleStatus = 'pass' | 'fail' | 'skip';

/** What `agentry verify --json` prints per rule. */
export interface RuleResult {
  rule: string;
  status: RuleStatus;
  /** One line: what holds, what is wrong and what to do, or why the rule did not run. */
  message: string;
  /** One line per offending object (empty when the rule passes or is skipped). */
  details: string[];
}

export type RuleOutcome = Omit<RuleResult, 'rule'>;

export interface VerifyContext {
  /** Connected to the database under test, catalog session settings applied (withCatalogClient). */
  client: pg.Client;
  /** URL of the database under test (may carry a password: never print it). */
  databaseUrl: string;
  /** Maintenance URL of the same server, for the scratch database drift migrates. */
  adminUrl: string;
  migrationsDir?: string;
  /** A database already migrated to head, used by drift instead of a scratch one. */
  referenceUrl?: string;
  /** Partitions must exist for the current month and this many after it. */
  monthsAhead: number;
  /** "Now" for the partitions rule. */
  asOf: Date;
  /** Where the vocabulary rule looks for the generated types (default: generated/ of the package). */
  generatedDir?: string;
  onLog?: (line: string) => void;
}

export type RuleGroup = 'schema' | 'data';

export interface Rule {
  name: string;
  group: RuleGroup;
  /** What the rule holds, for --help and the README. */
  description: string;
  run(ctx: VerifyContext): Promise<RuleOutcome>;
}

export function pass(message: string): RuleOutcome {
  return { status: 'pass', message, details: [] };
}

export function fail(message: string, details: string[] = []): RuleOutcome {
  return { status: 'fail', message, details };
}

export function skip(message: string): RuleOutcome {
  return { status: 'skip', message, details: [] };
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
