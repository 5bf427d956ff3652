import { Command } from 'commander';

import type { FormatResult } from '../../commands/format.js';
import { AgentryError } from '../../errors.js';
import { displayPath } from '../../migrate/lint.js';
import { globals, printJson } from '../context.js';
import type { Io } from '../io.js';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function formatCommand(io: Io): Command {
  return new Command('format')
    .description('rewrite SQL files (migrations, query files) in the house style with sql-formatter; --check changes nothing and exits 1 on files not in it')
    .argument('[paths...]', 'files or folders (default: migrations/*.sql and sql/**/*.sql)')
    .option('--check', 'write nothing; list the files that are not in house style and exit 1 if there are any (for CI)')
    .addHelpText(
      'after',
      `
The style (src/format/style.ts): sql-formatter, language postgresql, case
as written, two-space indents, one statement at a time. Comments between
statements (the -- Up Migration / -- Down Migration markers, a query file's
-- key: value header) and the author's blank lines between statements are
kept; dollar-quoted bodies are never touched; GRANT, REVOKE, routine,
trigger and partition definitions are kept as written. Every statement is
checked to keep its tokens; one that would not is kept as written, with a
note. "-- agentry-format-ignore: <why>" right above a statement keeps it as
written. Needs no database.`,
    )
    .action(async (paths: string[], options: { check?: boolean }, command: Command) => {
      const opts = globals(command);
      // Loaded when used: sql-formatter costs every other command's start-up otherwise.
      const { runFormat } = await import('../../commands/format.js');
      const result = await runFormat({
        paths,
        ...(options.check !== undefined && { check: options.check }),
        ...(opts.migrationsDir !== undefined && { migrationsDir: opts.migrationsDir }),
      });
      for (const file of result.files) {
        for (const note of file.notes) io.stderr(`agentry: note: ${displayPath(file.path)}:${note.line}: ${note.message}\n`);
      }
      if (opts.json) printJson(io, result);
      else io.stdout(formatFormat(result));
      if (result.failed.length > 0) {
        const first = result.files.find((f) => f.error !== undefined);
        throw new AgentryError(
          'check',
          `cannot format ${plural(result.failed.length, 'file')}: ${displayPath(first?.path ?? '')}: ${first?.error ?? ''}${result.failed.length > 1 ? ' (and more, listed above)' : ''}`,
        );
      }
      if (!result.ok) {
        throw new AgentryError('check', `${plural(result.changed.length, 'file')} not in house style: run \`agentry format\` and commit the result`);
      }
    });
}

export function formatFormat(result: FormatResult): string {
  const lines: string[] = [];
  const total = result.files.length;
  for (const file of result.files.filter((f) => f.error !== undefined)) lines.push(`  error     ${displayPath(file.path)}: ${file.error}`);
  if (result.check) {
    if (result.changed.length === 0) lines.unshift(`${plural(total, 'file')} checked: all in house style.`);
    else lines.unshift(`${result.changed.length} of ${plural(total, 'file')} not in house style:`, ...result.changed.map((p) => `  differs   ${displayPath(p)}`));
  } else if (result.changed.length === 0) {
    lines.unshift(`${plural(total, 'file')} checked: all in house style, nothing rewritten.`);
  } else {
    lines.unshift(`Formatted ${result.changed.length} of ${plural(total, 'file')}:`, ...result.changed.map((p) => `  ~ ${displayPath(p)}`));
  }
  return `${lines.join('\n')}\n`;
}
