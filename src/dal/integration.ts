import type { Executor } from './executor.js';

/** The integration context of the data-access library (see docs/dal.md). */
export const integrationModule = (db: Executor) => {
  void db;
  return {};
};
