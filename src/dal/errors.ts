/**
 * The one place where PostgreSQL errors become typed errors (modelled on
 * Slonik's single wrapError). Everything the DAL throws extends DatabaseError,
 * so a caller can branch on the class and read fields; nobody outside this
 * module parses a PostgreSQL message.
 *
 *   DatabaseError                  base: code (SQLSTATE), constraint, table, column, retryable, query
 *   ├─ ValidationError             input refused before any SQL (zod issues, text PostgreSQL cannot store), or 22xxx invalid input values
 *   │  └─ MissingInputKey          AG002 trg_tasks_validate_input: input lacks a key its task type needs
 *   ├─ ConstraintViolation         23514 check, 23503 foreign key, 23505 unique, 23502 not null,
 *   │  │                           23001 restrict, 23P01 exclusion, 428C9 generated column
 *   │  ├─ IllegalTransition        AG001 trg_tasks_status_transition: from -> to is not in the state machine
 *   │  ├─ CycleViolation           AG003 trg_task_dependencies_no_cycle, trg_tasks_parent_cycle
 *   │  ├─ AppendOnlyViolation      AG004 audit_logs and trust_records refuse changes
 *   │  ├─ FinalDecisionViolation   AG005 trg_checkpoints_decision: a checkpoint decision is final
 *   │  └─ TrustLedgerViolation     AG006 trust_score moves only through trust_records
 *   ├─ NotFound                    entity + id (thrown by context modules, never by PostgreSQL)
 *   ├─ ConflictError               optimistic-lock version mismatch; 40001, 40P01, 55P03 (retryable)
 *   └─ ConnectionError             server unreachable or connection lost (retryable), or login refused
 *
 * Messages say which rule was broken, in words, and end with the constraint's
 * name: "tasks.priority must be between 1 and 10 (chk_tasks_priority_range)".
 * The words come from a ConstraintCatalog (name -> table, kind, columns,
 * definition): the client passes generated/constraints.ts's constraintCatalog
 * unless the caller hands in another; for a name the catalog does not know,
 * the message is built from the error's own fields (table, constraint, key
 * columns) and the definition is left out.
 */

// ---------------------------------------------------------------------------
// Constraint catalog (injected; the client defaults to generated/constraints.ts)
// ---------------------------------------------------------------------------

export type ConstraintKind = 'check' | 'foreign_key' | 'unique' | 'primary_key' | 'exclusion' | 'trigger';

export interface ConstraintInfo {
  /** Table the constraint belongs to (for a domain CHECK: the domain's name). */
  readonly table: string;
  readonly kind: ConstraintKind;
  /** Columns of the constraint, in key order (for an expression index: the columns it reads). */
  readonly columns: readonly string[];
  /** pg_get_constraintdef / pg_get_indexdef / pg_get_triggerdef text. */
  readonly definition: string;
}

/** Constraint, unique index and trigger names of schema agentry -> what they are. */
export interface ConstraintCatalog {
  readonly [name: string]: ConstraintInfo | undefined;
}

const EMPTY_CATALOG: ConstraintCatalog = Object.freeze({});

function lookup(catalog: ConstraintCatalog, name: string | undefined): ConstraintInfo | undefined {
  // hasOwn: a constraint called "constructor" must not find Object.prototype's.
  return name !== undefined && Object.hasOwn(catalog, name) ? catalog[name] : undefined;
}

// ---------------------------------------------------------------------------
// Error classes
// ---------------------------------------------------------------------------

export interface DatabaseErrorOptions {
  cause?: unknown;
  /** SQLSTATE, when PostgreSQL (or the driver) gave one. */
  code?: string | undefined;
  constraint?: string | undefined;
  table?: string | undefined;
  column?: string | undefined;
  retryable?: boolean;
  /** Name of the registered statement that failed (set by the client). */
  query?: string | undefined;
}

export class DatabaseError extends Error {
  override name = 'DatabaseError';
  readonly code: string | undefined;
  readonly constraint: string | undefined;
  readonly table: string | undefined;
  readonly column: string | undefined;
  /** True when running the same work again may succeed (serialization failure, deadlock, lost connection). */
  readonly retryable: boolean;
  readonly query: string | undefined;

  constructor(message: string, options: DatabaseErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.constraint = options.constraint;
    this.table = options.table;
    this.column = options.column;
    this.retryable = options.retryable ?? false;
    this.query = options.query;
  }
}

export interface ValidationIssue {
  /** Where in the input: ['input', 'text'], ['priority'], [] for the value as a whole. */
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** The shape of a zod error (v3 and v4) that ValidationError.fromZod needs. */
export interface ZodLikeError {
  readonly issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[];
}

/** Input refused: by a schema before any SQL ran, or by PostgreSQL as an invalid value (22xxx). */
export class ValidationError extends DatabaseError {
  override name = 'ValidationError';
  readonly issues: readonly ValidationIssue[];

  constructor(message: string, issues: readonly ValidationIssue[], options: DatabaseErrorOptions = {}) {
    super(message, options);
    this.issues = issues;
  }

  static fromZod(error: ZodLikeError, what = 'input'): ValidationError {
    const issues = error.issues.map((issue) => ({
      path: issue.path.map((key) => (typeof key === 'number' ? key : String(key))),
      message: issue.message,
    }));
    const first = issues[0];
    const summary = first ? `${first.path.length > 0 ? `${first.path.join('.')}: ` : ''}${first.message}` : 'invalid';
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    return new ValidationError(`invalid ${what}: ${summary}${more}`, issues, { cause: error });
  }
}

/** A zod-style schema: anything with safeParse. */
export interface SafeParser<T> {
  safeParse(input: unknown): { success: true; data: T } | { success: false; error: ZodLikeError };
}

/** Parses input with a zod schema, throwing ValidationError (before any SQL) when it does not fit. */
export function parseInput<T>(schema: SafeParser<T>, input: unknown, what = 'input'): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw ValidationError.fromZod(result.error, what);
}

/** AG002: the task's input lacks a key that its type requires (task_types.required_input_keys). */
export class MissingInputKey extends ValidationError {
  override name = 'MissingInputKey';
  /** The required key; several when any one of them satisfies the rule ('data|file_url'). */
  readonly keys: readonly string[];
  readonly taskType: string;

  constructor(keys: readonly string[], taskType: string, rule: string, options: DatabaseErrorOptions) {
    super(`${rule} (${options.constraint})`, [{ path: ['input', ...keys.slice(0, 1)], message: rule }], options);
    this.keys = keys;
    this.taskType = taskType;
  }
}

/**
 * How a row broke a rule. 'foreign_key': the row points at a parent that does
 * not exist; 'restrict': a parent row cannot be deleted or re-keyed because rows
 * still point at it (23503 up to PostgreSQL 17, 23001 from 18 on). 'trigger':
 * one of Agentry's own rules (SQLSTATE AGxxx), named after its trigger.
 */
export type ViolationKind =
  | 'check'
  | 'foreign_key'
  | 'restrict'
  | 'unique'
  | 'primary_key'
  | 'not_null'
  | 'exclusion'
  | 'generated_column'
  | 'trigger';

export interface ConstraintViolationDetails {
  kind: ViolationKind;
  constraint: string;
  table: string | undefined;
  columns: readonly string[];
  /** The rule in words, without the constraint name: "tasks.priority must be between 1 and 10". */
  rule: string;
  /** Foreign keys: the table referred to. */
  referencedTable?: string | undefined;
}

export class ConstraintViolation extends DatabaseError {
  override name = 'ConstraintViolation';
  readonly kind: ViolationKind;
  declare readonly constraint: string;
  readonly columns: readonly string[];
  readonly rule: string;
  readonly referencedTable: string | undefined;

  constructor(details: ConstraintViolationDetails, options: DatabaseErrorOptions = {}) {
    super(`${details.rule} (${details.constraint})`, {
      ...options,
      constraint: details.constraint,
      table: details.table,
      column: options.column ?? (details.columns.length === 1 ? details.columns[0] : undefined),
    });
    this.kind = details.kind;
    this.columns = details.columns;
    this.rule = details.rule;
    this.referencedTable = details.referencedTable;
  }
}

/** AG001: the task state machine (task_status_transitions) has no move from `from` to `to`. */
export class IllegalTransition extends ConstraintViolation {
  override name = 'IllegalTransition';
  readonly from: string;
  readonly to: string;
  readonly taskId: string | undefined;
  /** Set when the move to 'retrying' was refused because max_retries was reached. */
  readonly retryLimit: number | undefined;

  constructor(
    transition: { from: string; to: string; taskId: string | undefined; retryLimit: number | undefined },
    details: ConstraintViolationDetails,
    options: DatabaseErrorOptions,
  ) {
    super(details, options);
    this.from = transition.from;
    this.to = transition.to;
    this.taskId = transition.taskId;
    this.retryLimit = transition.retryLimit;
  }
}

/** AG003: the change would close a cycle in the task dependency graph or the task hierarchy. */
export class CycleViolation extends ConstraintViolation {
  override name = 'CycleViolation';
  readonly graph: 'dependencies' | 'hierarchy';
  /** The task that would (indirectly) depend on, or descend from, itself. */
  readonly taskId: string | undefined;
  /** The new dependency (depends_on_id) or parent (parent_task_id) that closes the cycle. */
  readonly via: string | undefined;

  constructor(
    cycle: { graph: 'dependencies' | 'hierarchy'; taskId: string | undefined; via: string | undefined },
    details: ConstraintViolationDetails,
    options: DatabaseErrorOptions,
  ) {
    super(details, options);
    this.graph = cycle.graph;
    this.taskId = cycle.taskId;
    this.via = cycle.via;
  }
}

/** AG004: an append-only table (audit_logs, trust_records) refused UPDATE, DELETE or TRUNCATE. */
export class AppendOnlyViolation extends ConstraintViolation {
  override name = 'AppendOnlyViolation';
  readonly operation: string | undefined;

  constructor(operation: string | undefined, details: ConstraintViolationDetails, options: DatabaseErrorOptions) {
    super(details, options);
    this.operation = operation;
  }
}

/** AG005: the checkpoint was already decided; a decision is final. */
export class FinalDecisionViolation extends ConstraintViolation {
  override name = 'FinalDecisionViolation';
  readonly checkpointId: string | undefined;
  /** The decision already taken ('approve', 'correct', 'reject'). */
  readonly decision: string | undefined;

  constructor(
    decided: { checkpointId: string | undefined; decision: string | undefined },
    details: ConstraintViolationDetails,
    options: DatabaseErrorOptions,
  ) {
    super(details, options);
    this.checkpointId = decided.checkpointId;
    this.decision = decided.decision;
  }
}

/**
 * AG006: agents.trust_score was written directly ('direct_update'), or a
 * trust_records row named a trust_score_before that is no longer current
 * ('stale_ledger_row': another record got in first; re-read and retry).
 */
export class TrustLedgerViolation extends ConstraintViolation {
  override name = 'TrustLedgerViolation';
  readonly agentId: string | undefined;
  readonly reason: 'direct_update' | 'stale_ledger_row';

  constructor(
    trust: { agentId: string | undefined; reason: 'direct_update' | 'stale_ledger_row' },
    details: ConstraintViolationDetails,
    options: DatabaseErrorOptions,
  ) {
    super(details, options);
    this.agentId = trust.agentId;
    this.reason = trust.reason;
  }
}

/** The row asked for does not exist (thrown by context modules). */
export class NotFound extends DatabaseError {
  override name = 'NotFound';
  readonly entity: string;
  readonly id: string;

  constructor(entity: string, id: unknown, options: DatabaseErrorOptions = {}) {
    super(`${entity} ${String(id)} not found`, options);
    this.entity = entity;
    this.id = String(id);
  }
}

/**
 * 'version_mismatch': an optimistic-lock UPDATE ... WHERE version = $n matched
 * nothing because someone else changed the row first; re-read before trying
 * again, so it is not retryable as is. The others are retryable: run the whole
 * transaction again.
 */
export type ConflictReason = 'version_mismatch' | 'serialization_failure' | 'deadlock' | 'lock_not_available';

export class ConflictError extends DatabaseError {
  override name = 'ConflictError';
  readonly reason: ConflictReason;
  readonly entity: string | undefined;
  readonly id: string | undefined;
  readonly expectedVersion: number | undefined;

  constructor(
    message: string,
    conflict: { reason: ConflictReason; entity?: string; id?: unknown; expectedVersion?: number },
    options: DatabaseErrorOptions = {},
  ) {
    super(message, { retryable: conflict.reason !== 'version_mismatch', ...options });
    this.reason = conflict.reason;
    this.entity = conflict.entity;
    this.id = conflict.id === undefined ? undefined : String(conflict.id);
    this.expectedVersion = conflict.expectedVersion;
  }

  static versionMismatch(entity: string, id: unknown, expectedVersion: number): ConflictError {
    return new ConflictError(
      `${entity} ${String(id)} was changed by someone else (expected version ${expectedVersion})`,
      { reason: 'version_mismatch', entity, id, expectedVersion },
    );
  }
}

/**
 * The server could not be reached, dropped the connection, or refused the
 * login. Retryable unless the login itself was refused (wrong password,
 * missing database), which retrying cannot fix.
 */
export class ConnectionError extends DatabaseError {
  override name = 'ConnectionError';
}

/** True for errors where running the same work again may succeed. */
export function isRetryable(error: unknown): boolean {
  return error instanceof DatabaseError && error.retryable;
}

// ---------------------------------------------------------------------------
// Mapping
// ---------------------------------------------------------------------------

/** The fields node-postgres puts on an error from the server (see pg-protocol's DatabaseError). */
interface PgErrorFields {
  message: string;
  code?: string;
  constraint?: string;
  table?: string;
  column?: string;
  detail?: string;
  dataType?: string;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

function asPgError(error: unknown): (Error & PgErrorFields) | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && SQLSTATE.test(code) ? (error as Error & PgErrorFields) : undefined;
}

const NETWORK_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

// Login refused or database missing: the server answered, retrying will not help.
const LOGIN_REFUSED = /^(28...|3D000)$/;
// Server-side ends of a connection that a new connection may not meet.
const SERVER_GONE = new Set(['57P01', '57P02', '57P03', '53300']);
// node-postgres reports a dropped socket, a client it closed, or a connect
// timeout with these messages and no code.
const DRIVER_CONNECTION_MESSAGE =
  /Connection terminated|not queryable|Client was closed|timeout expired|timeout exceeded when trying to connect|connection timeout/i;

function connectionErrorOf(error: unknown, query: string | undefined): ConnectionError | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  let retryable: boolean | undefined;
  if (typeof code === 'string') {
    if (NETWORK_ERRNOS.has(code) || SERVER_GONE.has(code)) retryable = true;
    // 08P01 protocol_violation is a client bug (e.g. wrong parameter count), not a network fault.
    else if (code.startsWith('08')) retryable = code !== '08P01';
    else if (LOGIN_REFUSED.test(code)) retryable = false;
  } else if (DRIVER_CONNECTION_MESSAGE.test(error.message)) {
    retryable = true;
  }
  // Node's happy-eyeballs connect reports one AggregateError for all addresses tried.
  if (retryable === undefined && error instanceof AggregateError) {
    const inner = error.errors.map((e) => connectionErrorOf(e, query)).find((e) => e !== undefined);
    if (inner) retryable = inner.retryable;
  }
  if (retryable === undefined) return undefined;
  const reason = typeof code === 'string' ? ` (${code})` : '';
  const what = retryable ? 'database connection failed' : 'database refused the connection';
  return new ConnectionError(`${what}${reason}: ${error.message || error.name}`, {
    cause: error,
    code: typeof code === 'string' ? code : undefined,
    retryable,
    query,
  });
}

// Invalid input values: bad syntax for the type, out of range, too long, bad date,
// time zone displacement (22009: a date before 4713 BC) or interval field out of range (22015);
// a character the encoding cannot hold (22021: NUL in text) or jsonb cannot (22P05: \u0000).
const INVALID_INPUT_CODES = new Set(['22P02', '22023', '22007', '22008', '22003', '22001', '22004', '22009', '22015', '22021', '22P05']);

/** A monthly (<table>_yYYYYmMM) or default (<table>_default) partition's parent. */
const PARTITION_SUFFIX = /^(.+)_(y\d{4}m\d{2}|default)$/;

const tablesOfCatalog = new WeakMap<ConstraintCatalog, Set<string>>();

function knownTables(catalog: ConstraintCatalog): Set<string> {
  let tables = tablesOfCatalog.get(catalog);
  if (!tables) {
    tables = new Set<string>();
    for (const info of Object.values(catalog)) if (info) tables.add(info.table);
    tablesOfCatalog.set(catalog, tables);
  }
  return tables;
}

/**
 * The table a caller wrote to: errors raised inside a partition name the leaf
 * (audit_logs_y2026m11); callers only know the parent (audit_logs). A name is
 * taken for a partition only when it ends in _yYYYYmMM or _default (the naming
 * of agentry.create_monthly_partitions) and the catalog does not know it as a
 * table of its own; with a catalog, the parent must be a table it knows.
 */
function logicalTable(table: string | undefined, catalog: ConstraintCatalog): string | undefined {
  if (table === undefined) return undefined;
  const match = PARTITION_SUFFIX.exec(table);
  if (!match) return table;
  const tables = knownTables(catalog);
  if (tables.size === 0) return match[1];
  if (tables.has(table)) return table;
  return tables.has(match[1] as string) ? match[1] : table;
}

/** "Key (a, b)=(1, 2) already exists." -> "a, b" (the values are never used: they may be personal data). */
function keyText(detail: string | undefined): string | undefined {
  if (!detail) return undefined;
  const start = detail.indexOf('Key (');
  if (start < 0) return undefined;
  const end = detail.indexOf(')=(', start);
  return end < 0 ? undefined : detail.slice(start + 'Key ('.length, end);
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/** Key columns when the key is plain columns; undefined for an expression key such as lower(email::text). */
function plainKeyColumns(key: string | undefined): string[] | undefined {
  if (key === undefined) return undefined;
  const parts = key.split(',').map((part) => part.trim().replace(/^"(.*)"$/, '$1'));
  return parts.every((part) => IDENTIFIER.test(part)) ? parts : undefined;
}

function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((column, i) => column === b[i]);
}

/**
 * The constraint a caller declared, for the name PostgreSQL reported. A
 * unique violation inside a partition names the leaf partition's index
 * (agent_metrics_y2026m11_pkey, audit_logs_default_client_id_key), which no
 * caller knows: it is mapped back to the parent's constraint by stripping the
 * partition suffix from the table (agent_metrics_y2026m11 -> agent_metrics)
 * and finding, in the catalog, the parent's primary key (for an index named
 * <leaf>_pkey) or the unique constraint with the same key columns. Without a
 * catalog entry, <leaf>_pkey becomes pk_<parent> by the schema's naming rule
 * (docs/schema.md: every primary key is pk_<table>).
 */
function resolveConstraint(
  reported: string,
  reportedTable: string | undefined,
  keyColumns: readonly string[] | undefined,
  catalog: ConstraintCatalog,
): { name: string; info: ConstraintInfo | undefined } {
  const direct = lookup(catalog, reported);
  if (direct) return { name: reported, info: direct };
  const parent = logicalTable(reportedTable, catalog);
  if (reportedTable === undefined || parent === undefined || parent === reportedTable || !reported.startsWith(`${reportedTable}_`)) {
    return { name: reported, info: undefined };
  }
  const isPrimaryKey = reported === `${reportedTable}_pkey`;
  for (const [name, info] of Object.entries(catalog)) {
    if (!info || info.table !== parent) continue;
    if (isPrimaryKey && info.kind === 'primary_key') return { name, info };
    if (!isPrimaryKey && info.kind === 'unique' && keyColumns && sameColumns(info.columns, keyColumns)) return { name, info };
  }
  return isPrimaryKey ? { name: `pk_${parent}`, info: undefined } : { name: reported, info: undefined };
}

function unqualified(name: string): string {
  const dot = name.lastIndexOf('.');
  return (dot < 0 ? name : name.slice(dot + 1)).replace(/^"(.*)"$/, '$1');
}

/** "FOREIGN KEY (type) REFERENCES agentry.task_types(name) ON ..." -> task_types, [name]. */
function referencedBy(definition: string | undefined): { table: string; columns: string[] } | undefined {
  const match = definition && /REFERENCES\s+([^\s(]+)\s*\(([^)]*)\)/i.exec(definition);
  if (!match) return undefined;
  return {
    table: unqualified(match[1] as string),
    columns: (match[2] as string).split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1')),
  };
}

/** The first "quoted" name in a message or detail, e.g. the table a foreign key points at. */
function quotedAfter(text: string | undefined, marker: RegExp): string | undefined {
  const match = text ? marker.exec(text) : null;
  return match ? match[1] : undefined;
}

function columnList(table: string | undefined, columns: readonly string[]): string {
  if (columns.length === 1) return table ? `${table}.${columns[0]}` : (columns[0] as string);
  const list = `(${columns.join(', ')})`;
  return table ? `${table} ${list}` : list;
}

// -- CHECK definitions in words ---------------------------------------------

const CAST = /::(?:"[^"]+"|[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)(?:\s+(?:varying|precision|with(?:out)?\s+time\s+zone))?(?:\(\d+(?:,\s*\d+)?\))?(?:\[\])*/g;
const ATOM_IN_PARENS = /(?<![A-Za-z0-9_$])\(([A-Za-z_][A-Za-z0-9_]*|'(?:[^']|'')*'|-?\d+(?:\.\d+)?)\)/g;

/** Splits at a keyword (AND, OR) outside parentheses and string literals. */
function splitTopLevel(text: string, keyword: 'AND' | 'OR'): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    if (ch === "'") {
      i = text.indexOf("'", i + 1);
      while (i >= 0 && text[i + 1] === "'") i = text.indexOf("'", i + 2);
      if (i < 0) break;
    } else if (ch === '(') depth += 1;
    else if (ch === ')') depth -= 1;
    else if (depth === 0 && text.startsWith(` ${keyword} `, i)) {
      parts.push(text.slice(start, i));
      start = i + keyword.length + 2;
      i = start - 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => stripOuterParens(part.trim()));
}

function stripOuterParens(text: string): string {
  let current = text.trim();
  while (current.startsWith('(') && current.endsWith(')')) {
    let depth = 0;
    let enclosesAll = true;
    for (let i = 0; i < current.length; i += 1) {
      if (current[i] === '(') depth += 1;
      else if (current[i] === ')') depth -= 1;
      if (depth === 0 && i < current.length - 1) {
        enclosesAll = false;
        break;
      }
    }
    if (!enclosesAll) break;
    current = current.slice(1, -1).trim();
  }
  return current;
}

/** pg_get_constraintdef's CHECK text without casts and redundant parentheses. */
function simplifyCheck(definition: string): string {
  let text = definition
    .replace(/^CHECK\s*/i, '')
    .replace(/\s+NOT VALID$|\s+NO INHERIT$/gi, '')
    .replace(/\s*\n\s*/g, ' ');
  text = text.replace(CAST, '');
  for (let previous = ''; previous !== text; ) {
    previous = text;
    text = text.replace(ATOM_IN_PARENS, '$1');
  }
  return stripOuterParens(text);
}

const COMPARISON_WORDS: Readonly<Record<string, string>> = {
  '>=': 'be at least',
  '>': 'be greater than',
  '<=': 'be at most',
  '<': 'be less than',
  '=': 'equal',
  '<>': 'differ from',
};
const LITERAL = String.raw`'(?:[^']|'')*'|-?\d+(?:\.\d+)?|[A-Za-z_][A-Za-z0-9_]*`;

/** A literal as written in words: numbers unquoted ('-1'::integer shows as '-1' once casts are gone). */
function literal(value: string): string {
  return /^'-?\d+(?:\.\d+)?'$/.test(value) ? value.slice(1, -1) : value;
}

type Described = [column: string, phrase: string, comparison?: { op: string; value: string }];

/** One conjunct of a CHECK in words, or undefined when it is not a shape we can put in words. */
function describeConjunct(conjunct: string): Described | undefined {
  // "x IS NULL OR <rule on x>": the rule applies once x is set.
  const alternatives = splitTopLevel(conjunct, 'OR');
  if (alternatives.length === 2) {
    const nullable = alternatives.findIndex((part) => /^[A-Za-z_][A-Za-z0-9_]* IS NULL$/.test(part));
    const rule = nullable < 0 ? undefined : describeConjunct(alternatives[1 - nullable] as string);
    if (rule && alternatives[nullable] === `${rule[0]} IS NULL`) return [rule[0], `${rule[1]} when set`];
    return undefined;
  }
  if (alternatives.length > 2) return undefined;
  let match = new RegExp(`^([A-Za-z_][A-Za-z0-9_]*) (>=|>|<=|<|=|<>) (${LITERAL})$`).exec(conjunct);
  if (match) {
    const [, column, op, raw] = match as unknown as [string, string, string, string];
    const value = literal(raw);
    return [column, `${COMPARISON_WORDS[op]} ${value}`, { op, value }];
  }
  match = /^([A-Za-z_][A-Za-z0-9_]*) = ANY \((.*)\)$/.exec(conjunct);
  const array = match ? /^ARRAY\[(.*)\]$/.exec(stripOuterParens(match[2] as string)) : null;
  if (match && array) return [match[1] as string, `be one of ${(array[1] as string).split(/,\s*/).map(literal).join(', ')}`];
  match = /^jsonb_typeof\(([A-Za-z_][A-Za-z0-9_]*)\) = '(object|array|string|number|boolean)'$/.exec(conjunct);
  if (match) return [match[1] as string, `be a JSON ${match[2]}`];
  match = /^([A-Za-z_][A-Za-z0-9_]*) ~ ('(?:[^']|'')*')$/.exec(conjunct);
  if (match) return [match[1] as string, `match the pattern ${match[2]}`];
  match = /^octet_length\(([A-Za-z_][A-Za-z0-9_]*)\) = (\d+)$/.exec(conjunct);
  if (match) return [match[1] as string, `be exactly ${match[2]} bytes long`];
  match = /^([A-Za-z_][A-Za-z0-9_]*) IS NOT NULL$/.exec(conjunct);
  if (match) return [match[1] as string, 'not be null'];
  return undefined;
}

/**
 * A CHECK definition in words: "tasks.priority must be between 1 and 10".
 * Conjunctions of simple comparisons, IN lists, JSON type tests and patterns
 * are put in words; anything else is quoted (casts removed) as "tasks must
 * satisfy <expression>".
 */
export function describeCheck(definition: string, table: string | undefined): string {
  const expression = simplifyCheck(definition);
  const subject = (column: string) => (column === 'VALUE' ? (table ?? 'value') : table ? `${table}.${column}` : column);
  const conjuncts = splitTopLevel(expression, 'AND');
  const described = conjuncts.map(describeConjunct);
  if (splitTopLevel(expression, 'OR').length === 1 && described.every((d) => d !== undefined)) {
    const byColumn = new Map<string, { phrases: string[]; lower?: string; upper?: string }>();
    for (const [column, phrase, comparison] of described as Described[]) {
      const entry = byColumn.get(column) ?? { phrases: [] };
      if (comparison?.op === '>=' && entry.lower === undefined) entry.lower = comparison.value;
      else if (comparison?.op === '<=' && entry.upper === undefined) entry.upper = comparison.value;
      else entry.phrases.push(phrase);
      byColumn.set(column, entry);
    }
    const sentences = [...byColumn].map(([column, entry]) => {
      const phrases = [...entry.phrases];
      if (entry.lower !== undefined && entry.upper !== undefined) phrases.unshift(`be between ${entry.lower} and ${entry.upper}`);
      else if (entry.lower !== undefined) phrases.unshift(`be at least ${entry.lower}`);
      else if (entry.upper !== undefined) phrases.unshift(`be at most ${entry.upper}`);
      return `${subject(column)} must ${phrases.join(' and ')}`;
    });
    return sentences.join('; ');
  }
  return `${table ?? 'the row'} must satisfy ${expression.replace(/\bVALUE\b/g, table ?? 'VALUE')}`;
}

// -- SQLSTATE -> class ------------------------------------------------------

interface MapContext {
  catalog: ConstraintCatalog;
  query: string | undefined;
}

function constraintViolationOf(error: Error & PgErrorFields, context: MapContext): ConstraintViolation {
  const { catalog } = context;
  const code = error.code as string;
  const base: DatabaseErrorOptions = { cause: error, code, query: context.query };
  const key = keyText(error.detail);
  const keyColumns = plainKeyColumns(key);
  const table = logicalTable(error.table, catalog);

  if (code === '23502') {
    const column = error.column ?? quotedAfter(error.message, /column "([^"]+)"/);
    const columns = column ? [column] : [];
    return new ConstraintViolation(
      {
        kind: 'not_null',
        // PostgreSQL 18 names NOT NULL constraints <table>_<column>_not_null but does
        // not report the name; earlier versions have no name at all. Use that one.
        constraint: error.constraint ?? `${table ?? 'table'}_${column ?? 'column'}_not_null`,
        table,
        columns,
        rule: `${columnList(table, columns.length > 0 ? columns : ['column'])} must not be null`,
      },
      base,
    );
  }

  if (code === '428C9') {
    // No table in this error: PostgreSQL reports it from the rewriter, before any relation is opened.
    const column = error.column ?? quotedAfter(error.detail, /"([^"]+)"/) ?? quotedAfter(error.message, /"([^"]+)"/);
    const identity = /identity column/i.test(error.detail ?? '');
    return new ConstraintViolation(
      {
        kind: 'generated_column',
        constraint: 'GENERATED ALWAYS',
        table,
        columns: column ? [column] : [],
        rule: `${columnList(table, [column ?? 'column'])} is ${identity ? 'an identity' : 'a generated'} column and can only be DEFAULT`,
      },
      base,
    );
  }

  const reported = error.constraint ?? '';
  const { name, info } = resolveConstraint(reported, error.table, keyColumns, catalog);
  const ownerTable = info?.table ?? table ?? error.dataType;
  const columns = info?.columns ?? keyColumns ?? [];

  if (code === '23514') {
    const rule = info ? describeCheck(info.definition, ownerTable) : `${ownerTable ?? 'the row'} failed a check`;
    return new ConstraintViolation({ kind: 'check', constraint: name, table: ownerTable, columns, rule }, base);
  }

  if (code === '23505') {
    const kind = info?.kind === 'primary_key' || (!info && (name.startsWith('pk_') || name.endsWith('_pkey'))) ? 'primary_key' : 'unique';
    let rule: string;
    if (keyColumns || (!key && columns.length > 0)) {
      const cols = keyColumns ?? columns;
      rule = cols.length === 1 ? `${columnList(ownerTable, cols)} must be unique` : `${columnList(ownerTable, cols)} must be unique together`;
    } else if (key) {
      // An expression key, e.g. lower(email::text): name the columns and say how they are compared.
      rule = columns.length > 0 ? `${columnList(ownerTable, columns)} must be unique, compared as ${key}` : `${ownerTable ?? 'the row'}: ${key} must be unique`;
    } else {
      rule = `${ownerTable ?? 'the row'} must be unique`;
    }
    return new ConstraintViolation({ kind, constraint: name, table: ownerTable, columns, rule }, base);
  }

  if (code === '23503' || code === '23001') {
    const references = referencedBy(info?.definition);
    // Which side broke the rule: a child pointing at nothing, or a parent still pointed at.
    const stillReferenced = code === '23001' || /is still referenced|^update or delete on table/i.test(`${error.detail ?? ''}\n${error.message}`);
    const referencedTable =
      references?.table ??
      (stillReferenced ? quotedAfter(error.message, /on table "([^"]+)" violates/) : quotedAfter(error.detail, /present in table "([^"]+)"/));
    const childColumns = info?.columns ?? (stillReferenced ? [] : keyColumns ?? []);
    const parentRow = referencedTable ? `row of ${referencedTable}` : 'referenced row';
    let rule: string;
    if (stillReferenced) {
      rule = `a ${parentRow} is still referenced by ${childColumns.length > 0 ? columnList(ownerTable, childColumns) : ownerTable ?? 'other rows'}`;
    } else {
      const target = references ? `${references.table}.${references.columns.join(', ')}` : parentRow;
      rule = `${childColumns.length > 0 ? columnList(ownerTable, childColumns) : ownerTable ?? 'the row'} must refer to an existing ${target}`;
    }
    return new ConstraintViolation(
      { kind: stillReferenced ? 'restrict' : 'foreign_key', constraint: name, table: ownerTable, columns: childColumns, rule, referencedTable },
      base,
    );
  }

  // 23P01 exclusion_violation
  return new ConstraintViolation(
    {
      kind: 'exclusion',
      constraint: name,
      table: ownerTable,
      columns,
      rule: `${columns.length > 0 ? columnList(ownerTable, columns) : ownerTable ?? 'the row'} must not overlap an existing row`,
    },
    base,
  );
}

/** Agentry's own SQLSTATEs (docs/schema.md, "Errors"): the trigger's message is already in words. */
function triggerErrorOf(error: Error & PgErrorFields, context: MapContext): DatabaseError {
  const code = error.code as string;
  const constraint = error.constraint ?? 'trigger';
  const info = lookup(context.catalog, error.constraint);
  const table = info?.table ?? logicalTable(error.table, context.catalog);
  const columns = error.column ? [error.column] : [...(info?.columns ?? [])];
  const options: DatabaseErrorOptions = { cause: error, code, constraint, table, column: error.column, query: context.query };
  const rule = error.message;
  const details: ConstraintViolationDetails = { kind: 'trigger', constraint, table, columns, rule };

  switch (code) {
    case 'AG001': {
      const match = /illegal task status transition: (\S+) -> (\S+?)(?: \(retry limit of (\d+) reached\))?$/.exec(error.message);
      if (!match) break;
      return new IllegalTransition(
        {
          from: match[1] as string,
          to: match[2] as string,
          taskId: /^task (\S+)$/.exec(error.detail ?? '')?.[1],
          retryLimit: match[3] === undefined ? undefined : Number(match[3]),
        },
        details,
        options,
      );
    }
    case 'AG002': {
      const match = /missing required input key "(.+)" for task type "([^"]+)"/.exec(error.message);
      if (!match) break;
      return new MissingInputKey((match[1] as string).split('" or "'), match[2] as string, rule, options);
    }
    case 'AG003': {
      const dependency = /task (\S+) already \(indirectly\) depends on itself through (\S+)/.exec(error.message);
      const hierarchy = /task (\S+) cannot be a descendant of itself \(via parent ([^)\s]+)\)/.exec(error.message);
      const graph = constraint === 'trg_tasks_parent_cycle' || hierarchy ? 'hierarchy' : 'dependencies';
      const match = dependency ?? hierarchy;
      return new CycleViolation({ graph, taskId: match?.[1], via: match?.[2] }, details, options);
    }
    case 'AG004':
      return new AppendOnlyViolation(/\b(INSERT|UPDATE|DELETE|TRUNCATE) is not allowed/.exec(error.message)?.[1], details, options);
    case 'AG005': {
      const match = /checkpoint (\S+) was already decided \(([^)]*)\)/.exec(error.message);
      return new FinalDecisionViolation({ checkpointId: match?.[1], decision: match?.[2] }, details, options);
    }
    case 'AG006': {
      const stale = /does not match agent (.+)'s current trust score/.exec(error.message);
      const direct = /\(agent (.+): \S+ -> \S+\)$/.exec(error.message);
      const reason = stale || constraint === 'trg_trust_records_apply' ? 'stale_ledger_row' : 'direct_update';
      return new TrustLedgerViolation({ agentId: (stale ?? direct)?.[1], reason }, details, options);
    }
    default:
      break;
  }
  return new ConstraintViolation(details, options);
}

function mapDatabaseError(error: unknown, context: MapContext): unknown {
  if (error instanceof DatabaseError) return error;
  const connection = connectionErrorOf(error, context.query);
  if (connection) return connection;
  const pgError = asPgError(error);
  if (!pgError) return error;
  const code = pgError.code as string;
  const options: DatabaseErrorOptions = {
    cause: pgError,
    code,
    constraint: pgError.constraint,
    table: logicalTable(pgError.table, context.catalog),
    column: pgError.column,
    query: context.query,
  };

  if (['23514', '23503', '23505', '23502', '23001', '23P01', '428C9'].includes(code)) {
    return constraintViolationOf(pgError, context);
  }
  if (code.startsWith('AG')) return triggerErrorOf(pgError, context);
  if (INVALID_INPUT_CODES.has(code)) {
    return new ValidationError(`invalid input value: ${pgError.message}`, [{ path: pgError.column ? [pgError.column] : [], message: pgError.message }], options);
  }
  if (code === '40001') {
    return new ConflictError(`transaction conflicts with a concurrent one; run it again: ${pgError.message}`, { reason: 'serialization_failure' }, options);
  }
  if (code === '40P01') {
    return new ConflictError(`deadlock with a concurrent transaction; run it again: ${pgError.message}`, { reason: 'deadlock' }, options);
  }
  if (code === '55P03') {
    return new ConflictError(`row is locked by a concurrent transaction: ${pgError.message}`, { reason: 'lock_not_available' }, options);
  }
  return new DatabaseError(pgError.message, options);
}

export interface WrapErrorOptions {
  /** Constraint catalog that turns constraint names into words (default: none, names only). */
  catalog?: ConstraintCatalog;
  /** Name of the registered statement that failed, kept on the error. */
  query?: string;
}

/**
 * The typed error for anything a query can throw: a DatabaseError subclass for
 * PostgreSQL and connection errors, the original error otherwise (a non-Error
 * value is wrapped in an Error). Already typed errors are returned as they are.
 */
export function wrapError(error: unknown, options: WrapErrorOptions = {}): Error {
  const mapped = mapDatabaseError(error, { catalog: options.catalog ?? EMPTY_CATALOG, query: options.query });
  return mapped instanceof Error ? mapped : new Error(String(mapped), { cause: mapped });
}

/** wrapError with the catalog bound, for a client to hold. */
export function createErrorMapper(catalog: ConstraintCatalog = EMPTY_CATALOG): (error: unknown, query?: string) => Error {
  return (error, query) => wrapError(error, { catalog, ...(query !== undefined && { query }) });
}

/**
 * Like wrapError, but a thrown non-Error value (a sentinel a callback throws to
 * abort a transaction) comes back unchanged, so a rethrow preserves it.
 */
export function mapError(error: unknown, options: WrapErrorOptions = {}): unknown {
  return mapDatabaseError(error, { catalog: options.catalog ?? EMPTY_CATALOG, query: options.query });
}
