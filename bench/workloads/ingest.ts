/**
 * Section 'ingest': agent_metrics rows through the DAL's batch ingest
 * (telemetry.ingestAgentMetrics: zod parse per row, then chunked unnest
 * INSERTs in one transaction) against COPY agentry.agent_metrics FROM STDIN
 * of the same rows (text format, serialised from the same objects inside the
 * timed part), alternated; the table is truncated between runs (untimed).
 * A third contender ingests a tenth of the rows, to see whether rows/s holds
 * as the batch grows.
 */
import { createAgentry } from '../../src/dal/index.js';
import type { AgentMetricsInitializer, AgentsId } from '../../generated/index.js';
import { compare, ratio, type Contender, type Measurement } from '../lib/harness.js';
import { copyFrom, copyTextValue } from '../lib/copy.js';
import { count, scratchDatabase, since, withPgClient } from '../lib/scratch.js';
import type { BenchSection, Workload } from '../lib/types.js';

export interface IngestSizes {
  /** Rows of the main comparison (1,000,000 full). */
  rows: number;
  /** Rows of the smaller DAL batch (100,000 full). */
  smallRows: number;
  agents: number;
}

export const FULL_INGEST: IngestSizes = { rows: 1_000_000, smallRows: 100_000, agents: 200 };
export const QUICK_INGEST: IngestSizes = { rows: 20_000, smallRows: 2_000, agents: 20 };

const METRICS = [
  ['latency', 'ms'],
  ['tokens', 'tokens'],
  ['cost', 'USD'],
  ['success_rate', '%'],
  ['error_rate', '%'],
] as const;

const MODELS = ['claude-sonnet-4', 'claude-haiku-4', 'gpt-4.1', 'llama-3.3-70b'];

/** Deterministic rows spread over the first 25 days of `month` (a partition that exists). */
export function metricRows(n: number, agents: number, month: Date): AgentMetricsInitializer[] {
  const span = 25 * 86_400_000;
  const rows = new Array<AgentMetricsInitializer>(n);
  let state = 0x9e3779b9;
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  for (let i = 0; i < n; i += 1) {
    const [type, unit] = METRICS[i % METRICS.length]!;
    rows[i] = {
      agent_id: `bench-agent-${String(i % agents).padStart(4, '0')}` as AgentsId,
      metric_type: type,
      metric_value: type === 'tokens' ? Math.floor(random() * 8000) : Math.round(random() * 1_000_000) / 1000,
      metric_unit: unit,
      ...(i % 4 === 0 ? { context: { model: MODELS[i % MODELS.length], attempt: 1 + (i % 3) } } : {}),
      recorded_at: new Date(month.getTime() + Math.floor((i / n) * span) + (i % 1000)),
    };
  }
  return rows;
}

/** The same rows in COPY text format, in chunks of about 64 KiB. */
function* copyChunks(rows: readonly AgentMetricsInitializer[]): Generator<Buffer> {
  let text = '';
  for (const row of rows) {
    text += `${copyTextValue(row.agent_id)}\t${row.metric_type}\t${row.metric_value}\t${copyTextValue(row.metric_unit)}\t${copyTextValue(
      JSON.stringify(row.context ?? {}),
    )}\t${(row.recorded_at ?? new Date()).toISOString()}\n`;
    if (text.length >= 65_536) {
      yield Buffer.from(text);
      text = '';
    }
  }
  if (text) yield Buffer.from(text);
}

export const COPY_METRICS = 'COPY agentry.agent_metrics (agent_id, metric_type, metric_value, metric_unit, context, recorded_at) FROM STDIN';

export function makeIngestWorkload(sizes?: IngestSizes): Workload {
  return async (ctx) => {
    const size = sizes ?? (ctx.quick ? QUICK_INGEST : FULL_INGEST);
    const db = await scratchDatabase(ctx.adminUrl, 'ingest');
    const agentry = createAgentry({ connectionString: db.url, max: 2, application_name: 'agentry-bench' });
    try {
      const month = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1));
      await withPgClient(db.url, async (client) => {
        await client.query(
          `SELECT agentry.create_monthly_partitions('agentry.agent_metrics'::regclass, $1::date, ($1::date + interval '2 months')::date)`,
          [month.toISOString().slice(0, 10)],
        );
        await client.query(
          `INSERT INTO agentry.agents (id, name) SELECT format('bench-agent-%s', lpad(g::text, 4, '0')), format('Bench agent %s', g)
             FROM generate_series(0, $1::int - 1) g`,
          [size.agents],
        );
      });
      ctx.log(`ingest: generating ${count(size.rows)} metric rows (untimed)`);
      const rows = metricRows(size.rows, size.agents, month);
      const small = rows.slice(0, size.smallRows);

      const truncate = () => withPgClient(db.url, async (client) => void (await client.query('TRUNCATE agentry.agent_metrics')));
      const dal = (batch: AgentMetricsInitializer[]) => async (): Promise<Measurement> => {
        const started = performance.now();
        const result = await agentry.telemetry.ingestAgentMetrics(batch);
        const ms = since(started);
        if (result.inserted !== batch.length) throw new Error(`DAL ingest wrote ${result.inserted} of ${batch.length} rows`);
        return { units: batch.length, ms, extra: { statements: result.statements } };
      };
      const big = `${count(size.rows)}`;
      const contenders: Contender[] = [
        { name: `DAL ingestAgentMetrics ${big}`, run: dal(rows), cleanup: truncate },
        {
          name: `COPY FROM STDIN ${big}`,
          run: () =>
            withPgClient(db.url, async (client) => {
              const started = performance.now();
              const result = await copyFrom(client, COPY_METRICS, copyChunks(rows));
              const ms = since(started);
              if (result.rows !== rows.length) throw new Error(`COPY wrote ${result.rows} of ${rows.length} rows`);
              return { units: rows.length, ms, extra: { MiB: result.bytes / 1_048_576 } };
            }),
          cleanup: truncate,
        },
        { name: `DAL ingestAgentMetrics ${count(size.smallRows)}`, run: dal(small), cleanup: truncate },
      ];
      const result = await compare({
        title: `Ingest of agent_metrics rows: DAL batch ingest vs COPY`,
        unit: 'rows',
        rounds: ctx.rounds,
        contenders,
        onRun: (round, name, m) => ctx.log(`ingest round ${round}: ${name}: ${count((m.units / m.ms) * 1000)} rows/s (${(m.ms / 1000).toFixed(2)} s)`),
      });
      const [dalBig, copy, dalSmall] = contenders.map((c) => c.name) as [string, string, string];
      const vsCopy = ratio(result, dalBig, copy);
      const holds = ratio(result, dalBig, dalSmall);
      return {
        id: 'ingest',
        title: 'Batch ingest of agent metrics',
        comparisons: [{ result, reference: copy }],
        notes: [
          `${count(size.rows)} rows of agentry.agent_metrics (${size.agents} agents; 5 metric types; a context object on every 4th row) into a freshly truncated, indexed table (primary key and idx_agent_metrics_agent_type_time).`,
          `DAL: one ingestAgentMetrics call (zod parse of every row, then unnest INSERTs of ${5000} rows each, one transaction). COPY: the same row objects serialised to COPY text format in the timed part and sent over node-postgres's connection.`,
        ],
        bars: [
          { bar: 'DAL batch ingest rows/s ≥ 0.7 × COPY FROM STDIN rows/s', measured: vsCopy, target: '≥ 0.70', met: vsCopy >= 0.7 },
          {
            bar: `DAL rows/s at ${count(size.rows)} rows ≥ 0.8 × at ${count(size.smallRows)} rows (rows/s holds as the batch grows)`,
            measured: holds,
            target: '≥ 0.80',
            met: holds >= 0.8,
          },
        ],
      } satisfies BenchSection;
    } finally {
      await agentry.close();
      await db.drop();
    }
  };
}

export const ingestWorkload: Workload = makeIngestWorkload();
