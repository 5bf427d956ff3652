import type { Executor } from './executor.js';

/** The review context of the data-access library (see docs/dal.md). */
export const reviewModule = (db: Executor) => {
  void db;
  return {};
};
