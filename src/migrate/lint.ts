import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, isAbsolute, join, relative } from 'node:path';

import { z } from 'zod';

import { AgentryError, errorMessage } from '../errors.js';
import { packageRoot } from './config.js';
import { upSectionOnly } from './sql.js';

/** Squawk's settings: the migrations folder's own, else the one at the root of the Agentry package. */
export const SQUAWK_CONFIG_FILE = '.squawk.toml';
/** Findings of already-published migrations that were reviewed and accepted, each with the reason. */
export const SQUAWK_ACCEPTED_FILE = '.squawk-accepted.json';

export interface LintFinding {
  /** Absolute path of the migration file. */
  path: string;
  /** Migration name (file name without .sql). */
  name: string;
  /** 1-based line and column in the file. */
  line: number;
  column: number;
  rule: string;
  level: 'warning' | 'error';
  message: string;
  help: string | null;
}

/** One reviewed finding kind: a rule, where it is accepted ("<file>.sql:<line>"), and why. */
export interface AcceptedEntry {
  rule: string;
  at: string[];
  why: string;
}

export interface LintReport {
  /** Names of the migrations linted, in the order given. */
  linted: string[];
  /** Findings that block: not listed in the accepted file. */
  findings: LintFinding[];
  /** Findings listed (file, rule, line) in the accepted file. */
  accepted: LintFinding[];
  /** Accepted entries (of the linted files) that matched no finding: stale, worth deleting. */
  unusedAccepted: AcceptedEntry[];
  config: string;
  acceptedFile: string | null;
  ok: boolean;
}

const acceptedSchema = z.object({
  accepted: z.array(
    z.object({
      rule: z.string().min(1),
      at: z.array(z.string().regex(/^[^/\\:]+\.sql:[1-9]\d*$/, 'expected "<file>.sql:<line>"')).min(1),
      why: z.string().min(10),
    }),
  ),
});

const squawkFindingSchema = z.array(
  z.object({
    file: z.string(),
    line: z.number().int(),
    column: z.number().int(),
    level: z.string(),
    message: z.string(),
    help: z.string().nullable().optional(),
    rule_name: z.string(),
  }),
);

export interface LintSettings {
  config: string;
  acceptedFile: string | null;
}

/** Where lint settings come from for a migrations folder. */
export function lintSettings(migrationsDir: string): LintSettings {
  const pick = (file: string): string | null => {
    for (const dir of [migrationsDir, packageRoot()]) {
      const candidate = join(dir, file);
      if (existsSync(candidate)) return candidate;
    }
    return null;
  };
  const config = pick(SQUAWK_CONFIG_FILE);
  if (!config) {
    throw new AgentryError('failed', `no ${SQUAWK_CONFIG_FILE} in ${migrationsDir} or ${packageRoot()}: cannot lint (use --no-lint to skip)`);
  }
  return { config, acceptedFile: pick(SQUAWK_ACCEPTED_FILE) };
}

async function readAccepted(file: string | null): Promise<AcceptedEntry[]> {
  if (!file) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new AgentryError('failed', `cannot read ${file}: ${errorMessage(error)}`, { cause: error });
  }
  const result = acceptedSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new AgentryError('failed', `${file} is malformed at ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data.accepted;
}

let cachedBinary: string | undefined;

/** The squawk executable from squawk-cli's per-platform optional package. */
export function squawkBinary(): string {
  if (cachedBinary) return cachedBinary;
  try {
    const squawk = createRequire(import.meta.url)('squawk-cli/js/index.js') as { getBinaryPath(): string };
    cachedBinary = squawk.getBinaryPath();
    return cachedBinary;
  } catch (error) {
    const first = errorMessage(error).split('\n')[0];
    throw new AgentryError('failed', `squawk (the migration linter) is not available: ${first}; reinstall with optional dependencies, or pass --no-lint`, {
      cause: error,
    });
  }
}

function runSquawk(config: string, displayPath: string, sql: string): Promise<z.infer<typeof squawkFindingSchema>> {
  return new Promise((resolve, reject) => {
    const child = spawn(squawkBinary(), ['--config', config, '--reporter', 'json', '--stdin-filepath', displayPath], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', (error) => reject(new AgentryError('failed', `cannot run squawk: ${errorMessage(error)}`, { cause: error })));
    child.on('close', (code) => {
      // 0: clean, 1: findings; anything else is squawk failing (bad config...).
      if (code !== 0 && code !== 1) {
        reject(new AgentryError('failed', `squawk failed on ${displayPath} (exit ${code}): ${stderr.trim().split('\n')[0] ?? ''}`));
        return;
      }
      try {
        resolve(squawkFindingSchema.parse(JSON.parse(stdout || '[]')));
      } catch (error) {
        reject(new AgentryError('failed', `unexpected squawk output for ${displayPath}: ${stderr.trim().split('\n')[0] || errorMessage(error)}`));
      }
    });
    child.stdin.on('error', () => undefined); // squawk exiting early surfaces through 'close'
    child.stdin.end(sql);
  });
}

/** A path as a person reads it: relative to the working directory when inside it. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/**
 * Lints the Up section of each migration file with squawk (the Down section is
 * blanked out, line numbers kept: a down is destructive by design, and it is
 * not what `up` applies). Findings listed in the accepted file are reported
 * separately and do not block.
 */
export async function lintMigrationFiles(paths: readonly string[], migrationsDir: string): Promise<LintReport> {
  const settings = lintSettings(migrationsDir);
  const acceptedEntries = await readAccepted(settings.acceptedFile);
  const findings: LintFinding[] = [];
  const accepted: LintFinding[] = [];
  const used = new Set<string>();
  for (const path of paths) {
    let content: string;
    try {
      content = await readFile(path, 'utf8');
    } catch (error) {
      throw new AgentryError('usage', `cannot read migration ${path}: ${errorMessage(error)}`, { cause: error });
    }
    const fileName = basename(path);
    const raw = await runSquawk(settings.config, displayPath(path), upSectionOnly(content));
    for (const r of raw) {
      // squawk's JSON reporter counts lines and columns from 0.
      const finding: LintFinding = {
        path,
        name: fileName.replace(/\.sql$/, ''),
        line: r.line + 1,
        column: r.column + 1,
        rule: r.rule_name,
        level: r.level.toLowerCase() === 'error' ? 'error' : 'warning',
        message: r.message,
        help: r.help ?? null,
      };
      const at = `${fileName}:${finding.line}`;
      const entry = acceptedEntries.find((e) => e.rule === finding.rule && e.at.includes(at));
      if (entry) {
        used.add(`${entry.rule} ${at}`);
        accepted.push(finding);
      } else {
        findings.push(finding);
      }
    }
  }
  const lintedFiles = new Set(paths.map((p) => basename(p)));
  return {
    linted: paths.map((p) => basename(p).replace(/\.sql$/, '')),
    findings,
    accepted,
    unusedAccepted: acceptedEntries
      .map((e) => ({ ...e, at: e.at.filter((at) => lintedFiles.has(at.replace(/:\d+$/, '')) && !used.has(`${e.rule} ${at}`)) }))
      .filter((e) => e.at.length > 0),
    config: settings.config,
    acceptedFile: settings.acceptedFile,
    ok: findings.length === 0,
  };
}

/** One line per finding: file:line:column rule: message. */
export function formatFinding(finding: LintFinding): string {
  return `${displayPath(finding.path)}:${finding.line}:${finding.column} ${finding.rule}: ${finding.message}${finding.help ? ` (${finding.help})` : ''}`;
}

/** Thrown when lint blocks a migration run; carries the findings for the CLI to print. */
export class LintFailedError extends AgentryError {
  readonly report: LintReport;

  constructor(report: LintReport, action: string) {
    const files = new Set(report.findings.map((f) => f.name));
    super(
      'check',
      `${action}: squawk found ${report.findings.length} problem${report.findings.length === 1 ? '' : 's'} in ${[...files].join(', ')}; fix the migration, acknowledge a reviewed finding with a \`-- squawk-ignore <rule>\` comment above the statement, or pass --no-lint`,
    );
    this.name = 'LintFailedError';
    this.report = report;
  }
}
