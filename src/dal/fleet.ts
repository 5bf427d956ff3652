import { z } from 'zod';

import {
  agentsInitializerSchema,
  agentsSchema,
  taskTypesSchema,
  workersInitializerSchema,
  workersSchema,
  type Agents,
  type AgentsId,
  type TaskTypes,
  type Workers,
  type WorkersId,
} from '../../generated/index.js';
import { NotFound, parseInput } from './errors.js';
import type { Executor } from './executor.js';
import { jsonTextOrNull as json } from './values.js';

/**
 * The fleet context: worker machines (registration, heartbeats with their
 * gauges, status) and the agents they host (registration under a text id,
 * status, capability tags, routing by task type).
 *
 * The database holds the rules (status vocabularies, the text id format, an
 * agent's network identity - endpoint, public_key and signature - given all
 * together or not at all, https/http endpoints, gauges within 0..100, trust
 * moving only through trust_records); this module validates shapes and lets
 * the mapped errors through. numeric values (gauges, trust_score) travel as
 * strings, like every numeric.
 */

const workerShape = workersSchema.shape;
const agentShape = agentsInitializerSchema.shape;
const agentIdSchema = agentsSchema.shape.id;
const agentStatusSchema = agentsSchema.shape.status;
const limitSchema = z.number().int().min(1).max(1000);

const registerWorkerSchema = z.object({
  machineId: workerShape.machine_id,
  machineName: workerShape.machine_name,
  systemInfo: workerShape.system_info,
  tools: workerShape.tools,
  // Registering is a machine announcing itself: online unless it says otherwise.
  status: workerShape.status.default('online'),
});

const gaugesSchema = z.object({
  cpuPercent: workersInitializerSchema.shape.cpu_percent,
  memoryPercent: workersInitializerSchema.shape.memory_percent,
  diskPercent: workersInitializerSchema.shape.disk_percent,
});

const registerAgentSchema = z.object({
  id: agentShape.id,
  name: agentShape.name,
  type: agentShape.type,
  role: agentShape.role,
  model: agentShape.model,
  status: agentShape.status,
  workerId: agentShape.worker_id,
  specialties: agentShape.specialties,
  capabilities: agentShape.capabilities,
  configuration: agentShape.configuration,
  metadata: agentShape.metadata,
  backstory: agentShape.backstory,
  personalityEmoji: agentShape.personality_emoji,
  /** Network identity (seed 002): endpoint, publicKey and signature together, or none of them. */
  publicKey: agentShape.public_key,
  endpoint: agentShape.endpoint,
  signature: agentShape.signature,
  mobileCapable: agentShape.mobile_capable,
  deviceAffinity: agentShape.device_affinity,
  locationEnabled: agentShape.location_enabled,
  batteryAware: agentShape.battery_aware,
  ipAddress: agentShape.ip_address,
  hostName: agentShape.host_name,
});

const listAgentsSchema = z.object({
  status: agentStatusSchema.optional(),
  capability: z.union([agentShape.capabilities.unwrap().element, agentShape.capabilities.unwrap()]).optional(),
  limit: limitSchema.default(100),
});

const findAgentsSchema = z.object({
  taskType: taskTypesSchema.shape.name,
  statuses: z.array(agentStatusSchema).min(1).default(['online']),
  limit: limitSchema.default(20),
});

export type RegisterWorkerInput = z.input<typeof registerWorkerSchema>;
/** Gauges in percent as numeric strings ('42.5'); one left out (or null) keeps its last value. */
export type WorkerGauges = z.input<typeof gaugesSchema>;
export type RegisterAgentInput = z.input<typeof registerAgentSchema>;
export interface ListAgentsFilter {
  status?: Agents['status'];
  /** A capability tag, or several that an agent must all have. */
  capability?: string | string[];
  /** 1..1000, default 100. */
  limit?: number;
}
export interface FindAgentsOptions {
  /** Statuses an agent may be in to be offered. Default ['online']. */
  statuses?: Agents['status'][];
  /** 1..1000, default 20. */
  limit?: number;
}

// jsonb parameters go as JSON text (json: values.ts's jsonTextOrNull): node-postgres would send a JS array as a PostgreSQL array literal.

export const fleetModule = (db: Executor) => {
  return {
    /**
     * Registers a worker machine (status online unless given), or, when its
     * machineId is already known, refreshes its name, system info, tools and
     * status and keeps its id; counts as a heartbeat. Throws ValidationError
     * (shape), ConstraintViolation (e.g. a status outside the vocabulary).
     */
    async registerWorker(input: RegisterWorkerInput): Promise<Workers> {
      const valid = parseInput(registerWorkerSchema, input, 'worker');
      const [worker] = await db.query<Workers>('fleet.register_worker', [
        valid.machineId,
        valid.machineName,
        json(valid.systemInfo, 'worker', ['systemInfo']),
        json(valid.tools, 'worker', ['tools']),
        valid.status,
      ]);
      return worker!;
    },

    /**
     * Records a worker's heartbeat with its gauges (an offline worker comes
     * back online). Throws NotFound (no such worker), ConstraintViolation (a
     * gauge outside 0..100), ValidationError (a gauge that is not a number).
     */
    async heartbeat(workerId: WorkersId, gauges: WorkerGauges = {}): Promise<Workers> {
      const id = parseInput(workerShape.id, workerId, 'worker id');
      const valid = parseInput(gaugesSchema, gauges, 'gauges');
      const [worker] = await db.query<Workers>('fleet.heartbeat_worker', [
        id,
        valid.cpuPercent ?? null,
        valid.memoryPercent ?? null,
        valid.diskPercent ?? null,
      ]);
      if (!worker) throw new NotFound('worker', id);
      return worker;
    },

    /** Sets a worker's status (online, offline, busy). Throws NotFound (no such worker), ValidationError (unknown status). */
    async setWorkerStatus(workerId: WorkersId, status: Workers['status']): Promise<Workers> {
      const id = parseInput(workerShape.id, workerId, 'worker id');
      const valid = parseInput(workerShape.status, status, 'worker status');
      const [worker] = await db.query<Workers>('fleet.set_worker_status', [id, valid]);
      if (!worker) throw new NotFound('worker', id);
      return worker;
    },

    /**
     * Registers an agent under its text id ('akira-001'); omitted fields take
     * the table's defaults. Throws ConstraintViolation (id taken: primary_key;
     * name taken: unique; id format, partial network identity, endpoint not
     * http(s): check; unknown type or worker: foreign_key), ValidationError
     * (shape, or an ip address PostgreSQL cannot read).
     */
    async registerAgent(input: RegisterAgentInput): Promise<Agents> {
      const v = parseInput(registerAgentSchema, input, 'agent');
      const [agent] = await db.query<Agents>('fleet.insert_agent', [
        v.id,
        v.name,
        v.type ?? null,
        v.role ?? null,
        v.model ?? null,
        v.status ?? null,
        v.workerId ?? null,
        v.specialties ?? null,
        json(v.capabilities, 'agent', ['capabilities']),
        json(v.configuration, 'agent', ['configuration']),
        json(v.metadata, 'agent', ['metadata']),
        v.backstory ?? null,
        v.personalityEmoji ?? null,
        v.publicKey ?? null,
        v.endpoint ?? null,
        v.signature ?? null,
        v.mobileCapable ?? null,
        v.deviceAffinity ?? null,
        v.locationEnabled ?? null,
        v.batteryAware ?? null,
        v.ipAddress ?? null,
        v.hostName ?? null,
      ]);
      return agent!;
    },

    /**
     * Sets an agent's status; retiring stamps deactivated_at, leaving retired
     * clears it. Throws NotFound (no such agent), ValidationError (unknown status).
     */
    async updateAgentStatus(agentId: AgentsId, status: Agents['status']): Promise<Agents> {
      const id = parseInput(agentIdSchema, agentId, 'agent id');
      const valid = parseInput(agentStatusSchema, status, 'agent status');
      const [agent] = await db.query<Agents>('fleet.update_agent_status', [id, valid]);
      if (!agent) throw new NotFound('agent', id);
      return agent;
    },

    /** One agent by id. Throws NotFound. */
    async getAgent(agentId: AgentsId): Promise<Agents> {
      const id = parseInput(agentIdSchema, agentId, 'agent id');
      const [agent] = await db.query<Agents>('fleet.get_agent', [id]);
      if (!agent) throw new NotFound('agent', id);
      return agent;
    },

    /**
     * Agents by name, optionally only in a status and/or having a capability
     * tag (or all of several tags). Throws ValidationError (unknown status, bad limit).
     */
    async listAgents(filter: ListAgentsFilter = {}): Promise<Agents[]> {
      const valid = parseInput(listAgentsSchema, filter, 'agent filter');
      const capabilities = valid.capability === undefined ? null : [valid.capability].flat();
      return db.query<Agents>('fleet.list_agents', [valid.status ?? null, json(capabilities, 'agent filter', ['capability']), valid.limit]);
    },

    /** Adds a capability tag to an agent (once; adding it again changes nothing). Throws NotFound, ValidationError. */
    async addCapability(agentId: AgentsId, capability: string): Promise<Agents> {
      const id = parseInput(agentIdSchema, agentId, 'agent id');
      const tag = parseInput(agentShape.capabilities.unwrap().element, capability, 'capability');
      const [agent] = await db.query<Agents>('fleet.add_agent_capability', [id, tag]);
      if (!agent) throw new NotFound('agent', id);
      return agent;
    },

    /**
     * The agents a task type routes to (task_types.agent_type), in the given
     * statuses (default online), most trusted first. Throws NotFound (unknown
     * task type; a known type with no agent gives []), ValidationError.
     */
    async findAgentsForTaskType(taskType: string, options: FindAgentsOptions = {}): Promise<Agents[]> {
      const valid = parseInput(findAgentsSchema, { taskType, ...options }, 'task type routing');
      const agents = await db.query<Agents>('fleet.find_agents_for_task_type', [valid.taskType, valid.statuses, valid.limit]);
      if (agents.length === 0) {
        const [known] = await db.query<TaskTypes>('fleet.get_task_type', [valid.taskType]);
        if (!known) throw new NotFound('task type', valid.taskType);
      }
      return agents;
    },
  };
};
