import { AgentryError, errorMessage } from '../errors.js';

/** PostgreSQL 15 is the oldest version the schema supports, so containers test the floor. */
export const DEFAULT_TESTCONTAINERS_IMAGE = 'postgres:15-alpine';

export interface TestcontainersOptions {
  image?: string;
}

export interface TestcontainersServer {
  connectionString: string;
  provider: 'testcontainers';
  image: string;
  stop(): Promise<void>;
}

/**
 * Opt-in provider: a throw-away PostgreSQL container. testcontainers is an
 * optional dependency, so it is imported only here and only on request.
 */
export async function startTestcontainer(options: TestcontainersOptions = {}): Promise<TestcontainersServer> {
  const image = options.image ?? DEFAULT_TESTCONTAINERS_IMAGE;
  let core: typeof import('testcontainers');
  let postgres: typeof import('@testcontainers/postgresql');
  try {
    [core, postgres] = await Promise.all([import('testcontainers'), import('@testcontainers/postgresql')]);
  } catch (error) {
    throw new AgentryError(
      'usage',
      `the testcontainers provider needs the optional packages testcontainers and @testcontainers/postgresql (${errorMessage(error)})`,
      { cause: error },
    );
  }

  // Cheap probe (milliseconds) before anything tries to pull an image.
  try {
    await core.getContainerRuntimeClient();
  } catch (error) {
    throw new AgentryError(
      'connection',
      'no container engine found: testcontainers found no running Docker or Podman (use --database-url or the embedded provider instead)',
      { cause: error },
    );
  }

  let container: Awaited<ReturnType<InstanceType<typeof postgres.PostgreSqlContainer>['start']>>;
  try {
    container = await new postgres.PostgreSqlContainer(image).start();
  } catch (error) {
    throw new AgentryError('connection', `could not start a ${image} container: ${errorMessage(error)}`, { cause: error });
  }
  let stopped = false;
  return {
    connectionString: container.getConnectionUri(),
    provider: 'testcontainers',
    image,
    async stop() {
      if (stopped) return;
      stopped = true;
      await container.stop();
    },
  };
}
