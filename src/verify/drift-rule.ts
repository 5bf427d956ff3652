import { describeDifference, diffSnapshots, type SchemaDifference } from '../catalog/diff.js';
import { withScratchDatabase } from '../catalog/scratch.js';
import { withCatalogClient } from '../catalog/session.js';
import { catalogSnapshot, type Snapshot } from '../catalog/snapshot.js';
import { errorMessage } from '../errors.js';
import { capped } from './data-rules.js';
import { fail, pass, plural, type Rule, type VerifyContext } from './types.js';

async function referenceSnapshot(ctx: VerifyContext): Promise<Snapshot> {
  const read = (url: string): Promise<Snapshot> => withCatalogClient(url, (client) => catalogSnapshot(client, { referenceData: false }));
  if (ctx.referenceUrl !== undefined) return read(ctx.referenceUrl);
  return withScratchDatabase(
    ctx.adminUrl,
    { ...(ctx.migrationsDir !== undefined && { migrationsDir: ctx.migrationsDir }), ...(ctx.onLog !== undefined && { onLog: ctx.onLog }) },
    read,
  );
}

/** The live schema's differences from one freshly migrated to head (see src/catalog/diff.ts for what is ignored). */
export async function schemaDrift(ctx: VerifyContext): Promise<SchemaDifference[]> {
  const live = await catalogSnapshot(ctx.client, { referenceData: false });
  const reference = await referenceSnapshot(ctx);
  return diffSnapshots(reference, live);
}

export const drift: Rule = {
  name: 'drift',
  group: 'schema',
  description:
    'the live schema equals one migrated to head in a scratch database: tables, columns, types, defaults, constraints, indexes, triggers, functions, views, domains, owners and ACLs (monthly partitions compared by shape, migration bookkeeping ignored)',
  async run(ctx) {
    let differences: SchemaDifference[];
    try {
      differences = await schemaDrift(ctx);
    } catch (error) {
      return fail(
        `could not build the reference schema (${errorMessage(error)}): the user needs CREATEDB and the migrations must apply; or give --reference-database, or --skip drift`,
      );
    }
    if (differences.length === 0) return pass('the live schema equals the migrations at head');
    const counts = (['added', 'removed', 'changed'] as const)
      .map((kind) => [kind, differences.filter((d) => d.kind === kind).length] as const)
      .filter(([, n]) => n > 0)
      .map(([kind, n]) => `${n} ${kind}`);
    return fail(
      `${plural(differences.length, 'difference')} from the migrations at head (${counts.join(', ')}): put intended changes in a migration, revert the others`,
      capped(differences.map(describeDifference)),
    );
  },
};
