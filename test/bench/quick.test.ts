// `npm run bench -- --quick` in-process against the test server: every
// section runs at tiny sizes, produces positive throughputs and evaluates
// its bars, saves its JSON, and the performance document renders from them.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, inject, it } from 'vitest';

import { listDatabases } from '../../src/db/admin.js';
import { renderPerformanceDoc, SECTION_ORDER, type SavedSection } from '../../bench/lib/report.js';
import { SCRATCH_PREFIX } from '../../bench/lib/scratch.js';
import { main, readSavedSections, runBench, type BenchRunResult } from '../../bench/run.js';
import { recordFigures } from '../helpers/figures.js';
import '../setup/context.js';

const dir = mkdtempSync(join(tmpdir(), 'agentry-bench-quick-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run bench -- --quick', () => {
  let result: BenchRunResult;
  const printed: string[] = [];
  const progress: string[] = [];

  it('runs every section, in order, without an error', { timeout: 300_000 }, async () => {
    const started = performance.now();
    result = await runBench({
      quick: true,
      databaseUrl: inject('agentryAdminUrl'),
      reportsDir: join(dir, 'reports'),
      docsPath: join(dir, 'performance.md'),
      writeDocs: true,
      command: 'npm run bench -- --quick',
      print: (text) => printed.push(text),
      log: (line) => progress.push(line),
    });
    expect(result.errors).toEqual([]);
    expect(result.sections.map((s) => s.section.id)).toEqual(SECTION_ORDER);
    recordFigures('bench-quick', {
      sections: result.sections.length,
      comparisons: result.sections.reduce((n, s) => n + s.section.comparisons.length, 0),
      barsEvaluated: result.sections.reduce((n, s) => n + s.section.bars.length, 0),
      barsMet: result.sections.reduce((n, s) => n + s.section.bars.filter((b) => b.met).length, 0),
      seconds: Math.round((performance.now() - started) / 1000),
    });
  });

  it('gives every contender a positive, finite throughput and every section evaluated bars', () => {
    for (const saved of result.sections) {
      const { section } = saved;
      expect(section.comparisons.length, section.id).toBeGreaterThan(0);
      for (const { result: comparison, reference } of section.comparisons) {
        expect(comparison.contenders.length, comparison.title).toBeGreaterThan(0);
        if (reference) expect(comparison.contenders.map((c) => c.name)).toContain(reference);
        for (const c of comparison.contenders) {
          expect(c.rounds, `${section.id}: ${c.name}`).toBeGreaterThan(0);
          expect(c.perSecond, `${section.id}: ${c.name}`).toBeGreaterThan(0);
          expect(Number.isFinite(c.perSecond), `${section.id}: ${c.name}`).toBe(true);
          expect(c.samples.every((m) => m.units > 0 && m.ms > 0), `${section.id}: ${c.name}`).toBe(true);
        }
      }
      expect(section.bars.length, section.id).toBeGreaterThan(0);
      for (const bar of section.bars) {
        expect(Number.isFinite(bar.measured), `${section.id}: ${bar.bar}`).toBe(true);
        expect(typeof bar.met).toBe('boolean');
        expect(bar.target.length).toBeGreaterThan(0);
      }
    }
  });

  it('checks the bars each section is about', () => {
    const bars = (id: string) => result.sections.find((s) => s.section.id === id)!.section.bars.map((b) => b.bar).join('\n');
    expect(bars('ingest')).toMatch(/0\.7 × COPY/);
    expect(bars('export')).toMatch(/Peak RSS .* < 150 MiB/);
    expect(bars('export')).toMatch(/0\.5 × COPY TO/);
    expect(bars('queries')).toMatch(/point lookup .*p95 < 5 ms/);
    expect(bars('queries')).toMatch(/queue .*p95 < 5 ms/);
    expect(bars('queries')).toMatch(/dashboard aggregate .*p95 < 200 ms/);
    expect(bars('queries')).toMatch(/agentry plan passes/);
    // The export's peak RSS is a real measurement of a separate process: at least Node's own footprint.
    const peak = result.sections.find((s) => s.section.id === 'export')!.section.bars[0]!.measured;
    expect(peak).toBeGreaterThan(20);
    // The queries section times every statement of sql/queries.
    const table = result.sections.find((s) => s.section.id === 'queries')!.section.notes.join('\n');
    expect(table).toContain('| work.claim_ready_tasks | queue |');
    expect(table).toContain('| work.get_task | point lookup |');
  });

  it('prints comparisons and bars, saves one JSON per section and renders the document from them', () => {
    const out = printed.join('');
    for (const id of SECTION_ORDER) expect(out).toContain(`(${id})`);
    expect(out).toMatch(/^(met {4}|NOT met) {2}.+: measured .+ \(target .+\)$/m);
    expect(progress.some((l) => l.startsWith('bench: section ingest done'))).toBe(true);

    expect(readdirSync(join(dir, 'reports')).sort()).toEqual(SECTION_ORDER.map((id) => `${id}.json`).sort());
    const saved: SavedSection[] = readSavedSections(join(dir, 'reports'));
    for (const s of saved) {
      expect(s.quick).toBe(true);
      expect(s.machine.cores).toBeGreaterThan(0);
      expect(s.machine.postgres).toMatch(/^\d+/);
    }
    const doc = readFileSync(join(dir, 'performance.md'), 'utf8');
    expect(doc).toBe(renderPerformanceDoc(saved));
    for (const s of result.sections) {
      expect(doc).toContain(`## ${s.section.title} (\`${s.section.id}\`)`);
      for (const bar of s.section.bars) expect(doc).toContain(bar.bar);
    }
    expect(doc).toContain('- Command: `npm run bench -- --quick`');
    expect(doc).toContain('quick mode');
  });

  it('leaves no scratch database behind', async () => {
    const left = await listDatabases(inject('agentryAdminUrl'), `${SCRATCH_PREFIX}%\\_${process.pid}\\_%`);
    expect(left).toEqual([]);
  });

  it('refuses an unknown section with exit code 2 before opening a server', async () => {
    const stderr: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (stderr.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      expect(await main(['node', 'bench/run.ts', '--only', 'ingest,nosuch'])).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(stderr.join('')).toContain('unknown section nosuch');
  });
});
