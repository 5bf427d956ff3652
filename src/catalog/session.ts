import type pg from 'pg';

import { withClient } from '../db/admin.js';

/**
 * Session settings under which catalog text is deterministic: bounds and
 * defaults print in UTC and ISO whatever the server's or the role's
 * defaults are, and types print schema-qualified (agentry.task_status) because
 * agentry is not on the search_path.
 */
export const CATALOG_SESSION_SQL = `SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; SET search_path = public`;

/** withClient() with the catalog session settings applied. */
export async function withCatalogClient<T>(databaseUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  return withClient(databaseUrl, async (client) => {
    await client.query(CATALOG_SESSION_SQL);
    return fn(client);
  });
}
