// The shape of the demo data: time line, task statuses, agents per type, and
// the SQL expressions that compute them from a counter. Phases (phases.ts)
// build their INSERT ... SELECT statements from these.

import { AGENT_TYPES, TASK_TYPES } from '../reference.js';
import { LIVE_STATUSES, SLOT, type DemoPlan } from './plan.js';
import { lit, Rng, seconds, textArray, ts, uuidExpr } from './sql.js';

export const AGENT_TYPE_NAMES = AGENT_TYPES.map((t) => t.name);
export const TASK_TYPE_NAMES = TASK_TYPES.map((t) => t.name);
/** For each task type, the index of its agent type in AGENT_TYPE_NAMES. */
export const TASK_TYPE_AGENT = TASK_TYPES.map((t) => AGENT_TYPE_NAMES.indexOf(t.agentType));
/** Typical run time per task type (avg_duration_seconds, 30 s when the catalog has none). */
export const TASK_TYPE_SECONDS = TASK_TYPES.map((t) => Number(t.avgDurationSeconds ?? 30));
/** Agent type indexes of seed 004's classes, which take the untyped (title and description only) tasks. */
export const UNTYPED_AGENT_TYPES = [5, 6, 7, 8, 9];
export const MOBILE_AGENT_TYPE = AGENT_TYPE_NAMES.indexOf('mobile_controller');

export const CAPABILITY_TAGS = ['nlp:v1', 'code:v1', 'data:v1', 'research:v1', 'orchestration:v1', 'codegen:v1', 'testing:v1', 'docs:v1', 'planning:v1', 'mobile:v1'];

export const TERMINAL = ['completed', 'failed', 'timeout', 'cancelled'];

export interface Timeline {
  /** Tasks before this counter are history (terminal); from it on they are live. */
  liveFrom: number;
  /** Seconds between two history tasks. */
  historyStep: number;
  /** Start of the live window (48 h before `to`). */
  liveStart: Date;
  /** Seconds between two live tasks (they fill 46 h). */
  liveStep: number;
}

export function timeline(plan: DemoPlan): Timeline {
  const { tasks, liveTasks } = plan.counts;
  const liveFrom = tasks - liveTasks;
  const liveStart = new Date(plan.to.getTime() - 48 * 3600 * 1000);
  const historySeconds = (liveStart.getTime() - plan.from.getTime()) / 1000;
  return { liveFrom, historyStep: historySeconds / Math.max(1, liveFrom), liveStart, liveStep: (46 * 3600) / liveTasks };
}

/** SQL building blocks shared by the phases. */
export class Model {
  readonly rng: Rng;
  readonly time: Timeline;

  constructor(readonly plan: DemoPlan) {
    this.rng = new Rng(plan.seed);
    this.time = timeline(plan);
  }

  get counts() {
    return this.plan.counts;
  }

  r(stream: string, n: string): string {
    return this.rng.r(stream, n);
  }

  /** Start of the data. */
  get from(): string {
    return ts(this.plan.from);
  }

  /** End of the data. */
  get to(): string {
    return ts(this.plan.to);
  }

  /** A time spread over the whole window: position x in [0, 1). */
  inWindow(x: string): string {
    const span = (this.plan.to.getTime() - this.plan.from.getTime()) / 1000;
    return `(${this.from} + ${seconds(`(${x}) * ${span}`)})`;
  }

  /** Jitter-free creation time of task n: history tasks spread over the window, the live ones over the last two days. */
  taskBase(n: string): string {
    const t = this.time;
    return `(CASE WHEN (${n}) >= ${t.liveFrom} THEN ${ts(t.liveStart)} + ${seconds(`((${n}) - ${t.liveFrom}) * ${t.liveStep}`)}
                 ELSE ${this.from} + ${seconds(`(${n}) * ${t.historyStep}`)} END)`;
  }

  /** Creation time of task n (strictly increasing in n). */
  taskCreated(n: string): string {
    const t = this.time;
    return `(${this.taskBase(n)} + ${seconds(`0.9 * ${this.r('task.jitter', n)} * CASE WHEN (${n}) >= ${t.liveFrom} THEN ${t.liveStep} ELSE ${t.historyStep} END`)})`;
  }

  /** Creation time of the workflow of slot k: that of its first task, without jitter. */
  workflowCreated(k: string): string {
    return this.taskBase(`(${k}) * ${SLOT}`);
  }

  /** Tasks in the workflow of slot k: 4..32, cut at the last task. */
  workflowSize(k: string): string {
    return `least(4 + floor(${this.r('workflow.size', k)} * 29)::int, ${this.counts.tasks} - (${k}) * ${SLOT})`;
  }

  /**
   * Status of task n: the live ones cycle through LIVE_STATUSES, history is
   * finished. A workflow fails when one of its tasks does, so its tasks fail
   * less often than standalone ones: about half the workflows succeed.
   */
  taskStatus(n: string, inWorkflow: string): string {
    const live = textArray([...LIVE_STATUSES]);
    const r = this.r('task.status', n);
    return `(CASE WHEN (${n}) >= ${this.time.liveFrom} THEN (${live})[1 + ((${n}) - ${this.time.liveFrom}) % ${LIVE_STATUSES.length}]
                 WHEN ${inWorkflow} THEN CASE WHEN ${r} < 0.96 THEN 'completed' WHEN ${r} < 0.98 THEN 'failed' WHEN ${r} < 0.99 THEN 'timeout' ELSE 'cancelled' END
                 WHEN ${r} < 0.86 THEN 'completed' WHEN ${r} < 0.93 THEN 'failed' WHEN ${r} < 0.96 THEN 'timeout' ELSE 'cancelled' END)`;
  }

  userId(u: string): string {
    return uuidExpr('users', u);
  }

  /** A user counter drawn from the stream. */
  someUser(stream: string, n: string): string {
    return `floor(${this.r(stream, n)} * ${this.counts.users})::bigint`;
  }

  agentId(a: string): string {
    return `('demo-agent-' || lpad((${a})::text, 5, '0'))`;
  }

  /** An agent counter of agent type index `at` (agents a have type a % 10). */
  agentOfType(at: string, stream: string, n: string): string {
    const A = this.counts.agents;
    const types = AGENT_TYPE_NAMES.length;
    return `((${at}) + ${types} * floor(${this.r(stream, n)} * ((${A} - 1 - (${at})) / ${types} + 1))::int)`;
  }

  /** Any agent counter. */
  someAgent(stream: string, n: string): string {
    return `floor(${this.r(stream, n)} * ${this.counts.agents})::int`;
  }

  workerOfAgent(a: string): string {
    return uuidExpr('workers', `(${a}) % ${this.counts.workers}`);
  }

  clientId(u: string): string {
    return `('demo-client-' || lpad((${u})::text, 5, '0'))`;
  }

  pick(stream: string, n: string, values: readonly string[]): string {
    return this.rng.pick(stream, n, values);
  }

  int(stream: string, n: string, lo: number | string, hi: number | string): string {
    return this.rng.int(stream, n, lo, hi);
  }

  /** numeric(p, 2) rounding of a float expression. */
  round(expr: string, digits = 2): string {
    return `round((${expr})::numeric, ${digits})`;
  }

  /** A dotted IPv4 address in 10.0.0.0/8 from the stream. */
  ip(stream: string, n: string): string {
    return `('10.' || ${this.int(`${stream}.1`, n, 0, 255)} || '.' || ${this.int(`${stream}.2`, n, 0, 255)} || '.' || ${this.int(`${stream}.3`, n, 1, 254)})::inet`;
  }

  /** base64 of two sha256 (88 characters, no line breaks, no padding). */
  base64(stream: string, text: string): string {
    return `translate(encode(${this.rng.sha(`${stream}.a`, text)} || ${this.rng.sha(`${stream}.b`, text)}, 'base64'), E'=\\n', '')`;
  }

  lit(value: string): string {
    return lit(value);
  }
}
