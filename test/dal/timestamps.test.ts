import fc from 'fast-check';
import pg from 'pg';
import { describe, expect, it } from 'vitest';

import { parseTimestamptz } from '../../src/dal/timestamps.js';
import { useTestDatabase } from '../helpers/db.js';

// The DAL's timestamptz parser must give exactly the Date node-postgres'
// own parser (postgres-date) gives, for every text PostgreSQL can send: the
// fast path for UTC sessions and the fallback for the rest.

const db = useTestDatabase();
const nodePostgres = (pg.types.getTypeParser as (oid: number, format?: 'text') => (value: string) => unknown)(1184);

/** The time both parsers give, NaN and ±Infinity included (Object.is tells them apart). */
const timeOf = (value: unknown): number => (value instanceof Date ? value.getTime() : (value as number));

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** How PostgreSQL prints a timestamptz (ISO DateStyle): microseconds without trailing zeros, an offset of hours[:minutes]. */
const postgresText = fc
  .record({
    year: fc.integer({ min: 1, max: 9999 }),
    month: fc.integer({ min: 1, max: 12 }),
    day: fc.integer({ min: 1, max: 28 }),
    hour: fc.integer({ min: 0, max: 23 }),
    minute: fc.integer({ min: 0, max: 59 }),
    second: fc.integer({ min: 0, max: 59 }),
    micros: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 999_999 })),
    offsetMinutes: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: -15 * 60, max: 15 * 60 })),
    bc: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  })
  .map((t) => {
    const fraction = t.micros === 0 ? '' : `.${pad(t.micros, 6).replace(/0+$/, '')}`;
    const sign = t.offsetMinutes < 0 ? '-' : '+';
    const abs = Math.abs(t.offsetMinutes);
    const offset = `${sign}${pad(Math.floor(abs / 60), 2)}${abs % 60 ? `:${pad(abs % 60, 2)}` : ''}`;
    return `${pad(t.year, 4)}-${pad(t.month, 2)}-${pad(t.day, 2)} ${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}${fraction}${offset}${t.bc ? ' BC' : ''}`;
  });

describe('parseTimestamptz', () => {
  it('equals node-postgres on every form PostgreSQL prints (20,000 generated)', () => {
    fc.assert(
      fc.property(postgresText, (text) => {
        expect(Object.is(timeOf(parseTimestamptz(text)), timeOf(nodePostgres(text))), text).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });

  it('equals node-postgres on the edge texts: infinity, years 0-999, BC, no fraction, one digit of fraction, malformed', () => {
    const texts = [
      'infinity',
      '-infinity',
      '0099-03-01 00:00:00+00',
      '0999-12-31 23:59:59.999999+00',
      '2026-11-30 00:00:00+00',
      '2026-11-30 00:00:00.5+00',
      '2026-11-30 00:00:00.000001+00',
      '2026-11-30 00:00:00.057+00',
      '2026-11-30 12:34:56.789+05:30',
      '0044-03-15 12:00:00+00 BC',
      '2026-11-30 00:00:00.+00',
      '2026-1x-30 00:00:00+00',
    ];
    for (const text of texts) expect(Object.is(timeOf(parseTimestamptz(text)), timeOf(nodePostgres(text))), text).toBe(true);
  });

  it('equals node-postgres on 4,502 values the server prints, in a UTC session and in one at +05:30', async () => {
    for (const zone of ['UTC', 'Asia/Kolkata']) {
      const client = await db.pool.connect();
      try {
        await client.query(`SET TimeZone = '${zone}'`);
        const { rows } = await client.query<{ text: string }>(
          `SELECT v::text AS text FROM (
             SELECT timestamptz '2026-01-01 00:00:00+00' + (random() - 0.5) * interval '4000 years' AS v FROM generate_series(1, 2500)
             UNION ALL SELECT date_trunc('second', now()) + g * interval '1 microsecond' FROM generate_series(1, 1000) AS g
             UNION ALL SELECT timestamptz '0050-06-01 00:00:00+00' + g * interval '1 day 1 microsecond' FROM generate_series(1, 500) AS g
             UNION ALL SELECT timestamptz '0100-01-01 00:00:00+00 BC' + g * interval '7 days 3 hours' FROM generate_series(1, 500) AS g
             UNION ALL SELECT v FROM unnest(ARRAY['infinity', '-infinity']::timestamptz[]) AS v
           ) AS s`,
        );
        expect(rows.length).toBe(4502);
        for (const { text } of rows) expect(Object.is(timeOf(parseTimestamptz(text)), timeOf(nodePostgres(text))), `${zone}: ${text}`).toBe(true);
      } finally {
        client.release();
      }
    }
  });
});
