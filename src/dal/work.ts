import type { Executor } from './executor.js';

/** The work context of the data-access library (see docs/dal.md). */
export const workModule = (db: Executor) => {
  void db;
  return {};
};
