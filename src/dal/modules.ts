import type { ModuleFactories } from './executor.js';

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
export const contextModules = {} satisfies ModuleFactories;

export type ContextModules = typeof contextModules;
