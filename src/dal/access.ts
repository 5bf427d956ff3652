import type { Executor } from './executor.js';

/** The access context of the data-access library (see docs/dal.md). */
export const accessModule = (db: Executor) => {
  void db;
  return {};
};
