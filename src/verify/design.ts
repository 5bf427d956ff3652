/**
 * The access design of docs/schema.md ("Roles") as data: the one place the
 * roles rule of `agentry verify` reads what each role may and may not do.
 * Table names are of schema agentry; a rule about a table also holds for its
 * partitions (a grant on a partition would bypass the parent's).
 */

export type TablePrivilege = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE' | 'TRUNCATE' | 'REFERENCES' | 'TRIGGER';

export const ALL_TABLE_PRIVILEGES: readonly TablePrivilege[] = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'];

export interface RoleDesign {
  role: string;
  /** USAGE on schema agentry. */
  schemaUsage: boolean;
  /** CREATE on schema agentry (DDL). */
  schemaCreate: boolean;
  /** Privileges the role must hold on every table and view (except the exceptions below and the bookkeeping). */
  everywhere: readonly TablePrivilege[];
  /** Privileges the role must not hold on any table, view or partition. */
  nowhere: readonly TablePrivilege[];
  /** Per table: privileges the role must not hold there (they override `everywhere`). */
  forbidden: Readonly<Record<string, readonly TablePrivilege[]>>;
  /** table.column the role must not read. */
  hiddenColumns: readonly string[];
  /** Functions (regprocedure text) the role must not execute. */
  noExecute: readonly string[];
  /** Functions the role must be able to execute. */
  mayExecute: readonly string[];
}

export const OWNER_ROLE = 'agentry_owner';

/** Reference data and the task-graph lock row: read-only for the app. */
export const REFERENCE_TABLES = ['agent_types', 'task_graph_lock', 'task_status_transitions', 'task_types'] as const;
/** Ledgers: the app may append and read, never change or remove. */
export const APPEND_ONLY_TABLES = ['audit_logs', 'trust_records'] as const;

const PARTITION_MAINTENANCE = [
  'agentry.create_monthly_partitions(regclass,date,date)',
  'agentry.maintain_partitions(integer,integer,boolean,timestamp with time zone)',
];

export const ROLE_DESIGN: readonly RoleDesign[] = [
  {
    role: 'agentry_app',
    schemaUsage: true,
    schemaCreate: false,
    everywhere: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
    nowhere: ['TRUNCATE', 'REFERENCES', 'TRIGGER'],
    forbidden: {
      ...Object.fromEntries(REFERENCE_TABLES.map((t) => [t, ['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'] as const])),
      ...Object.fromEntries(APPEND_ONLY_TABLES.map((t) => [t, ['UPDATE', 'DELETE', 'TRUNCATE'] as const])),
      // A view is read through; the app writes the tables.
      task_readiness: ['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'],
    },
    hiddenColumns: ['api_keys.key_hash', 'user_sessions.token_hash'],
    noExecute: PARTITION_MAINTENANCE,
    mayExecute: [
      'agentry.verify_api_key(bytea)',
      'agentry.verify_session_token(bytea)',
      'agentry.lock_task_graph()',
      'agentry.is_valid_cron(text)',
      'agentry.is_valid_timezone(text)',
    ],
  },
  {
    role: 'agentry_readonly',
    schemaUsage: true,
    schemaCreate: false,
    everywhere: ['SELECT'],
    nowhere: ['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'],
    forbidden: {},
    hiddenColumns: ['api_keys.key_hash', 'user_sessions.token_hash', 'users.password_hash', 'webhooks.signing_secret_encrypted'],
    noExecute: [...PARTITION_MAINTENANCE, 'agentry.verify_api_key(bytea)', 'agentry.verify_session_token(bytea)', 'agentry.lock_task_graph()'],
    mayExecute: ['agentry.is_valid_cron(text)', 'agentry.is_valid_timezone(text)'],
  },
];

/** Everything Agentry creates is owned by the owner role, except node-pg-migrate's bookkeeping (owned by whoever migrates). */
export const OWNERSHIP = {
  owner: OWNER_ROLE,
  /** Relations exempt from the ownership rule: pgmigrations and pgmigrations_* (its sequence, key, ledger). */
  exemptPattern: /^pgmigrations($|_)/,
} as const;
