/**
 * Copies the figures the reliability and security suites recorded in their
 * last run (reports/figures/*.json, written by test/helpers/figures.ts) into
 * docs/reliability.md, between the "figures:begin" and "figures:end" markers.
 * Run it after `npm test`: `npm run reliability:figures` (--check: exit 1 when
 * the document lacks a suite the reports have).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const figuresDir = resolve(root, 'reports', 'figures');
const docPath = resolve(root, 'docs', 'reliability.md');
const BEGIN = '<!-- figures:begin (npm run reliability:figures) -->';
const END = '<!-- figures:end -->';

interface FigureFile {
  suite: string;
  recordedAt: string;
  figures: Record<string, number | string | boolean>;
}

function readFigures(): FigureFile[] {
  let names: string[];
  try {
    names = readdirSync(figuresDir).filter((n) => n.endsWith('.json'));
  } catch {
    throw new Error(`no figures in ${figuresDir}: run npm test first`);
  }
  return names.sort().map((n) => JSON.parse(readFileSync(resolve(figuresDir, n), 'utf8')) as FigureFile);
}

function render(files: FigureFile[]): string {
  const format = (v: number | string | boolean) => (typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: 2 }) : String(v));
  const sections = files.map((f) =>
    [`### ${f.suite}`, '', `Recorded ${f.recordedAt}.`, '', '| figure | value |', '|---|---|', ...Object.entries(f.figures).map(([k, v]) => `| ${k} | ${format(v)} |`)].join('\n'),
  );
  return [BEGIN, '', ...sections.flatMap((s) => [s, '']), END].join('\n');
}

const doc = readFileSync(docPath, 'utf8');
const begin = doc.indexOf(BEGIN);
const end = doc.indexOf(END);
if (begin < 0 || end < begin) throw new Error(`${docPath} lacks the figures markers`);
const next = doc.slice(0, begin) + render(readFigures()) + doc.slice(end + END.length);
if (process.argv.includes('--check')) {
  const missing = readFigures().filter((f) => !doc.includes(`### ${f.suite}\n`));
  if (missing.length) {
    console.error(`docs/reliability.md lacks: ${missing.map((f) => f.suite).join(', ')}`);
    process.exit(1);
  }
} else {
  writeFileSync(docPath, next);
  console.log(`docs/reliability.md: figures of ${readFigures().length} suites`);
}
