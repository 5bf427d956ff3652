import { randomBytes } from 'node:crypto';

import { afterAll, describe, expect, inject, it } from 'vitest';

import { runPlan } from '../../src/commands/plan.js';
import { runSeed } from '../../src/commands/seed.js';
import { createDatabase, dropDatabase } from '../../src/db/admin.js';
import { withDatabase } from '../../src/db/url.js';
import '../setup/context.js';

// `agentry demo` seeds scale 1 as of today and runs the plan check, so the
// example parameters of sql/queries must give plans that pass whatever the
// day. The data's first and last months are partial: on the 2nd of a month the
// last partition holds one day, on the 30th the first holds two days, in
// mid-month both hold about half. The check failed on such days before (CI ran
// on a 30th); these are the days that broke it, seeded as of them.

const AS_OF_DAYS = ['2026-10-02', '2026-08-16', '2026-11-30'];

const created: string[] = [];

afterAll(async () => {
  for (const name of created.splice(0)) await dropDatabase(inject('agentryAdminUrl'), name);
});

describe('the plan check on the demo data, whatever the day it is seeded', () => {
  it.each(AS_OF_DAYS)('passes every query on demo data as of %s', async (asOf) => {
    const adminUrl = inject('agentryAdminUrl');
    const name = `agentry_test_${process.pid}_${randomBytes(4).toString('hex')}`;
    await createDatabase(adminUrl, name, { template: inject('agentryTemplateDb') });
    created.push(name);
    const url = withDatabase(adminUrl, name);
    await runSeed({ databaseUrl: url, demo: { scale: 1, asOf } });
    const result = await runPlan({ databaseUrl: url, refreshStatistics: true });
    const failures = result.results.filter((r) => !r.ok).map((r) => `${r.query}: ${r.error ?? r.assertions.filter((a) => !a.ok).map((a) => a.message).join('; ')}`);
    expect(failures).toEqual([]);
    expect(result.results.length).toBeGreaterThan(50);
  }, 120_000);
});
