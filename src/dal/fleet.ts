import type { Executor } from './executor.js';

/** The fleet context of the data-access library (see docs/dal.md). */
export const fleetModule = (db: Executor) => {
  void db;
  return {};
};
