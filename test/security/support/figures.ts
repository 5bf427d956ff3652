import { mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { recordFigures } from '../../helpers/figures.js';

const figuresDir = resolve(import.meta.dirname, '..', '..', '..', 'reports', 'figures');
const partsDir = resolve(figuresDir, '.parts', 'security');
const lockDir = resolve(partsDir, '.lock');

type Figures = Record<string, number | string | boolean>;

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The four security files run in parallel forks but make one suite,
 * "security": each keeps its own figures in reports/figures/.parts/security/
 * and, under a directory lock, writes the merge of every part with
 * recordFigures('security', ...). A file run alone keeps the other files'
 * figures of their last run.
 */
export function recordSecurityFigures(part: string, figures: Figures): void {
  mkdirSync(partsDir, { recursive: true });
  const tmp = resolve(partsDir, `.${part}.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(figures));
  renameSync(tmp, resolve(partsDir, `${part}.json`));
  const deadline = Date.now() + 5000;
  let locked = false;
  while (!locked) {
    try {
      mkdirSync(lockDir);
      locked = true;
    } catch {
      // A lock older than 30 s was left by a killed run.
      const lock = statSync(lockDir, { throwIfNoEntry: false });
      if (Date.now() > deadline || (lock && Date.now() - lock.mtimeMs > 30_000)) break;
      sleep(20);
    }
  }
  try {
    const merged: Figures = {};
    for (const name of readdirSync(partsDir).filter((n) => n.endsWith('.json')).sort()) {
      Object.assign(merged, JSON.parse(readFileSync(resolve(partsDir, name), 'utf8')) as Figures);
    }
    recordFigures('security', merged);
  } finally {
    if (locked) rmdirSync(lockDir);
  }
}
