import { AgentryError } from '../../errors.js';

/**
 * Bump when the generator changes what it writes: a database seeded by
 * another version is then removed and seeded again instead of resumed.
 */
export const GENERATOR_VERSION = 1;

export const DEFAULT_SEED = 1;
export const DEFAULT_MONTHS = 6;
export const MIN_SCALE = 0.005;
export const MAX_SCALE = 1000;

/** Tasks per workflow slot: slot k holds a workflow of 4..32 tasks, the rest of the slot are standalone tasks. */
export const SLOT = 32;
/** The newest tasks are "live" (created in the last two days, every status); at least this many. */
export const MIN_LIVE_TASKS = 24;
/** Statuses of the live tasks, in this order, repeated: more finished first, so a task's dependencies are mostly done. */
export const LIVE_STATUSES = [
  'completed',
  'running',
  'checkpoint',
  'failed',
  'retrying',
  'correcting',
  'cancelled',
  'timeout',
  'assigned',
  'running',
  'queued',
  'initializing',
  'pending',
  'completed',
  'queued',
  'pending',
] as const;

export interface DemoArgs {
  scale: number;
  seed: number;
  months: number;
  /** YYYY-MM-DD: the data ends at 00:00 UTC of this day. */
  asOf: string;
}

/** Row counts of one demo dataset (see README: what --scale means). */
export interface DemoCounts {
  users: number;
  apiKeys: number;
  userSessions: number;
  rateLimitWindows: number;
  workers: number;
  agents: number;
  agentCapabilities: number;
  projects: number;
  plans: number;
  taskChains: number;
  taskTemplates: number;
  scheduledTasks: number;
  workflows: number;
  tasks: number;
  liveTasks: number;
  agentMetrics: number;
  activityLogs: number;
  auditLogs: number;
  knowledgeChains: number;
  agentSessions: number;
  webhooks: number;
  webhookDeliveries: number;
  /** Trust records aimed at per agent (those with finished tasks). */
  trustRecordsPerAgent: number;
}

export interface DemoPlan extends DemoArgs {
  counts: DemoCounts;
  /** Start of the data (as-of minus months), 00:00 UTC. */
  from: Date;
  /** End of the data: 00:00 UTC of the as-of day. */
  to: Date;
  /** Rows per batch of the tasks phase (whole workflow slots); other phases scale from it. */
  batchSize: number;
  /** Connections working at once. */
  jobs: number;
}

export const DEFAULT_BATCH_SIZE = 5 * 1024;
export const DEFAULT_JOBS = 2;

const round = (x: number): number => Math.round(x);

export function demoCounts(scale: number): DemoCounts {
  const tasks = round(10_000 * scale);
  const users = Math.max(4, round(40 * scale));
  const agents = Math.max(12, round(40 * scale));
  const webhooks = Math.max(2, round(10 * scale));
  return {
    users,
    apiKeys: users,
    userSessions: users * 3,
    rateLimitWindows: users * 2,
    workers: Math.max(2, round(8 * scale)),
    agents,
    agentCapabilities: agents * 3,
    projects: Math.max(2, round(10 * scale)),
    plans: Math.max(2, round(10 * scale)) * 3,
    taskChains: Math.max(2, round(20 * scale)),
    taskTemplates: Math.max(2, round(20 * scale)),
    // Capped: chk_scheduled_tasks_timezone reads pg_timezone_names, about 15 ms a row.
    scheduledTasks: Math.min(100, Math.max(2, round(10 * scale))),
    workflows: Math.ceil(tasks / SLOT),
    tasks,
    liveTasks: Math.max(MIN_LIVE_TASKS, round(tasks * 0.02)),
    agentMetrics: round(100_000 * scale),
    activityLogs: tasks * 2,
    auditLogs: Math.max(100, round(5_000 * scale)),
    knowledgeChains: Math.max(5, round(100 * scale)),
    agentSessions: agents * 5,
    webhooks,
    webhookDeliveries: webhooks * 50,
    trustRecordsPerAgent: 25,
  };
}

/** UTC midnight of a YYYY-MM-DD date. */
export function parseDay(day: string): Date {
  const date = /^\d{4}-\d{2}-\d{2}$/.test(day) ? new Date(`${day}T00:00:00Z`) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== day) {
    throw new AgentryError('usage', `as of: expected a date such as 2026-01-31, not "${day}"`);
  }
  return date;
}

export function today(now = new Date()): string {
  return now.toISOString().slice(0, 10);
}

export function checkArgs(args: DemoArgs, now = new Date()): void {
  if (!Number.isFinite(args.scale) || args.scale < MIN_SCALE || args.scale > MAX_SCALE) {
    throw new AgentryError('usage', `scale must be a number from ${MIN_SCALE} to ${MAX_SCALE} (1 = 10,000 tasks), not ${args.scale}`);
  }
  if (!Number.isInteger(args.seed) || args.seed < 0 || args.seed > 2_147_483_647) {
    throw new AgentryError('usage', `seed must be an integer from 0 to 2147483647, not ${args.seed}`);
  }
  if (!Number.isInteger(args.months) || args.months < 1 || args.months > 36) {
    throw new AgentryError('usage', `months must be an integer from 1 to 36, not ${args.months}`);
  }
  const asOf = parseDay(args.asOf);
  if (asOf.getTime() > now.getTime()) {
    throw new AgentryError('usage', `as of ${args.asOf} is in the future: the demo data ends at 00:00 UTC of that day, which must have passed`);
  }
}

export function makePlan(args: DemoArgs, options: { batchSize?: number; jobs?: number } = {}): DemoPlan {
  const to = parseDay(args.asOf);
  const from = new Date(Date.UTC(to.getUTCFullYear(), to.getUTCMonth() - args.months, to.getUTCDate()));
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < SLOT || batchSize > 1_000_000) {
    throw new AgentryError('usage', `batch size must be an integer from ${SLOT} to 1000000, not ${batchSize}`);
  }
  const jobs = options.jobs ?? DEFAULT_JOBS;
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 8) {
    throw new AgentryError('usage', `jobs must be an integer from 1 to 8, not ${jobs}`);
  }
  return { ...args, counts: demoCounts(args.scale), from, to, batchSize: Math.floor(batchSize / SLOT) * SLOT, jobs };
}

/** First day of the month of `date` and of the month after `to`: the partitions to create. */
export function partitionRange(plan: DemoPlan): { from: string; to: string } {
  const start = new Date(Date.UTC(plan.from.getUTCFullYear(), plan.from.getUTCMonth(), 1));
  // Events of the last live tasks may fall a little after `to`: cover that month too.
  const end = new Date(Date.UTC(plan.to.getUTCFullYear(), plan.to.getUTCMonth() + 2, 1));
  return { from: start.toISOString().slice(0, 10), to: end.toISOString().slice(0, 10) };
}
