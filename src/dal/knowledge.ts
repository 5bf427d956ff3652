import type { Executor } from './executor.js';

/** The knowledge context of the data-access library (see docs/dal.md). */
export const knowledgeModule = (db: Executor) => {
  void db;
  return {};
};
