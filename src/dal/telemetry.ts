import type { Executor } from './executor.js';

/** The telemetry context of the data-access library (see docs/dal.md). */
export const telemetryModule = (db: Executor) => {
  void db;
  return {};
};
