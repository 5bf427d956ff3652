import { describe, expect, it } from 'vitest';

import { main } from '../../src/cli/main.js';
import { openServer } from '../../src/db/server.js';
import { AgentryError } from '../../src/errors.js';

// testcontainers is an optional dependency: undefined when it is not installed.
const engine = await import('testcontainers').then(
  (tc) =>
    tc.getContainerRuntimeClient().then(
      () => true,
      () => false,
    ),
  () => undefined,
);

// On a machine with Docker or Podman this provider would start a real
// container; these tests cover the (usual here) case of no engine.
describe.skipIf(engine !== false)('testcontainers provider without a container engine', () => {
  it('reports "no container engine found" quickly, as a connection error', async () => {
    const started = Date.now();
    const error = await openServer({ provider: 'testcontainers' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentryError);
    expect((error as AgentryError).kind).toBe('connection');
    expect((error as AgentryError).message).toMatch(/no container engine found/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('makes the CLI exit 2 with one line on stderr', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['node', 'agentry', '--provider', 'testcontainers', 'migrate', 'status'], {
      stdout: (t) => out.push(t),
      stderr: (t) => err.push(t),
    });
    expect(code).toBe(2);
    expect(out.join('')).toBe('');
    expect(err.join('')).toMatch(/^agentry: no container engine found[^\n]*\n$/);
  });
});
