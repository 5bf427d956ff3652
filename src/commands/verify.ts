import { withCatalogClient } from '../catalog/session.js';
import { redactSecrets, redactUrl } from '../db/url.js';
import { AgentryError, errorMessage, isConnectionError } from '../errors.js';
import { RULE_NAMES, RULES, type RuleResult, type VerifyContext } from '../verify/index.js';

export const DEFAULT_MONTHS_AHEAD = 2;

export interface VerifyOptions {
  /** URL of the database to verify. */
  databaseUrl: string;
  /** Maintenance URL of the same server (for drift's scratch database). Default: databaseUrl. */
  adminUrl?: string;
  migrationsDir?: string;
  /** A database already migrated to head for drift to compare with, instead of migrating a scratch one. */
  referenceUrl?: string;
  /** Partitions must exist this many months ahead of the current one (default 2). */
  monthsAhead?: number;
  /** "Now" for the partitions rule (default: now). */
  asOf?: Date;
  /** Run only these rules. */
  rules?: readonly string[];
  /** Report these rules as skipped without running them. */
  skip?: readonly string[];
  /** Where the generated TypeScript (vocabulary unions) lives; default generated/ of the package. */
  generatedDir?: string;
  onLog?: (line: string) => void;
}

export interface VerifyResult {
  /** The verified database, password redacted. */
  database: string;
  /** No rule failed. */
  ok: boolean;
  passed: number;
  failed: number;
  skipped: number;
  /** One per rule, in RULES order. */
  results: RuleResult[];
}

function checkRuleNames(names: readonly string[] | undefined, option: string): void {
  for (const name of names ?? []) {
    if (!RULE_NAMES.includes(name)) {
      throw new AgentryError('usage', `unknown rule "${name}" for ${option}: expected one of ${RULE_NAMES.join(', ')}`);
    }
  }
}

/**
 * Checks the schema invariants and data invariants of one database, each a
 * named rule (src/verify). Returns every rule's result; never throws for a
 * failed rule (only for usage and connection errors).
 */
export async function runVerify(options: VerifyOptions): Promise<VerifyResult> {
  checkRuleNames(options.rules, '--rule');
  checkRuleNames(options.skip, '--skip');
  const monthsAhead = options.monthsAhead ?? DEFAULT_MONTHS_AHEAD;
  if (!Number.isInteger(monthsAhead) || monthsAhead < 0 || monthsAhead > 120) {
    throw new AgentryError('usage', `invalid months ahead ${monthsAhead}: expected an integer from 0 to 120`);
  }
  const selected = RULES.filter((r) => options.rules === undefined || options.rules.length === 0 || options.rules.includes(r.name));
  const skipped = new Set(options.skip ?? []);

  const results = await withCatalogClient(options.databaseUrl, async (client) => {
    const ctx: VerifyContext = {
      client,
      databaseUrl: options.databaseUrl,
      adminUrl: options.adminUrl ?? options.databaseUrl,
      monthsAhead,
      asOf: options.asOf ?? new Date(),
      ...(options.migrationsDir !== undefined && { migrationsDir: options.migrationsDir }),
      ...(options.referenceUrl !== undefined && { referenceUrl: options.referenceUrl }),
      ...(options.generatedDir !== undefined && { generatedDir: options.generatedDir }),
      ...(options.onLog !== undefined && { onLog: options.onLog }),
    };
    const out: RuleResult[] = [];
    for (const rule of selected) {
      if (skipped.has(rule.name)) {
        out.push({ rule: rule.name, status: 'skip', message: 'skipped on request (--skip)', details: [] });
        continue;
      }
      try {
        out.push({ rule: rule.name, ...(await rule.run(ctx)) });
      } catch (error) {
        if (isConnectionError(error)) throw error;
        // A rule whose query fails (a table it reads is gone, say) cannot vouch for anything.
        out.push({ rule: rule.name, status: 'fail', message: `could not be checked: ${errorMessage(error)}`, details: [] });
      }
    }
    return out;
  });

  // Messages quote server errors; none may carry a password.
  const secrets = [options.databaseUrl, options.adminUrl ?? '', options.referenceUrl ?? ''];
  for (const r of results) {
    r.message = redactSecrets(r.message, secrets);
    r.details = r.details.map((d) => redactSecrets(d, secrets));
  }
  const count = (status: RuleResult['status']): number => results.filter((r) => r.status === status).length;
  return {
    database: redactUrl(options.databaseUrl),
    ok: count('fail') === 0,
    passed: count('pass'),
    failed: count('fail'),
    skipped: count('skip'),
    results,
  };
}
