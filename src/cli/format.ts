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
  if (migrations.length === 0) {
    return direction === 'up' ? `Nothing to migrate: ${database} is up to date.\n` : `Nothing to revert on ${database}.\n`;
  }
  const verb = direction === 'up' ? 'Applied' : 'Reverted';
  const sign = direction === 'up' ? '+' : '-';
  return [`${verb} ${plural(migrations.length, 'migration')} on ${database}:`, ...migrations.map((m) => `  ${sign} ${m.name}`), ''].join('\n');
}

export function summary(status: MigrateStatusResult): string {
  const parts = [`${status.applied.length} applied`, `${status.pending.length} pending`];
  if (status.missing.length > 0) parts.push(`${status.missing.length} missing`);
  if (status.outOfOrder.length > 0) parts.push(`${status.outOfOrder.length} out of order`);
  return `${parts.join(', ')}${status.upToDate ? ' (up to date)' : ''}`;
}

export function formatStatus(status: MigrateStatusResult): string {
  const lines = [`Database:   ${status.database}`, `Migrations: ${status.migrationsDir}`];
  const outOfOrder = new Set(status.outOfOrder);
  for (const m of status.applied) {
    lines.push(`  applied  ${timestamp(m.runOn)}  ${m.name}${m.path === null ? '  (file missing)' : ''}`);
  }
  for (const m of status.pending) {
    lines.push(`  pending  ${' '.repeat(20)}  ${m.name}${outOfOrder.has(m.name) ? '  (out of order: older than an applied migration)' : ''}`);
  }
  lines.push(summary(status), '');
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
  if (result.serverStopped) lines.push(`Stopped the ${result.provider} server.`);
  lines.push('');
  return lines.join('\n');
}
