import type pg from 'pg';
import { describe, expect, it } from 'vitest';

import { catalogSnapshot, type Snapshot, type SnapshotRow } from '../../src/catalog/snapshot.js';
import { migrateDown, migrateStatus, migrateUp } from '../../src/commands/migrate.js';
import { defaultMigrationsDir } from '../../src/migrate/config.js';
import { listMigrationFiles } from '../../src/migrate/files.js';
import { useTestDatabase } from '../helpers/db.js';

// The real migrations, run on an empty database: up to head, down to zero and
// up again leave the same catalog, and each down migration undoes exactly its
// up migration. A snapshot is everything pg_catalog says about schema
// agentry, without OIDs, sorted.

const db = useTestDatabase({ migrated: false });
const ROLES = ['agentry_owner', 'agentry_app', 'agentry_readonly'];

type Rows = SnapshotRow[];
const snapshot = (pool: pg.Pool): Promise<Snapshot> => catalogSnapshot(pool);

/** Objects of this database that depend on the roles (ownership, grants): must be none after down to zero. */
async function roleDependencies(pool: pg.Pool): Promise<Rows> {
  const { rows } = await pool.query(
    `SELECT d.classid::regclass::text AS catalog, d.objid, pg_get_userbyid(d.refobjid) AS role, d.deptype::text AS type
       FROM pg_shdepend d
      WHERE d.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND d.refclassid = 'pg_authid'::regclass AND pg_get_userbyid(d.refobjid) = ANY($1)`,
    [ROLES],
  );
  return rows;
}

async function rolesPresent(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1) ORDER BY 1', [ROLES]);
  return rows.map((r) => r.rolname);
}

function expectEmptySchema(s: Snapshot): void {
  // Only the migration bookkeeping is left in schema agentry: node-pg-migrate's
  // table and Agentry's checksum ledger.
  expect(s.relations!.map((r) => r.name)).toEqual([
    'pgmigrations',
    'pgmigrations_checksums',
    'pgmigrations_checksums_pkey',
    'pgmigrations_id_seq',
    'pgmigrations_pkey',
  ]);
  for (const section of ['functions', 'views', 'triggers', 'types', 'default_privileges', 'policies', 'rules', 'extensions']) {
    expect(s[section], section).toEqual([]);
  }
  expect(s.constraints!.map((c) => c.name)).toEqual([
    'pgmigrations_pkey',
    'pgmigrations_checksums_pkey',
    'pgmigrations_checksums_sha256_check',
    'pgmigrations_checksums_source_check',
  ]);
  // The schema is given back to the migrating user, without grants to the Agentry roles.
  expect(s.schema![0]!.owner).not.toBe('agentry_owner');
  expect(String(s.schema![0]!.acl ?? '')).not.toMatch(/agentry_/);
  expect(Object.keys(s).filter((k) => k.startsWith('data:'))).toEqual([]);
}

describe('migrations on an empty database', () => {
  const target = () => ({ databaseUrl: db.url });
  let head: Snapshot;
  let zero: Snapshot;

  it('up to head, down to zero and up again leave identical catalogs', async () => {
    const files = await listMigrationFiles(defaultMigrationsDir());
    const up = await migrateUp(target());
    expect(up.migrations.map((m) => m.name)).toEqual(files.map((f) => f.name));
    head = await snapshot(db.pool);
    // A sanity check on the snapshot itself: it sees the schema.
    expect(head.relations!.filter((r) => r.kind === 'r' || r.kind === 'p').length).toBeGreaterThan(30);
    expect(head.functions!.length).toBeGreaterThan(15);
    expect(head.schema![0]!.owner).toBe('agentry_owner');
    expect(head['data:task_types']!.length).toBeGreaterThanOrEqual(13);

    const down = await migrateDown({ ...target(), count: Number.POSITIVE_INFINITY });
    expect(down.migrations.map((m) => m.name)).toEqual(files.map((f) => f.name).reverse());
    zero = await snapshot(db.pool);
    expectEmptySchema(zero);
    expect((await migrateStatus(target())).applied).toEqual([]);

    await migrateUp(target());
    const again = await snapshot(db.pool);
    for (const section of Object.keys(head)) expect(again[section], section).toEqual(head[section]);
    expect(again).toEqual(head);
  });

  it('down to zero keeps the cluster-wide roles and leaves nothing in this database that depends on them', async () => {
    await migrateDown({ ...target(), count: Number.POSITIVE_INFINITY });
    expect(await rolesPresent(db.pool)).toEqual([...ROLES].sort());
    expect(await roleDependencies(db.pool)).toEqual([]);
    expect(await snapshot(db.pool)).toEqual(zero);
    // Up again recreates nothing cluster-wide that already exists, and works with the roles already there.
    await migrateUp({ ...target(), count: 1 });
    expect(await rolesPresent(db.pool)).toEqual([...ROLES].sort());
    expect((await roleDependencies(db.pool)).length).toBeGreaterThan(0);
    await migrateDown(target());
    expect(await roleDependencies(db.pool)).toEqual([]);
  });

  it('each migration, one at a time: its down restores exactly the snapshot taken before its up', async () => {
    const files = await listMigrationFiles(defaultMigrationsDir());
    const steps: Snapshot[] = [await snapshot(db.pool)];
    expect(steps[0]).toEqual(zero);
    for (const file of files) {
      const ran = await migrateUp({ ...target(), count: 1 });
      expect(ran.migrations.map((m) => m.name)).toEqual([file.name]);
      const s = await snapshot(db.pool);
      expect(s, `${file.name} changes the catalog`).not.toEqual(steps.at(-1));
      steps.push(s);
    }
    expect(steps.at(-1)).toEqual(head);
    for (let k = files.length; k >= 1; k--) {
      const ran = await migrateDown({ ...target(), count: 1 });
      expect(ran.migrations.map((m) => m.name)).toEqual([files[k - 1]!.name]);
      const s = await snapshot(db.pool);
      for (const section of Object.keys(steps[k - 1]!)) {
        expect(s[section], `down of ${files[k - 1]!.name}: ${section}`).toEqual(steps[k - 1]![section]);
      }
      expect(s, `down of ${files[k - 1]!.name}`).toEqual(steps[k - 1]);
    }
  });
});
