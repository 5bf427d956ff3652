import { withCatalogClient } from '../catalog/session.js';
import { redactUrl } from '../db/url.js';
import { AgentryError, errorMessage, isConnectionError } from '../errors.js';

/** agentry.maintain_partitions' own default. */
export const DEFAULT_PARTITION_MONTHS_AHEAD = 3;

export interface MaintainPartitionsOptions {
  /** URL of the database whose partitions to maintain. */
  databaseUrl: string;
  /** Create partitions from the current month through this many months ahead (0..120, default 3). */
  monthsAhead?: number;
  /** Detach (and drop) partitions that ended more than this many months before the current one; default: keep all. */
  retentionMonths?: number;
  /** Detach partitions past retention but keep them as tables (default: drop them). */
  detachOnly?: boolean;
  /** The current month is the UTC month of this instant (default: now). */
  asOf?: Date;
}

export interface PartitionAction {
  /** Parent table, schema-qualified: agentry.audit_logs. */
  table: string;
  partition: string;
  action: 'created' | 'detached' | 'dropped';
}

export interface MaintainPartitionsResult {
  database: string;
  monthsAhead: number;
  retentionMonths: number | null;
  detachOnly: boolean;
  asOf: string;
  actions: PartitionAction[];
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new AgentryError('usage', `${name} must be an integer from ${min} to ${max}, not ${value}`);
  }
}

/** Translates what the server says into what to do about it. */
function partitionError(error: unknown): never {
  if (isConnectionError(error) || error instanceof AgentryError) throw error;
  const code = (error as { code?: string }).code;
  if (code === '42883' || code === '3F000') {
    throw new AgentryError('failed', 'agentry.maintain_partitions does not exist in this database: migrate it first (`agentry migrate up`)', { cause: error });
  }
  if (code === '42501') {
    throw new AgentryError('failed', `${errorMessage(error)}: partition maintenance runs as a superuser or a member of agentry_owner`, { cause: error });
  }
  if (code === '22023' || code === '22004') throw new AgentryError('usage', errorMessage(error), { cause: error });
  throw new AgentryError('failed', `partition maintenance failed: ${errorMessage(error)}`, { cause: error });
}

/**
 * Runs agentry.maintain_partitions: creates the monthly partitions of every
 * range-partitioned table from the current month through monthsAhead ahead
 * and, with retentionMonths, detaches (and unless detachOnly, drops) those
 * that ended before that many months ago. One transaction.
 */
export async function maintainPartitions(options: MaintainPartitionsOptions): Promise<MaintainPartitionsResult> {
  const monthsAhead = options.monthsAhead ?? DEFAULT_PARTITION_MONTHS_AHEAD;
  checkInteger('months ahead', monthsAhead, 0, 120);
  if (options.retentionMonths !== undefined) checkInteger('retention months', options.retentionMonths, 1, 1200);
  if (options.detachOnly && options.retentionMonths === undefined) {
    throw new AgentryError('usage', '--detach-only applies to partitions past retention: give --retention-months too');
  }
  const asOf = options.asOf ?? new Date();
  if (Number.isNaN(asOf.getTime())) throw new AgentryError('usage', 'as of: invalid date');

  const actions = await withCatalogClient(options.databaseUrl, async (client) => {
    try {
      const { rows } = await client.query<{ parent_table: string; partition_name: string; action: PartitionAction['action'] }>(
        'SELECT parent_table, partition_name, action FROM agentry.maintain_partitions($1::integer, $2::integer, $3::boolean, $4::timestamptz)',
        [monthsAhead, options.retentionMonths ?? null, !options.detachOnly, asOf.toISOString()],
      );
      return rows.map((r) => ({ table: r.parent_table, partition: r.partition_name, action: r.action }));
    } catch (error) {
      return partitionError(error);
    }
  });
  return {
    database: redactUrl(options.databaseUrl),
    monthsAhead,
    retentionMonths: options.retentionMonths ?? null,
    detachOnly: options.detachOnly ?? false,
    asOf: asOf.toISOString(),
    actions,
  };
}

export interface PartitionInfo {
  name: string;
  /** As PostgreSQL prints it (in UTC): FOR VALUES FROM (...) TO (...), or DEFAULT. */
  bound: string;
  isDefault: boolean;
  /** Range bounds as printed in UTC; null for the default partition or other strategies. */
  from: string | null;
  to: string | null;
  /** The planner's estimate (pg_class.reltuples); null until the partition was first vacuumed or analysed. */
  rowEstimate: number | null;
  /** Table, indexes and TOAST, in bytes. */
  sizeBytes: number;
}

export interface PartitionedTable {
  /** Schema-qualified: agentry.audit_logs. */
  table: string;
  /** RANGE (created_at) */
  key: string;
  partitions: PartitionInfo[];
}

export interface ListPartitionsResult {
  database: string;
  tables: PartitionedTable[];
}

/** Every partitioned table of schema agentry with its partitions: bounds, row estimates and sizes. Reads only. */
export async function listPartitions(options: { databaseUrl: string }): Promise<ListPartitionsResult> {
  const rows = await withCatalogClient(options.databaseUrl, async (client) => {
    const result = await client.query<{
      table: string;
      key: string;
      name: string | null;
      bound: string | null;
      row_estimate: number | null;
      size_bytes: string | null;
    }>(
      `SELECT 'agentry.' || c.relname AS table, pg_get_partkeydef(c.oid) AS key,
              ch.relname AS name, pg_get_expr(ch.relpartbound, ch.oid) AS bound,
              CASE WHEN ch.reltuples >= 0 AND ch.relkind = 'r' THEN ch.reltuples::float8 END AS row_estimate,
              (SELECT sum(pg_total_relation_size(t.relid)) FROM pg_partition_tree(ch.oid) t)::text AS size_bytes
         FROM pg_partitioned_table pt JOIN pg_class c ON c.oid = pt.partrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_inherits i ON i.inhparent = c.oid
         LEFT JOIN pg_class ch ON ch.oid = i.inhrelid
        WHERE n.nspname = 'agentry' AND NOT c.relispartition
        ORDER BY c.relname, ch.relname`,
    );
    return result.rows;
  });
  const tables = new Map<string, PartitionedTable>();
  for (const row of rows) {
    const entry = tables.get(row.table) ?? { table: row.table, key: row.key, partitions: [] };
    tables.set(row.table, entry);
    if (row.name === null || row.bound === null) continue;
    const range = /^FOR VALUES FROM \('([^']*)'\) TO \('([^']*)'\)$/.exec(row.bound);
    entry.partitions.push({
      name: row.name,
      bound: row.bound,
      isDefault: row.bound === 'DEFAULT',
      from: range?.[1] ?? null,
      to: range?.[2] ?? null,
      rowEstimate: row.row_estimate === null ? null : Math.round(row.row_estimate),
      sizeBytes: Number(row.size_bytes ?? 0),
    });
  }
  for (const entry of tables.values()) {
    // Chronological, the default partition last.
    entry.partitions.sort((a, b) =>
      a.isDefault !== b.isDefault ? (a.isDefault ? 1 : -1) : (a.from ?? a.bound).localeCompare(b.from ?? b.bound) || a.name.localeCompare(b.name),
    );
  }
  return { database: redactUrl(options.databaseUrl), tables: [...tables.values()] };
}
