import { Command } from 'commander';

import { runDemo } from '../../commands/demo.js';
import { globals, migrationLog, printJson, serverOptions } from '../context.js';
import { formatDemo } from '../format.js';
import type { Io } from '../io.js';

export function demoCommand(io: Io): Command {
  return new Command('demo')
    .description('the main job: create the database if missing, migrate it to head, print status, stop the embedded server')
    .addHelpText(
      'after',
      `
Without --database-url, Agentry starts its own embedded PostgreSQL with data in
./.agentry/pg-<major> (kept between runs, so later starts are fast) and stops it
at the end.`,
    )
    .action(async (_options: unknown, command: Command) => {
      const opts = globals(command);
      const onLog = migrationLog(command, io);
      const result = await runDemo({
        server: serverOptions(command, io),
        database: opts.database,
        ...(opts.migrationsDir !== undefined && { migrationsDir: opts.migrationsDir }),
        ...(onLog !== undefined && { onLog }),
        onNotice: (message) => io.stderr(`agentry: ${message}\n`),
      });
      if (opts.json) printJson(io, result);
      else io.stdout(formatDemo(result));
    });
}
