/**
 * What a bench run keeps of a section (reports/bench/<id>.json) and how
 * docs/performance.md is rendered from all of them: every section states the
 * command that produced it, when, on what machine, and how noisy it was.
 */
import { ratio, type ComparisonResult } from './harness.js';
import type { BarCheck, BenchSection } from './types.js';

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  platform: string;
  node: string;
  /** SHOW server_version of the server under test. */
  postgres: string;
  /** embedded / url, password-free. */
  server: string;
}

export interface SavedSection {
  section: BenchSection;
  /** The exact command line that produced it. */
  command: string;
  startedAt: string;
  seconds: number;
  quick: boolean;
  rounds: number;
  machine: MachineInfo;
  /** 1-minute load average at the start and end of the section (the bench itself accounts for about 1-2; above the core count, other work was running). */
  load: { start: number; end: number };
  /** A remark given with --note (e.g. "provisional: the machine was shared"). */
  note?: string;
}

/** The order sections appear in (the run order). */
export const SECTION_ORDER = ['queue', 'ingest', 'export', 'queries', 'tooling'];

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** "met" / "NOT met" with the measured value, one line. */
export function formatBar(bar: BarCheck): string {
  return `${bar.met ? 'met    ' : 'NOT met'}  ${bar.bar}: measured ${formatMeasured(bar.measured)} (target ${bar.target})`;
}

export function formatMeasured(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  return abs >= 100 ? fmt(value, 0) : abs >= 10 ? fmt(value, 1) : fmt(value, 2);
}

/** Noise of a contender as formatComparison prints it: ± half the relative spread of its per-round throughputs. */
export const noiseOf = (spread: number): string => `±${(spread * 50).toFixed(1)}%`;

function comparisonTable(result: ComparisonResult, reference?: string): string[] {
  const header = ['contender', `median ${result.unit}/s`, 'median time', 'noise', reference ? `ratio to ${reference}` : ''].filter(Boolean);
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const c of result.contenders) {
    const cells = [
      c.name,
      fmt(c.perSecond, c.perSecond < 100 ? 2 : 0),
      c.medianMs >= 1000 ? `${(c.medianMs / 1000).toFixed(2)} s` : `${c.medianMs.toFixed(1)} ms`,
      noiseOf(c.spread),
      ...(reference ? [ratio(result, c.name, reference).toFixed(2)] : []),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines;
}

function machineLine(saved: SavedSection): string {
  const m = saved.machine;
  return `${m.cores} cores (${m.cpuModel}), ${fmt(m.memoryGiB, 1)} GiB, ${m.platform}, Node ${m.node}; PostgreSQL ${m.postgres} (${m.server})`;
}

/** Markdown of one saved section. */
export function renderSection(saved: SavedSection): string {
  const { section } = saved;
  const out: string[] = [`## ${section.title} (\`${section.id}\`)`, ''];
  out.push(`- Command: \`${saved.command}\``);
  out.push(`- Run: ${saved.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}, ${fmt(saved.seconds, 0)} s, ${saved.rounds} round${saved.rounds === 1 ? '' : 's'}${saved.quick ? ', **quick mode** (tiny sizes: proves the harness, not the figures)' : ''}`);
  out.push(`- Machine: ${machineLine(saved)}`);
  out.push(`- Load average (1 min) at start / end: ${saved.load.start.toFixed(2)} / ${saved.load.end.toFixed(2)}${saved.load.start > saved.machine.cores || saved.load.end > saved.machine.cores ? ' (other work was running: read the ratios, which alternation protects, more than the absolute figures)' : ''}`);
  const noises = section.comparisons.flatMap((c) => c.result.contenders.map((x) => x.spread * 50));
  if (noises.length && saved.rounds > 1) out.push(`- Noise (± half the spread of per-round throughputs, per contender): ${fmt(Math.min(...noises), 1)}% to ${fmt(Math.max(...noises), 1)}%`);
  else if (noises.length) out.push('- Noise: not measured (one round)');
  if (saved.note) out.push(`- Note: ${saved.note}`);
  out.push('');
  if (section.bars.length) {
    out.push('| bar | measured | target | |', '|---|---:|---|---|');
    for (const bar of section.bars) out.push(`| ${bar.bar} | ${formatMeasured(bar.measured)} | ${bar.target} | ${bar.met ? 'met' : '**NOT met**'} |`);
    out.push('');
  }
  for (const { result, reference } of section.comparisons) {
    out.push(`**${result.title}** (${result.contenders[0]?.rounds ?? 0} rounds, alternated)`, '', ...comparisonTable(result, reference), '');
  }
  for (const group of groupNotes(section.notes)) {
    // Space-aligned tables become code blocks; markdown tables and prose go through as they are.
    out.push(group.preformatted ? ['```text', ...group.lines, '```'].join('\n') : group.lines.join('\n'), '');
  }
  return out.join('\n');
}

/** The whole of docs/performance.md from every saved section, in run order. */
export function renderPerformanceDoc(sections: SavedSection[]): string {
  const sorted = [...sections].sort((a, b) => rank(a.section.id) - rank(b.section.id));
  const summary = sorted.flatMap((s) => s.section.bars.map((bar) => `| ${s.section.id} | ${bar.bar} | ${formatMeasured(bar.measured)} | ${bar.target} | ${bar.met ? 'met' : '**NOT met**'} |`));
  return [
    '# Performance',
    '',
    '<!-- Generated by `npm run bench -- --write-docs` from bench/results/*.json: edit bench/, not this file. -->',
    '',
    'Figures of `npm run bench` (bench/run.ts). Contenders of a comparison run in rotating',
    'alternation (A B C, B C A, ...), the figure shown is the median of the rounds, ratios are taken',
    'between medians of the same run, and the noise is ± half the spread (max − min) of the per-round',
    'throughputs over their median. Each section was produced by the command it names and can be',
    're-run alone (`--only <id>`); this file holds the last saved result of every section.',
    '',
    '## Bars',
    '',
    '| section | bar | measured | target | |',
    '|---|---|---:|---|---|',
    ...summary,
    '',
    'Where a bar is not met, [performance-findings.md](performance-findings.md) says what holds it back, what was',
    'tried and what each attempt measured.',
    '',
    ...sorted.map(renderSection),
  ].join('\n');
}

function rank(id: string): number {
  const i = SECTION_ORDER.indexOf(id);
  return i === -1 ? SECTION_ORDER.length : i;
}

/** Notes in runs: consecutive space-indented lines (a plain-text table) form one preformatted group. */
export function groupNotes(notes: readonly string[]): { preformatted: boolean; lines: string[] }[] {
  const groups: { preformatted: boolean; lines: string[] }[] = [];
  for (const note of notes) {
    const preformatted = /^ {2}/.test(note);
    const last = groups[groups.length - 1];
    if (preformatted && last?.preformatted) last.lines.push(note);
    else groups.push({ preformatted, lines: [note] });
  }
  return groups;
}

/** The plain-text form printed to stdout after a section ran. */
export function formatBars(bars: readonly BarCheck[]): string {
  return bars.map(formatBar).join('\n');
}
