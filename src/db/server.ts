import { AgentryError } from '../errors.js';
import { checkConnection } from './admin.js';
import { startEmbedded } from './embedded.js';
import { startTestcontainer } from './testcontainers.js';
import { assertDatabaseUrl, redactUrl } from './url.js';

export const PROVIDERS = ['url', 'embedded', 'testcontainers'] as const;
export type Provider = (typeof PROVIDERS)[number];

export interface OpenServerOptions {
  /** Which kind of server. Default: 'url' when databaseUrl is given, else 'embedded'. */
  provider?: Provider;
  /** An existing server; its database is used for maintenance (CREATE/DROP DATABASE) only. */
  databaseUrl?: string;
  /** embedded: project folder holding .agentry/ (default cwd). */
  projectDir?: string;
  /** embedded: explicit data directory. */
  dataDir?: string;
  /** embedded: extra server flags. */
  postgresFlags?: string[];
  /** testcontainers: image (default postgres:15-alpine). */
  image?: string;
  /** One-line notices for a person (where the embedded data went...). */
  onNotice?: (message: string) => void;
  /** Raw server log lines (embedded). */
  onLog?: (line: string) => void;
}

export interface Server {
  /** Superuser URL of the maintenance database ("postgres" or the one given). May contain a password: print it with redactUrl(). */
  connectionString: string;
  provider: Provider;
  /** Human description, safe to print. */
  description: string;
  /** Server version as reported by SHOW server_version. */
  serverVersion: string;
  /** embedded only. */
  dataDir?: string;
  /** embedded only: an initialised data dir was reused (warm start). */
  reused?: boolean;
  /** Stops what openServer started; a no-op for 'url'. Safe to call twice. */
  stop(): Promise<void>;
}

export function parseProvider(value: string): Provider {
  if ((PROVIDERS as readonly string[]).includes(value)) return value as Provider;
  throw new AgentryError('usage', `unknown provider "${value}": expected one of ${PROVIDERS.join(', ')}`);
}

/**
 * Reads the environment the way the CLI and the test harness both do:
 * DATABASE_URL, AGENTRY_PROVIDER, AGENTRY_DATA_DIR, AGENTRY_TESTCONTAINERS_IMAGE.
 * An explicit AGENTRY_PROVIDER wins over a DATABASE_URL that happens to be set.
 */
export function serverOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): OpenServerOptions {
  const options: OpenServerOptions = {};
  if (env.AGENTRY_PROVIDER) options.provider = parseProvider(env.AGENTRY_PROVIDER);
  if (env.DATABASE_URL && (options.provider === undefined || options.provider === 'url')) options.databaseUrl = env.DATABASE_URL;
  if (env.AGENTRY_DATA_DIR) options.dataDir = env.AGENTRY_DATA_DIR;
  if (env.AGENTRY_TESTCONTAINERS_IMAGE) options.image = env.AGENTRY_TESTCONTAINERS_IMAGE;
  return options;
}

/**
 * The single way Agentry gets a PostgreSQL server, for the CLI and the tests:
 * an explicit URL when given, else an embedded server that this process starts
 * (and stops with stop()), or, on request, a testcontainers container.
 */
export async function openServer(options: OpenServerOptions = {}): Promise<Server> {
  const provider = options.provider ?? (options.databaseUrl ? 'url' : 'embedded');

  if (provider === 'url') {
    if (!options.databaseUrl) {
      throw new AgentryError('usage', 'provider "url" needs a database URL (--database-url or DATABASE_URL)');
    }
    const url = assertDatabaseUrl(options.databaseUrl);
    const { serverVersion } = await checkConnection(url);
    return {
      connectionString: url,
      provider,
      description: redactUrl(url),
      serverVersion,
      async stop() {},
    };
  }

  if (options.databaseUrl) {
    throw new AgentryError('usage', `a database URL and provider "${provider}" exclude each other; drop one of them`);
  }

  const started =
    provider === 'embedded'
      ? await startEmbedded({
          ...(options.projectDir !== undefined && { projectDir: options.projectDir }),
          ...(options.dataDir !== undefined && { dataDir: options.dataDir }),
          ...(options.postgresFlags !== undefined && { postgresFlags: options.postgresFlags }),
          ...(options.onNotice !== undefined && { onNotice: options.onNotice }),
          ...(options.onLog !== undefined && { onLog: options.onLog }),
        })
      : await startTestcontainer(options.image !== undefined ? { image: options.image } : {});

  try {
    const { serverVersion } = await checkConnection(started.connectionString);
    if (started.provider === 'embedded') {
      return {
        connectionString: started.connectionString,
        provider: 'embedded',
        description: `embedded PostgreSQL ${serverVersion} on 127.0.0.1:${started.port} (data ${started.dataDir}${started.reused ? ', reused' : ''})`,
        serverVersion,
        dataDir: started.dataDir,
        reused: started.reused,
        stop: () => started.stop(),
      };
    }
    return {
      connectionString: started.connectionString,
      provider: 'testcontainers',
      description: `container ${started.image}: ${redactUrl(started.connectionString)}`,
      serverVersion,
      stop: () => started.stop(),
    };
  } catch (error) {
    await started.stop().catch(() => undefined);
    throw error;
  }
}

/** Opens a server, runs fn, and always stops what was started. */
export async function withServer<T>(options: OpenServerOptions, fn: (server: Server) => Promise<T>): Promise<T> {
  const server = await openServer(options);
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}
