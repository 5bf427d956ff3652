import { Command, Option } from 'commander';

import { DEFAULT_MONTHS_AHEAD, runVerify, type VerifyResult } from '../../commands/verify.js';
import { withServer } from '../../db/server.js';
import { withDatabase } from '../../db/url.js';
import { AgentryError } from '../../errors.js';
import { RULES } from '../../verify/index.js';
import { globals, migrationLog, printJson, serverOptions } from '../context.js';
import type { Io } from '../io.js';
import { dateOption, hintMissingDatabase, integerOption } from '../options.js';

interface VerifyFlags {
  monthsAhead: number;
  asOf?: Date;
  rule?: string[];
  skip?: string[];
  referenceDatabase?: string;
  listRules?: boolean;
}

export function verifyCommand(io: Io): Command {
  return new Command('verify')
    .description('check the schema and data invariants of the database, each a named rule; exit 1 if any fails')
    .addOption(
      new Option('--months-ahead <n>', 'partitions rule: months after the current one that must have partitions')
        .argParser(integerOption('--months-ahead', 0, 120))
        .default(DEFAULT_MONTHS_AHEAD),
    )
    .addOption(new Option('--as-of <date>', 'partitions rule: the current month is that of this date (default: today, UTC)').argParser(dateOption('--as-of')))
    .addOption(new Option('--rule <names...>', 'run only these rules'))
    .addOption(new Option('--skip <names...>', 'report these rules as skipped without running them'))
    .addOption(
      new Option('--reference-database <name>', 'drift rule: compare with this database (on the same server, migrated to head) instead of a scratch one'),
    )
    .option('--list-rules', 'print the rules and what each holds, and exit')
    .addHelpText(
      'after',
      `
Rules:
${RULES.map((r) => `  ${r.name.padEnd(20)} ${r.description}`).join('\n')}

The drift rule migrates a scratch database (agentry_scratch_*) to head on the
same server and drops it again: the user needs CREATEDB.`,
    )
    .action(async (flags: VerifyFlags, command: Command) => {
      const opts = globals(command);
      if (flags.listRules) {
        if (opts.json) printJson(io, RULES.map((r) => ({ rule: r.name, group: r.group, description: r.description })));
        else io.stdout(RULES.map((r) => `${r.name.padEnd(20)} ${r.description}\n`).join(''));
        return;
      }
      const onLog = migrationLog(command, io);
      const result = await withServer(serverOptions(command, io), (server) =>
        runVerify({
          databaseUrl: withDatabase(server.connectionString, opts.database),
          adminUrl: server.connectionString,
          monthsAhead: flags.monthsAhead,
          ...(flags.asOf !== undefined && { asOf: flags.asOf }),
          ...(flags.rule !== undefined && { rules: flags.rule }),
          ...(flags.skip !== undefined && { skip: flags.skip }),
          ...(flags.referenceDatabase !== undefined && { referenceUrl: withDatabase(server.connectionString, flags.referenceDatabase) }),
          ...(opts.migrationsDir !== undefined && { migrationsDir: opts.migrationsDir }),
          ...(onLog !== undefined && { onLog }),
        }),
      ).catch(hintMissingDatabase);
      if (opts.json) printJson(io, result);
      else io.stdout(formatVerify(result));
      if (!result.ok) {
        const failed = result.results.filter((r) => r.status === 'fail').map((r) => r.rule);
        throw new AgentryError(
          'check',
          `verify failed: ${failed.length} of ${result.results.length} rules (${failed.join(', ')}); fix what each message says${opts.json ? '' : ' above'}`,
        );
      }
    });
}

export function formatVerify(result: VerifyResult): string {
  const width = Math.max(...result.results.map((r) => r.rule.length), 4);
  const lines = [`Database: ${result.database}`];
  for (const r of result.results) {
    const status = r.status === 'fail' ? 'FAIL' : r.status;
    lines.push(`  ${status.padEnd(4)}  ${r.rule.padEnd(width)}  ${r.message}`);
    for (const detail of r.details) lines.push(`  ${' '.repeat(4)}  ${' '.repeat(width)}    - ${detail}`);
  }
  lines.push(`${result.results.length} rules: ${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped`, '');
  return lines.join('\n');
}
