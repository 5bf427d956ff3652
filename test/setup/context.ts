import type { Provider } from '../../src/db/server.js';

// Values that test/setup/global.ts provides and test files inject().
declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the server's maintenance database. May contain a password. */
    agentryAdminUrl: string;
    /** Database migrated to head; clone it, never connect to it (connections are disabled). */
    agentryTemplateDb: string;
    agentryProvider: Provider;
  }
}

export {};
