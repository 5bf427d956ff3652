import { Command, Option } from 'commander';

import { runDemo } from '../../commands/demo.js';
import { AgentryError } from '../../errors.js';
import { MIN_SCALE } from '../../seed/demo/plan.js';
import { globals, migrationLog, printJson, serverOptions } from '../context.js';
import { formatDemo } from '../format.js';
import type { Io } from '../io.js';

export function demoCommand(io: Io): Command {
  return new Command('demo')
    .description('the main job: create the database if missing, migrate it to head, seed a small demo dataset, run verify and plan, report, stop the embedded server')
    .addOption(
      new Option('--scale <n>', 'demo data scale (1 = 10,000 tasks and 100,000 metric rows); 0 only migrates')
        .argParser((value) => {
          // Decimal digits only: Number() would also take '', ' ', '0x10' and '1e1'.
          const n = /^(\d+(\.\d*)?|\.\d+)$/.test(value.trim()) ? Number(value) : NaN;
          if (!(n === 0 || (n >= MIN_SCALE && n <= 100))) throw new AgentryError('usage', `--scale must be 0 or a number from ${MIN_SCALE} to 100, not "${value}"`);
          return n;
        })
        .default(1),
    )
    .addHelpText(
      'after',
      `
Without --database-url, Agentry starts its own embedded PostgreSQL with data in
./.agentry/pg-<major> (kept between runs, so later starts are fast) and stops it
at the end.`,
    )
    .action(async (flags: { scale: number }, command: Command) => {
      const opts = globals(command);
      const onLog = migrationLog(command, io);
      const result = await runDemo({
        server: serverOptions(command, io),
        database: opts.database,
        ...(opts.migrationsDir !== undefined && { migrationsDir: opts.migrationsDir }),
        ...(onLog !== undefined && { onLog }),
        onNotice: (message) => io.stderr(`agentry: ${message}\n`),
        scale: flags.scale,
        ...(!opts.json && process.stderr.isTTY && { onStep: (step: string) => io.stderr(`agentry: ${step}...\n`) }),
      });
      if (opts.json) printJson(io, result);
      else io.stdout(formatDemo(result));
      if (!result.ok) throw new AgentryError('check', 'the demo database failed verify or plan: see the report above');
    });
}
