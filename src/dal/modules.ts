import { accessModule } from './access.js';
import type { ModuleFactories } from './executor.js';
import { fleetModule } from './fleet.js';
import { integrationModule } from './integration.js';
import { knowledgeModule } from './knowledge.js';
import { reviewModule } from './review.js';
import { telemetryModule } from './telemetry.js';
import { workModule } from './work.js';

/**
 * The registration point of the context modules. Each line binds one
 * context's factory under its name, and every client (and every transaction
 * it opens) then has it: agentry.work.getTask(id), tx.work.getTask(id).
 *
 *   import { workModule } from './work.js';
 *   export const contextModules = {
 *     work: workModule,
 *   } satisfies ModuleFactories;
 */
export const contextModules = {
  work: workModule,
  fleet: fleetModule,
  review: reviewModule,
  telemetry: telemetryModule,
  knowledge: knowledgeModule,
  access: accessModule,
  integration: integrationModule,
} satisfies ModuleFactories;

export type ContextModules = typeof contextModules;
