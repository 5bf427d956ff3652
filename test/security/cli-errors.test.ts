import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runBin, runCli, type CliResult } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { recordFigures } from '../helpers/figures.js';
import { loginRoles, type Login } from './support/roles.js';

// Bad input to the CLI: wrong arguments, bad URLs, an unreachable server and
// a role without the privileges a command needs. Each is one line on stderr
// starting "agentry: ", exit 2, no stack trace unless --verbose, and never the
// password of a URL (also with --verbose and --json).
//
// Every case names a URL to a closed port before its subcommand, so a usage
// check that wrongly let the command run would end in a connection error (and
// fail the test) instead of starting an embedded server.

const db = useTestDatabase();
const SECRET = 's3cretPW';
let closedPort = 0;
let cases = 0;
const counts = { usage: 0, url: 0, unreachable: 0, privilege: 0, subprocess: 0 };

/** A port nothing listens on: bound by us, then closed. */
async function freeClosedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const closedUrl = () => `postgres://u:${SECRET}@127.0.0.1:${closedPort}/db`;

async function cli(kind: keyof typeof counts, args: string[]): Promise<CliResult> {
  cases += 1;
  counts[kind] += 1;
  return runCli(args);
}

/** One "agentry: ..." line on stderr, nothing on stdout, exit 2, no stack, no password. */
function expectOneLineError(run: CliResult, args: string[], message?: RegExp): void {
  const label = `agentry ${args.join(' ')}\nstderr: ${run.stderr}`;
  expect(run.code, label).toBe(2);
  expect(run.stdout, label).toBe('');
  expect(run.stderr, label).toMatch(/^agentry: [^\n]+\n$/);
  expect(run.stderr, label).not.toMatch(/\n\s+at /);
  if (message) expect(run.stderr, label).toMatch(message);
  expectNoSecret(run, label);
}

function expectNoSecret(run: CliResult, label: string, secrets: readonly string[] = [SECRET]): void {
  for (const secret of secrets) {
    expect(run.stdout, label).not.toContain(secret);
    expect(run.stderr, label).not.toContain(secret);
  }
}

const logins = loginRoles(db);
let readonlyLogin: Login;
let appLogin: Login;

beforeAll(async () => {
  closedPort = await freeClosedPort();
  // LOGIN roles that are members of agentry_readonly and agentry_app only.
  readonlyLogin = await logins.login('agentry_readonly');
  appLogin = await logins.login('agentry_app');
});

afterAll(async () => {
  await logins.drop();
  if (cases === 0) return;
  recordFigures('security-cli', {
    cliCases: cases,
    cliUsageCases: counts.usage,
    cliBadUrlCases: counts.url,
    cliUnreachableCases: counts.unreachable,
    cliPrivilegeCases: counts.privilege,
    cliSubprocessCases: counts.subprocess,
  });
});

describe('wrong arguments', () => {
  // [args after the global URL, what the line says]
  const USAGE: [string[], RegExp][] = [
    [[], /^agentry: a command is needed: migrate, demo, verify/],
    [['bogus'], /^agentry: unknown command 'bogus' \(see agentry --help\)/],
    [['--bogus', 'migrate', 'status'], /unknown option '--bogus'/],
    [['migrate', 'status', '--bogus'], /unknown option '--bogus' \(see agentry migrate status --help\)/],
    [['migrate'], /^agentry: migrate needs a command: up, down, redo, status/],
    [['partitions'], /^agentry: partitions needs a command: maintain, list/],
    [['migrate', 'bogus'], /unknown command 'bogus'/],
    [['migrate', 'create'], /missing required argument 'name'/],
    [['migrate', 'up', '1', '2'], /too many arguments for 'up'/],
    [['migrate', 'up', 'x'], /invalid count "x"/],
    [['migrate', 'down', 'zero'], /invalid count "zero"/],
    [['migrate', 'down', '-1'], /invalid count|unknown option/],
    [['demo', '--scale'], /option '--scale <n>' argument missing/],
    [['demo', '--scale', 'abc'], /--scale must be 0 or a number from 0\.005 to 100, not "abc"/],
    [['demo', '--scale', ''], /--scale must be 0 or a number/],
    [['demo', '--scale', ' '], /--scale must be 0 or a number/],
    [['demo', '--scale', '0x10'], /--scale must be 0 or a number/],
    [['demo', '--scale', '1e1'], /--scale must be 0 or a number/],
    [['demo', '--scale', '-1'], /--scale must be 0 or a number/],
    [['demo', '--scale', '101'], /--scale must be 0 or a number/],
    [['demo', '--scale', '0.001'], /--scale must be 0 or a number/],
    [['demo', '--scale', 'NaN'], /--scale must be 0 or a number/],
    [['demo', '--scale', 'Infinity'], /--scale must be 0 or a number/],
    [['seed', '--demo', '--scale', 'big'], /--scale expects a number such as 1 or 0\.01, not "big"/],
    [['seed', '--demo', '--scale', '0'], /--scale must be between 0\.005 and 1000/],
    [['seed', '--scale', '1'], /--scale applies to the demo data: add --demo/],
    [['seed', '--demo', '--jobs', '0'], /--jobs/],
    [['seed', '--demo', '--as-of', 'yesterday'], /--as-of expects a date/],
    [['verify', '--months-ahead', 'x'], /--months-ahead expects an integer, not "x"/],
    [['partitions', 'maintain', '--retention-months', '1.5'], /--retention-months expects an integer/],
    [['--provider', 'nope', 'demo'], /argument 'nope' is invalid\. Allowed choices are url, embedded, testcontainers/],
    [['--provider', 'embedded', 'migrate', 'status'], /exclude each other/],
    [['--provider'], /option '--provider <provider>' argument missing/],
  ];

  it('exit 2 with one line naming the problem, before any connection', async () => {
    for (const [args, message] of USAGE) {
      const full = ['--database-url', closedUrl(), ...args];
      const run = await cli('usage', full);
      expectOneLineError(run, full, message);
      expect(run.stderr, full.join(' ')).not.toMatch(/cannot connect/);
    }
  });

  it('--help, -V and `help <command>` exit 0 on stdout; an error with --verbose may show a stack, without the password', async () => {
    for (const args of [['--help'], ['-V'], ['help', 'migrate'], ['migrate', 'up', '--help']]) {
      const run = await cli('usage', args);
      expect(run.code, args.join(' ')).toBe(0);
      expect(run.stdout.length).toBeGreaterThan(0);
      expect(run.stderr).toBe('');
    }
    const verbose = await cli('usage', ['--verbose', '--database-url', closedUrl(), 'demo', '--scale', 'abc']);
    expect(verbose.code).toBe(2);
    expect(verbose.stderr.split('\n')[0]).toMatch(/^agentry: --scale must be 0 or a number/);
    expectNoSecret(verbose, 'verbose usage error');
  });
});

describe('bad database URLs', () => {
  const BAD_URLS: [string, RegExp][] = [
    ['not a url', /invalid database URL: expected postgres:\/\/user\[:password\]@host\[:port\]\/database/],
    [`mysql://u:${SECRET}@127.0.0.1/db`, /scheme must be postgres:\/\/ or postgresql:\/\/, not mysql:\/\//],
    [`http://u:${SECRET}@127.0.0.1/db`, /scheme must be postgres/],
    [`postgres://u:${SECRET}@[::1/db`, /invalid database URL/],
    [`postgres://u:${SECRET}@127.0.0.1:99999/db`, /invalid database URL/],
    // A stray % was "URI malformed", exit 1, before src/db/url.ts checked the percent-encoding.
    [`postgres://u:${SECRET}@127.0.0.1:5432/db%`, /invalid database URL: the database name is not valid percent-encoding/],
    [`postgres://u:${SECRET}%@127.0.0.1:5432/db`, /invalid database URL: the password is not valid percent-encoding/],
    [`postgres://u%zz:${SECRET}@127.0.0.1:5432/db`, /invalid database URL: the user name is not valid percent-encoding/],
    [`u:${SECRET}@127.0.0.1:5432/db`, /invalid database URL/],
    [`postgres//u:${SECRET}@127.0.0.1/db`, /invalid database URL/],
  ];

  it('exit 2 with one line, never echoing the URL or its password, also with --verbose and --json', async () => {
    for (const [url, message] of BAD_URLS) {
      for (const extra of [[], ['--json'], ['--verbose']]) {
        const args = [...extra, '--database-url', url, 'migrate', 'status'];
        const run = await cli('url', args);
        const label = args.join(' ');
        expect(run.code, `${label}: ${run.stderr}`).toBe(2);
        expect(run.stdout, label).toBe('');
        expect(run.stderr.split('\n')[0], label).toMatch(message);
        if (extra.length === 0 || extra[0] === '--json') expect(run.stderr, label).toMatch(/^agentry: [^\n]+\n$/);
        expectNoSecret(run, label);
      }
    }
  });
});

describe('an unreachable server', () => {
  const COMMANDS = [
    ['migrate', 'status'],
    ['migrate', 'up'],
    ['migrate', 'down'],
    ['migrate', 'ledger'],
    ['seed'],
    ['seed', '--demo', '--scale', '0.005'],
    ['verify'],
    ['partitions', 'list'],
    ['partitions', 'maintain'],
    ['plan'],
    ['demo', '--scale', '0'],
  ];

  it('exit 2 with "cannot connect to" and the URL with *** for the password, for every command', async () => {
    for (const command of COMMANDS) {
      const args = ['--database-url', closedUrl(), ...command];
      const run = await cli('unreachable', args);
      expectOneLineError(run, args, new RegExp(`^agentry: cannot connect to postgres://u:\\*\\*\\*@127\\.0\\.0\\.1:${closedPort}/`));
    }
  });

  it('keeps the password out with --verbose (stack traces) and --json, whatever form it takes in the URL', async () => {
    const forms: [string, string[]][] = [
      [closedUrl(), [SECRET]],
      [`postgres://u@127.0.0.1:${closedPort}/db?password=${SECRET}`, [SECRET]],
      // Percent-encoded: neither the encoded nor the decoded form may appear.
      [`postgres://u:s3cret%50W%40x@127.0.0.1:${closedPort}/db`, ['s3cret%50W%40x', 's3cretPW@x']],
      [`postgresql://u:${SECRET}@localhost:${closedPort}/db?sslmode=disable`, [SECRET]],
    ];
    for (const [url, secrets] of forms) {
      for (const extra of [['--verbose'], ['--json'], ['--verbose', '--json']]) {
        for (const command of [['migrate', 'status'], ['migrate', 'up'], ['verify']]) {
          const args = [...extra, '--database-url', url, ...command];
          const run = await cli('unreachable', args);
          const label = `${args.join(' ')}\n${run.stderr}`;
          expect(run.code, label).toBe(2);
          expect(run.stdout, label).toBe('');
          expect(run.stderr, label).toMatch(/^agentry: cannot connect to postgres(ql)?:\/\/u(:\*\*\*)?@/);
          if (extra.includes('--verbose')) expect(run.stderr, label).toMatch(/\n\s+at /);
          else expect(run.stderr.trim().split('\n'), label).toHaveLength(1);
          expectNoSecret(run, label, secrets);
        }
      }
    }
  });

  it('a server that refuses the login (unknown role) and a missing database: exit 2, one line, no password', async () => {
    const server = new URL(db.adminUrl);
    const unknownRole = `postgres://agentry_sec_nobody_${randomBytes(3).toString('hex')}:${SECRET}@${server.host}/postgres`;
    const refused = await cli('unreachable', ['--database-url', unknownRole, 'migrate', 'status']);
    expectOneLineError(refused, ['unknown role'], /^agentry: cannot connect to postgres:\/\/agentry_sec_nobody_\w+:\*\*\*@/);
    // The server's own credentials (an embedded server has a generated password): only the database is wrong.
    const missing = await cli('unreachable', ['--database-url', db.adminUrl, '--database', 'agentry_sec_nowhere', 'migrate', 'status']);
    expectOneLineError(missing, ['missing database'], /database "agentry_sec_nowhere" does not exist/);
    if (server.password) expectNoSecret(missing, 'missing database', [decodeURIComponent(server.password)]);
  });
});

describe('a role without the privileges the command needs', () => {
  const state = async () => {
    const { rows } = await db.pool.query<{ migrations: number; ledger: number; types: number; partitions: number }>(
      `SELECT (SELECT count(*)::int FROM agentry.pgmigrations) AS migrations,
              (SELECT count(*)::int FROM agentry.pgmigrations_checksums) AS ledger,
              (SELECT count(*)::int FROM agentry.task_types) AS types,
              (SELECT count(*)::int FROM pg_inherits) AS partitions`,
    );
    return rows[0];
  };

  it('migrate, seed, partitions maintain and demo as agentry_readonly or agentry_app: exit 2, one line saying who may, nothing changed', { timeout: 60_000 }, async () => {
    // The checksum ledger exists once a migrate run as the owner made it (nothing is pending).
    const owner = await runCli(['--database-url', db.adminUrl, '--database', db.name, 'migrate', 'up']);
    expect(owner.code, owner.stderr).toBe(0);
    const before = await state();
    const COMMANDS: [string[], RegExp][] = [
      [['migrate', 'up'], /permission denied.*: migrations run as a superuser or a member of agentry_owner/],
      [['migrate', 'down'], /permission denied.*: migrations run as a superuser or a member of agentry_owner/],
      [['migrate', 'redo'], /permission denied.*: migrations run as a superuser or a member of agentry_owner/],
      [['migrate', 'ledger', '--accept', '1764547200000_roles'], /permission denied/],
      [['seed'], /agentry seed writes the reference tables: connect as a superuser or a member of agentry_owner/],
      [['seed', '--demo', '--scale', '0.005'], /writes the reference tables and creates partitions: connect as a superuser or a member of agentry_owner/],
      [['partitions', 'maintain'], /permission denied for function maintain_partitions: partition maintenance runs as a superuser or a member of agentry_owner/],
      [['demo', '--scale', '0'], /permission denied.*agentry_owner/],
    ];
    for (const { url, password } of [readonlyLogin, appLogin]) {
      for (const [command, message] of COMMANDS) {
        for (const extra of [[], ['--json']]) {
          const args = [...extra, '--database-url', url, '--database', db.name, ...command];
          const run = await cli('privilege', args);
          expectOneLineError(run, args, message);
          expectNoSecret(run, args.join(' '), [password]);
        }
      }
    }
    expect(await state()).toEqual(before);
  });
});

describe('as a subprocess (bin/agentry.js)', () => {
  const cwd = tmpdir();
  const bin = async (args: string[], env: Record<string, string> = {}) => {
    cases += 1;
    counts.subprocess += 1;
    return runBin(args, { cwd, env, timeoutMs: 20_000 });
  };

  it('a malformed DATABASE_URL, an unreachable one with --verbose --json, a read-only role, an unknown command: exit 2, no password', { timeout: 90_000 }, async () => {
    const malformed = await bin(['migrate', 'status'], { DATABASE_URL: `postgres://u:${SECRET}@[::1/db` });
    expectOneLineError(malformed, ['env DATABASE_URL malformed'], /^agentry: invalid database URL/);

    const scheme = await bin(['verify'], { DATABASE_URL: `mysql://u:${SECRET}@127.0.0.1/db` });
    expectOneLineError(scheme, ['env DATABASE_URL mysql'], /scheme must be postgres/);

    const unreachable = await bin(['--verbose', '--json', 'migrate', 'up'], { DATABASE_URL: closedUrl() });
    expect(unreachable.code).toBe(2);
    expect(unreachable.stdout).toBe('');
    expect(unreachable.stderr).toMatch(/^agentry: cannot connect to postgres:\/\/u:\*\*\*@127\.0\.0\.1/);
    expect(unreachable.stderr).toMatch(/\n\s+at /); // --verbose: the stack, redacted
    expectNoSecret(unreachable, 'subprocess --verbose --json');

    const readonly = await bin(['--database-url', readonlyLogin.url, '--database', db.name, 'migrate', 'up']);
    expectOneLineError(readonly, ['subprocess migrate up as agentry_readonly'], /permission denied.*agentry_owner/);
    expectNoSecret(readonly, 'subprocess readonly', [readonlyLogin.password]);

    const flag = await bin(['--database-url', closedUrl(), 'seed']);
    expectOneLineError(flag, ['subprocess seed'], /^agentry: cannot connect to/);

    // commander's own usage error exits 2 from the binary too.
    const unknown = await bin(['--database-url', closedUrl(), 'bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'bogus'/);
    expect(unknown.stderr).not.toMatch(/\n\s+at /);
    expectNoSecret(unknown, 'subprocess unknown command');
  });
});
