import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Opens the server once (DATABASE_URL or embedded), builds a migrated
    // template database, and hands both to the test files via inject().
    globalSetup: ['test/setup/global.ts'],
    // Separate processes: each test file gets its own database and pool, and
    // a crashing native handle cannot take the other files down with it.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ['default', ['json', { outputFile: 'reports/vitest.json' }]],
  },
});
