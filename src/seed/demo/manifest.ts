import type pg from 'pg';

import { GENERATOR_VERSION, type DemoArgs, type DemoPlan } from './plan.js';
import { demoUuid } from './sql.js';

/**
 * What a demo run records about itself, in the metadata of one workflow row
 * (id 5eed5eed-00ff-8000-8000-000000000000, type agentry_demo): the arguments
 * and, while seeding, the batches done so far. Each batch commits together
 * with its entry here, so after a crash or a SIGKILL the next run with the
 * same arguments knows exactly what is left.
 */
export interface Manifest {
  version: number;
  seed: number;
  scale: number;
  months: number;
  asOf: string;
  batchSize: number;
  state: 'seeding' | 'complete' | 'removing';
  /** audit_logs already held demo rows from an earlier dataset: none were added (append-only). */
  auditSkipped: boolean;
  /** Batches done, per phase (while seeding). */
  done: Record<string, number[]>;
}

export const MANIFEST_ID = demoUuid('manifest', 0);
const KEY = 'agentry_demo_manifest';

export async function readManifest(client: pg.ClientBase): Promise<Manifest | null> {
  const { rows } = await client.query<{ manifest: Manifest | null }>(`SELECT metadata -> '${KEY}' AS manifest FROM agentry.workflows WHERE id = $1`, [MANIFEST_ID]);
  const manifest = rows[0]?.manifest ?? null;
  if (manifest === null) return null;
  // A complete manifest keeps the arguments only.
  return { ...manifest, done: manifest.done ?? {}, auditSkipped: manifest.auditSkipped ?? false, batchSize: manifest.batchSize ?? 0 };
}

export function sameArgs(manifest: Manifest, args: Omit<DemoArgs, 'asOf'> & { asOf?: string }): boolean {
  return (
    manifest.version === GENERATOR_VERSION &&
    manifest.seed === args.seed &&
    manifest.scale === args.scale &&
    manifest.months === args.months &&
    (args.asOf === undefined || manifest.asOf === args.asOf)
  );
}

export function newManifest(plan: DemoPlan, auditSkipped: boolean): Manifest {
  return {
    version: GENERATOR_VERSION,
    seed: plan.seed,
    scale: plan.scale,
    months: plan.months,
    asOf: plan.asOf,
    batchSize: plan.batchSize,
    state: 'seeding',
    auditSkipped,
    done: {},
  };
}

/** Writes the whole manifest (insert or replace). */
export async function writeManifest(client: pg.ClientBase, manifest: Manifest, createdAt: Date): Promise<void> {
  await client.query(
    `INSERT INTO agentry.workflows (id, name, description, workflow_type, initiator, metadata, created_at, updated_at)
     VALUES ($1, 'Agentry demo dataset', 'Written by agentry seed --demo: the arguments of the demo data and how far seeding got.',
             'agentry_demo', 'agentry seed', jsonb_build_object('${KEY}', $2::jsonb), $3, $3)
     ON CONFLICT (id) DO UPDATE SET metadata = EXCLUDED.metadata, created_at = EXCLUDED.created_at`,
    [MANIFEST_ID, JSON.stringify(manifest), createdAt.toISOString()],
  );
}

export async function setManifestState(client: pg.ClientBase, state: Manifest['state']): Promise<void> {
  await client.query(`UPDATE agentry.workflows SET metadata = jsonb_set(metadata, '{${KEY},state}', to_jsonb($2::text)) WHERE id = $1`, [MANIFEST_ID, state]);
}

/** Records batch `batch` of `phase` as done; run inside the batch's transaction. */
export async function markBatchDone(client: pg.ClientBase, phase: string, batch: number): Promise<void> {
  await client.query(
    `UPDATE agentry.workflows
        SET metadata = jsonb_set(metadata, ARRAY['${KEY}', 'done', $2::text],
                                 coalesce(metadata #> ARRAY['${KEY}', 'done', $2::text], '[]'::jsonb) || to_jsonb($3::int))
      WHERE id = $1`,
    [MANIFEST_ID, phase, batch],
  );
}

/**
 * The finished manifest keeps the arguments only, nothing about how the run
 * went (progress, batch size, skipped audit rows): two complete datasets of
 * the same arguments are equal.
 */
export async function completeManifest(client: pg.ClientBase, manifest: Manifest): Promise<void> {
  const { version, seed, scale, months, asOf } = manifest;
  await client.query(`UPDATE agentry.workflows SET metadata = jsonb_build_object('${KEY}', $2::jsonb) WHERE id = $1`, [
    MANIFEST_ID,
    JSON.stringify({ version, seed, scale, months, asOf, state: 'complete' }),
  ]);
}
