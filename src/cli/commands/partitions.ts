import { Command, Option } from 'commander';

import {
  DEFAULT_PARTITION_MONTHS_AHEAD,
  listPartitions,
  maintainPartitions,
  type ListPartitionsResult,
  type MaintainPartitionsResult,
} from '../../commands/partitions.js';
import { withServer } from '../../db/server.js';
import { withDatabase } from '../../db/url.js';
import { globals, printJson, serverOptions } from '../context.js';
import type { Io } from '../io.js';
import { dateOption, hintMissingDatabase, integerOption } from '../options.js';

interface MaintainFlags {
  monthsAhead: number;
  retentionMonths?: number;
  detachOnly?: boolean;
  asOf?: Date;
}

export function partitionsCommand(io: Io): Command {
  const partitions = new Command('partitions').description(
    'monthly partitions of agent_metrics, activity_logs and audit_logs: create ahead, retire old ones, list',
  );

  partitions
    .command('maintain')
    .description('create the partitions of every range-partitioned table through N months ahead; with --retention-months, detach and drop old ones')
    .addOption(
      new Option('--months-ahead <n>', 'create partitions from the current month through this many months ahead')
        .argParser(integerOption('--months-ahead', 0, 120))
        .default(DEFAULT_PARTITION_MONTHS_AHEAD),
    )
    .addOption(
      new Option('--retention-months <m>', 'detach and drop partitions that ended more than m months before the current one (default: keep all)').argParser(
        integerOption('--retention-months', 1, 1200),
      ),
    )
    .option('--detach-only', 'detach partitions past retention but keep them as tables (to archive them first)')
    .addOption(new Option('--as-of <date>', 'the current month is that of this date (default: today, UTC)').argParser(dateOption('--as-of')))
    .addHelpText(
      'after',
      `
Runs agentry.maintain_partitions(months_ahead, retention_months, drop_detached, as_of)
in one transaction, as the connecting user: a superuser or a member of agentry_owner.
A month whose rows already sit in the default partition is moved into its new partition.`,
    )
    .action(async (flags: MaintainFlags, command: Command) => {
      const opts = globals(command);
      const result = await withServer(serverOptions(command, io), (server) =>
        maintainPartitions({
          databaseUrl: withDatabase(server.connectionString, opts.database),
          monthsAhead: flags.monthsAhead,
          ...(flags.retentionMonths !== undefined && { retentionMonths: flags.retentionMonths }),
          ...(flags.detachOnly !== undefined && { detachOnly: flags.detachOnly }),
          ...(flags.asOf !== undefined && { asOf: flags.asOf }),
        }),
      ).catch(hintMissingDatabase);
      if (opts.json) printJson(io, result);
      else io.stdout(formatMaintain(result));
    });

  partitions
    .command('list')
    .description('every partitioned table with its partitions: bounds, estimated rows and size')
    .action(async (_flags: unknown, command: Command) => {
      const opts = globals(command);
      const result = await withServer(serverOptions(command, io), (server) =>
        listPartitions({ databaseUrl: withDatabase(server.connectionString, opts.database) }),
      ).catch(hintMissingDatabase);
      if (opts.json) printJson(io, result);
      else io.stdout(formatList(result));
    });

  return partitions;
}

export function formatMaintain(result: MaintainPartitionsResult): string {
  const lines = [
    `Database: ${result.database}`,
    `As of ${result.asOf.slice(0, 10)}: partitions through ${result.monthsAhead} month(s) ahead${
      result.retentionMonths === null ? '' : `, ${result.retentionMonths} month(s) kept${result.detachOnly ? ' (older ones detached, not dropped)' : ''}`
    }`,
  ];
  if (result.actions.length === 0) lines.push('Nothing to do: every partition is in place.');
  for (const a of result.actions) lines.push(`  ${a.action.padEnd(8)}  ${a.partition}  (${a.table})`);
  lines.push('');
  return lines.join('\n');
}

function humanSize(bytes: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 10 * 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${Math.round(value)} ${units[unit]}`;
}

export function formatList(result: ListPartitionsResult): string {
  const lines = [`Database: ${result.database}`];
  for (const t of result.tables) {
    lines.push('', `${t.table}  ${t.key}  (${t.partitions.length} partitions)`);
    const rows = t.partitions.map((p) => [
      p.name,
      p.isDefault ? 'DEFAULT' : p.from ?? p.bound,
      p.isDefault ? '' : p.to ?? '',
      p.rowEstimate === null ? '?' : String(p.rowEstimate),
      humanSize(p.sizeBytes),
    ]);
    const header = ['partition', 'from', 'to', 'rows (est.)', 'size'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => `  ${cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ')}`.trimEnd();
    lines.push(line(header), ...rows.map(line));
  }
  lines.push('');
  return lines.join('\n');
}
