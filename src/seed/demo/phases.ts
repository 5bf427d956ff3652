// The phases of `agentry seed --demo`. Each phase is a list of batches; a
// batch is one INSERT ... SELECT (or a few) computed inside PostgreSQL from
// counters and the seed, and runs in its own transaction together with the
// manifest update that records it (runner.ts). A batch writes the same rows
// whenever and wherever it runs, so batches of a `parallel` phase may run on
// several connections at once and a killed run resumes at the first batch
// not recorded.

import type pg from 'pg';

import { agentMetricsSchema, correctionsSchema } from '../../../generated/index.js';

import { TASK_TYPES } from '../reference.js';
import {
  AGENT_TYPE_NAMES,
  CAPABILITY_TAGS,
  MOBILE_AGENT_TYPE,
  Model,
  TASK_TYPE_AGENT,
  TASK_TYPE_NAMES,
  TASK_TYPE_SECONDS,
} from './model.js';
import { SLOT, type DemoPlan } from './plan.js';
import { counterOf, inCounterRange, lit, seconds, textArray, uuidExpr } from './sql.js';
import {
  AGENT_NAMES,
  CANCEL_REASONS,
  CRON_EXPRESSIONS,
  EMOJIS,
  ERRORS,
  FIRST_NAMES,
  GUIDANCE,
  HUMAN_LANGUAGES,
  KNOWLEDGE_TOPICS,
  LANGUAGES,
  LAST_NAMES,
  MODELS,
  PROJECT_NAMES,
  SUBJECTS,
  TAGS,
  TIMEZONES,
  TOOLS,
  USER_AGENTS,
  WEBHOOK_EVENTS,
  WORKFLOW_TYPES,
} from './words.js';

export interface PhaseContext {
  client: pg.Client;
  model: Model;
}

export interface Phase {
  name: string;
  /** Phases whose batches must all be done first. */
  after: string[];
  /**
   * Pipelining: batch j may run once batches j*ratio .. (j+1)*ratio - 1 of
   * `phase` are done, before the rest of that phase (it reads only their rows).
   */
  follows?: { phase: string; ratio: number };
  /** Batches may run on several connections at once. Otherwise one at a time, in order. */
  parallel: boolean;
  /** How many batches; called once, when the phase becomes ready (its `after` phases are done). */
  batches(ctx: PhaseContext): number | Promise<number>;
  /** Runs batch i inside the runner's transaction; returns the rows written. */
  run(ctx: PhaseContext, batch: number): Promise<number>;
  /** Runs after the batch's transaction committed (outside any transaction: VACUUM). */
  afterCommit?(ctx: PhaseContext, batch: number): Promise<void>;
}

/**
 * Vacuums small tables that every row of a batch updates (agents, workflows,
 * the graph lock row). Their old row versions can only be pruned once no
 * transaction may see them; without this (or with autovacuum off or behind)
 * each further update walks and copies a longer chain of dead versions and
 * the tables' indexes bloat: measured 5x slower task inserts at scale 10.
 */
async function vacuum(client: pg.Client, ...tables: string[]): Promise<void> {
  // No parallel index workers: launching them costs more than these small tables take.
  await client.query(`VACUUM (PARALLEL 0) ${tables.map((t) => `agentry.${t}`).join(', ')}`);
}

/** Number of batches of `size` covering `total` items. */
function chunks(total: number, size: number): number {
  return Math.max(1, Math.ceil(total / size));
}

/** [lo, hi) of batch i. */
function span(i: number, size: number, total: number): [number, number] {
  return [i * size, Math.min(total, (i + 1) * size)];
}

async function exec(client: pg.Client, sql: string): Promise<number> {
  const result = await client.query(sql);
  return result.rowCount ?? 0;
}

/** Tasks per batch (whole slots) and the batch sizes of the other phases. */
function sizes(plan: DemoPlan) {
  const tasks = plan.batchSize;
  return {
    tasks,
    dependencies: tasks,
    // Short transactions everywhere: a long one on another connection keeps
    // the dead row versions the tasks phase leaves from being pruned.
    review: tasks * 4,
    activity: tasks * 4,
    metrics: tasks * 10,
    audit: tasks * 10,
  };
}

const q = lit;

// ---------------------------------------------------------------- access

function accessPhase(): Phase {
  return {
    name: 'access',
    after: [],
    parallel: false,
    batches: () => 1,
    async run({ client, model: m }) {
      const c = m.counts;
      const created = (u: string) => `(${m.from} - ${seconds(`86400 * (30 + ${m.r('user.created', u)} * 300)`)})`;
      let rows = 0;
      // Users and API keys may outlive a removal (audit_logs references them,
      // ON DELETE RESTRICT): upsert them.
      rows += await exec(
        client,
        `INSERT INTO agentry.users AS t (id, username, email, password_hash, created_at, last_login)
         SELECT id, username, username || '@example.com', password_hash, created_at, last_login FROM (
           SELECT ${m.userId('u')} AS id,
                  lower(${m.pick('user.first', 'u', FIRST_NAMES)}) || '.' || lower(${m.pick('user.last', 'u', LAST_NAMES)}) || '.' || u AS username,
                  '$2b$12$' || substr(translate(${m.base64('user.password', 'u')}, '+', '.'), 1, 53) AS password_hash,
                  ${created('u')} AS created_at,
                  CASE WHEN ${m.r('user.login', 'u')} < 0.9 THEN ${m.to} - ${seconds(`86400 * 20 * ${m.r('user.login.at', 'u')}`)} END AS last_login
             FROM generate_series(0, ${c.users - 1}) u) s
         ON CONFLICT (id) DO UPDATE SET username = EXCLUDED.username, email = EXCLUDED.email, password_hash = EXCLUDED.password_hash,
           created_at = EXCLUDED.created_at, last_login = EXCLUDED.last_login`,
      );
      rows += await exec(
        client,
        `INSERT INTO agentry.api_keys AS t (id, key_prefix, key_hash, client_id, name, description, scopes, active, rate_limit_per_minute,
                                            rate_limit_per_hour, created_by, created_at, expires_at, last_used_at)
         SELECT ${uuidExpr('apiKeys', 'u')}, 'agdemo_' || lpad(to_hex(u), 8, '0'), ${m.rng.sha('api_key', 'u')}, ${m.clientId('u')},
                ${m.pick('key.name', 'u', ['CI pipeline', 'Backend service', 'Data sync', 'Local development', 'Partner integration'])} || ' ' || u,
                CASE WHEN ${m.r('key.desc', 'u')} < 0.5 THEN 'Demo key of ' || ${m.clientId('u')} END,
                (CASE floor(${m.r('key.scopes', 'u')} * 3)::int WHEN 0 THEN '{tasks:read,tasks:write}' WHEN 1 THEN '{tasks:read}'
                      ELSE '{tasks:*,agents:read,webhooks:write}' END)::text[],
                ${m.r('key.active', 'u')} < 0.9,
                rpm, rpm * 20, 'admin', ${created('u')} + interval '1 day',
                CASE WHEN ${m.r('key.expires', 'u')} < 0.5 THEN ${created('u')} + interval '400 days' END,
                ${m.to} - ${seconds(`86400 * 10 * ${m.r('key.used', 'u')}`)}
           FROM generate_series(0, ${c.apiKeys - 1}) u, LATERAL (SELECT (ARRAY[60, 120, 600])[1 + floor(${m.r('key.rpm', 'u')} * 3)::int] AS rpm) l
         ON CONFLICT (id) DO UPDATE SET key_prefix = EXCLUDED.key_prefix, key_hash = EXCLUDED.key_hash, client_id = EXCLUDED.client_id,
           name = EXCLUDED.name, description = EXCLUDED.description, scopes = EXCLUDED.scopes, active = EXCLUDED.active,
           rate_limit_per_minute = EXCLUDED.rate_limit_per_minute, rate_limit_per_hour = EXCLUDED.rate_limit_per_hour,
           created_by = EXCLUDED.created_by, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at, last_used_at = EXCLUDED.last_used_at`,
      );
      rows += await exec(
        client,
        `INSERT INTO agentry.user_sessions (id, user_id, token_hash, device_info, ip_address, status, started_at, last_activity_at, expires_at)
         SELECT ${uuidExpr('userSessions', 's')}, ${m.userId('s / 3')}, ${m.rng.sha('session', 's')},
                jsonb_build_object('browser', ${m.pick('session.browser', 's', ['firefox', 'chrome', 'safari', 'edge'])},
                                   'os', ${m.pick('session.os', 's', ['linux', 'macos', 'windows', 'ios', 'android'])}),
                ${m.ip('session.ip', 's')}, status, started, started + ${seconds(`3600 * 8 * ${m.r('session.activity', 's')}`)}, started + interval '30 days'
           FROM generate_series(0, ${c.userSessions - 1}) s,
                LATERAL (SELECT CASE WHEN s % 3 = 0 THEN 'active' WHEN ${m.r('session.status', 's')} < 0.7 THEN 'expired' ELSE 'revoked' END AS status,
                                CASE WHEN s % 3 = 0 THEN ${m.to} - ${seconds(`86400 * 5 * ${m.r('session.start', 's')}`)}
                                     ELSE ${m.inWindow(`0.9 * ${m.r('session.start', 's')}`)} END AS started) l`,
      );
      rows += await exec(
        client,
        `INSERT INTO agentry.rate_limit_windows (api_key_id, window_type, window_start, request_count)
         SELECT ${uuidExpr('apiKeys', 'w / 2')}, kind,
                date_trunc(kind, (${m.to} - ${seconds(`CASE WHEN w % 2 = 0 THEN 60 ELSE 3600 END * (1 + 20 * ${m.r('window.at', 'w')})`)}) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
                ${m.int('window.count', 'w', 1, 500)}
           FROM generate_series(0, ${c.rateLimitWindows - 1}) w, LATERAL (SELECT CASE WHEN w % 2 = 0 THEN 'minute' ELSE 'hour' END AS kind) l`,
      );
      return rows;
    },
  };
}

// ---------------------------------------------------------------- fleet

const AGENT_ROLES = [
  'Language analyst', 'Software engineer', 'Data engineer', 'Research analyst', 'Workflow orchestrator',
  'Autonomous coder', 'Test engineer', 'Technical writer', 'Architect', 'Mobile device operator',
];
const AGENT_SPECIALTIES = [
  '{sentiment,entities,translation}', '{refactoring,code_review}', '{etl,statistics}', '{literature_review,summaries}', '{planning,delegation}',
  '{typescript,python}', '{unit_tests,integration_tests}', '{api_docs,tutorials}', '{system_design,adr}', '{android,ios}',
];
/** Three capabilities per agent type: [name, task type or null]. */
const CAPABILITIES: ReadonlyArray<readonly [string, string | null]> = [
  ['sentiment-analysis', 'text_analysis'], ['text-writer', 'text_generation'], ['translator', 'translation'],
  ['code-writer', 'code_generation'], ['static-analyzer', 'code_analysis'], ['reviewer', 'code_review'],
  ['etl-runner', 'data_processing'], ['statistician', 'data_analysis'], ['chart-maker', 'data_visualization'],
  ['web-researcher', 'research'], ['summarizer', 'summarization'], ['fact-checker', 'research'],
  ['planner', 'multi_step'], ['pipeline-runner', 'pipeline'], ['fetcher', 'fetch'],
  ['pr-author', null], ['refactorer', 'code_optimization'], ['scaffolder', null],
  ['test-writer', 'test_engineering'], ['fuzzer', null], ['coverage-checker', null],
  ['doc-writer', null], ['api-documenter', null], ['changelog-writer', null],
  ['architect', null], ['adr-writer', null], ['estimator', null],
  ['device-driver', null], ['screen-reader', null], ['app-tester', null],
];

function capabilityInputSchema(taskType: string | null): string {
  const row = TASK_TYPES.find((t) => t.name === taskType);
  const required = (row?.requiredInputKeys ?? []).map((k) => k.split('|')[0]!);
  return JSON.stringify({ type: 'object', required, properties: Object.fromEntries(required.map((k) => [k, { type: 'string' }])) });
}

function fleetPhase(): Phase {
  return {
    name: 'fleet',
    after: [],
    parallel: false,
    batches: () => 1,
    async run({ client, model: m }) {
      const c = m.counts;
      const types = AGENT_TYPE_NAMES.length;
      let rows = 0;
      rows += await exec(
        client,
        `INSERT INTO agentry.workers (id, machine_id, machine_name, status, system_info, tools, cpu_percent, memory_percent, disk_percent,
                                      last_heartbeat, registered_at)
         SELECT ${uuidExpr('workers', 'w')}, 'demo-machine-' || lpad(w::text, 4, '0'),
                ${m.pick('worker.kind', 'w', ['build', 'gpu', 'edge', 'batch'])} || '-' || lpad(w::text, 4, '0'),
                ${m.pick('worker.status', 'w', ['online', 'online', 'busy', 'offline'])},
                jsonb_build_object('os', ${m.pick('worker.os', 'w', ['linux', 'linux', 'macos', 'windows'])},
                                   'cpu', ${m.pick('worker.cpu', 'w', ['x86_64 16 cores', 'arm64 10 cores', 'x86_64 64 cores'])},
                                   'memory_total_gb', (ARRAY[16, 32, 64, 128])[1 + floor(${m.r('worker.mem', 'w')} * 4)::int],
                                   'disk_total_gb', (ARRAY[256, 512, 1024, 2048])[1 + floor(${m.r('worker.disk', 'w')} * 4)::int]),
                (CASE floor(${m.r('worker.tools', 'w')} * 4)::int WHEN 0 THEN '["claude_code", "ollama"]' WHEN 1 THEN '["claude_code", "gemini_cli"]'
                      WHEN 2 THEN '["ollama"]' ELSE '["claude_code", "gemini_cli", "aider"]' END)::jsonb,
                ${m.round(`100 * ${m.r('worker.cpu.pct', 'w')}`)}, ${m.round(`100 * ${m.r('worker.mem.pct', 'w')}`)},
                ${m.round(`100 * ${m.r('worker.disk.pct', 'w')}`)},
                ${m.to} - ${seconds(`600 * ${m.r('worker.heartbeat', 'w')}`)}, ${m.from} - ${seconds(`86400 * (10 + 60 * ${m.r('worker.registered', 'w')})`)}
           FROM generate_series(0, ${c.workers - 1}) w`,
      );
      const network = m.r('agent.network', 'a');
      rows += await exec(
        client,
        `INSERT INTO agentry.agents (id, name, type, role, model, status, worker_id, specialties, capabilities, configuration, metadata, backstory,
                                     personality_emoji, public_key, endpoint, signature, mobile_capable, device_affinity, location_enabled,
                                     battery_aware, ip_address, host_name, last_heartbeat, created_at, updated_at)
         SELECT ${m.agentId('a')}, initcap(${m.pick('agent.name', 'a', AGENT_NAMES)}) || '-' || lpad(a::text, 5, '0'),
                (${textArray(AGENT_TYPE_NAMES)})[1 + a % ${types}], (${textArray(AGENT_ROLES)})[1 + a % ${types}],
                ${m.pick('agent.model', 'a', MODELS)}, 'online', ${m.workerOfAgent('a')},
                (${textArray(AGENT_SPECIALTIES)})[1 + a % ${types}]::text[],
                jsonb_build_array((${textArray(CAPABILITY_TAGS)})[1 + a % ${types}])
                  || CASE WHEN ${m.r('agent.caps', 'a')} < 0.5 THEN jsonb_build_array('ml:v1') ELSE '[]'::jsonb END,
                jsonb_build_object('temperature', ${m.round(m.r('agent.temperature', 'a'))}, 'max_tokens', (ARRAY[4096, 8192, 32768])[1 + floor(${m.r('agent.max_tokens', 'a')} * 3)::int]),
                jsonb_build_object('agentry_demo', true, 'team', ${m.pick('agent.team', 'a', ['platform', 'growth', 'data', 'mobile', 'research'])}),
                'A ' || lower((${textArray(AGENT_ROLES)})[1 + a % ${types}]) || ' that ' || ${m.pick('agent.backstory', 'a', [
                  'joined the fleet during the big migration', 'learned from thousands of code reviews', 'prefers small, safe steps',
                  'was trained on the internal handbook', 'never forgets a failing test',
                ])} || '.',
                ${m.pick('agent.emoji', 'a', EMOJIS)},
                CASE WHEN ${network} < 0.25 THEN '-----BEGIN PUBLIC KEY-----' || ${m.base64('agent.key', 'a')} || '-----END PUBLIC KEY-----' END,
                CASE WHEN ${network} < 0.25 THEN 'https://agents.example.net/' || ${m.agentId('a')} || '/v1' END,
                CASE WHEN ${network} < 0.25 THEN ${m.base64('agent.signature', 'a')} END,
                a % ${types} = ${MOBILE_AGENT_TYPE},
                CASE WHEN a % ${types} = ${MOBILE_AGENT_TYPE} THEN ${m.pick('agent.device', 'a', ['pixel-8', 'iphone-15', 'galaxy-s24'])} END,
                a % ${types} = ${MOBILE_AGENT_TYPE} AND ${m.r('agent.location', 'a')} < 0.5,
                a % ${types} = ${MOBILE_AGENT_TYPE},
                ${m.ip('agent.ip', 'a')}, 'agent-host-' || lpad((a % ${c.workers})::text, 4, '0'),
                ${m.to} - ${seconds(`300 * ${m.r('agent.heartbeat', 'a')}`)},
                ${m.from} - ${seconds(`86400 * (5 + 60 * ${m.r('agent.created', 'a')})`)},
                ${m.from} - ${seconds(`86400 * (5 + 60 * ${m.r('agent.created', 'a')})`)}
           FROM generate_series(0, ${c.agents - 1}) a`,
      );
      const capIndex = `(a % ${types}) * 3 + i + 1`;
      rows += await exec(
        client,
        `INSERT INTO agentry.agent_capabilities (id, agent_id, name, description, version, task_type, input_schema, output_schema, pricing_model,
                                                 price, currency, latency_p99_ms, availability_percent, deprecated, created_at, updated_at)
         SELECT ${uuidExpr('agentCapabilities', 'a * 4 + i')}, ${m.agentId('a')}, (${textArray(CAPABILITIES.map(([n]) => n))})[${capIndex}],
                'Offers ' || (${textArray(CAPABILITIES.map(([n]) => n))})[${capIndex}] || ' as a service',
                'v' || ${m.int('cap.version', 'a * 4 + i', 1, 2)},
                (ARRAY[${CAPABILITIES.map(([, t]) => (t === null ? 'NULL' : q(t))).join(', ')}]::text[])[${capIndex}],
                (ARRAY[${CAPABILITIES.map(([, t]) => q(capabilityInputSchema(t))).join(', ')}]::jsonb[])[${capIndex}],
                '{"type": "object", "required": ["result"]}'::jsonb,
                ${m.pick('cap.pricing', 'a * 4 + i', ['per_call', 'per_token', 'free'])},
                ${m.round(`0.05 * ${m.r('cap.price', 'a * 4 + i')}`, 4)},
                CASE WHEN ${m.r('cap.currency', 'a * 4 + i')} < 0.8 THEN 'USD' ELSE 'EUR' END,
                ${m.int('cap.latency', 'a * 4 + i', 50, 5000)}, ${m.round(`95 + 4.99 * ${m.r('cap.availability', 'a * 4 + i')}`)},
                ${m.r('cap.deprecated', 'a * 4 + i')} < 0.05,
                ${m.from} - interval '2 days', ${m.from} - interval '2 days'
           FROM generate_series(0, ${c.agents - 1}) a CROSS JOIN generate_series(0, 2) i`,
      );
      return rows;
    },
  };
}

// ---------------------------------------------------------------- containers

const CHAIN_STEPS = [
  '[{"name": "fetch", "task_type": "fetch"}, {"name": "process", "task_type": "process"}]',
  '[{"name": "fetch", "task_type": "fetch"}, {"name": "analyze", "task_type": "data_analysis", "use_previous_output": true}, {"name": "summarize", "task_type": "summarization", "use_previous_output": true}]',
  '[{"name": "draft", "task_type": "text_generation"}, {"name": "translate", "task_type": "translation", "use_previous_output": true}, {"name": "review", "task_type": "text_analysis"}, {"name": "publish", "task_type": "process"}]',
];
const CHAIN_LENGTHS = [2, 3, 4];

/** Default input per task type, holding its required keys. */
function defaultInput(taskType: string): string {
  const row = TASK_TYPES.find((t) => t.name === taskType)!;
  const entries = row.requiredInputKeys.map((k) => [k.split('|')[0]!, k === 'data' ? [1, 2, 3] : `example ${k.split('|')[0]}`]);
  return JSON.stringify(Object.fromEntries(entries.length > 0 ? entries : [['note', 'no required keys']]));
}

function containersPhase(): Phase {
  return {
    name: 'containers',
    after: ['access'],
    parallel: false,
    batches: () => 1,
    async run({ client, model: m }) {
      const c = m.counts;
      const projectCreated = (p: string) => `(${m.from} - ${seconds(`86400 * (1 + 30 * ${m.r('project.created', p)})`)})`;
      let rows = 0;
      rows += await exec(
        client,
        `INSERT INTO agentry.projects (id, name, description, status, created_by, metadata, created_at, updated_at)
         SELECT ${uuidExpr('projects', 'p')}, 'Project ' || ${m.pick('project.name', 'p', PROJECT_NAMES)} || ' ' || (p + 1),
                'Demo project about ' || ${m.pick('project.subject', 'p', SUBJECTS)},
                ${m.pick('project.status', 'p', ['active', 'active', 'active', 'completed', 'archived'])},
                ${m.userId(m.someUser('project.owner', 'p'))},
                jsonb_build_object('team', ${m.pick('project.team', 'p', ['platform', 'growth', 'data', 'mobile', 'research'])}, 'budget_usd', ${m.int('project.budget', 'p', 1, 50)} * 1000),
                ${projectCreated('p')}, ${projectCreated('p')}
           FROM generate_series(0, ${c.projects - 1}) p`,
      );
      rows += await exec(
        client,
        `INSERT INTO agentry.plans (id, project_id, title, description, status, priority, created_by, assigned_to, estimated_hours, actual_hours,
                                    mobile_sync_enabled, agent_count, scaling_strategy, deadline, metadata, created_at, updated_at)
         SELECT ${uuidExpr('plans', 'x')}, ${uuidExpr('projects', 'x / 3')},
                ${m.pick('plan.title', 'x', ['Milestone', 'Sprint plan', 'Rollout', 'Migration', 'Research plan'])} || ' ' || (x % 3 + 1) || ': ' || ${m.pick('plan.subject', 'x', SUBJECTS)},
                'Plan for ' || ${m.pick('plan.goal', 'x', SUBJECTS)}, status, ${m.int('plan.priority', 'x', 1, 10)},
                ${m.userId(m.someUser('plan.owner', 'x'))}, CASE WHEN ${m.r('plan.assigned', 'x')} < 0.7 THEN ${m.userId(m.someUser('plan.assignee', 'x'))} END,
                est, CASE WHEN status IN ('completed', 'cancelled') THEN ${m.round(`est * (0.5 + ${m.r('plan.actual', 'x')})`)} END,
                ${m.r('plan.mobile', 'x')} < 0.2, ${m.int('plan.agents', 'x', 1, 5)},
                ${m.pick('plan.scaling', 'x', ['fixed', 'fixed', 'adaptive', 'elastic'])},
                CASE WHEN ${m.r('plan.deadline', 'x')} < 0.6 THEN ${m.to} + ${seconds(`86400 * (7 + 90 * ${m.r('plan.deadline.at', 'x')})`)} END,
                jsonb_build_object('source', 'demo'), ${projectCreated('x / 3')} + (x % 3) * interval '1 day', ${projectCreated('x / 3')} + (x % 3) * interval '1 day'
           FROM generate_series(0, ${c.plans - 1}) x,
                LATERAL (SELECT ${m.pick('plan.status', 'x', ['draft', 'active', 'active', 'paused', 'completed', 'cancelled'])} AS status,
                                ${m.round(`2 + 200 * ${m.r('plan.estimate', 'x')}`)} AS est) l`,
      );
      rows += await exec(
        client,
        `INSERT INTO agentry.task_chains (id, name, client_id, steps, current_step, status, step_results, final_result, error_message, created_at,
                                          started_at, completed_at)
         SELECT ${uuidExpr('taskChains', 'x')}, 'Chain ' || (x + 1) || ': ' || ${m.pick('chain.name', 'x', SUBJECTS)},
                ${m.clientId(m.someUser('chain.client', 'x'))}, (ARRAY[${CHAIN_STEPS.map(q).join(', ')}]::jsonb[])[v],
                CASE status WHEN 'completed' THEN (ARRAY[${CHAIN_LENGTHS.join(', ')}])[v] WHEN 'pending' THEN 0 WHEN 'cancelled' THEN 0 ELSE 1 END,
                status,
                CASE WHEN status IN ('completed', 'running', 'failed') THEN '{"0": {"status": "completed"}}'::jsonb ELSE '{}'::jsonb END,
                CASE WHEN status = 'completed' THEN '{"ok": true}'::jsonb END,
                CASE WHEN status = 'failed' THEN ${m.pick('chain.error', 'x', ERRORS)} END,
                created, CASE WHEN status <> 'pending' AND status <> 'cancelled' THEN created + interval '5 seconds' END,
                CASE WHEN status IN ('completed', 'failed', 'cancelled') THEN created + interval '10 minutes' END
           FROM generate_series(0, ${c.taskChains - 1}) x,
                LATERAL (SELECT 1 + floor(${m.r('chain.steps', 'x')} * ${CHAIN_STEPS.length})::int AS v,
                                ${m.pick('chain.status', 'x', ['completed', 'completed', 'running', 'pending', 'failed', 'cancelled'])} AS status,
                                ${m.inWindow(`0.95 * ${m.r('chain.created', 'x')}`)} AS created) l`,
      );
      const tt = `1 + floor(${m.r('template.type', 'x')} * ${TASK_TYPE_NAMES.length})::int`;
      rows += await exec(
        client,
        `INSERT INTO agentry.task_templates (id, name, description, client_id, task_type, capability_required, default_input, default_priority,
                                             default_timeout_seconds, default_max_retries, times_used, created_at, updated_at)
         SELECT ${uuidExpr('taskTemplates', 'x')}, 'Template ' || (x + 1) || ': ' || replace(tt, '_', ' '), 'Reusable ' || replace(tt, '_', ' ') || ' request',
                ${m.clientId(m.someUser('template.client', 'x'))}, tt, (${textArray(CAPABILITY_TAGS)})[at],
                (ARRAY[${TASK_TYPE_NAMES.map((t) => q(defaultInput(t))).join(', ')}]::jsonb[])[i], ${m.int('template.priority', 'x', 1, 10)},
                (ARRAY[300, 600, 1800])[1 + floor(${m.r('template.timeout', 'x')} * 3)::int], ${m.int('template.retries', 'x', 0, 5)},
                ${m.int('template.used', 'x', 0, 500)}, ${m.from} - interval '3 days', ${m.from} - interval '3 days'
           FROM generate_series(0, ${c.taskTemplates - 1}) x,
                LATERAL (SELECT ${tt} AS i) l1,
                LATERAL (SELECT (${textArray(TASK_TYPE_NAMES)})[i] AS tt, (ARRAY[${TASK_TYPE_AGENT.join(', ')}])[i] + 1 AS at) l2`,
      );
      const st = `1 + floor(${m.r('schedule.type', 'x')} * ${TASK_TYPE_NAMES.length})::int`;
      rows += await exec(
        client,
        `INSERT INTO agentry.scheduled_tasks (id, name, client_id, cron_expression, timezone, task_type, capability_required, input, priority,
                                              timeout_seconds, active, total_runs, successful_runs, failed_runs, created_at, last_run_at, next_run_at)
         SELECT ${uuidExpr('scheduledTasks', 'x')}, 'Scheduled ' || replace(tt, '_', ' ') || ' ' || (x + 1),
                ${m.clientId(m.someUser('schedule.client', 'x'))}, ${m.pick('schedule.cron', 'x', CRON_EXPRESSIONS)},
                ${m.pick('schedule.tz', 'x', TIMEZONES)}, tt, (${textArray(CAPABILITY_TAGS)})[at],
                (ARRAY[${TASK_TYPE_NAMES.map((t) => q(defaultInput(t))).join(', ')}]::jsonb[])[i], ${m.int('schedule.priority', 'x', 1, 10)},
                600, ${m.r('schedule.active', 'x')} < 0.8, total, ok, total - ok,
                ${m.from} - interval '7 days', ${m.to} - ${seconds(`3600 * ${m.r('schedule.last', 'x')}`)},
                ${m.to} + ${seconds(`3600 * ${m.r('schedule.next', 'x')}`)}
           FROM generate_series(0, ${c.scheduledTasks - 1}) x,
                LATERAL (SELECT ${st} AS i, ${m.int('schedule.runs', 'x', 10, 2000)} AS total) l1,
                LATERAL (SELECT (${textArray(TASK_TYPE_NAMES)})[i] AS tt, (ARRAY[${TASK_TYPE_AGENT.join(', ')}])[i] + 1 AS at,
                                floor(total * (0.85 + 0.15 * ${m.r('schedule.ok', 'x')}))::int AS ok) l2`,
      );
      rows += await exec(
        client,
        `INSERT INTO agentry.workflows (id, name, description, workflow_type, initiator, user_id, metadata, created_at, updated_at)
         SELECT ${uuidExpr('workflows', 'k')}, initcap(replace(wt, '_', ' ')) || ' #' || (k + 1),
                'Demo ' || replace(wt, '_', ' ') || ' for ' || ${m.pick('workflow.subject', 'k', SUBJECTS)},
                wt, ${m.pick('workflow.initiator', 'k', ['api', 'scheduler', 'user', 'agent'])}, ${m.userId(m.someUser('workflow.user', 'k'))},
                jsonb_build_object('priority', ${m.pick('workflow.priority', 'k', ['low', 'normal', 'normal', 'high'])}),
                ${m.workflowCreated('k')}, ${m.workflowCreated('k')}
           FROM generate_series(0, ${c.workflows - 1}) k, LATERAL (SELECT ${m.pick('workflow.type', 'k', WORKFLOW_TYPES)} AS wt) l`,
      );
      return rows;
    },
  };
}

// ---------------------------------------------------------------- tasks

const TITLE_PREFIX: Record<string, string> = {
  text_analysis: 'Analyze sentiment of',
  text_generation: 'Draft an announcement about',
  translation: 'Translate the notes on',
  code_generation: 'Implement a client for',
  code_analysis: 'Find bugs in',
  code_optimization: 'Speed up',
  data_processing: 'Clean the export of',
  data_analysis: 'Analyze trends in',
  data_visualization: 'Chart',
  research: 'Research best practice for',
  summarization: 'Summarize',
  multi_step: 'Coordinate the work on',
  pipeline: 'Run the pipeline for',
  fetch: 'Fetch',
  process: 'Process',
  code_review: 'Review the pull request for',
  test_engineering: 'Write tests for',
};
const UNTYPED_VERBS = ['Implement the change to', 'Add tests around', 'Document', 'Plan the redesign of', 'Check on device:'];

/** tasks.input of typed task type index tt (0-based), holding its required keys. */
function taskInput(m: Model, n: string, tt: string): string {
  const subject = m.pick('task.input.subject', n, SUBJECTS);
  const lang = m.pick('task.input.lang', n, LANGUAGES);
  const human = m.pick('task.input.human', n, HUMAN_LANGUAGES);
  const model = m.pick('task.input.model', n, MODELS);
  const x = m.r('task.input.x', n);
  const cases = [
    `jsonb_build_object('text', 'Customer feedback about ' || ${subject}, 'analysis_types', '["sentiment", "entities"]'::jsonb, 'language', ${human}, 'model', ${model})`,
    `jsonb_build_object('prompt', 'Write a short announcement about ' || ${subject}, 'max_length', 200 + floor(${x} * 800)::int, 'temperature', ${m.round(x)}, 'model', ${model})`,
    `jsonb_build_object('text', 'Release notes for ' || ${subject}, 'source_lang', 'en', 'target_lang', ${human}, 'model', ${model})`,
    `jsonb_build_object('specification', 'A client library for ' || ${subject}, 'language', ${lang}, 'include_tests', ${x} < 0.7)`,
    `jsonb_build_object('code', 'def handle(event):\n    return process(event)', 'language', ${lang})`,
    `jsonb_build_object('repository', 'git@example.com:demo/' || replace(${subject}, ' ', '-') || '.git', 'target', 'latency')`,
    `jsonb_build_object('data', jsonb_build_array(floor(${x} * 100)::int, 2, 3, 5, 8), 'operations', '["normalize", "remove_outliers"]'::jsonb, 'output_format', 'json')`,
    `CASE WHEN ${x} < 0.5 THEN jsonb_build_object('file_url', 'https://storage.example.com/demo/' || ${n} || '.csv') ELSE jsonb_build_object('data', '[1, 2, 3, 5, 8]'::jsonb) END`,
    `jsonb_build_object('dataset', ${subject}, 'chart', ${m.pick('task.input.chart', n, ['line', 'bar', 'heatmap'])})`,
    `jsonb_build_object('topic', ${subject}, 'depth', ${m.pick('task.input.depth', n, ['overview', 'detailed'])}, 'model', ${model})`,
    `jsonb_build_object('document_url', 'https://docs.example.com/demo/' || ${n}, 'max_words', 100 + floor(${x} * 400)::int)`,
    `jsonb_build_object('goal', 'Deliver ' || ${subject}, 'steps', 3 + floor(${x} * 8)::int)`,
    `jsonb_build_object('pipeline', replace(${subject}, ' ', '_'), 'stages', '["extract", "transform", "load"]'::jsonb)`,
    `jsonb_build_object('source_url', 'https://api.example.com/v1/' || replace(${subject}, ' ', '-'))`,
    `jsonb_build_object('operation', ${m.pick('task.input.op', n, ['dedupe', 'aggregate', 'enrich'])})`,
    `jsonb_build_object('repository', 'demo/' || replace(${subject}, ' ', '-'), 'pull_request', 1 + floor(${x} * 5000)::int)`,
    `jsonb_build_object('module', replace(${subject}, ' ', '_'), 'framework', ${m.pick('task.input.framework', n, ['vitest', 'pytest', 'go test'])})`,
  ];
  if (cases.length !== TASK_TYPE_NAMES.length) throw new Error('taskInput: one case per task type');
  return `CASE ${tt} ${cases.map((expr, i) => `WHEN ${i} THEN ${expr}`).join('\n')} END`;
}

/** The INSERT of tasks with counters [lo, hi); lo and hi are whole slots. */
export function insertTasksSql(m: Model, lo: number, hi: number): string {
  const c = m.counts;
  const t = m.time;
  const types = AGENT_TYPE_NAMES.length;
  const r = (stream: string) => m.r(stream, 'n');
  const agentTypeOfTaskType = `(ARRAY[${TASK_TYPE_AGENT.join(', ')}])[tt + 1]`;
  const durations = `(ARRAY[${TASK_TYPE_SECONDS.join(', ')}]::float8[])[tt + 1]`;
  return `
WITH b AS MATERIALIZED (
  SELECT n, n / ${SLOT} AS k, (n % ${SLOT})::int AS idx, n >= ${t.liveFrom} AS live,
         ${m.workflowSize(`n / ${SLOT}`)} AS wsize, ${m.taskStatus('n', `n % ${SLOT} < ${m.workflowSize(`n / ${SLOT}`)}`)} AS status,
         ${m.taskCreated('n')} AS created,
         ${r('task.cancel.started')} < 0.5 AS cancel_started
    FROM generate_series(${lo}::bigint, ${hi - 1}::bigint) n
), s AS MATERIALIZED (
  SELECT b.*, idx < wsize AS in_wf,
         (idx = 0 AND idx < wsize) OR ${r('task.kind')} < 0.75 AS typed,
         CASE WHEN idx = 0 AND idx < wsize THEN 11 + floor(${r('task.root_type')} * 2)::int
              ELSE floor(${r('task.type')} * ${TASK_TYPE_NAMES.length})::int END AS tt,
         status IN ('assigned', 'running', 'checkpoint', 'correcting', 'completed', 'failed', 'timeout', 'retrying')
           OR (status = 'cancelled' AND cancel_started) AS has_agent,
         status IN ('running', 'checkpoint', 'correcting', 'completed', 'failed', 'timeout') OR (status = 'cancelled' AND cancel_started) AS started
    FROM b
), a AS MATERIALIZED (
  SELECT s.*, CASE WHEN typed THEN ${agentTypeOfTaskType} ELSE 5 + floor(${r('task.untyped_agent')} * 5)::int END AS at,
         1 + 600 * ${r('task.wait')} AS wait, 1 + 120 * ${r('task.delay')} AS delay,
         (ARRAY[3, 3, 3, 5, 1, 2])[1 + floor(${r('task.max_retries')} * 6)::int] AS max_retries, ${r('task.retry')} AS rr, ${r('task.tokens')} AS rt,
         CASE WHEN live THEN 1800 ELSE 1e9 END AS max_duration
    FROM s
), d AS MATERIALIZED (
  SELECT a.*, ${m.agentOfType('at', 'task.agent', 'n')} AS agent,
         least(max_duration, CASE WHEN typed THEN ${durations} * (0.3 + 3 * ${r('task.duration')}) ELSE 60 + 3600 * ${r('task.duration')} END) AS duration,
         CASE WHEN in_wf THEN ${m.someUser('workflow.user', 'k')} ELSE ${m.someUser('task.user', 'n')} END AS usr
    FROM a
), e AS MATERIALIZED (
  SELECT d.*,
         CASE WHEN has_agent THEN created + ${seconds('wait')} END AS assigned_at,
         CASE WHEN started THEN created + ${seconds('wait + delay')} END AS started_at,
         CASE WHEN status IN ('completed', 'failed', 'timeout') THEN created + ${seconds('wait + delay + duration')}
              WHEN status = 'cancelled' AND cancel_started THEN created + ${seconds('wait + delay + duration / 2')}
              WHEN status = 'cancelled' THEN created + ${seconds('wait / 2')} END AS completed_at,
         CASE status WHEN 'retrying' THEN 1 + floor(rr * max_retries)::int
                     WHEN 'failed' THEN CASE WHEN rr < 0.6 THEN max_retries ELSE floor(rr * max_retries)::int END
                     WHEN 'completed' THEN (rr < 0.1)::int ELSE 0 END AS retry_count,
         CASE WHEN status = 'completed' THEN 200 + floor(rt * rt * 20000)::int
              WHEN status IN ('failed', 'timeout') THEN floor(rt * 3000)::int
              WHEN status IN ('running', 'checkpoint', 'correcting') THEN floor(rt * 2000)::int
              WHEN status = 'cancelled' AND cancel_started THEN floor(rt * 1000)::int ELSE 0 END AS tokens,
         (ARRAY[300, 600, 1800, 3600])[1 + floor(${r('task.timeout')} * 4)::int] AS timeout_seconds,
         CASE WHEN NOT typed THEN ${m.round(`0.5 + 16 * ${r('task.estimate')}`)} END AS estimated_hours
    FROM d
)
INSERT INTO agentry.tasks (
  id, type, title, description, status, priority, input, output, parameters, metadata, error_message, error_details, last_error,
  retry_count, max_retries, retry_policy, next_retry_at, agent_id, worker_id, assigned_agent_type, parent_task_id, workflow_id, plan_id,
  chain_id, template_id, schedule_id, user_id, client_id, capability_required, routing_strategy, progress, complexity,
  checkpoint_frequency, privacy_level, tool_preferences, recommended_tool, assigned_tool, tags, timeout_seconds, expires_at,
  cancelled_at, cancelled_by, cancellation_reason, tokens_used, cost_usd, estimated_hours, actual_hours, mobile_task_id,
  device_fingerprint, sync_status, created_at, updated_at, assigned_at, started_at, completed_at)
SELECT
  ${uuidExpr('tasks', 'n')},
  CASE WHEN typed THEN (${textArray(TASK_TYPE_NAMES)})[tt + 1] END,
  CASE WHEN typed THEN (${textArray(TASK_TYPE_NAMES.map((name) => TITLE_PREFIX[name]!))})[tt + 1]
       ELSE (${textArray(UNTYPED_VERBS)})[at - 4] END || ' ' || ${m.pick('task.subject', 'n', SUBJECTS)},
  'Requested by the ' || ${m.pick('task.team', 'n', ['platform', 'growth', 'data', 'mobile', 'research'])} || ' team'
    || CASE WHEN in_wf THEN ' as step ' || (idx + 1) || ' of a workflow.' ELSE '.' END,
  status::agentry.task_status,
  CASE WHEN ${r('task.priority')} < 0.6 THEN 5 ELSE ${m.int('task.priority.value', 'n', 1, 10)} END,
  CASE WHEN typed THEN ${taskInput(m, 'n', 'tt')}
       WHEN ${r('task.untyped_input')} < 0.5 THEN jsonb_build_object('instructions', 'See the plan notes', 'files', ${m.int('task.files', 'n', 1, 9)}) END,
  CASE WHEN status = 'completed' THEN jsonb_build_object('summary', 'Done: ' || ${m.pick('task.output', 'n', SUBJECTS)},
                                                         'confidence', ${m.round(r('task.confidence'))}, 'artifacts', ${m.int('task.artifacts', 'n', 0, 5)}) END,
  CASE WHEN ${r('task.parameters')} < 0.3 THEN jsonb_build_object('temperature', ${m.round(r('task.temperature'))}, 'max_tokens', 4096) END,
  jsonb_build_object('source', CASE WHEN in_wf THEN 'workflow' ELSE ${m.pick('task.source', 'n', ['api', 'ui', 'scheduler', 'chain'])} END),
  CASE WHEN status = 'failed' OR status = 'retrying' THEN ${m.pick('task.error', 'n', ERRORS)}
       WHEN status = 'timeout' THEN 'timed out after ' || timeout_seconds || ' s' END,
  CASE WHEN status IN ('failed', 'retrying', 'timeout') THEN jsonb_build_object('attempt', retry_count + 1, 'code', ${m.pick('task.error.code', 'n', ['E_UPSTREAM', 'E_PARSE', 'E_LIMIT', 'E_TOOL'])}) END,
  CASE WHEN status IN ('failed', 'retrying', 'timeout') OR retry_count > 0 THEN ${m.pick('task.last_error', 'n', ERRORS)} END,
  retry_count, max_retries, ${m.pick('task.retry_policy', 'n', ['exponential', 'exponential', 'linear', 'fixed'])},
  CASE WHEN status = 'retrying' THEN created + ${seconds('wait + delay + duration + 60 * power(2, retry_count)')} END,
  CASE WHEN has_agent THEN ${m.agentId('agent')} END,
  CASE WHEN has_agent THEN ${m.workerOfAgent('agent')} END,
  (${textArray(AGENT_TYPE_NAMES)})[at + 1],
  CASE WHEN in_wf AND idx >= 1 THEN
         CASE WHEN ${r('task.parent')} < 0.55 THEN ${uuidExpr('tasks', 'n - idx')}
              WHEN ${r('task.parent')} < 0.8 AND idx >= 2 THEN ${uuidExpr('tasks', `n - idx + 1 + floor(${r('task.parent.pick')} * (idx - 1))::bigint`)} END END,
  CASE WHEN in_wf THEN ${uuidExpr('workflows', 'k')} END,
  CASE WHEN in_wf AND ${m.r('workflow.plan', 'k')} < 0.5 THEN ${uuidExpr('plans', `floor(${m.r('workflow.plan.pick', 'k')} * ${c.plans})::bigint`)} END,
  CASE WHEN NOT in_wf AND ${r('task.origin')} < 0.04 THEN ${uuidExpr('taskChains', `floor(${r('task.origin.pick')} * ${c.taskChains})::bigint`)} END,
  CASE WHEN NOT in_wf AND ${r('task.origin')} >= 0.04 AND ${r('task.origin')} < 0.08 THEN ${uuidExpr('taskTemplates', `floor(${r('task.origin.pick')} * ${c.taskTemplates})::bigint`)} END,
  CASE WHEN NOT in_wf AND ${r('task.origin')} >= 0.08 AND ${r('task.origin')} < 0.12 THEN ${uuidExpr('scheduledTasks', `floor(${r('task.origin.pick')} * ${c.scheduledTasks})::bigint`)} END,
  ${m.userId('usr')},
  CASE WHEN NOT in_wf AND ${r('task.api')} < 0.6 THEN ${m.clientId('usr')} END,
  (${textArray(CAPABILITY_TAGS)})[at + 1],
  CASE WHEN ${r('task.routing')} < 0.8 THEN 'round_robin' ELSE 'trust_weighted' END,
  CASE WHEN status = 'completed' THEN 100
       WHEN status IN ('running', 'checkpoint', 'correcting') THEN ${m.round(`5 + 90 * ${r('task.progress')}`)}
       WHEN status IN ('failed', 'timeout') THEN ${m.round(`90 * ${r('task.progress')}`)} ELSE 0 END,
  CASE WHEN ${r('task.complexity')} < 0.7 THEN ${m.int('task.complexity.value', 'n', 1, 5)} END,
  ${m.pick('task.checkpoints', 'n', ['low', 'medium', 'medium', 'high'])},
  CASE WHEN ${r('task.privacy')} < 0.1 THEN 'sensitive' ELSE 'normal' END,
  CASE WHEN at BETWEEN 5 AND 8 THEN (CASE floor(${r('task.tools')} * 3)::int WHEN 0 THEN '["claude_code"]' WHEN 1 THEN '["claude_code", "gemini_cli"]'
                                      ELSE '["aider", "claude_code"]' END)::jsonb END,
  CASE WHEN at BETWEEN 5 AND 8 THEN ${m.pick('task.recommended_tool', 'n', TOOLS)} END,
  CASE WHEN at BETWEEN 5 AND 8 AND has_agent THEN ${m.pick('task.assigned_tool', 'n', TOOLS)} END,
  CASE floor(${r('task.tags')} * 4)::int WHEN 0 THEN '{}'::text[] WHEN 1 THEN ARRAY[${m.pick('task.tag1', 'n', TAGS)}]
       ELSE ARRAY[${m.pick('task.tag1', 'n', TAGS)}, ${m.pick('task.tag2', 'n', TAGS)}] END,
  timeout_seconds,
  CASE WHEN status IN ('pending', 'queued') AND ${r('task.expires')} < 0.3 THEN created + interval '1 day' END,
  CASE WHEN status = 'cancelled' THEN completed_at END,
  CASE WHEN status = 'cancelled' THEN ${m.pick('task.cancelled_by', 'n', ['user', 'system', 'scheduler', 'workflow'])} END,
  CASE WHEN status = 'cancelled' THEN ${m.pick('task.cancel_reason', 'n', CANCEL_REASONS)} END,
  tokens, round((tokens * (0.000003 + 0.00002 * ${r('task.price')}))::numeric, 6),
  estimated_hours,
  CASE WHEN status = 'completed' AND NOT typed THEN ${m.round(`estimated_hours * (0.6 + 0.8 * ${r('task.actual')})`)} END,
  CASE WHEN at = ${MOBILE_AGENT_TYPE} THEN 'mt-' || n END,
  CASE WHEN at = ${MOBILE_AGENT_TYPE} THEN substr(${m.rng.hex('task.device', 'agent')}, 1, 32) END,
  CASE WHEN at = ${MOBILE_AGENT_TYPE} THEN ${m.pick('task.sync', 'n', ['synced', 'synced', 'syncing', 'conflict'])} ELSE 'local' END,
  created, coalesce(completed_at, started_at, assigned_at, created), assigned_at, started_at, completed_at
FROM e
ORDER BY n`;
}

function tasksPhase(): Phase {
  return {
    name: 'tasks',
    after: ['access', 'fleet', 'containers'],
    // The roll-up triggers update the agents' rows; two connections would wait on each other's row locks.
    parallel: false,
    batches: ({ model }) => chunks(model.counts.tasks, model.plan.batchSize),
    async run({ client, model: m }, i) {
      const [lo, hi] = span(i, m.plan.batchSize, m.counts.tasks);
      const rows = await exec(client, insertTasksSql(m, lo, hi));
      // The roll-up triggers stamp workflows.started_at and completed_at with now();
      // the demo's times are those of its tasks.
      const k0 = Math.floor(lo / SLOT);
      const k1 = Math.ceil(hi / SLOT);
      await exec(
        client,
        `UPDATE agentry.workflows w SET started_at = a.started_at, completed_at = a.completed_at
           FROM (SELECT workflow_id, min(started_at) AS started_at,
                        CASE WHEN bool_and(status IN ('completed', 'failed', 'timeout', 'cancelled')) THEN max(completed_at) END AS completed_at
                   FROM agentry.tasks WHERE ${inCounterRange('workflow_id', 'workflows', k0, k1)} GROUP BY workflow_id) a
          WHERE w.id = a.workflow_id`,
      );
      return rows;
    },
    async afterCommit({ client }, i) {
      await vacuum(client, 'agents', 'workflows');
      // Statistics while the table grows, for the queries of the phases that read it.
      if (i % 32 === 0) await client.query('ANALYZE agentry.tasks');
    },
  };
}

// ---------------------------------------------------------------- dependencies

function dependenciesPhase(): Phase {
  return {
    name: 'dependencies',
    after: ['access', 'fleet', 'containers'],
    follows: { phase: 'tasks', ratio: 1 },
    // Every edge updates the one row of task_graph_lock: one connection at a time.
    parallel: false,
    batches: ({ model }) => chunks(model.counts.tasks, sizes(model.plan).dependencies),
    async run({ client, model: m }, i) {
      const size = sizes(m.plan).dependencies;
      const [lo, hi] = span(i, size, m.counts.tasks);
      // The cycle check's recursive query must probe the primary key, never
      // scan the table (a plan made while the table was empty would).
      await client.query('SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off');
      // Within a workflow a task depends only on earlier ones (acyclic by
      // construction), and a started task only on completed ones. The edges
      // go in from the last task of each workflow down: when (i -> j) is
      // checked, j has no edges yet, so the trigger's walk stops at j.
      return exec(
        client,
        `WITH cand AS (
           SELECT n, n - idx + j AS dep
             FROM (SELECT n, (n % ${SLOT})::int AS idx, ${m.workflowSize(`n / ${SLOT}`)} AS wsize
                     FROM generate_series(${lo}::bigint, ${hi - 1}::bigint) n) x,
                  LATERAL (SELECT 1 + floor(${m.r('dependency.first', 'n')} * (idx - 1))::int AS j WHERE ${m.r('dependency.has_first', 'n')} < 0.7
                           UNION
                           SELECT 1 + floor(${m.r('dependency.second', 'n')} * (idx - 1))::int WHERE ${m.r('dependency.has_second', 'n')} < 0.3) e
            WHERE idx >= 2 AND idx < wsize
         )
         INSERT INTO agentry.task_dependencies (task_id, depends_on_id, created_at)
         SELECT ti.id, tj.id, ti.created_at
           FROM cand
           -- LATERAL: one primary-key probe per candidate, whatever the statistics say.
           JOIN LATERAL (SELECT id, status, started_at, created_at FROM agentry.tasks WHERE id = ${uuidExpr('tasks', 'cand.n')}) ti ON true
           JOIN LATERAL (SELECT id, status FROM agentry.tasks WHERE id = ${uuidExpr('tasks', 'cand.dep')}) tj ON true
          WHERE ti.status IN ('pending', 'initializing', 'queued') OR (ti.status = 'cancelled' AND ti.started_at IS NULL) OR tj.status = 'completed'
          ORDER BY cand.n DESC, cand.dep DESC`,
      );
    },
    async afterCommit({ client }, i) {
      await vacuum(client, 'task_graph_lock');
      if (i % 32 === 0) await client.query('ANALYZE agentry.task_dependencies');
    },
  };
}

// ---------------------------------------------------------------- agents after tasks

function agentStatePhase(): Phase {
  return {
    name: 'agent-state',
    after: ['tasks'],
    parallel: false,
    batches: () => 1,
    async run({ client, model: m }) {
      // What the roll-up triggers stamped with now() becomes the demo's times;
      // an agent working on a task is busy with it.
      return exec(
        client,
        `UPDATE agentry.agents g SET
           last_assigned_at = x.last_assigned_at, last_task_completed_at = x.last_completed_at, current_task_id = x.current_task_id,
           status = CASE WHEN x.current_task_id IS NOT NULL THEN 'busy'
                         ELSE (ARRAY['online', 'online', 'offline', 'maintenance', 'retired', 'online', 'offline'])[1 + x.a % 7] END,
           deactivated_at = CASE WHEN x.current_task_id IS NULL AND x.a % 7 = 4 THEN coalesce(x.last_completed_at, g.created_at) + interval '1 day' END
           FROM (SELECT a.id, substr(a.id, 12)::int AS a,
                        t.last_assigned_at, t.last_completed_at, t.current_task_id
                   FROM agentry.agents a
                   LEFT JOIN (SELECT agent_id, max(assigned_at) AS last_assigned_at,
                                     max(completed_at) FILTER (WHERE status = 'completed') AS last_completed_at,
                                     (array_agg(id ORDER BY started_at DESC, id) FILTER (WHERE status IN ('running', 'checkpoint', 'correcting')))[1] AS current_task_id
                                FROM agentry.tasks WHERE ${inCounterRange('id', 'tasks', 0, m.counts.tasks)} AND agent_id IS NOT NULL
                               GROUP BY agent_id) t ON t.agent_id = a.id
                  WHERE a.id LIKE 'demo-agent-%') x
          WHERE g.id = x.id`,
      );
    },
  };
}

// ---------------------------------------------------------------- review

// Vocabularies come from the generated schemas (the CHECK lists), in their order.
const CORRECTION_TYPES = correctionsSchema.shape.correction_type.options;
const CODE_TYPES = ['code_generation', 'code_analysis', 'code_optimization', 'code_review', 'test_engineering'];

function reviewPhase(): Phase {
  return {
    name: 'review',
    after: ['access', 'fleet', 'containers'],
    follows: { phase: 'tasks', ratio: 4 },
    parallel: true,
    batches: ({ model }) => chunks(model.counts.tasks, sizes(model.plan).review),
    async run({ client, model: m }, i) {
      const size = sizes(m.plan).review;
      const [lo, hi] = span(i, size, m.counts.tasks);
      const liveFrom = m.time.liveFrom;
      const pickR = m.r('checkpoint.pick', 'n');
      let rows = 0;
      // Checkpoints in every decision state: pending_review for tasks now at a
      // checkpoint, corrected for tasks being corrected, approved and rejected
      // for finished work (every live completed and failed task has one).
      rows += await exec(
        client,
        `WITH t AS MATERIALIZED (
           SELECT t.id, t.status::text AS status, t.user_id, t.started_at, coalesce(t.completed_at, ${m.to}) AS end_at, ${counterOf('t.id')} AS n
             FROM agentry.tasks t WHERE ${inCounterRange('t.id', 'tasks', lo, hi)}
         ), c AS MATERIALIZED (
           SELECT t.*, CASE WHEN status = 'checkpoint' THEN 'pending_review'
                            WHEN status = 'correcting' THEN 'corrected'
                            WHEN n >= ${liveFrom} AND status = 'completed' THEN 'approved'
                            WHEN n >= ${liveFrom} AND status = 'failed' THEN 'rejected'
                            WHEN status = 'completed' AND ${pickR} < 0.06 THEN 'approved'
                            WHEN status = 'completed' AND ${pickR} < 0.08 THEN 'corrected'
                            WHEN status = 'failed' AND ${pickR} < 0.2 THEN 'rejected'
                            WHEN status = 'running' AND ${pickR} < 0.2 THEN 'approved' END AS cp
             FROM t
         ), p AS MATERIALIZED (
           SELECT c.*, started_at + (end_at - started_at) * (0.2 + 0.3 * ${m.r('checkpoint.at', 'n')}) AS triggered
             FROM c WHERE cp IS NOT NULL AND started_at IS NOT NULL
         )
         INSERT INTO agentry.checkpoints (id, task_id, status, subtasks_completed, user_decision, decision_notes, reviewed_by, triggered_at, reviewed_at)
         SELECT ${uuidExpr('checkpoints', 'n')}, id, cp,
                CASE WHEN n % ${SLOT} >= 2 THEN jsonb_build_array(${uuidExpr('tasks', 'n - 1')}::text, ${uuidExpr('tasks', 'n - 2')}::text) ELSE '[]'::jsonb END,
                CASE cp WHEN 'approved' THEN 'approve' WHEN 'corrected' THEN 'correct' WHEN 'rejected' THEN 'reject' END,
                CASE cp WHEN 'approved' THEN ${m.pick('checkpoint.note.ok', 'n', ['Looks good.', 'Approved, continue.', 'Fine for now.'])}
                        WHEN 'corrected' THEN ${m.pick('checkpoint.note.fix', 'n', ['Needs changes, see correction.', 'Close, but not there yet.'])}
                        WHEN 'rejected' THEN ${m.pick('checkpoint.note.no', 'n', ['Wrong direction, stop here.', 'Output unusable.'])} END,
                CASE WHEN cp <> 'pending_review' THEN user_id END,
                triggered,
                CASE WHEN cp <> 'pending_review' THEN triggered + (end_at - triggered) * (0.1 + 0.5 * ${m.r('checkpoint.review', 'n')}) END
           FROM p ORDER BY n`,
      );
      rows += await exec(
        client,
        `INSERT INTO agentry.corrections (id, checkpoint_id, task_id, correction_type, guidance, reference_files, result, retry_count, apply_to_future,
                                          created_at, resolved_at)
         SELECT ${uuidExpr('corrections', 'n')}, cp.id, cp.task_id, ${m.pick('correction.type', 'n', CORRECTION_TYPES)}, ${m.pick('correction.guidance', 'n', GUIDANCE)},
                CASE WHEN ${m.r('correction.files', 'n')} < 0.6
                     THEN jsonb_build_array(jsonb_build_object('path', 'src/' || ${m.pick('correction.file', 'n', ['billing', 'search', 'auth', 'api', 'ui'])} || '/index.ts',
                                                               'note', 'see the comment at the top'))
                     ELSE '[]'::jsonb END,
                result, ${m.int('correction.retries', 'n', 0, 2)}, ${m.r('correction.learn', 'n')} < 0.3, cp.reviewed_at,
                CASE WHEN result <> 'pending' THEN cp.reviewed_at + (coalesce(t.completed_at, ${m.to}) - cp.reviewed_at) * 0.5 END
           FROM agentry.checkpoints cp
           JOIN agentry.tasks t ON t.id = cp.task_id,
                LATERAL (SELECT ${counterOf('cp.id')} AS n) x,
                LATERAL (SELECT CASE WHEN t.status = 'correcting' THEN 'pending' WHEN ${m.r('correction.result', 'n')} < 0.8 THEN 'applied' ELSE 'failed' END AS result) y
          WHERE ${inCounterRange('cp.id', 'checkpoints', lo, hi)} AND cp.status = 'corrected'
          ORDER BY n`,
      );
      // Corrections with apply_to_future became learning experiences by trigger, with a random id and now().
      await exec(
        client,
        `UPDATE agentry.learning_experiences le SET id = ${uuidExpr('learningExperiences', counterOf('c.id'))}, created_at = c.created_at
           FROM agentry.corrections c
          WHERE le.correction_id = c.id AND ${inCounterRange('c.id', 'corrections', lo, hi)}`,
      );
      const evalR = m.r('evaluation.pick', 'n');
      const score = (stream: string, nullBelow: number) =>
        `CASE WHEN ${m.r(`${stream}.present`, 'n')} >= ${nullBelow} THEN ${m.round(`4 + 6 * ${m.r(stream, 'n')}`, 1)} END`;
      rows += await exec(
        client,
        `INSERT INTO agentry.evaluations (id, task_id, code_quality, completeness, security, architecture, testability, details, evaluated_at)
         SELECT ${uuidExpr('evaluations', 'n')}, t.id, ${score('evaluation.quality', 0.2)}, ${m.round(`3 + 7 * ${m.r('evaluation.completeness', 'n')}`, 1)},
                ${score('evaluation.security', 0.3)}, ${score('evaluation.architecture', 0.5)}, ${score('evaluation.testability', 0.4)},
                jsonb_build_object('evaluator', ${m.pick('evaluation.evaluator', 'n', ['auto-reviewer', 'lint+tests', 'peer-agent'])},
                                   'model', ${m.pick('evaluation.model', 'n', MODELS)}),
                t.completed_at + ${seconds(`5 + 600 * ${m.r('evaluation.at', 'n')}`)}
           FROM agentry.tasks t, LATERAL (SELECT ${counterOf('t.id')} AS n) x
          WHERE ${inCounterRange('t.id', 'tasks', lo, hi)} AND t.status = 'completed'
            AND ${evalR} < CASE WHEN t.type IS NULL OR t.type IN (${CODE_TYPES.map(q).join(', ')}) THEN 0.5 ELSE 0.15 END
          ORDER BY n`,
      );
      return rows;
    },
  };
}

// ---------------------------------------------------------------- trust

function trustPlanSql(m: Model): string {
  const c = m.counts;
  // About trustRecordsPerAgent records per agent: a share of its finished tasks.
  const share = Math.min(1, (c.trustRecordsPerAgent * c.agents) / Math.max(1, c.tasks * 0.9));
  return `
SELECT agent_id, agent_counter, rn,
       CASE WHEN rn % 10 = 0 THEN 'manual_adjustment' WHEN status = 'completed' THEN 'task_completed'
            WHEN status = 'failed' THEN 'task_failed' ELSE 'task_timeout' END AS event_type,
       CASE WHEN rn % 10 = 0 THEN NULL ELSE task_id END AS task_id,
       round((CASE WHEN rn % 10 = 0 THEN 0.1 * (${m.r('trust.manual', 'n')} - 0.4)
                   WHEN status = 'completed' THEN 0.005 + 0.02 * ${m.r('trust.gain', 'n')}
                   WHEN status = 'failed' THEN -(0.01 + 0.03 * ${m.r('trust.loss', 'n')})
                   ELSE -(0.02 + 0.03 * ${m.r('trust.loss', 'n')}) END)::numeric, 4) AS delta,
       CASE WHEN rn % 10 = 0 THEN ${m.pick('trust.reason', 'n', ['quarterly review', 'operator feedback', 'incident follow-up'])}
            ELSE 'task ' || status END AS reason
  FROM (SELECT t.agent_id, substr(t.agent_id, 12)::int AS agent_counter, t.id AS task_id, t.status::text AS status, ${counterOf('t.id')} AS n,
               row_number() OVER (PARTITION BY t.agent_id ORDER BY t.completed_at, t.id) AS rn
          FROM agentry.tasks t
         WHERE ${inCounterRange('t.id', 'tasks', 0, c.tasks)} AND t.agent_id LIKE 'demo-agent-%'
           AND t.status IN ('completed', 'failed', 'timeout') AND ${m.r('trust.pick', counterOf('t.id'))} < ${share}) x`;
}

function trustPhase(): Phase {
  let planned = false;
  return {
    name: 'trust',
    // The ledger's trigger locks the agent rows FOR UPDATE, which conflicts with
    // the FOR KEY SHARE locks of every insert referencing an agent: it runs
    // after all of those, alone on the agents.
    after: ['agent-state', 'metrics', 'review', 'knowledge', 'sessions', 'integration', 'interactions'],
    // Each round holds one record per agent and depends on the scores the previous round left.
    parallel: false,
    async batches({ client, model }) {
      const { rows } = await client.query<{ rounds: number }>(`SELECT coalesce(max(rn), 0)::int AS rounds FROM (${trustPlanSql(model)}) p`);
      return rows[0]?.rounds ?? 0;
    },
    async run({ client, model: m }, i) {
      if (!planned) {
        await client.query(`CREATE TEMP TABLE IF NOT EXISTS demo_trust_plan ON COMMIT PRESERVE ROWS AS ${trustPlanSql(m)}`);
        planned = true;
      }
      // Before and after are filled in by the ledger's trigger; the delta keeps the score within 0..1.
      return exec(
        client,
        `INSERT INTO agentry.trust_records (id, agent_id, event_type, task_id, trust_delta, reason) OVERRIDING SYSTEM VALUE
         SELECT -(p.agent_counter::bigint * 10000 + p.rn), p.agent_id, p.event_type, p.task_id,
                greatest(-a.trust_score, least(1 - a.trust_score, p.delta)), p.reason
           FROM pg_temp.demo_trust_plan p JOIN agentry.agents a ON a.id = p.agent_id
          WHERE p.rn = ${i + 1}
          ORDER BY p.agent_id`,
      );
    },
    afterCommit: ({ client }) => vacuum(client, 'agents'),
  };
}

// ---------------------------------------------------------------- knowledge, sessions

const KNOWLEDGE_VERSIONS = 3;

function knowledgePhase(): Phase {
  return {
    name: 'knowledge',
    after: ['access', 'fleet', 'tasks'],
    // Version v + 1 points at version v, inserted by the batch before.
    parallel: false,
    batches: () => KNOWLEDGE_VERSIONS,
    async run({ client, model: m }, v) {
      const c = m.counts;
      const span = (m.plan.to.getTime() - m.plan.from.getTime()) / 1000;
      const created = `(${m.from} + ${seconds(`${span * 0.8} * ${m.r('knowledge.created', 'k')} + ${v} * 172800`)})`;
      const visibility = m.pick('knowledge.visibility', 'k', ['public', 'public', 'team', 'private']);
      return exec(
        client,
        `INSERT INTO agentry.knowledge_entries (id, type, title, content, summary, tags, categories, source, created_by, created_agent_id, task_id,
                                                confidence_score, version, previous_version_id, visibility, access_list, mobile_synced,
                                                device_fingerprint, created_at, updated_at)
         SELECT ${uuidExpr('knowledgeEntries', `k * 4 + ${v}`)}, ${m.pick('knowledge.type', 'k', ['code_snippet', 'adr', 'documentation', 'pattern', 'task_template'])},
                ${m.pick('knowledge.topic', 'k', KNOWLEDGE_TOPICS)} || ' #' || (k + 1),
                'Revision ${v + 1}. ' || ${m.pick('knowledge.body', 'k', GUIDANCE)},
                CASE WHEN ${m.r('knowledge.summary', 'k')} < 0.7 THEN 'Short summary of revision ${v + 1}.' END,
                ARRAY[${m.pick('knowledge.tag1', 'k', TAGS)}, ${m.pick('knowledge.tag2', 'k', TAGS)}],
                ARRAY[${m.pick('knowledge.category', 'k', ['engineering', 'operations', 'product', 'research'])}],
                ${m.pick('knowledge.source', 'k', ['agent', 'agent', 'human', 'import'])},
                ${m.userId(m.someUser('knowledge.author', 'k'))},
                CASE WHEN ${m.r('knowledge.agent', 'k')} < 0.7 THEN ${m.agentId(m.someAgent('knowledge.agent.pick', 'k'))} END,
                CASE WHEN ${m.r('knowledge.task', 'k')} < 0.5 THEN ${uuidExpr('tasks', `floor(${m.r('knowledge.task.pick', 'k')} * ${c.tasks})::bigint`)} END,
                ${m.round(`0.5 + 0.5 * ${m.r(`knowledge.confidence.${v}`, 'k')}`)}, ${v + 1},
                ${v === 0 ? 'NULL' : uuidExpr('knowledgeEntries', `k * 4 + ${v - 1}`)},
                ${visibility},
                CASE WHEN ${visibility} = 'public' THEN '{}'::uuid[] ELSE ARRAY[${m.userId(m.someUser('knowledge.reader', 'k'))}] END,
                ${m.r('knowledge.mobile', 'k')} < 0.1,
                CASE WHEN ${m.r('knowledge.mobile', 'k')} < 0.1 THEN substr(${m.rng.hex('knowledge.device', 'k')}, 1, 32) END,
                ${created}, ${created}
           FROM generate_series(0, ${c.knowledgeChains - 1}) k
          WHERE ${v} < 1 + floor(${m.r('knowledge.versions', 'k')} * ${KNOWLEDGE_VERSIONS})::int
          ORDER BY k`,
      );
    },
  };
}

function sessionsPhase(): Phase {
  return {
    name: 'sessions',
    after: ['fleet'],
    parallel: false,
    batches: () => 1,
    async run({ client, model: m }) {
      const c = m.counts;
      const span = (m.plan.to.getTime() - m.plan.from.getTime()) / 1000;
      let rows = await exec(
        client,
        `INSERT INTO agentry.agent_sessions (id, agent_id, status, context_snapshot, mobile_session_id, device_info, started_at, last_activity_at,
                                             ended_at, task_count, success_rate, metadata)
         SELECT ${uuidExpr('agentSessions', 's')}, ${m.agentId('s / 5')}, status,
                jsonb_build_object('focus', ${m.pick('session.focus', 's', SUBJECTS)}, 'open_tasks', ${m.int('session.open', 's', 0, 9)}),
                CASE WHEN mobile THEN 'ms-' || s END,
                CASE WHEN mobile THEN jsonb_build_object('device', ${m.pick('session.device', 's', ['pixel-8', 'iphone-15', 'galaxy-s24'])}) ELSE '{}'::jsonb END,
                started, coalesce(ended, started + ${seconds(`600 * ${m.r('session.idle', 's')}`)}), ended,
                ${m.int('session.tasks', 's', 0, 40)}, ${m.round(`0.6 + 0.4 * ${m.r('session.success', 's')}`, 4)},
                jsonb_build_object('client', 'agentry-runtime')
           FROM generate_series(0, ${c.agentSessions - 1}) s,
                LATERAL (SELECT (s / 5) % 10 = ${MOBILE_AGENT_TYPE} AS mobile,
                                CASE WHEN s % 5 = 4 THEN ${m.pick('session.live', 's', ['active', 'active', 'paused'])}
                                     WHEN ${m.r('session.failed', 's')} < 0.15 THEN 'failed' ELSE 'completed' END AS status,
                                CASE WHEN s % 5 = 4 THEN ${m.to} - ${seconds(`21600 * ${m.r('session.start', 's')}`)}
                                     ELSE ${m.from} + ${seconds(`${span * 0.95 / 4} * (s % 5 + ${m.r('session.start', 's')})`)} END AS started) l1,
                LATERAL (SELECT CASE WHEN status IN ('completed', 'failed') THEN started + ${seconds(`3600 * (1 + 8 * ${m.r('session.length', 's')})`)} END AS ended) l2`,
      );
      rows += await exec(
        client,
        `INSERT INTO agentry.context_vectors (id, agent_session_id, vector_data, context_type, confidence_score, created_at)
         SELECT ${uuidExpr('contextVectors', 's')}, ${uuidExpr('agentSessions', 's')},
                ARRAY(SELECT round((2 * ${m.r('vector.value', 's * 8 + d')} - 1)::numeric, 4)::real FROM generate_series(0, 7) d ORDER BY d),
                ${m.pick('vector.type', 's', ['semantic', 'collaborative', 'task'])}, ${m.round(`0.5 + 0.5 * ${m.r('vector.confidence', 's')}`)},
                ${m.from} + ${seconds(`${span * 0.95 / 4} * (s % 5 + ${m.r('session.start', 's')})`)}
           FROM generate_series(0, ${c.agentSessions - 1}) s`,
      );
      return rows;
    },
  };
}

// ---------------------------------------------------------------- integration

function integrationPhase(): Phase {
  return {
    name: 'integration',
    after: ['access', 'fleet'],
    parallel: false,
    batches: () => 1,
    async run({ client, model: m }) {
      const c = m.counts;
      let rows = await exec(
        client,
        `INSERT INTO agentry.webhooks (id, agent_id, client_id, url, events, signing_secret_encrypted, description, active, max_attempts,
                                       consecutive_failures, last_success_at, last_failure_at, created_at, updated_at)
         SELECT ${uuidExpr('webhooks', 'w')},
                CASE WHEN w % 2 = 0 THEN ${m.agentId(m.someAgent('webhook.agent', 'w'))} END,
                CASE WHEN w % 2 = 1 THEN ${m.clientId(m.someUser('webhook.client', 'w'))} END,
                'https://hooks.example.com/demo/' || w,
                (CASE floor(${m.r('webhook.events', 'w')} * 3)::int WHEN 0 THEN '{task.completed,task.failed}' WHEN 1 THEN '{checkpoint.created}'
                      ELSE '{task.*,workflow.completed}' END)::text[],
                ${m.rng.sha('webhook.secret.a', 'w')} || ${m.rng.sha('webhook.secret.b', 'w')},
                'Demo webhook ' || w, ${m.r('webhook.active', 'w')} < 0.9, (ARRAY[5, 8, 10])[1 + floor(${m.r('webhook.attempts', 'w')} * 3)::int],
                ${m.int('webhook.failures', 'w', 0, 3)}, ${m.to} - ${seconds(`3600 * ${m.r('webhook.ok', 'w')}`)},
                CASE WHEN ${m.r('webhook.failed', 'w')} < 0.5 THEN ${m.to} - ${seconds(`86400 * ${m.r('webhook.failed.at', 'w')}`)} END,
                ${m.from} - interval '1 day', ${m.from} - interval '1 day'
           FROM generate_series(0, ${c.webhooks - 1}) w`,
      );
      const status = m.r('delivery.status', 'x');
      rows += await exec(
        client,
        `INSERT INTO agentry.webhook_deliveries (id, webhook_id, event_type, payload, idempotency_key, status, attempt_count, next_attempt_at,
                                                 last_attempt_at, response_status, last_error, delivered_at, created_at) OVERRIDING SYSTEM VALUE
         SELECT -(x + 1), ${uuidExpr('webhooks', 'x / 50')}, et,
                jsonb_build_object('event', et, 'task_id', ${uuidExpr('tasks', `floor(${m.r('delivery.task', 'x')} * ${c.tasks})::bigint`)}::text),
                ${uuidExpr('deliveryKeys', 'x')}, st,
                CASE st WHEN 'pending' THEN 0 WHEN 'abandoned' THEN 8 WHEN 'delivered' THEN ${m.int('delivery.tries', 'x', 1, 2)} ELSE ${m.int('delivery.tries', 'x', 1, 7)} END,
                CASE st WHEN 'pending' THEN created + interval '5 seconds' WHEN 'in_flight' THEN created + interval '2 minutes'
                        WHEN 'failed' THEN created + interval '10 minutes' ELSE created END,
                CASE WHEN st <> 'pending' THEN created + interval '1 second' END,
                CASE st WHEN 'delivered' THEN 200 WHEN 'failed' THEN (ARRAY[500, 502, 503])[1 + floor(${m.r('delivery.code', 'x')} * 3)::int]
                        WHEN 'abandoned' THEN 410 END,
                CASE WHEN st IN ('failed', 'abandoned') THEN ${m.pick('delivery.error', 'x', ['connection refused', 'HTTP 503 from receiver', 'TLS handshake timeout'])} END,
                CASE WHEN st = 'delivered' THEN created + interval '1 second' END,
                created
           FROM generate_series(0, ${c.webhookDeliveries - 1}) x,
                LATERAL (SELECT ${m.pick('delivery.event', 'x', WEBHOOK_EVENTS.filter((e) => !e.includes('*')))} AS et,
                                CASE WHEN ${status} < 0.8 THEN 'delivered' WHEN ${status} < 0.88 THEN 'failed' WHEN ${status} < 0.94 THEN 'pending'
                                     WHEN ${status} < 0.96 THEN 'in_flight' ELSE 'abandoned' END AS st,
                                ${m.inWindow(m.r('delivery.created', 'x'))} AS created) l`,
      );
      return rows;
    },
  };
}

function interactionsPhase(): Phase {
  return {
    name: 'interactions',
    after: ['tasks'],
    parallel: false,
    batches: () => 1,
    async run({ client, model: m }) {
      return exec(
        client,
        `INSERT INTO agentry.agent_interactions (id, workflow_id, from_agent_id, to_agent_id, interaction_type, message, payload, created_at)
         SELECT ${uuidExpr('agentInteractions', 'k')}, ${uuidExpr('workflows', 'k')}, t0.agent_id, t1.agent_id,
                ${m.pick('interaction.type', 'k', ['handoff', 'collaboration', 'review', 'feedback'])},
                ${m.pick('interaction.message', 'k', ['Passing the plan on.', 'Can you check this output?', 'Found an issue in step 1.', 'Done on my side.'])},
                jsonb_build_object('step', 1), t1.created_at
           FROM generate_series(0, ${m.counts.workflows - 1}) k
           JOIN LATERAL (SELECT agent_id FROM agentry.tasks WHERE id = ${uuidExpr('tasks', `k * ${SLOT}`)}) t0 ON true
           JOIN LATERAL (SELECT agent_id, workflow_id, created_at FROM agentry.tasks WHERE id = ${uuidExpr('tasks', `k * ${SLOT} + 1`)}) t1 ON true
          WHERE ${m.r('interaction.pick', 'k')} < 0.6 AND t1.workflow_id IS NOT NULL
            AND t0.agent_id IS NOT NULL AND t1.agent_id IS NOT NULL AND t0.agent_id <> t1.agent_id
          ORDER BY k`,
      );
    },
  };
}

// ---------------------------------------------------------------- telemetry

const METRIC_TYPES = agentMetricsSchema.shape.metric_type.options;

function metricsPhase(): Phase {
  return {
    name: 'metrics',
    after: ['fleet'],
    parallel: true,
    batches: ({ model }) => chunks(model.counts.agentMetrics, sizes(model.plan).metrics),
    async run({ client, model: m }, i) {
      const c = m.counts;
      const [lo, hi] = span(i, sizes(m.plan).metrics, c.agentMetrics);
      const step = (m.plan.to.getTime() - m.plan.from.getTime()) / 1000 / c.agentMetrics;
      const v = m.r('metric.value', 'n');
      // Consecutive counters are consecutive times: each batch fills one or two monthly partitions.
      return exec(
        client,
        `INSERT INTO agentry.agent_metrics (id, agent_id, metric_type, metric_value, metric_unit, context, recorded_at) OVERRIDING SYSTEM VALUE
         SELECT -(n + 1), ${m.agentId(m.someAgent('metric.agent', 'n'))}, mt,
                CASE mt WHEN 'latency' THEN 50 + 4000 * ${v} * ${v} WHEN 'tokens' THEN floor(100 + 8000 * ${v})
                        WHEN 'cost' THEN round((0.5 * ${v})::numeric, 6)::float8 WHEN 'success_rate' THEN 80 + 20 * ${v} ELSE 8 * ${v} END,
                CASE mt WHEN 'latency' THEN 'ms' WHEN 'tokens' THEN 'tokens' WHEN 'cost' THEN 'usd' ELSE 'percent' END,
                (CASE floor(${m.r('metric.context', 'n')} * 3)::int WHEN 0 THEN '{"window": "1m"}' WHEN 1 THEN '{"window": "5m"}' ELSE '{}' END)::jsonb,
                ${m.from} + ${seconds(`(n + ${m.r('metric.jitter', 'n')}) * ${step}`)}
           FROM (SELECT n, (${textArray(METRIC_TYPES)})[1 + floor(${m.r('metric.type', 'n')} * ${METRIC_TYPES.length})::int] AS mt
                   FROM generate_series(${lo}::bigint, ${hi - 1}::bigint) n) s
          -- In the order of both indexes (they lead with agent_id): about half the time of random order.
          ORDER BY 2, 7`,
      );
    },
  };
}

function activityPhase(): Phase {
  return {
    name: 'activity',
    after: ['access', 'fleet', 'containers'],
    follows: { phase: 'tasks', ratio: 4 },
    parallel: true,
    batches: ({ model }) => chunks(model.counts.tasks, sizes(model.plan).activity),
    async run({ client, model: m }, i) {
      const [lo, hi] = span(i, sizes(m.plan).activity, m.counts.tasks);
      // Two lines per task: when it was created, and the last thing that happened to it.
      return exec(
        client,
        `INSERT INTO agentry.activity_logs (id, task_id, worker_id, level, message, metadata, created_at) OVERRIDING SYSTEM VALUE
         SELECT -(${counterOf('t.id')} * 2 + e + 1), t.id, t.worker_id,
                CASE WHEN e = 0 THEN 'info' WHEN t.status = 'failed' THEN 'error'
                     WHEN t.status IN ('timeout', 'cancelled', 'retrying') THEN 'warning' ELSE 'info' END,
                CASE WHEN e = 0 THEN 'Task created: ' || coalesce(t.type, t.assigned_agent_type)
                     ELSE CASE t.status::text
                            WHEN 'completed' THEN 'Task completed in ' || round(t.execution_time) || ' s'
                            WHEN 'failed' THEN 'Task failed: ' || t.error_message
                            WHEN 'timeout' THEN 'Task timed out after ' || t.timeout_seconds || ' s'
                            WHEN 'cancelled' THEN 'Task cancelled: ' || t.cancellation_reason
                            WHEN 'retrying' THEN 'Retry ' || t.retry_count || ' of ' || t.max_retries || ' scheduled'
                            WHEN 'assigned' THEN 'Task assigned to ' || t.agent_id
                            WHEN 'pending' THEN 'Task waiting for its dependencies'
                            ELSE 'Task ' || t.status || ' on ' || coalesce(t.agent_id, 'the queue') END END,
                CASE WHEN e = 1 THEN jsonb_build_object('status', t.status, 'agent_id', t.agent_id) END,
                CASE WHEN e = 0 THEN t.created_at
                     ELSE coalesce(t.completed_at, t.started_at, t.assigned_at, t.created_at + interval '1 second') END
           FROM agentry.tasks t CROSS JOIN (VALUES (0), (1)) v(e)
          WHERE ${inCounterRange('t.id', 'tasks', lo, hi)}
          ORDER BY t.id, e`,
      );
    },
  };
}

function auditPhase(): Phase {
  return {
    name: 'audit',
    after: ['access'],
    parallel: true,
    batches: ({ model }) => chunks(model.counts.auditLogs, sizes(model.plan).audit),
    async run({ client, model: m }, i) {
      const c = m.counts;
      const [lo, hi] = span(i, sizes(m.plan).audit, c.auditLogs);
      const step = (m.plan.to.getTime() - m.plan.from.getTime()) / 1000 / c.auditLogs;
      const kind = m.r('audit.kind', 'n');
      return exec(
        client,
        `INSERT INTO agentry.audit_logs (id, event_type, client_id, api_key_id, user_id, action, resource_type, resource_id, ip_address, user_agent,
                                         success, error_message, metadata, created_at) OVERRIDING SYSTEM VALUE
         SELECT -(n + 1), et, ${m.clientId('u')}, CASE WHEN et <> 'authentication' THEN ${uuidExpr('apiKeys', 'u')} END,
                CASE WHEN et IN ('authentication', 'api_key_created', 'api_key_revoked') THEN ${m.userId('u')} END,
                CASE et WHEN 'authentication' THEN ${m.pick('audit.auth', 'n', ['login', 'login', 'token_refresh', 'logout'])}
                        WHEN 'task_created' THEN 'POST /v1/tasks' WHEN 'rate_limit_exceeded' THEN 'POST /v1/tasks'
                        WHEN 'api_key_created' THEN 'POST /v1/api-keys' WHEN 'api_key_revoked' THEN 'DELETE /v1/api-keys'
                        ELSE 'POST /v1/agents' END,
                CASE et WHEN 'task_created' THEN 'task' WHEN 'agent_registered' THEN 'agent' WHEN 'authentication' THEN NULL ELSE 'api_key' END,
                CASE et WHEN 'task_created' THEN ${uuidExpr('tasks', `floor(${m.r('audit.task', 'n')} * ${c.tasks})::bigint`)}::text
                        WHEN 'agent_registered' THEN ${m.agentId(m.someAgent('audit.agent', 'n'))}
                        WHEN 'authentication' THEN NULL ELSE ${uuidExpr('apiKeys', 'u')}::text END,
                ${m.ip('audit.ip', 'n')}, ${m.pick('audit.ua', 'n', USER_AGENTS)}, ok,
                CASE WHEN NOT ok THEN CASE et WHEN 'rate_limit_exceeded' THEN 'rate limit of the key exceeded' ELSE 'invalid credentials' END END,
                jsonb_build_object('agentry_demo', true, 'request_id', ${uuidExpr('deliveryKeys', `${c.webhookDeliveries} + n`)}),
                ${m.from} + ${seconds(`(n + ${m.r('audit.jitter', 'n')}) * ${step}`)}
           FROM generate_series(${lo}::bigint, ${hi - 1}::bigint) n,
                LATERAL (SELECT ${m.someUser('audit.user', 'n')} AS u,
                                CASE WHEN ${kind} < 0.55 THEN 'authentication' WHEN ${kind} < 0.85 THEN 'task_created'
                                     WHEN ${kind} < 0.9 THEN 'rate_limit_exceeded' WHEN ${kind} < 0.94 THEN 'api_key_created'
                                     WHEN ${kind} < 0.96 THEN 'api_key_revoked' ELSE 'agent_registered' END AS et) l1,
                LATERAL (SELECT et <> 'rate_limit_exceeded' AND ${m.r('audit.ok', 'n')} < 0.95 AS ok) l2
         ON CONFLICT DO NOTHING`,
      );
    },
  };
}

// ---------------------------------------------------------------- statistics

function analyzePhase(tables: readonly string[]): Phase {
  return {
    name: 'analyze',
    after: [
      'access', 'fleet', 'containers', 'tasks', 'agent-state', 'dependencies', 'trust', 'review', 'activity', 'interactions',
      'knowledge', 'metrics', 'audit', 'sessions', 'integration',
    ],
    parallel: true,
    batches: () => tables.length,
    async run({ client }, i) {
      // Planner statistics for the freshly filled tables (autovacuum may be off or far behind).
      await client.query(`ANALYZE agentry.${tables[i]}`);
      return 0;
    },
  };
}

// ---------------------------------------------------------------- all

/** Every phase, in the order a free connection prefers them (the long chain through tasks first). */
export function demoPhases(analyzeTables: readonly string[] = []): Phase[] {
  return [
    accessPhase(),
    fleetPhase(),
    containersPhase(),
    tasksPhase(),
    agentStatePhase(),
    dependenciesPhase(),
    trustPhase(),
    reviewPhase(),
    activityPhase(),
    interactionsPhase(),
    knowledgePhase(),
    metricsPhase(),
    auditPhase(),
    sessionsPhase(),
    integrationPhase(),
    ...(analyzeTables.length > 0 ? [analyzePhase(analyzeTables)] : []),
  ];
}

export { sizes as batchSizes };
