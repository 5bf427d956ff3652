import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const figuresDir = resolve(import.meta.dirname, '..', '..', 'reports', 'figures');

/**
 * What a reliability or security test counted (operations run, faults
 * injected, bad inputs tried, rows lost), written to
 * reports/figures/<suite>.json so docs/reliability.md can quote the last run.
 * Call it once per suite with every figure; a later call replaces the file.
 */
export function recordFigures(suite: string, figures: Record<string, number | string | boolean>): void {
  if (!/^[a-z0-9-]+$/.test(suite)) throw new Error(`recordFigures: suite name must be kebab-case, got ${JSON.stringify(suite)}`);
  mkdirSync(figuresDir, { recursive: true });
  writeFileSync(resolve(figuresDir, `${suite}.json`), `${JSON.stringify({ suite, recordedAt: new Date().toISOString(), figures }, null, 2)}\n`);
}
