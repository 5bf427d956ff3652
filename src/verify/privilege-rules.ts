import { ALL_TABLE_PRIVILEGES, OWNERSHIP, ROLE_DESIGN, type TablePrivilege } from './design.js';
import { fail, pass, plural, type Rule } from './types.js';

// Roles and privileges as designed (src/verify/design.ts). Privileges are
// asked with has_*_privilege(), so membership and grants to PUBLIC count.

/** Privileges that can also be granted per column: checked with has_any_column_privilege(). */
const COLUMN_LEVEL = new Set<TablePrivilege>(['SELECT', 'INSERT', 'UPDATE', 'REFERENCES']);

function privilegeExpression(priv: TablePrivilege): string {
  return COLUMN_LEVEL.has(priv)
    ? `has_any_column_privilege(r.role, c.oid, '${priv}')`
    : `has_table_privilege(r.role, c.oid, '${priv}')`;
}

interface RelationPrivileges {
  table: string;
  kind: string;
  root: string;
  is_partition: boolean;
  role: string;
  [privilege: string]: unknown;
}

export const rolesAndPrivileges: Rule = {
  name: 'roles',
  group: 'schema',
  description:
    'agentry_owner owns the schema and every object but the migration bookkeeping; agentry_app has DML without DDL, append-only audit_logs and trust_records, read-only reference tables and no hash columns; agentry_readonly has SELECT only, without hash and secret columns',
  async run({ client }) {
    const problems: string[] = [];
    const designRoles = ROLE_DESIGN.map((d) => d.role);
    const { rows: present } = await client.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [
      [OWNERSHIP.owner, ...designRoles],
    ]);
    const existing = new Set(present.map((r) => r.rolname));
    for (const role of [OWNERSHIP.owner, ...designRoles]) {
      if (!existing.has(role)) problems.push(`role ${role} does not exist (the roles migration creates it)`);
    }

    // Ownership.
    const { rows: owned } = await client.query<{ kind: string; name: string; owner: string }>(
      `SELECT 'schema' AS kind, n.nspname AS name, pg_get_userbyid(n.nspowner) AS owner FROM pg_namespace n WHERE n.nspname = 'agentry'
       UNION ALL
       SELECT CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'i' THEN 'index' WHEN 'I' THEN 'index' WHEN 'v' THEN 'view'
                             WHEN 'm' THEN 'materialized view' ELSE 'table' END,
              c.relname, pg_get_userbyid(c.relowner)
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'agentry'
       UNION ALL
       SELECT 'function', p.oid::regprocedure::text, pg_get_userbyid(p.proowner)
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'agentry'
       UNION ALL
       SELECT CASE t.typtype WHEN 'd' THEN 'domain' WHEN 'e' THEN 'enum' ELSE 'type' END, t.typname, pg_get_userbyid(t.typowner)
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'agentry' AND t.typrelid = 0 AND NOT EXISTS (SELECT 1 FROM pg_type a WHERE a.typarray = t.oid)
       ORDER BY 1, 2`,
    );
    for (const o of owned) {
      if (o.kind !== 'schema' && o.kind !== 'function' && OWNERSHIP.exemptPattern.test(o.name)) continue;
      if (o.owner !== OWNERSHIP.owner) problems.push(`${o.kind} ${o.name} is owned by ${o.owner}, not ${OWNERSHIP.owner} (ALTER ... OWNER TO ${OWNERSHIP.owner})`);
    }

    const roles = ROLE_DESIGN.filter((d) => existing.has(d.role));
    if (roles.length > 0) {
      // Schema privileges.
      const { rows: schema } = await client.query<{ role: string; usage: boolean; create: boolean }>(
        `SELECT r.role, has_schema_privilege(r.role, 'agentry', 'USAGE') AS usage, has_schema_privilege(r.role, 'agentry', 'CREATE') AS create
           FROM unnest($1::text[]) r(role)`,
        [roles.map((d) => d.role)],
      );
      for (const s of schema) {
        const design = roles.find((d) => d.role === s.role)!;
        if (s.usage !== design.schemaUsage) problems.push(`${s.role} ${s.usage ? 'has' : 'lacks'} USAGE on schema agentry`);
        if (s.create !== design.schemaCreate) problems.push(`${s.role} ${s.create ? 'has' : 'lacks'} CREATE on schema agentry`);
      }

      // Table privileges of every table, view and partition.
      const columns = ALL_TABLE_PRIVILEGES.map((p) => `${privilegeExpression(p)} AS "${p}"`).join(', ');
      const { rows: matrix } = await client.query<RelationPrivileges>(
        `SELECT c.relname AS table, c.relkind::text AS kind, c.relispartition AS is_partition,
                coalesce(pg_partition_root(c.oid), c.oid)::regclass::text AS root, r.role, ${columns}
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN unnest($1::text[]) r(role)
          WHERE n.nspname = 'agentry' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          ORDER BY r.role, c.relname`,
        [roles.map((d) => d.role)],
      );
      for (const row of matrix) {
        if (OWNERSHIP.exemptPattern.test(row.table)) continue;
        const design = roles.find((d) => d.role === row.role)!;
        const base = row.root.replace(/^agentry\./, '').replace(/^"|"$/g, '');
        const forbidden = new Set<TablePrivilege>([...design.nowhere, ...(design.forbidden[base] ?? [])]);
        for (const priv of ALL_TABLE_PRIVILEGES) {
          const has = row[priv] === true;
          if (has && forbidden.has(priv)) {
            problems.push(`${row.role} may ${priv} ${row.table}${row.is_partition ? ` (partition of ${base})` : ''}, which the design forbids: REVOKE ${priv} ON agentry.${row.table} FROM ${row.role}`);
          } else if (!has && !row.is_partition && design.everywhere.includes(priv) && !forbidden.has(priv)) {
            problems.push(`${row.role} lacks ${priv} on ${row.table}: GRANT ${priv} ON agentry.${row.table} TO ${row.role}`);
          }
        }
      }

      // Hidden columns and functions.
      for (const design of roles) {
        for (const qualified of design.hiddenColumns) {
          const [table, column] = qualified.split('.') as [string, string];
          const { rows } = await client.query<{ exists: boolean; readable: boolean | null }>(
            `SELECT a.attname IS NOT NULL AS exists,
                    CASE WHEN a.attname IS NOT NULL THEN has_column_privilege($1, c.oid, a.attname, 'SELECT') END AS readable
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = $3 AND NOT a.attisdropped
              WHERE n.nspname = 'agentry' AND c.relname = $2`,
            [design.role, table, column],
          );
          if (rows[0]?.readable === true) {
            problems.push(`${design.role} can read ${qualified}: REVOKE SELECT ON agentry.${table} FROM ${design.role} and grant the other columns only`);
          }
        }
        for (const [functions, wanted] of [
          [design.noExecute, false],
          [design.mayExecute, true],
        ] as const) {
          for (const signature of functions) {
            const { rows } = await client.query<{ can: boolean | null }>(
              `SELECT CASE WHEN to_regprocedure($2) IS NOT NULL THEN has_function_privilege($1, to_regprocedure($2), 'EXECUTE') END AS can`,
              [design.role, signature],
            );
            const can = rows[0]?.can ?? null;
            if (can === null) problems.push(`function ${signature} does not exist`);
            else if (can !== wanted) {
              problems.push(
                wanted
                  ? `${design.role} cannot execute ${signature}: GRANT EXECUTE ON FUNCTION ${signature} TO ${design.role}`
                  : `${design.role} may execute ${signature}: REVOKE EXECUTE ON FUNCTION ${signature} FROM PUBLIC, ${design.role}`,
              );
            }
          }
        }
      }
    }

    const unique = [...new Set(problems)];
    if (unique.length === 0) {
      return pass(`${OWNERSHIP.owner} owns everything; ${ROLE_DESIGN.map((d) => d.role).join(' and ')} have exactly the designed privileges`);
    }
    return fail(`${plural(unique.length, 'deviation')} from the role design (src/verify/design.ts): fix the ownership and grants in a migration`, unique);
  },
};
