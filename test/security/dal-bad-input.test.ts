import { createHash, randomBytes, randomUUID } from 'node:crypto';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { constraintCatalog } from '../../generated/constraints.js';
import { taskStatusSchema, type TaskStatus } from '../../generated/index.js';
import { createAgentry } from '../../src/dal/client.js';
import { ConflictError, ConstraintViolation, IllegalTransition, MissingInputKey, ValidationError } from '../../src/dal/errors.js';
import { createIntegrationModule } from '../../src/dal/integration.js';
import { contextModules } from '../../src/dal/modules.js';
import { quoteIdent } from '../../src/db/identifiers.js';
import { useTestDatabase } from '../helpers/db.js';
import { recordFigures } from '../helpers/figures.js';
import {
  MISSING,
  bad,
  badArray,
  badBoolean,
  badDate,
  badDecimal,
  badEnum,
  badInt,
  badJsonObject,
  badJsonValue,
  badText,
  badTextId,
  badUuid,
  deepObject,
  describe as show,
  expectTypedRefusal,
  nulString,
  outcomeOf,
  unstorableString,
  verbatimString,
  wrongType,
  type Bad,
} from './support/arbitraries.js';

/**
 * Bad input, property-tested, for every public function of every DAL
 * context module: fast-check starts from a valid call and replaces one field
 * or argument with a bad value for its kind. Each must be refused with a
 * typed error naming the rule, write nothing, and raise nothing unhandled.
 * A last group shows that hostile strings are stored verbatim, never run.
 *
 * Reproducible: the seed is fixed (BAD_INPUT_SEED overrides it) and printed.
 */

const SEED = Number(process.env.BAD_INPUT_SEED ?? 20_260_601);
const db = useTestDatabase({ max: 3 });
// The DAL runs as the application role, as services do; fixtures and row digests use db.pool (superuser).
const AS_APP = '-c role=agentry_app';
const secretKey = randomBytes(32).toString('base64');
const modules = { integration: createIntegrationModule({ secretKey }) };
type Client = ReturnType<typeof createAgentry<typeof modules>>;
let agentry: Client;

const figures = { functions: 0, properties: 0, cases: 0, refusedTyped: 0, rowsWritten: 0, tablesChanged: 0, unhandled: 0, verbatimRoundTrips: 0 };
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => {
  unhandled.push(reason);
};

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

// The vocabulary as generated from the task_status domain, not a copy of it.
const STATUSES: readonly TaskStatus[] = taskStatusSchema.options;

interface Ref {
  id: string;
  version: number;
}

interface Fixtures {
  userId: string;
  userName: string;
  userEmail: string;
  workerId: string;
  agentId: string;
  agentName: string;
  otherAgentId: string;
  /** One task in every status (inserted straight into it: the transition trigger guards updates only). */
  tasks: Record<TaskStatus, Ref>;
  /** A queued task only claims with capability CLAIM_CAPABILITY take. */
  claimable: Ref;
  /** c0 <- c1 <- c2 <- c3 <- c4: each depends on the one before. */
  chain: string[];
  legal: Set<string>;
  workflowId: string;
  checkpointPending: string;
  checkpointDecided: string;
  correctionPending: string;
  entryHead: string;
  entryWithSuccessor: string;
  sessionActive: string;
  sessionEnded: string;
  apiKeyId: string;
  userSessionId: string;
  webhookId: string;
  deliveryInFlight: { id: string; attempt: number };
  deliveryPending: string;
  limits: Map<string, number>;
}

const CLAIM_CAPABILITY = 'bad-input-claim';
const BCRYPT = `$2b$12$${'a'.repeat(53)}`;
let fx: Fixtures;

async function sql<T extends object = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  return (await db.pool.query<T>(text, params)).rows;
}

async function insertTask(status: TaskStatus, extra: { capability?: string } = {}): Promise<Ref> {
  const [row] = await sql<Ref>(`INSERT INTO agentry.tasks (title, status, capability_required) VALUES ($1, $2, $3) RETURNING id, version`, [
    `bad-input fixture ${status}`,
    status,
    extra.capability ?? null,
  ]);
  return row!;
}

async function buildFixtures(): Promise<Fixtures> {
  const limits = new Map<string, number>();
  for (const row of await sql<{ t: string; c: string; n: number }>(
    `SELECT table_name AS t, column_name AS c, character_maximum_length AS n FROM information_schema.columns
      WHERE table_schema = 'agentry' AND character_maximum_length IS NOT NULL`,
  )) {
    limits.set(`${row.t}.${row.c}`, row.n);
  }
  const legal = new Set(
    (await sql<{ f: string; t: string }>(`SELECT from_status AS f, to_status AS t FROM agentry.task_status_transitions`)).map((r) => `${r.f}>${r.t}`),
  );

  const user = await agentry.access.createUser('bad_input_user', 'Bad.Input@example.com', BCRYPT);
  const worker = await agentry.fleet.registerWorker({ machineId: 'bad-input-machine', machineName: 'bad input', systemInfo: {}, tools: [] });
  const agent = await agentry.fleet.registerAgent({ id: 'bad-input-agent', name: 'Bad Input Agent', type: 'DataAgent' });
  const other = await agentry.fleet.registerAgent({ id: 'bad-input-other', name: 'Bad Input Other', type: 'DataAgent' });

  const tasks = {} as Record<TaskStatus, Ref>;
  for (const status of STATUSES) tasks[status] = await insertTask(status);
  const claimable = await insertTask('queued', { capability: CLAIM_CAPABILITY });

  const chainTasks = await agentry.work.createTasks(
    Array.from({ length: 5 }, (_, i) => ({ id: randomUUID() as never, title: `chain ${i}` })).map((task, i, all) => ({
      ...task,
      ...(i > 0 && { depends_on: [all[i - 1]!.id] }),
    })),
  );

  const workflow = await agentry.work.createWorkflow({ name: 'bad input workflow' });

  const pendingCheckpointTask = await insertTask('running');
  const { checkpoint: pending } = await agentry.review.openCheckpoint(pendingCheckpointTask.id as never, pendingCheckpointTask.version);
  const decidedTask = await insertTask('running');
  const { checkpoint: decided } = await agentry.review.openCheckpoint(decidedTask.id as never, decidedTask.version);
  await agentry.review.decideCheckpoint(decided.id, 'approve', 'fine');
  const correction = await agentry.review.addCorrection({
    checkpointId: pending.id,
    taskId: pendingCheckpointTask.id as never,
    correctionType: 'bug',
    guidance: 'fix it',
  });

  const first = await agentry.knowledge.createEntry({ type: 'adr', title: 'bad input entry', createdBy: user.id });
  const head = await agentry.knowledge.newVersion(first.id, { title: 'bad input entry v2' });

  const active = await agentry.knowledge.startAgentSession(agent.id);
  const ended = await agentry.knowledge.startAgentSession(agent.id);
  await agentry.knowledge.endAgentSession(ended.id);

  const { apiKey } = await agentry.access.createApiKey({ clientId: 'bad-input', name: 'bad input key', scopes: ['tasks:read'] });
  const { session } = await agentry.access.createSession(user.id, 3600);

  const webhook = await agentry.integration.registerWebhook({
    clientId: 'bad-input',
    url: 'https://hooks.example.com/in',
    events: ['task.*'],
    secret: 'whsec_0123456789abcdef',
  });
  await agentry.integration.enqueueDelivery(webhook.id, 'task.completed', { n: 1 });
  const [claimed] = await agentry.integration.claimDueDeliveries(10, 3600);
  const pendingDelivery = await agentry.integration.enqueueDelivery(webhook.id, 'task.completed', { n: 2 });

  return {
    userId: user.id,
    userName: user.username,
    userEmail: user.email,
    workerId: worker.id,
    agentId: agent.id,
    agentName: agent.name,
    otherAgentId: other.id,
    tasks,
    claimable,
    chain: chainTasks.map((task: { id: string }) => task.id),
    legal,
    workflowId: workflow.id,
    checkpointPending: pending.id,
    checkpointDecided: decided.id,
    correctionPending: correction.id,
    entryHead: head.id,
    entryWithSuccessor: first.id,
    sessionActive: active.id,
    sessionEnded: ended.id,
    apiKeyId: apiKey.id,
    userSessionId: session.id,
    webhookId: webhook.id,
    deliveryInFlight: { id: claimed!.id, attempt: claimed!.attempt_count },
    deliveryPending: pendingDelivery.id,
    limits,
  };
}

/** varchar(n) of a column, read from the schema (so the bad lengths follow it). */
const len = (table: string, column: string): number => {
  const n = fx.limits.get(`${table}.${column}`);
  if (n === undefined) throw new Error(`no varchar limit for ${table}.${column}`);
  return n;
};

/** A rule's name, checked against the generated catalog so that a typo cannot pass as "some constraint". */
const rule = (name: string): string => {
  if (!Object.hasOwn(constraintCatalog, name)) throw new Error(`unknown constraint ${name}`);
  return name;
};
const fk = (table: string, column: string) => rule(`fk_${table}_${column}`);

// ---------------------------------------------------------------------------
// Digest: every table of schema agentry, rows and content
// ---------------------------------------------------------------------------

let digestSql = '';

async function digest(): Promise<Map<string, string>> {
  if (!digestSql) {
    const tables = await sql<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'agentry' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`,
    );
    digestSql = tables
      .map(
        ({ name }) =>
          `SELECT ${`'${name}'`} AS t, count(*)::text || ':' || md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) AS h FROM agentry.${quoteIdent(name)} x`,
      )
      .join('\nUNION ALL\n');
  }
  return new Map((await sql<{ t: string; h: string }>(digestSql)).map((row) => [row.t, row.h]));
}

/** Rows added or removed across the tables (a changed row with the same count shows in changedTables). */
function rowDelta(before: Map<string, string>, after: Map<string, string>): number {
  const count = (digestValue: string | undefined) => Number(digestValue?.split(':')[0] ?? 0);
  return [...before.keys()].reduce((sum, table) => sum + Math.abs(count(after.get(table)) - count(before.get(table))), 0);
}

function changedTables(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...before.keys()].filter((table) => before.get(table) !== after.get(table));
}

// ---------------------------------------------------------------------------
// Specs: one per function, a valid call and the fields fast-check spoils
// ---------------------------------------------------------------------------

type Path = readonly (string | number)[];

interface Target {
  /** Argument index, then keys into it. */
  at: Path;
  bad: fc.Arbitrary<Bad>;
  /** Where the first issue of a zod ValidationError must point; default at.slice(1); null: do not check. */
  issue?: Path | null;
  /** Instead of setting `at`: changes the arguments (illegal transitions, cycles, two fields at once). */
  apply?: (args: unknown[], value: unknown) => void;
}

interface Spec {
  /** A fresh valid call. */
  args: () => unknown[];
  targets: Target[];
  /** The call reads or writes nothing on success that a transaction can roll back (streams, pure functions): checked outside one. */
  outsideTransaction?: boolean;
}

type Module = Record<string, (...args: unknown[]) => unknown>;
type SpecFactory = () => Spec;

function setAt(args: unknown[], at: Path, value: unknown): void {
  let holder: Record<string | number, unknown> = args as unknown as Record<string | number, unknown>;
  for (const key of at.slice(0, -1)) {
    if (holder[key] === undefined || holder[key] === null || typeof holder[key] !== 'object') holder[key] = {};
    holder = holder[key] as Record<string | number, unknown>;
  }
  const last = at[at.length - 1]!;
  if (value === MISSING) {
    if (Array.isArray(holder)) holder[last as number] = undefined;
    else delete holder[last];
  } else {
    holder[last] = value;
  }
}

const at = (path: Path, arbitrary: fc.Arbitrary<Bad>, issue?: Path | null): Target =>
  issue === undefined ? { at: path, bad: arbitrary } : { at: path, bad: arbitrary, issue };
const custom = (arbitrary: fc.Arbitrary<Bad>, apply: Target['apply'], issue: Path | null = null): Target => ({ at: [], bad: arbitrary, issue, apply });
const badValue = bad;

/** Unknown keys of a strict schema. */
const extraKeys = (keys: readonly string[]): fc.Arbitrary<Bad> =>
  fc
    .tuple(fc.constantFrom(...keys), fc.constantFrom<unknown>(1, 'x', null, {}))
    .map(([key, value]) => badValue({ key, value }, `unknown key ${key}`, ['validation']));
const addKey =
  (index: number, base: Path = []) =>
  (args: unknown[], value: unknown) => {
    const { key, value: v } = value as { key: string; value: unknown };
    setAt(args, [index, ...base, key], v);
  };

// -- shared arbitraries -----------------------------------------------------

const versionArb = () =>
  fc.oneof(
    badInt({ min: 0, max: 2_147_483_647, range: 'validation' }),
    fc.integer({ min: 10_000, max: 1_000_000 }).map((v) => badValue(v, 'stale version', ['conflict'])),
  );

/** A task (and its version) in a status from which `to` is not a legal move, and the IllegalTransition it meets. */
const illegalSource = (to: TaskStatus) =>
  fc
    .constantFrom(...STATUSES.filter((from) => !fx.legal.has(`${from}>${to}`)))
    .map((from) => badValue({ ...fx.tasks[from], from, to }, `illegal transition ${from} -> ${to}`, ['transition'], 'trg_tasks_status_transition'));
const illegalMove = () =>
  fc
    .constantFrom(...STATUSES.flatMap((from) => STATUSES.filter((to) => !fx.legal.has(`${from}>${to}`)).map((to) => [from, to] as const)))
    .map(([from, to]) => badValue({ ...fx.tasks[from], from, to }, `illegal transition ${from} -> ${to}`, ['transition'], 'trg_tasks_status_transition'));
const useTask = (args: unknown[], value: unknown) => {
  const { id, version } = value as Ref;
  args[0] = id;
  args[1] = version;
};

const jsonObj = (options: { optional?: boolean; nullable?: boolean } = {}) => badJsonObject(options);
const optText = (maxLength?: number) => badText({ optional: true, nullable: true, ...(maxLength !== undefined && { maxLength }) });
const textArray = (options: { optional?: boolean; nullable?: boolean; empty?: 'validation' } = {}) =>
  badArray({
    ...options,
    element: fc.oneof(
      wrongType(['string']).filter((b) => b.value !== MISSING),
      unstorableString,
    ),
    valid: 'ok',
  });

/** A lookup by a key too long for its column finds nothing: NotFound is as right as a ValidationError there. */
const lookup = (arbitrary: fc.Arbitrary<Bad>) =>
  arbitrary.map((b) => (b.label.startsWith('longer than') ? badValue(b.value, b.label, ['validation', 'notFound']) : b));

const agentRef = (options: { optional?: boolean; nullable?: boolean; constraint?: string; notFound?: boolean } = {}) =>
  (options.notFound ? lookup : (a: fc.Arbitrary<Bad>) => a)(
    badTextId({
      optional: options.optional ?? false,
      nullable: options.nullable ?? false,
      maxLength: len('agents', 'id'),
      ...(options.notFound
        ? { unknown: { refusal: 'notFound' as const } }
        : options.constraint
          ? { unknown: { refusal: 'constraint' as const, constraint: options.constraint } }
          : {}),
    }),
  );

// -- work ---------------------------------------------------------------------

const newTaskTargets = (prefix: Path, options: { parent?: boolean } = {}): Target[] => {
  const f = (field: string, arbitrary: fc.Arbitrary<Bad>) => at([...prefix, field], arbitrary);
  const targets: Target[] = [
    f(
      'id',
      fc.oneof(
        badUuid({ optional: true }),
        fc.constant(null).map(() => badValue(fx.tasks.completed.id, 'existing id', ['constraint'], 'pk_tasks')),
      ),
    ),
    f(
      'type',
      badTextId({
        optional: true,
        nullable: true,
        maxLength: len('tasks', 'type'),
        invalid: { values: fc.constantFrom('Bad Type', 'ab', "x'; DROP TABLE agentry.tasks; --", 'UPPER'), constraint: rule('chk_tasks_type_format') },
        unknown: { refusal: 'constraint', constraint: fk('tasks', 'type') },
        unknownValues: fc.stringMatching(/^zz[a-z0-9_]{3,20}$/),
      }),
    ),
    f('title', optText()),
    f('description', optText()),
    f(
      'status',
      fc.oneof(
        badEnum(['pending', 'queued'], { optional: true }),
        fc.constantFrom(...STATUSES.filter((s) => s !== 'pending' && s !== 'queued')).map((s) => badValue(s, `created as ${s}`, ['validation'])),
      ),
    ),
    f('priority', badInt({ optional: true, min: 1, max: 10, range: { constraint: rule('chk_tasks_priority_range') } })),
    f(
      'input',
      fc.oneof(
        jsonObj({ optional: true, nullable: true }),
        fc.constant(null).map(() => badValue({}, 'empty input', ['constraint'], rule('chk_tasks_input_not_empty'))),
        fc
          .integer({ min: 1_100_000, max: 1_300_000 })
          .map((n) =>
            badValue(
              { blob: randomBytes(n).toString('base64') },
              `input of ${Math.round((n * 4) / 3 / 1024)} KiB`,
              ['constraint'],
              rule('chk_tasks_input_size'),
            ),
          ),
      ),
    ),
    f('parameters', jsonObj({ optional: true, nullable: true })),
    f('metadata', jsonObj({ optional: true })),
    f('max_retries', badInt({ optional: true, min: 0, max: 10, range: { constraint: rule('chk_tasks_max_retries_range') } })),
    f('retry_policy', badEnum(['none', 'fixed', 'linear', 'exponential'], { optional: true })),
    f(
      'assigned_agent_type',
      badTextId({
        optional: true,
        nullable: true,
        maxLength: len('tasks', 'assigned_agent_type'),
        unknown: { refusal: 'constraint', constraint: fk('tasks', 'assigned_agent_type') },
      }),
    ),
    f('workflow_id', badUuid({ optional: true, nullable: true, unknown: { refusal: 'constraint', constraint: fk('tasks', 'workflow_id') } })),
    f('plan_id', badUuid({ optional: true, nullable: true, unknown: { refusal: 'constraint', constraint: fk('tasks', 'plan_id') } })),
    f('chain_id', badUuid({ optional: true, nullable: true, unknown: { refusal: 'constraint', constraint: fk('tasks', 'chain_id') } })),
    f('template_id', badUuid({ optional: true, nullable: true, unknown: { refusal: 'constraint', constraint: fk('tasks', 'template_id') } })),
    f('schedule_id', badUuid({ optional: true, nullable: true, unknown: { refusal: 'constraint', constraint: fk('tasks', 'schedule_id') } })),
    f('user_id', badUuid({ optional: true, nullable: true, unknown: { refusal: 'constraint', constraint: fk('tasks', 'user_id') } })),
    f('client_id', optText(len('tasks', 'client_id'))),
    f('capability_required', optText(len('tasks', 'capability_required'))),
    f('routing_strategy', badEnum(['round_robin', 'trust_weighted'], { optional: true })),
    f('complexity', badInt({ optional: true, nullable: true, min: 1, max: 5, range: { constraint: rule('chk_tasks_complexity_range') }, type: 'int2' })),
    f('checkpoint_frequency', badEnum(['low', 'medium', 'high'], { optional: true })),
    f('privacy_level', badEnum(['normal', 'sensitive'], { optional: true })),
    f('tool_preferences', textArray({ optional: true, nullable: true })),
    f('recommended_tool', optText(len('tasks', 'recommended_tool'))),
    f('tags', textArray({ optional: true })),
    f('timeout_seconds', badInt({ optional: true, nullable: true, min: 1, max: 2_147_483_647, range: { constraint: rule('chk_tasks_timeout_positive') } })),
    f('expires_at', badDate({ optional: true, nullable: true })),
    f(
      'estimated_hours',
      badDecimal({
        optional: true,
        nullable: true,
        outOfRange: { values: fc.constantFrom('-1', '-0.01', '-9999'), constraint: rule('chk_tasks_hours_nonnegative') },
        integerDigits: 4,
      }),
    ),
    f(
      'depends_on',
      badArray({
        optional: true,
        element: badUuid({ unknown: { refusal: 'constraint', constraint: fk('task_dependencies', 'depends_on_id') } }),
        valid: fx.tasks.completed.id,
      }),
    ),
    custom(
      extraKeys([
        'version',
        'retry_count',
        'tokens_used',
        'created_at',
        'started_at',
        'output',
        'Title',
        'bogus',
        ...(options.parent === false ? ['parent_task_id'] : []),
      ]),
      addKey(prefix[0] as number, prefix.slice(1)),
      null,
    ),
    custom(
      fc
        .constantFrom(
          { type: 'text_analysis', input: { other: 1 } },
          { type: 'translation', input: { text: 'hi', source_lang: 'en' } },
          { type: 'data_analysis', input: { url: 'x' } },
        )
        .map((v) => badValue(v, `input without a key ${v.type} needs`, ['validation'])),
      (args, value) => {
        const { type, input } = value as { type: string; input: object };
        setAt(args, [...prefix, 'type'], type);
        setAt(args, [...prefix, 'input'], input);
      },
      null,
    ),
  ];
  if (options.parent !== false)
    targets.push(
      f('parent_task_id', badUuid({ optional: true, nullable: true, unknown: { refusal: 'constraint', constraint: fk('tasks', 'parent_task_id') } })),
    );
  return targets;
};

const patchTargets = (index: number): Target[] => {
  const f = (field: string, arbitrary: fc.Arbitrary<Bad>) => at([index, field], arbitrary);
  return [
    f('output', jsonObj({ optional: true, nullable: true })),
    f('error_message', optText()),
    f('error_details', jsonObj({ optional: true, nullable: true })),
    f('last_error', optText()),
    f(
      'progress',
      badDecimal({
        optional: true,
        outOfRange: { values: fc.constantFrom('-1', '100.5', '101'), constraint: rule('chk_tasks_progress_range') },
        integerDigits: 3,
      }),
    ),
    f('metadata', jsonObj({ optional: true })),
    f('parameters', jsonObj({ optional: true, nullable: true })),
    f('assigned_tool', optText(len('tasks', 'assigned_tool'))),
    f('recommended_tool', optText(len('tasks', 'recommended_tool'))),
    f(
      'actual_hours',
      badDecimal({
        optional: true,
        nullable: true,
        outOfRange: { values: fc.constantFrom('-1', '-0.5'), constraint: rule('chk_tasks_hours_nonnegative') },
        integerDigits: 4,
      }),
    ),
    f('worker_id', badUuid({ optional: true, nullable: true, unknown: { refusal: 'constraint', constraint: fk('tasks', 'worker_id') } })),
    f('agent_id', agentRef({ optional: true, nullable: true, constraint: fk('tasks', 'agent_id') })),
    f('cancelled_by', optText(len('tasks', 'cancelled_by'))),
    f('cancellation_reason', optText()),
    custom(extraKeys(['status', 'version', 'retry_count', 'title', 'id', 'tokens_used', 'bogus']), addKey(index), null),
  ];
};

const usageTargets = (path: Path, issue: Path = path.slice(1)): Target[] => [
  at([...path, 'tokens'], badInt({ optional: true, min: 0, max: Number.MAX_SAFE_INTEGER, range: 'validation', type: 'int8' }), [...issue, 'tokens']),
  at(
    [...path, 'costUsd'],
    badDecimal({
      optional: true,
      outOfRange: { values: fc.constantFrom('-1', '-0.000001'), constraint: rule('chk_tasks_usage_nonnegative') },
      integerDigits: 4,
    }),
    [...issue, 'costUsd'],
  ),
  custom(extraKeys(['cost', 'tokens_used', 'usd']), (args, value) => {
    const { key, value: v } = value as { key: string; value: unknown };
    setAt(args, [...path, key], v);
  }),
];

const limitArg = (max: number) => at([0], badInt({ optional: true, min: 1, max, range: 'validation' }));

const work: Record<string, SpecFactory> = {
  getTask: () => ({ args: () => [fx.tasks.pending.id], targets: [at([0], badUuid({ unknown: { refusal: 'notFound' } }))] }),
  createTask: () => ({ args: () => [{ title: 'bad input probe' }], targets: [at([0], wrongType(['object'])), ...newTaskTargets([0])] }),
  createTasks: () => ({
    args: () => [[{ title: 'batch a' }, { title: 'batch b' }]],
    targets: [
      at(
        [0],
        fc.oneof(
          wrongType(['array']),
          fc.constant(null).map(() => badValue({ title: 'x' }, 'an object, not an array', ['validation'])),
        ),
      ),
      ...newTaskTargets([0, 1]),
      custom(
        fc
          .integer({ min: 1, max: 5 })
          .map((n) =>
            badValue(n, `a cycle of ${n} in the batch`, ['cycle', 'constraint'], /^(trg_task_dependencies_no_cycle|chk_task_dependencies_not_self)$/),
          ),
        (args, value) => {
          const n = value as number;
          const ids = Array.from({ length: n }, () => randomUUID());
          args[0] = ids.map((id, i) => ({ id, title: `cycle ${i}`, depends_on: [ids[(i + 1) % n]] }));
        },
      ),
    ],
  }),
  createSubtask: () => ({
    args: () => [fx.tasks.pending.id, { title: 'bad input subtask' }],
    targets: [
      at([0], badUuid({ unknown: { refusal: 'constraint', constraint: fk('tasks', 'parent_task_id') } })),
      at([1], wrongType(['object'])),
      ...newTaskTargets([1], { parent: false }),
    ],
  }),
  addDependencies: () => ({
    args: () => [fx.chain[0], [fx.tasks.completed.id]],
    targets: [
      at([0], badUuid({ unknown: { refusal: 'constraint', constraint: fk('task_dependencies', 'task_id') } })),
      at(
        [1],
        badArray({
          element: badUuid({ unknown: { refusal: 'constraint', constraint: fk('task_dependencies', 'depends_on_id') } }),
          valid: fx.tasks.completed.id,
          empty: 'validation',
        }),
      ),
      custom(
        fc
          .tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 }))
          .filter(([i, j]) => i <= j)
          .map(([i, j]) =>
            badValue(
              [i, j],
              i === j ? `self edge on chain ${i}` : `edge chain ${i} -> ${j} closes a cycle`,
              ['cycle', 'constraint'],
              i === j ? rule('chk_task_dependencies_not_self') : 'trg_task_dependencies_no_cycle',
            ),
          ),
        (args, value) => {
          const [i, j] = value as [number, number];
          args[0] = fx.chain[i];
          args[1] = [fx.tasks.completed.id, fx.chain[j]];
        },
      ),
    ],
  }),
  claimReadyTasks: () => ({
    args: () => [{ batchSize: 1, capability: CLAIM_CAPABILITY }],
    targets: [
      at([0], wrongType(['object'])),
      at([0, 'workerId'], badUuid({ optional: true, unknown: { refusal: 'constraint', constraint: fk('tasks', 'worker_id') } })),
      at([0, 'agentId'], agentRef({ optional: true, constraint: fk('tasks', 'agent_id') })),
      at([0, 'batchSize'], badInt({ min: 1, max: 10_000, range: 'validation' })),
      at([0, 'types'], textArray({ optional: true, empty: 'validation' })),
      at([0, 'capability'], badText({ optional: true })),
      at(
        [0, 'status'],
        fc.oneof(
          badEnum(['assigned', 'running'], { optional: true }),
          fc.constantFrom('queued', 'completed').map((s) => badValue(s, `claim into ${s}`, ['validation'])),
        ),
      ),
      custom(extraKeys(['limit', 'worker_id', 'bogus']), addKey(0)),
    ],
  }),
  transition: () => ({
    args: () => [fx.tasks.queued.id, fx.tasks.queued.version, 'assigned', {}, {}],
    targets: [
      at([0], badUuid({ unknown: { refusal: 'notFound' } })),
      at([1], versionArb()),
      at([2], badEnum(STATUSES)),
      custom(illegalMove(), (args, value) => {
        useTask(args, value);
        args[2] = (value as { to: string }).to;
      }),
      ...patchTargets(3),
      ...usageTargets([4]),
    ],
  }),
  updateTask: () => ({
    args: () => [fx.tasks.queued.id, fx.tasks.queued.version, { metadata: { probe: true } }, {}],
    targets: [
      at([0], badUuid({ unknown: { refusal: 'notFound' } })),
      at([1], versionArb()),
      at([2], wrongType(['object'])),
      ...patchTargets(2),
      ...usageTargets([3]),
    ],
  }),
  enqueue: () => ({
    args: () => [fx.tasks.pending.id, fx.tasks.pending.version],
    targets: [at([0], badUuid({ unknown: { refusal: 'notFound' } })), at([1], versionArb()), custom(illegalSource('queued'), useTask)],
  }),
  start: () => ({
    args: () => [fx.tasks.queued.id, fx.tasks.queued.version, {}],
    targets: [at([0], badUuid({ unknown: { refusal: 'notFound' } })), at([1], versionArb()), custom(illegalSource('running'), useTask), ...patchTargets(2)],
  }),
  complete: () => ({
    args: () => [fx.tasks.running.id, fx.tasks.running.version, { rows: 1 }, {}],
    targets: [
      at([0], badUuid({ unknown: { refusal: 'notFound' } })),
      at([1], versionArb()),
      at([2], jsonObj({ optional: true, nullable: true }), ['output']),
      custom(illegalSource('completed'), useTask),
      ...usageTargets([3]),
    ],
  }),
  fail: () => ({
    args: () => [fx.tasks.running.id, fx.tasks.running.version, { message: 'boom' }, {}],
    targets: [
      at([0], badUuid({ unknown: { refusal: 'notFound' } })),
      at([1], versionArb()),
      at([2], wrongType(['object'])),
      // Issues point at message (the schema) or error_message (the patch's JSON check): not checked.
      at(
        [2, 'message'],
        fc.oneof(
          badText(),
          fc.constant(null).map(() => badValue('', 'empty message', ['validation'])),
        ),
        null,
      ),
      at([2, 'details'], jsonObj({ optional: true })),
      at([2, 'retryable'], badBoolean({ optional: true })),
      custom(extraKeys(['error', 'retry', 'bogus']), addKey(2)),
      custom(illegalSource('failed'), useTask),
      ...usageTargets([3, 'usage']),
      at(
        [3, 'backoff', 'baseSeconds'],
        fc.oneof(
          wrongType(['number', 'undefined']).filter((b) => typeof b.value !== 'number' || Number.isNaN(b.value) || b.value < 0 || !Number.isFinite(b.value)),
          fc.double({ max: -0.001, noNaN: true }).map((v) => badValue(v, 'negative', ['validation'])),
        ),
      ),
      at(
        [3, 'backoff', 'capSeconds'],
        fc.oneof(
          wrongType(['number', 'undefined']).filter((b) => typeof b.value !== 'number' || Number.isNaN(b.value) || b.value < 0 || !Number.isFinite(b.value)),
          fc.double({ max: -0.001, noNaN: true }).map((v) => badValue(v, 'negative', ['validation'])),
        ),
      ),
      custom(extraKeys(['retries', 'bogus']), addKey(3)),
      custom(
        fc.constantFrom(1e300, 1e20).map((v) => badValue(v, 'a delay (and cap) past any interval', ['validation'])),
        (args, v) => {
          setAt(args, [3, 'backoff'], { baseSeconds: v, capSeconds: v });
        },
      ),
    ],
  }),
  requeueDueRetries: () => ({ args: () => [10], targets: [limitArg(10_000)] }),
  cancel: () => ({
    args: () => [fx.tasks.queued.id, fx.tasks.queued.version, 'no longer needed', 'bad-input'],
    targets: [
      at([0], badUuid({ unknown: { refusal: 'notFound' } })),
      at([1], versionArb()),
      // Issues point at reason/cancelledBy (the schema) or at cancellation_reason/cancelled_by (the patch's JSON check): not checked.
      at(
        [2],
        fc.oneof(
          badText(),
          fc.constant(null).map(() => badValue('', 'empty reason', ['validation'])),
        ),
        null,
      ),
      at([3], badText({ optional: true, maxLength: len('tasks', 'cancelled_by') }), null),
      custom(illegalSource('cancelled'), useTask),
    ],
  }),
  markTimedOut: () => ({ args: () => [10], targets: [limitArg(10_000)] }),
  getSubtaskTree: () => ({ args: () => [fx.tasks.pending.id], targets: [at([0], badUuid({ unknown: { refusal: 'notFound' } }))] }),
  getReadiness: () => ({
    args: () => [[fx.tasks.pending.id]],
    targets: [at([0], badArray({ element: badUuid({ unknown: { refusal: 'notFound' } }), valid: fx.tasks.pending.id, empty: 'validation' }))],
  }),
  createWorkflow: () => ({
    args: () => [{ name: 'bad input workflow 2' }],
    targets: [
      at([0], wrongType(['object'])),
      at(
        [0, 'id'],
        fc.oneof(
          badUuid({ optional: true }),
          fc.constant(null).map(() => badValue(fx.workflowId, 'existing id', ['constraint'], 'pk_workflows')),
        ),
      ),
      at([0, 'name'], badText({ maxLength: len('workflows', 'name') })),
      at([0, 'description'], optText()),
      at([0, 'workflow_type'], optText(len('workflows', 'workflow_type'))),
      at([0, 'initiator'], optText(len('workflows', 'initiator'))),
      at([0, 'user_id'], badUuid({ optional: true, nullable: true, unknown: { refusal: 'constraint', constraint: fk('workflows', 'user_id') } })),
      at([0, 'metadata'], jsonObj({ optional: true })),
      custom(extraKeys(['status', 'total_tasks', 'completed_at', 'bogus']), addKey(0)),
    ],
  }),
  addTasksToWorkflow: () => ({
    args: () => [fx.workflowId, [fx.tasks.pending.id]],
    targets: [
      at([0], badUuid({ unknown: { refusal: 'constraint', constraint: fk('tasks', 'workflow_id') } })),
      at([1], badArray({ element: badUuid({ unknown: { refusal: 'notFound' } }), valid: fx.tasks.pending.id, empty: 'validation' })),
    ],
  }),
  getWorkflowProgress: () => ({ args: () => [fx.workflowId], targets: [at([0], badUuid({ unknown: { refusal: 'notFound' } }))] }),
};

// -- fleet --------------------------------------------------------------------

const gauge = (name: string) =>
  badDecimal({
    optional: true,
    nullable: true,
    outOfRange: { values: fc.constantFrom('-1', '-0.01', '100.01', '101', '999'), constraint: rule(`chk_workers_${name}_percent_range`) },
    integerDigits: 3,
  });
const agentStatuses = ['online', 'busy', 'offline', 'maintenance', 'retired'] as const;
const httpUrl = fc.oneof(
  fc.constantFrom(
    'ftp://example.com',
    'https://',
    'http:// example.com',
    'https://exa mple.com',
    'example.com',
    '//example.com/x',
    'javascript:alert(1)',
    'https://x\n',
    ' https://example.com',
  ),
  fc.webUrl({ validSchemes: ['ftp', 'ws', 'file'] }),
);

const fleet: Record<string, SpecFactory> = {
  registerWorker: () => ({
    args: () => [{ machineId: 'bad-input-new-machine', machineName: 'new', systemInfo: { os: 'linux' }, tools: ['git'] }],
    targets: [
      at([0], wrongType(['object'])),
      at([0, 'machineId'], badText({ maxLength: len('workers', 'machine_id') })),
      at([0, 'machineName'], badText({ maxLength: len('workers', 'machine_name') })),
      at(
        [0, 'systemInfo'],
        fc.oneof(
          badJsonObject({ classInstances: false }),
          fc
            .constantFrom({ os: 1 }, { cpu: [] }, { memory_total_gb: '8' }, { disk_total_gb: Number.NaN })
            .map((v) => badValue(v, 'system info field of the wrong type', ['validation'])),
        ),
      ),
      at([0, 'tools'], textArray()),
      at([0, 'status'], badEnum(['online', 'offline', 'busy'], { optional: true })),
    ],
  }),
  heartbeat: () => ({
    args: () => [fx.workerId, { cpuPercent: '12.5' }],
    targets: [
      at([0], badUuid({ unknown: { refusal: 'notFound' } })),
      at([1], wrongType(['object', 'undefined'])),
      at([1, 'cpuPercent'], gauge('cpu')),
      at([1, 'memoryPercent'], gauge('memory')),
      at([1, 'diskPercent'], gauge('disk')),
    ],
  }),
  setWorkerStatus: () => ({
    args: () => [fx.workerId, 'busy'],
    targets: [at([0], badUuid({ unknown: { refusal: 'notFound' } })), at([1], badEnum(['online', 'offline', 'busy']))],
  }),
  registerAgent: () => ({
    args: () => [{ id: 'bad-input-new-agent', name: 'Bad Input New Agent' }],
    targets: [
      at([0], wrongType(['object'])),
      at(
        [0, 'id'],
        fc.oneof(
          badText({
            maxLength: len('agents', 'id'),
            invalid: { values: fc.constantFrom('', '-lead', '_x', 'a b', 'a/b', "a'b", 'é', 'a;b'), constraint: rule('chk_agents_id_format') },
          }),
          fc.constant(null).map(() => badValue(fx.agentId, 'existing id', ['constraint'], 'pk_agents')),
        ),
      ),
      at(
        [0, 'name'],
        fc.oneof(
          badText({ maxLength: len('agents', 'name') }),
          fc.constant(null).map(() => badValue(fx.agentName, 'taken name', ['constraint'], rule('uq_agents_name'))),
        ),
      ),
      at(
        [0, 'type'],
        badTextId({ optional: true, nullable: true, maxLength: len('agents', 'type'), unknown: { refusal: 'constraint', constraint: fk('agents', 'type') } }),
      ),
      at([0, 'role'], optText(len('agents', 'role'))),
      at([0, 'model'], optText(len('agents', 'model'))),
      at([0, 'status'], badEnum(agentStatuses, { optional: true })),
      at([0, 'workerId'], badUuid({ optional: true, nullable: true, unknown: { refusal: 'constraint', constraint: fk('agents', 'worker_id') } })),
      at([0, 'specialties'], textArray({ optional: true })),
      at([0, 'capabilities'], textArray({ optional: true })),
      at([0, 'configuration'], jsonObj({ optional: true })),
      at([0, 'metadata'], jsonObj({ optional: true })),
      at([0, 'backstory'], optText()),
      at([0, 'personalityEmoji'], optText(len('agents', 'personality_emoji'))),
      at([0, 'publicKey'], badText({ optional: true, nullable: true })),
      custom(
        fc
          .constantFrom('endpoint', 'publicKey', 'signature')
          .map((field) => badValue(field, `${field} without the rest of the network identity`, ['constraint'], rule('chk_agents_network_identity_complete'))),
        (args, field) => setAt(args, [0, field as string], field === 'endpoint' ? 'https://agent.example.com' : 'abc'),
      ),
      custom(
        httpUrl.map((url) => badValue(url, 'endpoint not an http(s) URL', ['constraint', 'validation'], rule('chk_agents_endpoint_url'))),
        (args, url) => {
          setAt(args, [0, 'endpoint'], url);
          setAt(args, [0, 'publicKey'], 'pk');
          setAt(args, [0, 'signature'], 'sig');
        },
      ),
      at([0, 'endpoint'], badText({ optional: true, nullable: true })),
      at([0, 'signature'], badText({ optional: true, nullable: true })),
      at([0, 'mobileCapable'], badBoolean({ optional: true })),
      at([0, 'deviceAffinity'], optText(len('agents', 'device_affinity'))),
      at([0, 'locationEnabled'], badBoolean({ optional: true })),
      at([0, 'batteryAware'], badBoolean({ optional: true })),
      at(
        [0, 'ipAddress'],
        fc.oneof(
          badText({ optional: true, nullable: true }),
          fc.constantFrom('300.1.1.1', 'localhost', '1.2.3', '::g', "1.1.1.1'; --").map((v) => badValue(v, 'not an IP address', ['validation'])),
        ),
      ),
      at([0, 'hostName'], optText(len('agents', 'host_name'))),
    ],
  }),
  updateAgentStatus: () => ({
    args: () => [fx.agentId, 'busy'],
    targets: [at([0], agentRef({ notFound: true })), at([1], badEnum(agentStatuses))],
  }),
  getAgent: () => ({ args: () => [fx.agentId], targets: [at([0], agentRef({ notFound: true }))] }),
  listAgents: () => ({
    args: () => [{ status: 'online', capability: 'python', limit: 10 }],
    targets: [
      at([0], wrongType(['object', 'undefined'])),
      at([0, 'status'], badEnum(agentStatuses, { optional: true })),
      at(
        [0, 'capability'],
        fc.oneof(
          wrongType(['string', 'array', 'undefined']),
          nulString,
          textArray({ optional: true }).filter((b) => typeof b.value !== 'string'),
        ),
      ),
      at([0, 'limit'], badInt({ optional: true, min: 1, max: 1000, range: 'validation' })),
    ],
  }),
  addCapability: () => ({ args: () => [fx.agentId, 'python'], targets: [at([0], agentRef({ notFound: true })), at([1], badText())] }),
  findAgentsForTaskType: () => ({
    args: () => ['fetch', { statuses: ['online'], limit: 5 }],
    targets: [
      at([0], lookup(badTextId({ maxLength: len('task_types', 'name'), unknown: { refusal: 'notFound' } })), ['taskType']),
      at([1, 'statuses'], badArray({ optional: true, element: badEnum(agentStatuses), valid: 'online', empty: 'validation' })),
      at([1, 'limit'], badInt({ optional: true, min: 1, max: 1000, range: 'validation' })),
    ],
  }),
};

// -- review -------------------------------------------------------------------

const score = (name: string) =>
  badDecimal({
    optional: true,
    nullable: true,
    outOfRange: { values: fc.constantFrom('-0.1', '-1', '10.1', '11', '99'), constraint: rule(`chk_evaluations_${name}_range`) },
    integerDigits: 2,
  });

const review: Record<string, SpecFactory> = {
  openCheckpoint: () => ({
    args: () => [fx.tasks.running.id, fx.tasks.running.version, []],
    targets: [
      at([0], badUuid({ unknown: { refusal: 'notFound' } }), ['taskId']),
      at([1], versionArb(), ['expectedVersion']),
      at([2], badArray({ optional: true, element: fc.oneof(badUuid(), malformed()), valid: fx.tasks.completed.id }), ['subtasksCompleted']),
      custom(illegalSource('checkpoint'), useTask),
    ],
  }),
  decideCheckpoint: () => ({
    args: () => [fx.checkpointPending, 'approve', 'looks good', fx.userId],
    targets: [
      at([0], badUuid({ unknown: { refusal: 'notFound' } }), ['checkpointId']),
      at([1], badEnum(['approve', 'correct', 'reject']), ['decision']),
      at([2], badText({ nullable: true }), ['notes']),
      at([3], badUuid({ optional: true, nullable: true, unknown: { refusal: 'constraint', constraint: fk('checkpoints', 'reviewed_by') } }), ['reviewedBy']),
      custom(
        fc.constantFrom('approve', 'correct', 'reject').map((d) => badValue(d, `${d} on a decided checkpoint`, ['constraint'], 'trg_checkpoints_decision')),
        (args, decision) => {
          args[0] = fx.checkpointDecided;
          args[1] = decision;
        },
      ),
    ],
  }),
  addCorrection: () => ({
    args: () => [{ checkpointId: fx.checkpointPending, taskId: fx.tasks.running.id, correctionType: 'bug', guidance: 'handle empty input' }],
    targets: [
      at([0], wrongType(['object'])),
      at([0, 'checkpointId'], badUuid({ unknown: { refusal: 'constraint', constraint: fk('corrections', 'checkpoint_id') } })),
      at([0, 'taskId'], badUuid({ unknown: { refusal: 'constraint', constraint: fk('corrections', 'task_id') } })),
      at([0, 'correctionType'], badEnum(['wrong_approach', 'incomplete', 'bug', 'style', 'missing_feature', 'other'])),
      at(
        [0, 'guidance'],
        fc.oneof(
          badText(),
          fc.constantFrom('', ' ', '\t\n ').map((v) => badValue(v, 'blank guidance', ['constraint'], rule('chk_corrections_guidance_not_blank'))),
        ),
      ),
      at(
        [0, 'referenceFiles'],
        badArray({
          optional: true,
          element: fc.oneof(
            wrongType(['string', 'object']).filter((b) => b.value !== MISSING),
            fc.constantFrom({ path: 1 }, { url: [] }, { note: null }).map((v) => badValue(v, 'reference of the wrong shape', ['validation'])),
            unstorableString,
          ),
          valid: 'src/a.ts',
        }),
      ),
      at([0, 'applyToFuture'], badBoolean({ optional: true })),
    ],
  }),
  resolveCorrection: () => ({
    args: () => [fx.correctionPending, 'applied'],
    targets: [
      at([0], badUuid({ unknown: { refusal: 'notFound' } }), ['correctionId']),
      at(
        [1],
        fc.oneof(
          badEnum(['pending', 'applied', 'failed']),
          fc.constant(null).map(() => badValue('pending', "resolved as 'pending'", ['constraint'], rule('chk_corrections_resolution'))),
        ),
        ['result'],
      ),
    ],
  }),
  recordEvaluation: () => ({
    args: () => [{ taskId: fx.tasks.completed.id, security: '8', codeQuality: '6.5' }],
    targets: [
      at([0], wrongType(['object'])),
      at([0, 'taskId'], badUuid({ unknown: { refusal: 'constraint', constraint: fk('evaluations', 'task_id') } })),
      at([0, 'codeQuality'], score('code_quality')),
      at([0, 'completeness'], score('completeness')),
      at([0, 'security'], score('security')),
      at([0, 'architecture'], score('architecture')),
      at([0, 'testability'], score('testability')),
      at([0, 'details'], jsonObj({ optional: true, nullable: true })),
      custom(fc.constant(badValue(null, 'no score at all', ['constraint'], rule('chk_evaluations_has_score'))), (args) => {
        setAt(args, [0, 'security'], null);
        setAt(args, [0, 'codeQuality'], MISSING);
      }),
    ],
  }),
  listCheckpoints: () => ({ args: () => [fx.tasks.running.id], targets: [at([0], badUuid())] }),
  listPendingCheckpoints: () => ({ args: () => [10], targets: [limitArg(1000)] }),
};

function malformed(): fc.Arbitrary<Bad> {
  return fc.constantFrom('not-a-uuid', '', "'; --").map((v) => badValue(v, 'malformed uuid', ['validation']));
}

// -- telemetry ----------------------------------------------------------------

const optionsTarget = at([1], wrongType(['object', 'undefined']), null);
const chunkTarget = at([1, 'chunkSize'], badInt({ optional: true, min: 1, max: Number.MAX_SAFE_INTEGER, range: 'validation', type: 'int8' }), ['chunkSize']);

const telemetry: Record<string, SpecFactory> = {
  ingestAgentMetrics: () => ({
    args: () => [
      [
        { agent_id: fx.agentId, metric_type: 'latency', metric_value: 12.5 },
        { agent_id: fx.agentId, metric_type: 'cost', metric_value: 0.1 },
      ],
      {},
    ],
    targets: [
      at(
        [0],
        fc.oneof(
          wrongType(['array']),
          fc.constant(null).map(() => badValue({ agent_id: 'x' }, 'one row, not an array', ['validation'])),
        ),
      ),
      at([0, 1], wrongType(['object'])),
      at([0, 1, 'agent_id'], agentRef({ constraint: fk('agent_metrics', 'agent_id') })),
      at([0, 1, 'metric_type'], badEnum(['latency', 'tokens', 'cost', 'success_rate', 'error_rate'])),
      at(
        [0, 1, 'metric_value'],
        wrongType(['number']).map((b) => (typeof b.value === 'number' && Number.isFinite(b.value) ? badValue(Number.NaN, 'NaN', ['validation']) : b)),
      ),
      at([0, 1, 'metric_unit'], optText(len('agent_metrics', 'metric_unit'))),
      at([0, 1, 'context'], jsonObj({ optional: true })),
      at([0, 1, 'recorded_at'], badDate({ optional: true })),
      chunkTarget,
      optionsTarget,
    ],
  }),
  ingestActivityLogs: () => ({
    args: () => [
      [
        { level: 'info', message: 'started', task_id: fx.tasks.running.id },
        { level: 'error', message: 'failed', worker_id: fx.workerId },
      ],
      {},
    ],
    targets: [
      at([0], wrongType(['array'])),
      at([0, 1], wrongType(['object'])),
      at([0, 1, 'task_id'], badUuid({ optional: true, nullable: true, unknown: { refusal: 'constraint', constraint: fk('activity_logs', 'task_id') } })),
      at([0, 1, 'worker_id'], badUuid({ optional: true, nullable: true, unknown: { refusal: 'constraint', constraint: fk('activity_logs', 'worker_id') } })),
      at([0, 1, 'level'], badEnum(['info', 'warning', 'error'])),
      at([0, 1, 'message'], badText()),
      at([0, 1, 'metadata'], jsonObj({ optional: true, nullable: true })),
      at([0, 1, 'created_at'], badDate({ optional: true })),
      chunkTarget,
      optionsTarget,
    ],
  }),
  exportActivityLogs: () => ({
    outsideTransaction: true,
    args: () => [{ from: new Date(Date.now() - 3_600_000), to: new Date(), taskId: fx.tasks.running.id }],
    // taskId null is no filter (the row schema's nullable id), like leaving it out.
    targets: [
      at([0], wrongType(['object'])),
      at([0, 'from'], badDate()),
      at([0, 'to'], badDate()),
      at([0, 'taskId'], badUuid({ optional: true, nullable: true })),
    ],
  }),
  exportMetrics: () => ({
    outsideTransaction: true,
    args: () => [{ agentId: fx.agentId, from: new Date(Date.now() - 3_600_000), to: new Date() }],
    targets: [at([0], wrongType(['object'])), at([0, 'from'], badDate()), at([0, 'to'], badDate()), at([0, 'agentId'], badText({ optional: true }))],
  }),
  recordTrustEvent: () => ({
    args: () => [fx.agentId, 'task_completed', '0.01', fx.tasks.completed.id, 'on time'],
    targets: [
      at([0], agentRef({ constraint: fk('trust_records', 'agent_id') }), ['agent_id']),
      at([1], badEnum(['task_completed', 'task_failed', 'task_timeout', 'manual_adjustment']), ['event_type']),
      at(
        [2],
        badDecimal({
          outOfRange: { values: fc.constantFrom('1.5', '-1.5', '1.0001', '-2', '0.9', '-0.9'), constraint: /^chk_trust_records_(delta|after)_range$/ },
          integerDigits: 1,
        }),
        ['trust_delta'],
      ),
      at([3], badUuid({ optional: true, nullable: true, unknown: { refusal: 'constraint', constraint: fk('trust_records', 'task_id') } }), ['task_id']),
      at([4], badText({ optional: true, nullable: true }), ['reason']),
    ],
  }),
  recordAgentInteraction: () => ({
    args: () => [{ from_agent_id: fx.agentId, to_agent_id: fx.otherAgentId, interaction_type: 'handoff', message: 'over to you', payload: { step: 1 } }],
    targets: [
      at([0], wrongType(['object'])),
      at([0, 'from_agent_id'], agentRef({ constraint: fk('agent_interactions', 'from_agent_id') })),
      at([0, 'to_agent_id'], agentRef({ constraint: fk('agent_interactions', 'to_agent_id') })),
      custom(fc.constant(badValue(null, 'an agent interacting with itself', ['constraint'], rule('chk_agent_interactions_distinct_agents'))), (args) =>
        setAt(args, [0, 'to_agent_id'], fx.agentId),
      ),
      at([0, 'interaction_type'], badEnum(['handoff', 'collaboration', 'review', 'feedback'])),
      at(
        [0, 'workflow_id'],
        badUuid({ optional: true, nullable: true, unknown: { refusal: 'constraint', constraint: fk('agent_interactions', 'workflow_id') } }),
      ),
      at([0, 'message'], optText()),
      at([0, 'payload'], badJsonValue),
    ],
  }),
  listLearningExperiences: () => ({
    args: () => [{ agentId: fx.agentId, limit: 10 }],
    targets: [
      at([0], wrongType(['object'])),
      at([0, 'agentId'], badText({ optional: true })),
      at([0, 'taskType'], badText({ optional: true })),
      at([0, 'limit'], badInt({ optional: true, min: 1, max: 10_000, range: 'validation' })),
      custom(fc.constant(badValue(null, 'neither agentId nor taskType', ['validation'])), (args) => {
        args[0] = { limit: 5 };
      }),
    ],
  }),
};

// -- knowledge ----------------------------------------------------------------

const entryTargets = (index: number, partial: boolean): Target[] => {
  const o = partial ? { optional: true } : {};
  return [
    at([index, 'type'], badEnum(['code_snippet', 'adr', 'documentation', 'pattern', 'task_template'], o)),
    at([index, 'title'], badText({ ...o, maxLength: len('knowledge_entries', 'title') })),
    at([index, 'content'], optText()),
    at([index, 'summary'], optText()),
    at([index, 'tags'], textArray({ optional: true })),
    at([index, 'categories'], textArray({ optional: true })),
    at([index, 'source'], badText({ optional: true, maxLength: len('knowledge_entries', 'source') })),
    at([index, 'createdBy'], badUuid({ ...o, unknown: { refusal: 'constraint', constraint: fk('knowledge_entries', 'created_by') } })),
    at([index, 'createdAgentId'], agentRef({ optional: true, nullable: true, constraint: fk('knowledge_entries', 'created_agent_id') })),
    at([index, 'taskId'], badUuid({ optional: true, nullable: true, unknown: { refusal: 'constraint', constraint: fk('knowledge_entries', 'task_id') } })),
    at(
      [index, 'confidenceScore'],
      badDecimal({
        optional: true,
        nullable: true,
        outOfRange: { values: fc.constantFrom('-0.01', '1.01', '2'), constraint: rule('chk_knowledge_entries_confidence_range') },
        integerDigits: 1,
      }),
    ),
    at([index, 'visibility'], badEnum(['public', 'private', 'team'], { optional: true })),
    at([index, 'accessList'], badArray({ optional: true, element: fc.oneof(badUuid(), malformed()), valid: randomUUID() })),
    at([index, 'deviceFingerprint'], optText(len('knowledge_entries', 'device_fingerprint'))),
  ];
};

const sessionRef = () => badUuid({ unknown: { refusal: 'notFound' } });

const knowledge: Record<string, SpecFactory> = {
  createEntry: () => ({
    args: () => [{ type: 'pattern', title: 'bad input pattern', createdBy: fx.userId }],
    targets: [at([0], wrongType(['object'])), ...entryTargets(0, false)],
  }),
  getEntry: () => ({ args: () => [fx.entryHead], targets: [at([0], badUuid({ unknown: { refusal: 'notFound' } }))] }),
  newVersion: () => ({
    args: () => [fx.entryHead, { title: 'bad input v3' }],
    targets: [
      at([0], badUuid({ unknown: { refusal: 'notFound' } })),
      at([1], wrongType(['object', 'undefined'])),
      ...entryTargets(1, true),
      custom(extraKeys(['tag', 'version', 'previousVersionId', 'created_by', 'bogus']), addKey(1)),
      custom(
        fc.constant(badValue(null, 'a version that already has a successor', ['constraint'], rule('uq_knowledge_entries_previous_version_id'))),
        (args) => {
          args[0] = fx.entryWithSuccessor;
        },
      ),
    ],
  }),
  getHistory: () => ({ args: () => [fx.entryHead], targets: [at([0], badUuid({ unknown: { refusal: 'notFound' } }))] }),
  searchByTags: () => ({
    args: () => [['adr'], { match: 'all', viewerId: fx.userId, limit: 5 }],
    targets: [
      at([0], textArray({ empty: 'validation' }), ['tags']),
      at([1, 'match'], badEnum(['any', 'all'], { optional: true })),
      at([1, 'viewerId'], badUuid({ optional: true })),
      at([1, 'limit'], badInt({ optional: true, min: 1, max: 1000, range: 'validation' })),
    ],
  }),
  startAgentSession: () => ({
    args: () => [fx.agentId, { contextSnapshot: { a: 1 }, mobileSessionId: 'm-1' }],
    targets: [
      at([0], agentRef({ constraint: fk('agent_sessions', 'agent_id') }), ['agentId']),
      at([1, 'contextSnapshot'], jsonObj({ optional: true })),
      at([1, 'deviceInfo'], jsonObj({ optional: true })),
      at([1, 'metadata'], jsonObj({ optional: true })),
      at([1, 'mobileSessionId'], optText(len('agent_sessions', 'mobile_session_id'))),
    ],
  }),
  endAgentSession: () => ({
    args: () => [fx.sessionActive, { status: 'completed', taskCount: 3, successRate: '0.5' }],
    targets: [
      at([0], sessionRef(), ['sessionId']),
      at(
        [1, 'status'],
        fc.oneof(
          badEnum(['completed', 'failed'], { optional: true }),
          fc.constantFrom('active', 'paused').map((s) => badValue(s, `ended as ${s}`, ['validation'])),
        ),
      ),
      at([1, 'taskCount'], badInt({ optional: true, min: 0, max: 2_147_483_647, range: { constraint: rule('chk_agent_sessions_task_count_nonnegative') } })),
      at(
        [1, 'successRate'],
        badDecimal({
          optional: true,
          nullable: true,
          outOfRange: { values: fc.constantFrom('-0.1', '1.5', '-1'), constraint: rule('chk_agent_sessions_success_rate_range') },
          integerDigits: 1,
        }),
      ),
      custom(fc.constant(badValue(null, 'a session that has ended', ['conflict'])), (args) => {
        args[0] = fx.sessionEnded;
      }),
    ],
  }),
  addContextVector: () => ({
    args: () => [fx.sessionActive, { vector: [0.1, 0.2], contextType: 'semantic', confidenceScore: '0.8' }],
    targets: [
      at([0], sessionRef(), ['sessionId']),
      at([1], wrongType(['object'])),
      at(
        [1, 'vector'],
        fc.oneof(
          badArray({
            element: wrongType(['number']).filter((b) => b.value !== MISSING),
            valid: 0.5,
            empty: { constraint: rule('chk_context_vectors_vector_shape') },
          }),
          fc
            .constantFrom([Number.NaN], [Number.POSITIVE_INFINITY, 1], [1e300], [[1, 2]])
            .map((v) => badValue(v, 'not a vector of finite reals', ['validation'])),
        ),
      ),
      at([1, 'contextType'], badEnum(['semantic', 'collaborative', 'task'], { optional: true, nullable: true })),
      at(
        [1, 'confidenceScore'],
        badDecimal({
          optional: true,
          nullable: true,
          outOfRange: { values: fc.constantFrom('-0.01', '1.01'), constraint: rule('chk_context_vectors_confidence_range') },
          integerDigits: 1,
        }),
      ),
    ],
  }),
};

// -- access -------------------------------------------------------------------

/**
 * An element holding a comma: the array CHECKs match the elements joined by
 * commas, so 'a,b' would pass them as two good elements; the DAL refuses it.
 */
// The array CHECKs once read the elements joined by commas, so one holding a comma passed as two (migration hot_paths).
const commaElement = (valid: string, constraint: string) =>
  fc
    .constantFrom(`${valid},${valid}`, `${valid},admin`, ',')
    .map((element) => badValue([valid, element], 'an element holding a comma', ['constraint'], rule(constraint)));
const invalidScopes = fc
  .constantFrom('Tasks:Read', 'tasks read', '', "x'--", 'é')
  .map((s) => badValue(s, 'scope format', ['constraint'], rule('chk_api_keys_scopes_format')));

const access: Record<string, SpecFactory> = {
  createApiKey: () => ({
    args: () => [
      {
        clientId: 'bad-input',
        name: 'another key',
        scopes: ['tasks:write'],
        rateLimits: { perMinute: 10, perHour: 100 },
        expiresAt: new Date(Date.now() + 86_400_000),
      },
    ],
    targets: [
      at([0], wrongType(['object'])),
      at([0, 'clientId'], badText({ maxLength: len('api_keys', 'client_id') }), ['client_id']),
      at([0, 'name'], badText({ maxLength: len('api_keys', 'name') }), ['name']),
      at([0, 'scopes'], fc.oneof(textArray(), commaElement('tasks:read', 'chk_api_keys_scopes_format'), badArray({ element: invalidScopes, valid: 'tasks:read' })), ['scopes']),
      at([0, 'rateLimits'], wrongType(['object', 'undefined']), ['rateLimits']),
      at(
        [0, 'rateLimits', 'perMinute'],
        badInt({ optional: true, min: 1, max: 100, range: { constraint: /^chk_api_keys_rate_limit(_per_minute_positive|s_consistent)$/ } }),
        ['rate_limit_per_minute'],
      ),
      at(
        [0, 'rateLimits', 'perHour'],
        badInt({ optional: true, min: 10, max: 2_147_483_647, range: { constraint: /^chk_api_keys_rate_limit(_per_hour_positive|s_consistent)$/ } }),
        ['rate_limit_per_hour'],
      ),
      at(
        [0, 'expiresAt'],
        fc.oneof(
          badDate({ optional: true, nullable: true }),
          fc
            .integer({ min: 1, max: 10_000 })
            .map((days) =>
              badValue(new Date(Date.now() - days * 86_400_000), 'expiry in the past', ['constraint'], rule('chk_api_keys_expires_after_created')),
            ),
        ),
        ['expires_at'],
      ),
      at([0, 'description'], optText(), ['description']),
      at([0, 'createdBy'], optText(len('api_keys', 'created_by')), ['created_by']),
    ],
  }),
  verifyApiKey: () => ({ args: () => ['ains_x'], targets: [at([0], wrongType(['string']))] }),
  getApiKey: () => ({ args: () => [fx.apiKeyId], targets: [at([0], badUuid({ unknown: { refusal: 'notFound' } }))] }),
  revokeApiKey: () => ({
    args: () => [fx.apiKeyId, { reason: 'leaked', userId: fx.userId }],
    targets: [
      at([0], badUuid({ unknown: { refusal: 'notFound' } })),
      at([1], wrongType(['object', 'undefined'])),
      at([1, 'reason'], badText({ optional: true }), null),
      at([1, 'userId'], badUuid({ optional: true, nullable: true, unknown: { refusal: 'constraint', constraint: fk('audit_logs', 'user_id') } })),
    ],
  }),
  hitRateLimit: () => ({
    args: () => [fx.apiKeyId, 'minute'],
    targets: [at([0], badUuid({ unknown: { refusal: 'notFound' } }), ['api_key_id']), at([1], badEnum(['minute', 'hour']), ['window_type'])],
  }),
  appendAudit: () => ({
    args: () => [{ event_type: 'authentication', action: 'login', success: true, user_id: fx.userId, ip_address: '10.0.0.1', metadata: { via: 'password' } }],
    targets: [
      at([0], wrongType(['object'])),
      at([0, 'event_type'], badEnum(['authentication', 'api_key_created', 'api_key_revoked', 'rate_limit_exceeded', 'task_created', 'agent_registered'])),
      at([0, 'client_id'], optText(len('audit_logs', 'client_id'))),
      at([0, 'api_key_id'], badUuid({ optional: true, nullable: true, unknown: { refusal: 'constraint', constraint: fk('audit_logs', 'api_key_id') } })),
      at([0, 'user_id'], badUuid({ optional: true, nullable: true, unknown: { refusal: 'constraint', constraint: fk('audit_logs', 'user_id') } })),
      at([0, 'action'], badText({ maxLength: len('audit_logs', 'action') })),
      at([0, 'resource_type'], optText(len('audit_logs', 'resource_type'))),
      at([0, 'resource_id'], optText(len('audit_logs', 'resource_id'))),
      at(
        [0, 'ip_address'],
        fc.oneof(
          badText({ optional: true, nullable: true }),
          fc.constantFrom('300.1.1.1', 'localhost', '1.2.3.4/33', "1.1.1.1' OR 1=1").map((v) => badValue(v, 'not an IP address', ['validation'])),
        ),
      ),
      at([0, 'user_agent'], optText()),
      at([0, 'success'], badBoolean()),
      at([0, 'error_message'], optText()),
      at([0, 'metadata'], jsonObj({ optional: true })),
    ],
  }),
  createUser: () => ({
    args: () => ['bad_input_new', 'new.user@example.com', BCRYPT],
    targets: [
      at(
        [0],
        fc.oneof(
          badText({
            maxLength: len('users', 'username'),
            invalid: { values: fc.constantFrom('ab', 'a b', "o'brien", 'x;y', 'é'.repeat(5), ''), constraint: rule('chk_users_username_format') },
          }),
          fc.constant(null).map(() => badValue(fx.userName, 'taken username', ['constraint'], rule('uq_users_username'))),
        ),
        ['username'],
      ),
      at(
        [1],
        fc.oneof(
          badText({
            maxLength: len('users', 'email'),
            invalid: {
              values: fc.constantFrom('plain', 'a@b', '@example.com', 'a b@example.com', 'a@@example.com', "a'@x"),
              constraint: rule('chk_users_email_format'),
            },
          }),
          fc
            .constantFrom(
              (e: string) => e,
              (e: string) => e.toUpperCase(),
              (e: string) => e.toLowerCase(),
            )
            .map((f) => badValue(f(fx.userEmail), 'taken email, any case', ['constraint'], rule('uq_users_email'))),
        ),
        ['email'],
      ),
      at(
        [2],
        badText({
          maxLength: len('users', 'password_hash'),
          invalid: {
            values: fc.constantFrom('hunter2', '$2b$12$short', `$1$${'a'.repeat(53)}`, 'sha256:abc', `$argon2i$v=19$m=1,t=1,p=1$a$b`),
            constraint: rule('chk_users_password_hash_format'),
          },
        }),
        ['password_hash'],
      ),
    ],
  }),
  createSession: () => ({
    args: () => [fx.userId, 3600, { deviceInfo: { os: 'ios' }, ipAddress: '192.168.0.1' }],
    targets: [
      at([0], badUuid({ unknown: { refusal: 'constraint', constraint: fk('user_sessions', 'user_id') } }), ['user_id']),
      at(
        [1],
        fc.oneof(
          wrongType(['number']).filter((b) => typeof b.value !== 'number' || !Number.isFinite(b.value) || b.value <= 0),
          fc.constantFrom(0, -1, -3600).map((v) => badValue(v, 'ttl not positive', ['constraint'], rule('chk_user_sessions_expires_after_start'))),
          fc.constantFrom(1e300, 1e20).map((v) => badValue(v, 'ttl past any timestamp', ['validation'])),
        ),
        ['ttl_seconds'],
      ),
      at([2], wrongType(['object', 'undefined'])),
      at([2, 'deviceInfo'], jsonObj({ optional: true }), ['device_info']),
      at(
        [2, 'ipAddress'],
        fc.oneof(
          badText({ optional: true, nullable: true }),
          fc.constantFrom('999.0.0.1', 'host', '::zz').map((v) => badValue(v, 'not an IP address', ['validation'])),
        ),
        ['ip_address'],
      ),
    ],
  }),
  verifySession: () => ({ args: () => ['x'.repeat(43)], targets: [at([0], wrongType(['string']))] }),
  revokeSession: () => ({ args: () => [fx.userSessionId], targets: [at([0], badUuid({ unknown: { refusal: 'notFound' } }))] }),
};

// -- integration --------------------------------------------------------------

const badEventNames = fc.constantFrom(
  'task',
  'Task.completed',
  'task.',
  '.completed',
  'task completed',
  'task.completed; DROP TABLE x',
  'task.*.x',
  'task.Completed',
  'tâsk.done',
  'a.b.c',
);
const deliveryIdArb = () =>
  fc.oneof(
    wrongType(['string']),
    fc
      .constantFrom('abc', '1.5', '-', '', '1; DROP TABLE agentry.webhook_deliveries', '99999999999999999999999')
      .map((v) => badValue(v, 'not a bigint', ['validation'])),
    nulString,
    fc.bigInt({ min: 10_000_000n, max: 9_000_000_000_000_000_000n }).map((n) => badValue(String(n), 'unknown delivery', ['notFound'])),
  );
const responseStatus = (nullable: boolean) =>
  badInt({
    ...(nullable && { optional: true, nullable: true }),
    min: 100,
    max: 599,
    range: { constraint: rule('chk_webhook_deliveries_response_status_range') },
    type: 'int2',
  });
const attemptArb = () =>
  fc.oneof(
    badInt({ optional: true, min: 0, max: 2_147_483_647, range: 'validation' }).filter(
      (b) => typeof b.value !== 'number' || b.value < 0 || !Number.isInteger(b.value) || b.value > 2_147_483_647,
    ),
    fc.integer({ min: 5, max: 1000 }).map((n) => badValue(n, 'not the current attempt', ['conflict'])),
  );

const integration: Record<string, SpecFactory> = {
  registerWebhook: () => ({
    args: () => [
      { clientId: 'bad-input', url: 'https://hooks.example.com/x', events: ['task.completed', 'workflow.*'], secret: 'whsec_abcdefghijklmnop', maxAttempts: 5 },
    ],
    targets: [
      at([0], wrongType(['object'])),
      at([0, 'agentId'], agentRef({ optional: true, nullable: true, constraint: fk('webhooks', 'agent_id') })),
      at([0, 'clientId'], optText(len('webhooks', 'client_id'))),
      custom(fc.constant(badValue(null, 'no owner', ['constraint'], rule('chk_webhooks_owner'))), (args) => setAt(args, [0, 'clientId'], null)),
      at(
        [0, 'url'],
        fc.oneof(
          badText({ maxLength: len('webhooks', 'url') }),
          fc.webUrl({ validSchemes: ['http'] }).map((url) => badValue(url, 'http, not https', ['constraint'], rule('chk_webhooks_url_https'))),
          httpUrl.map((url) => badValue(url, 'not an https URL', ['constraint'], rule('chk_webhooks_url_https'))),
          fc
            .constantFrom(
              'https://user:pw@example.com/x',
              'https://example.com?x=1',
              'https://exa mple.com',
              'HTTPS://EXAMPLE.COM',
              'https:/example.com',
              'https://example.com/a b',
            )
            .map((url) => badValue(url, 'not an https URL', ['constraint'], rule('chk_webhooks_url_https'))),
        ),
      ),
      at(
        [0, 'events'],
        fc.oneof(
          textArray(),
          commaElement('task.completed', 'chk_webhooks_events_format'),
          badArray({
            element: badEventNames.map((e) => badValue(e, 'event name format', ['constraint'], rule('chk_webhooks_events_format'))),
            valid: 'task.completed',
            empty: { constraint: rule('chk_webhooks_events_format') },
          }),
        ),
      ),
      at(
        [0, 'secret'],
        fc.oneof(
          wrongType(['string']),
          fc
            .string({ maxLength: 15, unit: 'binary-ascii' })
            .map((s) => badValue(s, 'secret under 16 bytes', ['constraint'], rule('chk_webhooks_secret_encrypted_length'))),
        ),
      ),
      at([0, 'description'], optText()),
      at([0, 'active'], badBoolean({ optional: true, nullable: true })),
      at([0, 'maxAttempts'], badInt({ optional: true, nullable: true, min: 1, max: 50, range: { constraint: rule('chk_webhooks_max_attempts_range') } })),
    ],
  }),
  getWebhook: () => ({ args: () => [fx.webhookId], targets: [at([0], badUuid({ unknown: { refusal: 'notFound' } }))] }),
  enqueueDelivery: () => ({
    args: () => [fx.webhookId, 'task.completed', { task_id: 'x' }],
    targets: [
      at([0], badUuid({ unknown: { refusal: 'notFound' } })),
      at(
        [1],
        fc.oneof(
          badText({ maxLength: len('webhook_deliveries', 'event_type') }),
          badEventNames.map((e) => badValue(e, 'event name format', ['constraint'], rule('chk_webhook_deliveries_event_type_format'))),
        ),
        ['eventType'],
      ),
      at([2], jsonObj(), ['payload']),
    ],
  }),
  enqueueForEvent: () => ({
    args: () => ['task.completed', { task_id: 'x' }],
    targets: [
      // Someone listens to task.*: a malformed task event meets the CHECK (with no listener nothing is written, and nothing checked).
      at(
        [0],
        fc.oneof(
          badText(),
          fc
            .constantFrom('task.Completed', 'task.com pleted', "task.x'; --", 'task.a.b', 'task.')
            .map((e) => badValue(e, 'event name format', ['constraint'], rule('chk_webhook_deliveries_event_type_format'))),
        ),
        ['eventType'],
      ),
      at([1], jsonObj(), ['payload']),
    ],
  }),
  claimDueDeliveries: () => ({
    args: () => [5, 60],
    targets: [
      at([0], badInt({ min: 1, max: 1000, range: 'validation' }), ['batchSize']),
      at([1], badInt({ min: 1, max: 86_400, range: 'validation' }), ['leaseSeconds']),
    ],
  }),
  markDelivered: () => ({
    args: () => [fx.deliveryInFlight.id, 200, { attempt: fx.deliveryInFlight.attempt }],
    targets: [
      at([0], deliveryIdArb(), null),
      at([1], responseStatus(false), ['responseStatus']),
      at([2], wrongType(['object', 'undefined'])),
      at([2, 'attempt'], attemptArb(), ['attempt']),
      custom(fc.constant(badValue(null, 'a delivery not in flight', ['conflict'])), (args) => {
        args[0] = fx.deliveryPending;
      }),
    ],
  }),
  markFailed: () => ({
    args: () => [fx.deliveryInFlight.id, 'HTTP 500', 500, { attempt: fx.deliveryInFlight.attempt }],
    targets: [
      at([0], deliveryIdArb(), null),
      at([1], badText({ optional: true }), ['error']),
      at([2], responseStatus(true), ['responseStatus']),
      at([3], wrongType(['object', 'undefined'])),
      at([3, 'attempt'], attemptArb(), ['attempt']),
      custom(fc.constant(badValue(null, 'a delivery not in flight', ['conflict'])), (args) => {
        args[0] = fx.deliveryPending;
      }),
    ],
  }),
  listDeliveries: () => ({
    args: () => [fx.webhookId, 10],
    targets: [at([0], badUuid()), at([1], badInt({ optional: true, min: 1, max: 1000, range: 'validation' }))],
  }),
  signPayload: () => ({
    outsideTransaction: true,
    args: () => ['whsec_abcdefghijklmnop', '{"a":1}', new Date()],
    targets: [
      at([0], wrongType(['string']), ['secret']),
      at([1], wrongType(['string']), ['body']),
      at([2], fc.oneof(wrongType(['date', 'undefined']), fc.constant(badValue(new Date(Number.NaN), 'Invalid Date', ['validation'])))),
    ],
  }),
  deliveryRequest: () => ({
    outsideTransaction: true,
    args: () => [
      {
        id: '1',
        webhook_id: fx.webhookId,
        url: 'https://hooks.example.com/x',
        secret: 'whsec_abcdefghijklmnop',
        payload: { a: 1 },
        event_type: 'task.completed',
        idempotency_key: randomUUID(),
        attempt_count: 1,
      },
      new Date(),
    ],
    targets: [
      at([0], wrongType(['object'])),
      at([0, 'url'], wrongType(['string'])),
      at([0, 'secret'], wrongType(['string'])),
      at([0, 'payload'], badJsonObject()),
      at([0, 'event_type'], wrongType(['string'])),
      at([0, 'idempotency_key'], wrongType(['string'])),
      // A header value, not a column: any non-negative integer will do.
      at([0, 'attempt_count'], badInt({ min: 0, max: Number.MAX_SAFE_INTEGER, range: 'validation', type: 'int8' })),
      at([1], fc.oneof(wrongType(['date', 'undefined']), fc.constant(badValue(new Date(Number.NaN), 'Invalid Date', ['validation'])))),
    ],
  }),
};

/** The first n code points (never half a surrogate pair). */
const codePoints = (text: string, n: number): string => Array.from(text).slice(0, n).join('');

const SPECS: Record<string, Record<string, SpecFactory>> = { work, fleet, review, telemetry, knowledge, access, integration };

// ---------------------------------------------------------------------------
// Running a spec
// ---------------------------------------------------------------------------

const ROLLBACK = Symbol('rollback');

function seedFor(name: string): number {
  return SEED ^ createHash('sha256').update(name).digest().readInt32LE(0);
}

async function refreshVersions(): Promise<void> {
  const refs = [...Object.values(fx.tasks), fx.claimable];
  const rows = await sql<{ id: string; version: number }>(`SELECT id, version FROM agentry.tasks WHERE id = ANY ($1::uuid[])`, [refs.map((r) => r.id)]);
  const versions = new Map(rows.map((r) => [r.id, r.version]));
  for (const ref of refs) ref.version = versions.get(ref.id)!;
}

/** The valid call must be accepted (inside a transaction that is rolled back), or the bad cases would prove nothing. */
async function expectAccepted(context: string, fn: string, args: unknown[], outside: boolean): Promise<void> {
  if (outside) {
    const outcome = await outcomeOf(() => (agentry[context as keyof typeof SPECS & keyof Client] as unknown as Module)[fn]!(...args));
    if (outcome.refused) throw new Error(`the valid call of ${context}.${fn} was refused: ${String(outcome.error)}`);
    return;
  }
  let problem: unknown;
  await agentry
    .transaction(async (tx) => {
      const outcome = await outcomeOf(() => (tx[context as keyof typeof tx] as unknown as Module)[fn]!(...args));
      if (outcome.refused) problem = outcome.error;
      throw ROLLBACK;
    })
    .catch((error: unknown) => {
      if (error !== ROLLBACK) throw error;
    });
  if (problem !== undefined)
    throw new Error(`the valid call of ${context}.${fn} was refused: ${problem instanceof Error ? `${problem.name}: ${problem.message}` : String(problem)}`);
}

async function runSpec(context: string, fn: string): Promise<void> {
  await refreshVersions();
  const spec = SPECS[context]![fn]!();
  await expectAccepted(context, fn, spec.args(), spec.outsideTransaction === true);

  const module = agentry[context as keyof Client] as unknown as Module;
  const numRuns = Math.min(250, Math.max(50, spec.targets.length * 8));
  const cases = fc.oneof(...spec.targets.map((_, index) => fc.tuple(fc.constant(index), spec.targets[index]!.bad)));
  const before = await digest();
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(cases, async ([index, value]) => {
      const target = spec.targets[index]!;
      runs += 1;
      const args = spec.args();
      if (target.apply) target.apply(args, value.value);
      else setAt(args, target.at, value.value);
      const outcome = await outcomeOf(() => module[fn]!(...args));
      const issue = target.issue === null ? undefined : (target.issue ?? (target.at.length > 1 ? target.at.slice(1) : undefined));
      const where = `${context}.${fn} ${target.apply ? '' : `[${target.at.join('.')}]`}`;
      const error = expectTypedRefusal(outcome, value, where, issue);
      if (value.label.startsWith('input without a key')) expect(error, where).toBeInstanceOf(MissingInputKey);
      figures.refusedTyped += 1;
    }),
    { seed: seedFor(`${context}.${fn}`), numRuns, endOnFailure: true },
  );
  figures.cases += runs;
  figures.properties += 1;
  const after = await digest();
  const changed = changedTables(before, after);
  figures.tablesChanged += changed.length;
  figures.rowsWritten += rowDelta(before, after);
  expect(changed, `${context}.${fn}: refused calls changed these tables`).toEqual([]);
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  agentry = createAgentry({ connectionString: db.url, options: AS_APP, max: 2 }, { modules });
  fx = await buildFixtures();
  console.info(`bad-input properties: seed ${SEED} (BAD_INPUT_SEED to change)`);
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
  await agentry?.close();
});

describe('every DAL function has a bad-input property', () => {
  it('covers every context module and every public function of each', () => {
    expect(Object.keys(SPECS).sort()).toEqual(Object.keys(contextModules).sort());
    const missing: string[] = [];
    const stale: string[] = [];
    for (const context of Object.keys(contextModules)) {
      const functions = Object.entries(agentry[context as keyof Client] as object)
        .filter(([, value]) => typeof value === 'function')
        .map(([name]) => name);
      for (const name of functions) if (!SPECS[context]?.[name]) missing.push(`${context}.${name}`);
      for (const name of Object.keys(SPECS[context] ?? {})) if (!functions.includes(name)) stale.push(`${context}.${name}`);
      figures.functions += functions.length;
    }
    expect(missing, 'functions without a bad-input property').toEqual([]);
    expect(stale, 'properties of functions that no longer exist').toEqual([]);
  });
});

for (const [context, specs] of Object.entries(SPECS)) {
  describe(`${context}: bad input is refused, typed, and writes nothing`, () => {
    for (const fn of Object.keys(specs)) {
      it(`${context}.${fn}`, () => runSpec(context, fn), 60_000);
    }
  });
}

describe('hostile strings are stored verbatim, never run', () => {
  it('task title, description, tags and metadata come back as sent', async () => {
    const tablesBefore = await sql<{ n: string }>(`SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'agentry'`);
    await fc.assert(
      fc.asyncProperty(
        verbatimString({ minLength: 1 }),
        verbatimString(),
        fc.array(verbatimString(), { maxLength: 3 }),
        verbatimString(),
        async (title, description, tags, key) => {
          const created = await agentry.work.createTask({ title, description, tags, metadata: { [key]: title, nested: { text: description } } });
          const read = await agentry.work.getTask(created.id);
          expect(read.title).toBe(title);
          expect(read.description).toBe(description);
          expect(read.tags).toEqual(tags);
          expect(read.metadata).toEqual({ [key]: title, nested: { text: description } });
          const [raw] = await sql<{ title: string; n: number }>(`SELECT title, octet_length(title) AS n FROM agentry.tasks WHERE id = $1`, [created.id]);
          expect(raw!.title).toBe(title);
          expect(raw!.n).toBe(Buffer.byteLength(title, 'utf8'));
          figures.verbatimRoundTrips += 1;
        },
      ),
      { seed: seedFor('verbatim.tasks'), numRuns: 60 },
    );
    const tablesAfter = await sql<{ n: string }>(`SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'agentry'`);
    expect(tablesAfter).toEqual(tablesBefore);
  });

  it('knowledge entries, corrections, audit rows, agents and webhooks keep their text', async () => {
    await fc.assert(
      fc.asyncProperty(verbatimString({ minLength: 1, maxLength: 150 }), verbatimString(), async (text, other) => {
        const entry = await agentry.knowledge.createEntry({
          type: 'documentation',
          title: text,
          content: other,
          summary: text,
          tags: [text],
          createdBy: fx.userId as never,
        });
        const readEntry = await agentry.knowledge.getEntry(entry.id);
        expect([readEntry.title, readEntry.content, readEntry.summary, readEntry.tags]).toEqual([text, other, text, [text]]);

        const audit = await agentry.access.appendAudit({
          event_type: 'authentication',
          action: codePoints(text, 100),
          success: false,
          error_message: other,
          user_agent: text,
          metadata: { [text]: other },
        });
        const [rawAudit] = await sql<{ action: string; error_message: string; user_agent: string; metadata: object }>(
          `SELECT action, error_message, user_agent, metadata FROM agentry.audit_logs WHERE id = $1`,
          [audit.id],
        );
        expect(rawAudit).toEqual({ action: codePoints(text, 100), error_message: other, user_agent: text, metadata: { [text]: other } });

        const webhook = await agentry.integration.registerWebhook({
          clientId: 'verbatim',
          url: 'https://hooks.example.com/v',
          events: ['task.completed'],
          secret: `s${text}`.padEnd(16, '_'),
          description: other,
        });
        expect((await agentry.integration.getWebhook(webhook.id)).description).toBe(other);

        const guidance = `g ${text}`;
        const correction = await agentry.review.addCorrection({
          checkpointId: fx.checkpointPending as never,
          taskId: fx.tasks.running.id as never,
          correctionType: 'other',
          guidance,
          referenceFiles: [text, { path: other, note: text }],
        });
        expect([correction.guidance, correction.reference_files]).toEqual([guidance, [text, { path: other, note: text }]]);
        figures.verbatimRoundTrips += 1;
      }),
      { seed: seedFor('verbatim.contexts'), numRuns: 40 },
    );
  });

  it('activity-log messages round-trip through ingest and export', async () => {
    const from = new Date(Date.now() - 1000);
    const messages = fc.sample(verbatimString({ minLength: 1 }), { seed: seedFor('verbatim.logs'), numRuns: 200 });
    await agentry.telemetry.ingestActivityLogs(
      messages.map((message, i) => ({ level: 'info', message, task_id: fx.tasks.completed.id as never, metadata: { i } })),
      { chunkSize: 64 },
    );
    const rows: { message: string; metadata: { i: number } }[] = [];
    for await (const row of agentry.telemetry.exportActivityLogs({ from, to: new Date(Date.now() + 60_000), taskId: fx.tasks.completed.id as never }))
      rows.push(row as never);
    rows.sort((a, b) => a.metadata.i - b.metadata.i);
    expect(rows.map((row) => row.message)).toEqual(messages);
    figures.verbatimRoundTrips += messages.length;
  });

  it('a NUL byte or a lone surrogate in any string is a ValidationError, and nothing is written', async () => {
    const before = await digest();
    await fc.assert(
      fc.asyncProperty(unstorableString, fc.constantFrom('title', 'description', 'client_id', 'tags', 'metadata'), async (value, field) => {
        const input =
          field === 'tags'
            ? { title: 't', tags: [value.value] }
            : field === 'metadata'
              ? { title: 't', metadata: { text: value.value } }
              : { title: 't', [field]: value.value };
        const outcome = await outcomeOf(() => agentry.work.createTask(input as never));
        const error = expectTypedRefusal(outcome, value, `work.createTask [${field}]`);
        expect(error).toBeInstanceOf(ValidationError);
        figures.cases += 1;
        figures.refusedTyped += 1;
      }),
      { seed: seedFor('unstorable'), numRuns: 100 },
    );
    expect(changedTables(before, await digest())).toEqual([]);
  });

  it('malformed keys and session tokens verify to null without a write', async () => {
    const before = await digest();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(verbatimString(), fc.stringMatching(/^ains_[A-Za-z0-9_-]{44}$/), fc.stringMatching(/^[A-Za-z0-9_-]{43}$/)),
        async (presented) => {
          expect(await agentry.access.verifyApiKey(presented)).toBeNull();
          expect(await agentry.access.verifySession(presented)).toBeNull();
          figures.cases += 2;
        },
      ),
      { seed: seedFor('verify-null'), numRuns: 150 },
    );
    expect(changedTables(before, await digest())).toEqual([]);
  });
});

describe('what the properties found, one example each (fixed in src/dal)', () => {
  const refusal = async (call: () => unknown) => {
    const outcome = await outcomeOf(call);
    if (!outcome.refused) throw new Error(`accepted: ${show(outcome.result)}`);
    return outcome.error;
  };

  it('a NUL byte in a text parameter is a ValidationError (SQLSTATE 22021 or the check before it), not a bare DatabaseError', async () => {
    const error = await refusal(() => agentry.fleet.registerWorker({ machineId: 'm\0', machineName: 'x', systemInfo: {}, tools: [] }));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/NUL character/);
  });

  it('a lone surrogate is refused, not stored as U+FFFD', async () => {
    const error = await refusal(() => agentry.work.createTask({ title: 'a\uD800b' }));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/lone UTF-16 surrogate/);
  });

  it('JSON that JSON cannot hold is a ValidationError naming where: bigint, NaN, a cycle, a Map, nesting past the limit, \\u0000', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['me'] = cyclic;
    const cases: [unknown, RegExp][] = [
      [{ a: { n: 1n } }, /metadata\.a\.n: a bigint/],
      [{ n: Number.NaN }, /metadata\.n: NaN is not a JSON number/],
      [cyclic, /metadata(\.me)+: a cyclic structure/],
      [{ m: new Map() }, /metadata\.m: a Map is not JSON/],
      [deepObject(5000), /nested deeper than 1000 levels/],
      [{ 'k\0': 1 }, /the key contains a NUL/],
    ];
    for (const [metadata, message] of cases) {
      const error = await refusal(() => agentry.work.createTask({ title: 'json', metadata: metadata as Record<string, unknown> }));
      expect(error, String(message)).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toMatch(message);
    }
    // Passed to node-postgres as an object before: a RangeError, now the same check.
    const deep = await refusal(() => agentry.review.recordEvaluation({ taskId: fx.tasks.completed.id as never, security: '5', details: deepObject(5000) }));
    expect(deep).toBeInstanceOf(ValidationError);
  });

  it("numeric 'NaN' for cost and hours (it sorts above every number, so '>= 0' alone passed it) is refused by the CHECKs", async () => {
    await refreshVersions();
    const { id, version } = fx.tasks.running;
    const cases: [() => Promise<unknown>, string][] = [
      [() => agentry.work.updateTask(id as never, version, {}, { costUsd: 'NaN' }), 'chk_tasks_usage_nonnegative'],
      [() => agentry.work.updateTask(id as never, version, { actual_hours: 'nan' }), 'chk_tasks_hours_nonnegative'],
      [() => agentry.work.createTask({ title: 'x', estimated_hours: ' NaN ' }), 'chk_tasks_hours_nonnegative'],
    ];
    for (const [call, constraint] of cases) {
      const error = await refusal(call);
      expect(error).toBeInstanceOf(ConstraintViolation);
      expect(error).toMatchObject({ constraint });
    }
  });

  it('openCheckpoint on a task already at checkpoint is IllegalTransition checkpoint -> checkpoint, with no second checkpoint', async () => {
    await refreshVersions();
    const { id, version } = fx.tasks.checkpoint;
    const [before] = await sql<{ n: string }>(`SELECT count(*) AS n FROM agentry.checkpoints WHERE task_id = $1`, [id]);
    const error = await refusal(() => agentry.review.openCheckpoint(id as never, version));
    expect(error).toBeInstanceOf(IllegalTransition);
    expect(error).toMatchObject({ from: 'checkpoint', to: 'checkpoint', constraint: 'trg_tasks_status_transition' });
    const [after] = await sql<{ n: string }>(`SELECT count(*) AS n FROM agentry.checkpoints WHERE task_id = $1`, [id]);
    expect(after).toEqual(before);
    // A stale version is still a conflict, and a negative one a ValidationError.
    expect(await refusal(() => agentry.review.openCheckpoint(id as never, version + 1))).toBeInstanceOf(ConflictError);
    expect(await refusal(() => agentry.review.openCheckpoint(id as never, -1))).toBeInstanceOf(ValidationError);
  });

  it('a scope or event name holding a comma is refused by the array CHECKs (chk_api_keys_scopes_format, chk_webhooks_events_format)', async () => {
    const scope = await refusal(() => agentry.access.createApiKey({ clientId: 'c', name: 'n', scopes: ['tasks:read,admin'] }));
    expect(scope).toBeInstanceOf(ConstraintViolation);
    expect((scope as ConstraintViolation).constraint).toBe('chk_api_keys_scopes_format');
    expect(
      await refusal(() =>
        agentry.integration.registerWebhook({
          clientId: 'c',
          url: 'https://h.example.com',
          events: ['task.completed,task.failed'],
          secret: 'whsec_abcdefghijklmnop',
        }),
      ),
    ).toBeInstanceOf(ConstraintViolation);
  });

  it('signPayload and deliveryRequest refuse an Invalid Date or a missing secret instead of signing t=NaN or throwing a TypeError', () => {
    expect(() => agentry.integration.signPayload('whsec_abcdefghijklmnop', '{}', new Date(Number.NaN))).toThrow(ValidationError);
    expect(() => agentry.integration.signPayload(undefined as never, '{}')).toThrow(ValidationError);
    expect(() => agentry.integration.deliveryRequest({ url: 'https://h.example.com' } as never)).toThrow(ValidationError);
  });

  it('a negative attempt is a ValidationError, not a ConflictError', async () => {
    expect(await refusal(() => agentry.integration.markDelivered(fx.deliveryInFlight.id as never, 200, { attempt: -1 }))).toBeInstanceOf(ValidationError);
  });

  it('a date before 4713 BC (22009) and an interval past the range (22015, 22008) are ValidationErrors', async () => {
    expect(await refusal(() => agentry.work.createTask({ title: 'x', expires_at: new Date(-8.6e15) }))).toBeInstanceOf(ValidationError);
    expect(await refusal(() => agentry.access.createSession(fx.userId as never, 1e300))).toBeInstanceOf(ValidationError);
  });
});

describe('figures', () => {
  it('records what was tried: thousands of typed refusals, no rows written, nothing unhandled', () => {
    figures.unhandled = unhandled.length;
    expect(unhandled.map(show)).toEqual([]);
    expect(figures.rowsWritten).toBe(0);
    expect(figures.tablesChanged).toBe(0);
    expect(figures.cases).toBeGreaterThan(4000);
    recordFigures('bad-input', { ...figures, seed: SEED });
  });
});
