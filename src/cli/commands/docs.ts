import { relative } from 'node:path';

import { Command, Option } from 'commander';

import { runDocs, type DocsResult } from '../../commands/docs.js';
import { withServer } from '../../db/server.js';
import { withDatabase } from '../../db/url.js';
import { AgentryError } from '../../errors.js';
import { globals, migrationLog, printJson, serverOptions } from '../context.js';
import type { Io } from '../io.js';
import { hintMissingDatabase } from '../options.js';

interface DocsFlags {
  check?: boolean;
  output?: string;
  intro?: string;
  from: 'scratch' | 'live';
}

export function docsCommand(io: Io): Command {
  return new Command('docs')
    .description('generate docs/schema.md from the schema: the hand-written introduction, then per context its tables, keys, indexes and ER diagrams')
    .option('--check', 'exit 1 if the file differs from what would be generated (for CI); writes nothing')
    .option('--output <path>', 'the document to write (default: docs/schema.md of the Agentry package)')
    .option('--intro <path>', 'hand-written introduction included verbatim at the top (default: schema.intro.md next to --output)')
    .addOption(
      new Option('--from <source>', 'scratch: a scratch database migrated to head; live: the database named by --database, as it is')
        .choices(['scratch', 'live'])
        .default('scratch'),
    )
    .addHelpText(
      'after',
      `
By default the schema is that of the migrations at head, as for \`agentry types\`:
a scratch database (agentry_scratch_*) is created on the server chosen by
--database-url / --provider (embedded by default), migrated and dropped again.
With --from live, the database named by --database is documented as it is.
Output is deterministic: no dates, and monthly partitions appear as
<table>_yYYYYmMM.`,
    )
    .action(async (flags: DocsFlags, command: Command) => {
      const opts = globals(command);
      const onLog = migrationLog(command, io);
      const result = await withServer(serverOptions(command, io), (server) =>
        runDocs({
          source: flags.from === 'live' ? { databaseUrl: withDatabase(server.connectionString, opts.database) } : { adminUrl: server.connectionString },
          ...(flags.output !== undefined && { output: flags.output }),
          ...(flags.intro !== undefined && { intro: flags.intro }),
          ...(flags.check !== undefined && { check: flags.check }),
          ...(opts.migrationsDir !== undefined && { migrationsDir: opts.migrationsDir }),
          ...(onLog !== undefined && { onLog }),
        }),
      ).catch(hintMissingDatabase);
      if (opts.json) printJson(io, result);
      else io.stdout(formatDocs(result));
      if (!result.upToDate) {
        throw new AgentryError('check', `${shown(result.output)} is stale: run \`agentry docs\` and commit it`);
      }
    });
}

function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}

export function formatDocs(result: DocsResult): string {
  if (result.written) return `Wrote ${shown(result.output)} (from the ${result.source}).\n`;
  if (result.upToDate) return `${shown(result.output)} is up to date (checked against the ${result.source}).\n`;
  const d = result.firstDifference;
  return d === null
    ? `${shown(result.output)} differs.\n`
    : `${shown(result.output)} differs from line ${d.line}:\n  expected: ${d.expected ?? '(end of file)'}\n  found:    ${d.actual ?? '(end of file)'}\n`;
}
