// Runs the demo phases on `jobs` connections. A free connection takes the
// first batch it may run, in the phases' order of preference: a phase is
// ready when the phases it comes after are done; a serial phase runs one
// batch at a time, in order; a parallel one on every free connection. Every
// batch commits together with its entry in the manifest.

import pg from 'pg';

import { connectionError } from '../../db/admin.js';
import { AgentryError, errorMessage, isConnectionError } from '../../errors.js';
import { markBatchDone } from './manifest.js';
import type { Model } from './model.js';
import type { Phase, PhaseContext } from './phases.js';

export type DemoProgressEvent =
  | { kind: 'step'; step: string; message: string }
  | { kind: 'phase-start'; phase: string; batches: number; alreadyDone: number }
  | { kind: 'batch'; phase: string; batch: number; done: number; batches: number; rows: number }
  | { kind: 'phase-end'; phase: string; batches: number; rows: number; seconds: number };

export interface PhaseReport {
  phase: string;
  batches: number;
  /** Batches done by an earlier run (resumed). */
  resumed: number;
  rows: number;
  /** Wall time from its first batch's start to its last batch's end, in this run. */
  seconds: number;
  /** Time spent in its batches, summed over connections. */
  busySeconds: number;
}

/** Session settings of a seeding connection. */
export const SESSION_SQL = [
  "SET application_name = 'agentry seed'",
  // A lost commit (server crash) only means its batch runs again.
  'SET synchronous_commit = off',
  'SET jit = off',
  "SET TimeZone = 'UTC'",
  "SET work_mem = '64MB'",
].join('; ');

// A session the server ends while its client sits between statements reports why (57P01 "terminating
// connection due to administrator command", say) only as an 'error' event; the client's next query then
// fails with node-postgres' bare "not queryable". The event's error is the one worth reporting.
const connectionLost = new WeakMap<pg.Client, Error>();

/** The error that explains a failed statement: the connection's own loss, when the statement only met its aftermath. */
function explain(client: pg.Client, error: unknown): unknown {
  const lost = connectionLost.get(client);
  return lost !== undefined && error instanceof Error && /not queryable/.test(error.message) ? lost : error;
}

export async function connect(databaseUrl: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
  client.on('error', (error) => {
    if (!connectionLost.has(client)) connectionLost.set(client, error);
  });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw connectionError(databaseUrl, error);
  }
  await client.query(SESSION_SQL);
  return client;
}

interface PhaseState {
  phase: Phase;
  batches?: number;
  planning: boolean;
  done: Set<number>;
  inFlight: Set<number>;
  report: PhaseReport;
  started?: number;
  finished: boolean;
}

export async function runPhases(options: {
  databaseUrl: string;
  model: Model;
  phases: Phase[];
  /** Batches done by an earlier run, per phase. */
  done: Record<string, number[]>;
  /** Phases to treat as done without running them. */
  skip: string[];
  jobs: number;
  onProgress: (event: DemoProgressEvent) => void;
}): Promise<PhaseReport[]> {
  const states = options.phases.map<PhaseState>((phase) => ({
    phase,
    planning: false,
    done: new Set(options.done[phase.name] ?? []),
    inFlight: new Set(),
    report: { phase: phase.name, batches: 0, resumed: 0, rows: 0, seconds: 0, busySeconds: 0 },
    finished: false,
  }));
  const byName = new Map(states.map((s) => [s.phase.name, s]));
  for (const name of options.skip) {
    const state = byName.get(name);
    if (state) {
      state.finished = true;
      state.batches = 0;
    }
  }
  let failure: unknown;
  let waiters: Array<() => void> = [];
  const notify = () => {
    const w = waiters;
    waiters = [];
    for (const resolve of w) resolve();
  };
  const changed = () => new Promise<void>((resolve) => waiters.push(resolve));

  const finish = (s: PhaseState) => {
    s.finished = true;
    s.report.seconds = s.started === undefined ? 0 : (performance.now() - s.started) / 1000;
    options.onProgress({ kind: 'phase-end', phase: s.phase.name, batches: s.batches ?? 0, rows: s.report.rows, seconds: s.report.seconds });
  };

  /** The batches of the followed phase that batch b needs are done. */
  const followed = (follows: { phase: string; ratio: number }, b: number): boolean => {
    const leader = byName.get(follows.phase);
    if (!leader || leader.finished) return true;
    if (leader.batches === undefined) return false;
    for (let i = b * follows.ratio; i < Math.min(leader.batches, (b + 1) * follows.ratio); i += 1) {
      if (!leader.done.has(i)) return false;
    }
    return true;
  };

  type Pick = { state: PhaseState; batch: number } | 'wait' | 'finished';
  const next = async (ctx: PhaseContext): Promise<Pick> => {
    for (;;) {
      let planned = false;
      for (const s of states) {
        if (s.finished) continue;
        if (!s.phase.after.every((name) => byName.get(name)?.finished ?? true)) continue;
        if (s.batches === undefined) {
          if (s.planning) continue;
          s.planning = true;
          try {
            s.batches = await s.phase.batches(ctx);
          } finally {
            s.planning = false;
          }
          s.report.batches = s.batches;
          s.report.resumed = [...s.done].filter((b) => b < (s.batches as number)).length;
          options.onProgress({ kind: 'phase-start', phase: s.phase.name, batches: s.batches, alreadyDone: s.report.resumed });
          planned = true;
          notify();
          if (s.report.resumed >= s.batches) {
            finish(s);
            notify();
          }
          break;
        }
        if (!s.phase.parallel && s.inFlight.size > 0) continue;
        let batch = -1;
        for (let b = 0; b < s.batches; b += 1) {
          if (!s.done.has(b) && !s.inFlight.has(b)) {
            batch = b;
            break;
          }
        }
        if (batch >= 0 && s.phase.follows && !followed(s.phase.follows, batch)) {
          // Serial phases go in order: wait for this one; parallel ones may take a later ready batch.
          if (!s.phase.parallel) continue;
          batch = -1;
          for (let b = 0; b < s.batches; b += 1) {
            if (!s.done.has(b) && !s.inFlight.has(b) && followed(s.phase.follows, b)) {
              batch = b;
              break;
            }
          }
        }
        if (batch >= 0) {
          // Claimed here, synchronously: another connection may look before this one resumes.
          s.inFlight.add(batch);
          return { state: s, batch };
        }
      }
      if (planned) continue; // states changed while planning: look again from the top
      if (states.every((s) => s.finished)) return 'finished';
      return 'wait';
    }
  };

  const lane = async (client: pg.Client): Promise<void> => {
    const ctx: PhaseContext = { client, model: options.model };
    for (;;) {
      if (failure !== undefined) return;
      let pick: Pick;
      try {
        pick = await next(ctx);
      } catch (error) {
        failure ??= { error: explain(client, error), phase: 'planning', batch: 0, batches: 1 };
        notify();
        return;
      }
      if (pick === 'finished') return;
      if (pick === 'wait') {
        await changed();
        continue;
      }
      const { state: s, batch } = pick;
      s.started ??= performance.now();
      const t0 = performance.now();
      try {
        await client.query('BEGIN');
        const rows = await s.phase.run(ctx, batch);
        await markBatchDone(client, s.phase.name, batch);
        await client.query('COMMIT');
        if (s.phase.afterCommit) await s.phase.afterCommit(ctx, batch);
        s.report.rows += rows;
        s.done.add(batch);
        s.report.busySeconds += (performance.now() - t0) / 1000;
        options.onProgress({
          kind: 'batch',
          phase: s.phase.name,
          batch,
          done: [...s.done].filter((b) => b < (s.batches as number)).length,
          batches: s.batches as number,
          rows,
        });
        if (s.done.size >= (s.batches as number) && [...Array(s.batches as number).keys()].every((b) => s.done.has(b))) finish(s);
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        failure ??= { error: explain(client, error), phase: s.phase.name, batch, batches: s.batches };
      } finally {
        s.inFlight.delete(batch);
        notify();
      }
    }
  };

  const clients: pg.Client[] = [];
  try {
    for (let i = 0; i < options.jobs; i += 1) clients.push(await connect(options.databaseUrl));
    await Promise.all(clients.map((client) => lane(client)));
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
  if (failure !== undefined) {
    const f = failure as { error: unknown; phase: string; batch: number; batches: number };
    if (isConnectionError(f.error)) throw f.error;
    throw new AgentryError('failed', `demo seed failed in phase ${f.phase}, batch ${f.batch + 1} of ${f.batches}: ${errorMessage(f.error)}`, {
      cause: f.error,
    });
  }
  return states.map((s) => s.report);
}
