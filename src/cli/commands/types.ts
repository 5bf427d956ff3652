import { relative } from 'node:path';

import { Command } from 'commander';

import { checkTypes, runTypes, type TypesCheckResult, type TypesResult } from '../../commands/types.js';
import { AgentryError } from '../../errors.js';
import { globals, migrationLog, printJson, serverOptions } from '../context.js';
import type { Io } from '../io.js';

export function typesCommand(io: Io): Command {
  return new Command('types')
    .description('generate TypeScript types and zod schemas (generated/) from a scratch database migrated to head')
    .option('--check', 'write nothing; exit 1 when generated/ differs from what the migrations give')
    .option('--out <dir>', 'output folder (default: generated/ of the Agentry package)')
    .addHelpText(
      'after',
      `
Creates a scratch database on the server chosen by --database-url / --provider
(embedded by default), migrates it to head, runs Kanel and kanel-zod with
Agentry's hooks (vocabulary unions, json shapes, branded ids), writes one
module per table, view and domain plus constraints.ts, tables.ts and index.ts,
and drops the scratch database. --database is not used.`,
    )
    .action(async (options: { check?: boolean; out?: string }, command: Command) => {
      const opts = globals(command);
      const onLog = migrationLog(command, io);
      const args = {
        server: serverOptions(command, io),
        ...(opts.migrationsDir !== undefined && { migrationsDir: opts.migrationsDir }),
        ...(options.out !== undefined && { outDir: options.out }),
        ...(onLog !== undefined && { onLog }),
        onWarning: (message: string) => io.stderr(`[kanel] ${message}\n`),
      };
      if (options.check) {
        const result = await checkTypes(args);
        if (opts.json) printJson(io, result);
        else io.stdout(formatCheck(result));
        if (!result.fresh) {
          throw new AgentryError('check', `${display(result.outDir)} is stale: run \`npm run types\` (or \`agentry types\`) and commit the result`);
        }
        return;
      }
      const result = await runTypes(args);
      if (opts.json) printJson(io, result);
      else io.stdout(formatRun(result));
    });
}

function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' ? '.' : rel.startsWith('..') ? path : `${rel}/`;
}

function formatRun(result: TypesResult): string {
  const lines = [
    `Generated ${result.files.length} files in ${display(result.outDir)}: ${result.written.length} written, ${result.removed.length} removed, ${result.files.length - result.written.length} unchanged.`,
    ...result.written.map((f) => `  ~ ${f}`),
    ...result.removed.map((f) => `  - ${f}`),
  ];
  return `${lines.join('\n')}\n`;
}

function formatCheck(result: TypesCheckResult): string {
  if (result.fresh) return `${display(result.outDir)} is up to date (${result.files.length} files).\n`;
  const lines = [
    `${display(result.outDir)} is stale:`,
    ...result.differing.map((f) => `  differs  ${f}`),
    ...result.missing.map((f) => `  missing  ${f}`),
    ...result.extra.map((f) => `  extra    ${f}`),
  ];
  return `${lines.join('\n')}\n`;
}
