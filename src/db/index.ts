export { quoteIdent, quoteQualified, assertSimpleDatabaseName } from './identifiers.js';
export { redactUrl, redactSecrets, withDatabase, databaseOf, assertDatabaseUrl } from './url.js';
export {
  withClient,
  checkConnection,
  databaseExists,
  createDatabase,
  dropDatabase,
  listDatabases,
  type CreateDatabaseOptions,
} from './admin.js';
export {
  openServer,
  withServer,
  serverOptionsFromEnv,
  parseProvider,
  PROVIDERS,
  type Provider,
  type Server,
  type OpenServerOptions,
} from './server.js';
export { startEmbedded, embeddedInstallation, embeddedMajorVersion, defaultDataDir, LOCAL_STATE_DIR, type EmbeddedOptions, type EmbeddedServer } from './embedded.js';
export { startTestcontainer, DEFAULT_TESTCONTAINERS_IMAGE, type TestcontainersOptions, type TestcontainersServer } from './testcontainers.js';
