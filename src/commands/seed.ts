import { withClient } from '../db/admin.js';
import { redactUrl } from '../db/url.js';
import { AgentryError, errorMessage, isConnectionError } from '../errors.js';
import { checkDemoOptions, checkSeedPrivileges, seedDemo, type DemoProgressEvent, type DemoSeedOptions, type DemoSeedResult } from '../seed/demo/index.js';
import { contentDigest, type ContentDigest } from '../seed/digest.js';
import { seedReferenceData, type ReferenceSeedResult } from '../seed/reference-seed.js';

export type SeedProgressEvent = DemoProgressEvent;

export interface SeedOptions {
  /** URL of the database to seed (migrated to head). */
  databaseUrl: string;
  /** Only compare the reference rows with the shipped values; write nothing. */
  check?: boolean;
  /** Also seed the demo dataset (after the reference rows). */
  demo?: Omit<DemoSeedOptions, 'databaseUrl' | 'onProgress'>;
  /** Compute a digest of the content of every table at the end (one scan of each). */
  digest?: boolean;
  /** Progress per step, phase and batch. */
  onProgress?: (event: SeedProgressEvent) => void;
}

export interface SeedResult {
  /** The seeded database, password redacted. */
  database: string;
  reference: ReferenceSeedResult;
  demo: DemoSeedResult | null;
  digest: ContentDigest | null;
}

function seedError(error: unknown): never {
  if (error instanceof AgentryError || isConnectionError(error)) throw error;
  const code = (error as { code?: string }).code;
  if (code === '42501') {
    throw new AgentryError('failed', `${errorMessage(error)}: agentry seed runs as a superuser or a member of agentry_owner`, { cause: error });
  }
  if (code === '42P01' || code === '3F000') {
    throw new AgentryError('failed', `${errorMessage(error)}: migrate the database first (\`agentry migrate up\`)`, { cause: error });
  }
  throw new AgentryError('failed', `seed failed: ${errorMessage(error)}`, { cause: error });
}

/**
 * `agentry seed`: restores the reference rows (agent_types, task_types,
 * task_status_transitions) to the values Agentry ships and reports what
 * changed; with demo, then seeds (or resumes, or leaves as it is) the demo
 * dataset. Running it again with the same arguments changes nothing.
 */
export async function runSeed(options: SeedOptions): Promise<SeedResult> {
  if (options.check && options.demo) {
    throw new AgentryError('usage', '--check compares the reference data only; it does not go with --demo');
  }
  if (options.demo) checkDemoOptions(options.demo);
  try {
    const reference = await withClient(options.databaseUrl, async (client) => {
      if (!options.check) await checkSeedPrivileges(client, options.demo !== undefined);
      return seedReferenceData(client, { check: options.check ?? false });
    });
    const demo = options.demo
      ? await seedDemo({ ...options.demo, databaseUrl: options.databaseUrl, ...(options.onProgress !== undefined && { onProgress: options.onProgress }) })
      : null;
    const digest = options.digest ? await withClient(options.databaseUrl, (client) => contentDigest(client)) : null;
    return { database: redactUrl(options.databaseUrl), reference, demo, digest };
  } catch (error) {
    return seedError(error);
  }
}
