import { resolveMigrationsDir } from '../migrate/config.js';
import { checkMigrationLedger } from '../migrate/ledger.js';
import { fail, pass, plural, skip, type Rule } from './types.js';

export const migrationChecksums: Rule = {
  name: 'migration-checksums',
  group: 'schema',
  description: 'every applied migration file still exists and has the SHA-256 recorded in agentry.pgmigrations_checksums when it was applied',
  async run({ databaseUrl, migrationsDir }) {
    const check = await checkMigrationLedger(databaseUrl, resolveMigrationsDir(migrationsDir));
    if (!check.ledger) {
      return skip(
        `no checksum ledger (agentry.pgmigrations_checksums) in this database, so ${plural(check.applied, 'applied migration')} cannot be compared with the files: \`agentry migrate up\` records their checksums`,
      );
    }
    const details = [
      ...check.tampered.map((t) =>
        t.kind === 'missing'
          ? `${t.name}: applied, but its file is gone from ${check.migrationsDir}`
          : `${t.name}: edited since it was applied (recorded ${t.recordedSha256?.slice(0, 12) ?? '?'}…, file ${t.actualSha256?.slice(0, 12) ?? '?'}…)`,
      ),
      ...check.unrecorded.map((name) => `${name}: applied, but no checksum recorded (\`agentry migrate up\` records it)`),
    ];
    if (details.length === 0) return pass(`all ${plural(check.applied, 'applied migration')} match their recorded checksums`);
    return fail(
      `${plural(details.length, 'applied migration does', 'applied migrations do')} not match the ledger: restore the applied file from version control and put changes in a new migration (or, if the edit is intended and reviewed, \`agentry migrate ledger --accept <name>\`)`,
      details,
    );
  },
};
