import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { AgentsId, WorkersId } from '../../generated/index.js';
import { createAgentry, type AgentryClient } from '../../src/dal/client.js';
import { ConstraintViolation, NotFound, ValidationError } from '../../src/dal/errors.js';
import { useTestDatabase } from '../helpers/db.js';

const db = useTestDatabase();
// The DAL runs as the application role: every statement is checked against its grants too. Fixtures use db.pool (superuser).
const AS_APP = '-c role=agentry_app';
let agentry: AgentryClient;

const MISSING_WORKER = '00000000-0000-4000-8000-000000000000' as WorkersId;

beforeAll(() => {
  agentry = createAgentry({ connectionString: db.url, options: AS_APP, max: 4 });
});

afterAll(async () => {
  await agentry?.close();
});

/** An id (and name) no other test uses. */
const unique = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

const systemInfo = { os: 'linux', cpu: 'EPYC', memory_total_gb: 64, disk_total_gb: 512 };

async function newAgent(fields: Partial<Parameters<AgentryClient['fleet']['registerAgent']>[0]> = {}) {
  const id = unique('agent');
  return agentry.fleet.registerAgent({ id, name: id, ...fields });
}

/** Moves trust only the way the schema allows: a trust_records row. */
async function addTrust(agentId: string, delta: string): Promise<void> {
  await db.pool.query(`INSERT INTO agentry.trust_records (agent_id, event_type, trust_delta) VALUES ($1, 'manual_adjustment', $2)`, [agentId, delta]);
}

describe('workers', () => {
  it('registers a machine online with a heartbeat; registering it again keeps its id and refreshes it', async () => {
    const machineId = unique('host');
    const worker = await agentry.fleet.registerWorker({ machineId, machineName: 'Host', systemInfo, tools: ['ollama'] });
    expect(worker).toMatchObject({ machine_id: machineId, machine_name: 'Host', status: 'online', tools: ['ollama'], system_info: systemInfo });
    expect(worker.last_heartbeat).toBeInstanceOf(Date);
    const again = await agentry.fleet.registerWorker({ machineId, machineName: 'Host 2', systemInfo: { os: 'darwin' }, tools: [], status: 'busy' });
    expect(again).toMatchObject({ id: worker.id, machine_name: 'Host 2', system_info: { os: 'darwin' }, tools: [], status: 'busy' });
  });

  it('refuses bad shapes before SQL and lets PostgreSQL refuse an overlong machine id', async () => {
    const base = { machineId: unique('host'), machineName: 'Host', systemInfo, tools: [] };
    await expect(agentry.fleet.registerWorker({ ...base, tools: [1 as unknown as string] })).rejects.toThrow(ValidationError);
    await expect(agentry.fleet.registerWorker({ ...base, status: 'asleep' as 'online' })).rejects.toThrow(ValidationError);
    await expect(agentry.fleet.registerWorker({ ...base, machineId: 'x'.repeat(101) })).rejects.toThrow(ValidationError);
  });

  it('heartbeat stores the gauges (numeric strings), keeps the ones not sent, and brings an offline worker online', async () => {
    const worker = await agentry.fleet.registerWorker({ machineId: unique('host'), machineName: 'H', systemInfo, tools: [], status: 'offline' });
    const first = await agentry.fleet.heartbeat(worker.id, { cpuPercent: '42.5', memoryPercent: '61.25', diskPercent: '10' });
    expect(first).toMatchObject({ status: 'online', cpu_percent: '42.50', memory_percent: '61.25', disk_percent: '10.00' });
    expect(first.last_heartbeat!.getTime()).toBeGreaterThanOrEqual(worker.last_heartbeat!.getTime());
    await agentry.fleet.setWorkerStatus(worker.id, 'busy');
    const second = await agentry.fleet.heartbeat(worker.id, { cpuPercent: '90' });
    expect(second).toMatchObject({ status: 'busy', cpu_percent: '90.00', memory_percent: '61.25', disk_percent: '10.00' });
  });

  it('heartbeat: a gauge above 100 is the range CHECK, a non-number a ValidationError, an unknown worker NotFound', async () => {
    const worker = await agentry.fleet.registerWorker({ machineId: unique('host'), machineName: 'H', systemInfo, tools: [] });
    const error = await rejection(agentry.fleet.heartbeat(worker.id, { cpuPercent: '120' }));
    expect(error).toBeInstanceOf(ConstraintViolation);
    expect(error).toMatchObject({ kind: 'check', constraint: 'chk_workers_cpu_percent_range' });
    await expect(agentry.fleet.heartbeat(worker.id, { diskPercent: 'full' })).rejects.toThrow(ValidationError);
    await expect(agentry.fleet.heartbeat(MISSING_WORKER)).rejects.toThrow(NotFound);
    await expect(agentry.fleet.heartbeat('nope' as WorkersId)).rejects.toThrow(ValidationError);
  });

  it('setWorkerStatus: sets it; unknown worker NotFound; unknown status ValidationError', async () => {
    const worker = await agentry.fleet.registerWorker({ machineId: unique('host'), machineName: 'H', systemInfo, tools: [] });
    expect(await agentry.fleet.setWorkerStatus(worker.id, 'offline')).toMatchObject({ id: worker.id, status: 'offline' });
    await expect(agentry.fleet.setWorkerStatus(MISSING_WORKER, 'online')).rejects.toThrow(NotFound);
    await expect(agentry.fleet.setWorkerStatus(worker.id, 'gone' as 'online')).rejects.toThrow(ValidationError);
  });
});

describe('registerAgent / getAgent', () => {
  it('registers with the table defaults for what is left out', async () => {
    const agent = await newAgent();
    expect(agent).toMatchObject({
      status: 'offline',
      capabilities: [],
      specialties: [],
      configuration: {},
      trust_score: '0.5000',
      total_tokens_used: '0',
      mobile_capable: false,
      endpoint: null,
      last_heartbeat: null,
    });
    expect(await agentry.fleet.getAgent(agent.id)).toEqual(agent);
  });

  it('registers a networked agent with its whole identity and every field', async () => {
    const worker = await agentry.fleet.registerWorker({ machineId: unique('host'), machineName: 'H', systemInfo, tools: [] });
    const agent = await newAgent({
      type: 'CodeAgent',
      role: 'reviewer',
      model: 'claude',
      status: 'online',
      workerId: worker.id,
      specialties: ['ts'],
      capabilities: ['code:v1'],
      configuration: { temperature: 0.2 },
      metadata: { team: 'platform' },
      endpoint: 'https://agents.example.com/a',
      publicKey: 'ed25519:AAAA',
      signature: 'sig',
      mobileCapable: true,
      ipAddress: '10.0.4.17',
      hostName: 'agents-1',
    });
    expect(agent).toMatchObject({
      type: 'CodeAgent',
      status: 'online',
      worker_id: worker.id,
      specialties: ['ts'],
      capabilities: ['code:v1'],
      configuration: { temperature: 0.2 },
      endpoint: 'https://agents.example.com/a',
      public_key: 'ed25519:AAAA',
      signature: 'sig',
      mobile_capable: true,
      ip_address: '10.0.4.17',
    });
    expect(agent.last_heartbeat).toBeInstanceOf(Date);
  });

  it('lets the database refuse: taken id and name, id format, a partial network identity, a non-http endpoint, unknown type', async () => {
    const agent = await newAgent();
    await expect(agentry.fleet.registerAgent({ id: agent.id, name: unique('n') })).rejects.toMatchObject({ kind: 'primary_key', constraint: 'pk_agents' });
    await expect(agentry.fleet.registerAgent({ id: unique('a'), name: agent.name })).rejects.toMatchObject({ kind: 'unique', constraint: 'uq_agents_name' });
    await expect(agentry.fleet.registerAgent({ id: 'no spaces!', name: unique('n') })).rejects.toMatchObject({ kind: 'check', constraint: 'chk_agents_id_format' });
    await expect(newAgent({ endpoint: 'https://agents.example.com/x' })).rejects.toMatchObject({ constraint: 'chk_agents_network_identity_complete' });
    await expect(newAgent({ endpoint: 'ftp://x', publicKey: 'k', signature: 's' })).rejects.toMatchObject({ constraint: 'chk_agents_endpoint_url' });
    await expect(newAgent({ type: 'WizardAgent' as 'CodeAgent' })).rejects.toMatchObject({ kind: 'foreign_key', constraint: 'fk_agents_type' });
  });

  it('refuses bad shapes (ValidationError) and reports an unknown agent as NotFound', async () => {
    await expect(agentry.fleet.registerAgent({ id: unique('a') } as never)).rejects.toThrow(ValidationError);
    await expect(newAgent({ capabilities: [{ tag: 'x' }] as unknown as string[] })).rejects.toThrow(ValidationError);
    await expect(newAgent({ ipAddress: 'not-an-ip' })).rejects.toThrow(ValidationError);
    await expect(agentry.fleet.getAgent('missing-agent' as AgentsId)).rejects.toThrow(NotFound);
  });
});

describe('updateAgentStatus / addCapability', () => {
  it('retiring stamps deactivated_at, coming back clears it', async () => {
    const agent = await newAgent();
    const retired = await agentry.fleet.updateAgentStatus(agent.id, 'retired');
    expect(retired.status).toBe('retired');
    expect(retired.deactivated_at).toBeInstanceOf(Date);
    const back = await agentry.fleet.updateAgentStatus(agent.id, 'online');
    expect(back).toMatchObject({ status: 'online', deactivated_at: null });
    expect(back.last_heartbeat).toBeInstanceOf(Date);
    await expect(agentry.fleet.updateAgentStatus('missing-agent' as AgentsId, 'online')).rejects.toThrow(NotFound);
    await expect(agentry.fleet.updateAgentStatus(agent.id, 'sleeping' as 'online')).rejects.toThrow(ValidationError);
  });

  it('adds a capability tag once', async () => {
    const agent = await newAgent({ capabilities: ['a:v1'] });
    expect((await agentry.fleet.addCapability(agent.id, 'b:v1')).capabilities).toEqual(['a:v1', 'b:v1']);
    expect((await agentry.fleet.addCapability(agent.id, 'b:v1')).capabilities).toEqual(['a:v1', 'b:v1']);
    await expect(agentry.fleet.addCapability('missing-agent' as AgentsId, 'x')).rejects.toThrow(NotFound);
    await expect(agentry.fleet.addCapability(agent.id, 7 as unknown as string)).rejects.toThrow(ValidationError);
  });
});

describe('listAgents', () => {
  it('filters by status and by capability containment (one tag or all of several), by name, with a limit', async () => {
    const tag = unique('cap');
    const other = unique('cap');
    const a = await newAgent({ name: `${tag}-a`, capabilities: [tag, other], status: 'online' });
    const b = await newAgent({ name: `${tag}-b`, capabilities: [tag], status: 'busy' });
    await newAgent({ name: `${tag}-c`, capabilities: [other] });

    expect((await agentry.fleet.listAgents({ capability: tag })).map((x) => x.id)).toEqual([a.id, b.id]);
    expect((await agentry.fleet.listAgents({ capability: [tag, other] })).map((x) => x.id)).toEqual([a.id]);
    expect((await agentry.fleet.listAgents({ capability: tag, status: 'busy' })).map((x) => x.id)).toEqual([b.id]);
    expect(await agentry.fleet.listAgents({ capability: tag, limit: 1 })).toHaveLength(1);
    const busy = await agentry.fleet.listAgents({ status: 'busy' });
    expect(busy.every((x) => x.status === 'busy')).toBe(true);
    expect(busy.map((x) => x.id)).toContain(b.id);
    expect((await agentry.fleet.listAgents()).length).toBeGreaterThanOrEqual(3);
    await expect(agentry.fleet.listAgents({ status: 'idle' as 'online' })).rejects.toThrow(ValidationError);
    await expect(agentry.fleet.listAgents({ limit: 0 })).rejects.toThrow(ValidationError);
  });
});

describe('findAgentsForTaskType', () => {
  it('routes through task_types.agent_type, online by default, most trusted first', async () => {
    // translation routes to NLPAgent; only this test registers NLPAgents.
    const low = await newAgent({ type: 'NLPAgent', status: 'online' });
    const high = await newAgent({ type: 'NLPAgent', status: 'online' });
    const busy = await newAgent({ type: 'NLPAgent', status: 'busy' });
    await newAgent({ type: 'CodeAgent', status: 'online' });
    await addTrust(high.id, '0.3');
    await addTrust(low.id, '-0.2');
    await addTrust(busy.id, '0.4');

    const online = await agentry.fleet.findAgentsForTaskType('translation');
    expect(online.map((x) => [x.id, x.trust_score])).toEqual([
      [high.id, '0.8000'],
      [low.id, '0.3000'],
    ]);
    const any = await agentry.fleet.findAgentsForTaskType('text_analysis', { statuses: ['online', 'busy'], limit: 2 });
    expect(any.map((x) => x.id)).toEqual([busy.id, high.id]);
  });

  it('gives [] for a known type no agent serves and NotFound for an unknown type', async () => {
    expect(await agentry.fleet.findAgentsForTaskType('research')).toEqual([]);
    const error = await rejection(agentry.fleet.findAgentsForTaskType('astrology' as 'research'));
    expect(error).toBeInstanceOf(NotFound);
    expect(error).toMatchObject({ entity: 'task type', id: 'astrology' });
    await expect(agentry.fleet.findAgentsForTaskType('research', { statuses: [] })).rejects.toThrow(ValidationError);
  });
});
