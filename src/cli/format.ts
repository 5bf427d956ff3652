import type { DemoResult } from '../commands/demo.js';
import type { MigrateRunResult, MigrateStatusResult } from '../commands/migrate.js';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function timestamp(date: Date): string {
  return date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function formatRun(result: MigrateRunResult): string {
  const { migrations, direction, database } = result;
  const lines: string[] = [];
  if (result.dryRun) {
    if (migrations.length === 0) {
      lines.push(direction === 'up' ? `Dry run: nothing to migrate, ${database} is up to date.` : `Dry run: nothing to revert on ${database}.`);
    } else {
      const what = direction === 'redo' ? 'revert and re-apply' : direction === 'up' ? 'apply' : 'revert';
      const count = direction === 'redo' ? migrations.length / 2 : migrations.length;
      lines.push(`Dry run: would ${what} ${plural(count, 'migration')} on ${database} (nothing was changed):`);
      for (const m of migrations) {
        lines.push('', `-- ${m.direction === 'up' ? '+' : '-'} ${m.name}.sql (${m.direction}): ${m.path}`, (m.sql ?? '').trim());
      }
    }
  } else if (migrations.length === 0) {
    lines.push(direction === 'down' || direction === 'redo' ? `Nothing to revert on ${database}.` : `Nothing to migrate: ${database} is up to date.`);
  } else if (direction === 'redo') {
    lines.push(`Redid ${migrations[0]?.name ?? ''} on ${database}:`, ...migrations.map((m) => `  ${m.direction === 'up' ? '+' : '-'} ${m.name}`));
  } else {
    const verb = direction === 'up' ? 'Applied' : 'Reverted';
    const sign = direction === 'up' ? '+' : '-';
    lines.push(`${verb} ${plural(migrations.length, 'migration')} on ${database}:`, ...migrations.map((m) => `  ${sign} ${m.name}`));
  }
  if (result.lint) {
    const accepted = result.lint.accepted.length;
    lines.push(`Lint: squawk checked ${plural(result.lint.linted.length, 'migration')}, no problems${accepted > 0 ? ` (${accepted} reviewed findings accepted)` : ''}.`);
  }
  lines.push('');
  return lines.join('\n');
}

export function summary(status: MigrateStatusResult): string {
  const parts = [`${status.applied.length} applied`, `${status.pending.length} pending`];
  const edited = status.tampered.filter((t) => t.kind === 'edited').length;
  if (edited > 0) parts.push(`${edited} edited since applied`);
  if (status.missing.length > 0) parts.push(`${status.missing.length} missing`);
  if (status.outOfOrder.length > 0) parts.push(`${status.outOfOrder.length} out of order`);
  return `${parts.join(', ')}${status.upToDate ? ' (up to date)' : ''}`;
}

export function formatStatus(status: MigrateStatusResult): string {
  const lines = [`Database:   ${status.database}`, `Migrations: ${status.migrationsDir}`];
  const outOfOrder = new Set(status.outOfOrder);
  const edited = new Set(status.tampered.filter((t) => t.kind === 'edited').map((t) => t.name));
  const unrecorded = new Set(status.unrecorded);
  for (const m of status.applied) {
    const note =
      m.path === null
        ? '  (TAMPERED: file missing)'
        : edited.has(m.name)
          ? '  (TAMPERED: edited since applied, checksum differs)'
          : unrecorded.has(m.name)
            ? '  (no checksum yet: recorded by the next migrate up)'
            : '';
    lines.push(`  applied  ${timestamp(m.runOn)}  ${m.name}${note}`);
  }
  for (const m of status.pending) {
    lines.push(`  pending  ${' '.repeat(20)}  ${m.name}${outOfOrder.has(m.name) ? '  (out of order: older than an applied migration)' : ''}`);
  }
  lines.push(summary(status));
  if (status.tampered.length > 0) {
    const names = [...edited];
    lines.push(
      names.length > 0
        ? `Restore the tampered files, or after review run \`agentry migrate ledger --accept ${names.join(' ')}\`; migrate up refuses to run until then.`
        : 'Restore the missing files; migrate up refuses to run until then.',
    );
  }
  lines.push('');
  return lines.join('\n');
}

export function formatDemo(result: DemoResult): string {
  const lines = [
    `Server:   ${result.server}`,
    `Database: ${result.database} (${result.databaseCreated ? 'created' : 'already there'})`,
    result.applied.length === 0 ? 'Migrate:  nothing to apply' : `Migrate:  applied ${plural(result.applied.length, 'migration')}`,
    ...result.applied.map((m) => `  + ${m.name}`),
    `Status:   ${summary(result.status)}`,
  ];
  const checks = result.checks;
  if (checks) {
    const demo = checks.seed.demo;
    const rows = demo ? Object.values(demo.rows).reduce((a, b) => a + b, 0) : 0;
    lines.push(
      `Seed:     ${demo ? `${demo.action} ${rows.toLocaleString('en-US')} demo rows (${demo.rows['tasks']?.toLocaleString('en-US') ?? 0} tasks, ${demo.rows['agent_metrics']?.toLocaleString('en-US') ?? 0} metric rows)` : 'reference rows only'} in ${checks.seconds.seed} s`,
      `Verify:   ${checks.verify.passed} rules pass, ${checks.verify.failed} fail, ${checks.verify.skipped} skipped (${checks.seconds.verify} s)`,
      ...checks.verify.results.filter((r) => r.status === 'fail').map((r) => `  FAIL ${r.rule}: ${r.message}`),
      `Plan:     ${checks.plan.passed} of ${checks.plan.results.length} queries show the plan their header asks for (${checks.seconds.plan} s)`,
      ...checks.plan.results.filter((r) => !r.ok).map((r) => `  FAIL ${r.query}: ${r.error ?? r.assertions.filter((a) => !a.ok).map((a) => `${a.assertion}: ${a.message}`).join('; ')}`),
    );
  }
  if (result.serverStopped) lines.push(`Stopped the ${result.provider} server.`);
  lines.push('');
  return lines.join('\n');
}
