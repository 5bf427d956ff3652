// Catalog context (migrations/1764547201000_catalog.sql): agent_types,
// task_types, the task_status domain and task_status_transitions, and the
// validators is_valid_cron / is_valid_timezone used by scheduled_tasks.
import { describe, expect, it } from 'vitest';

import { inRolledBackTransaction, useTestDatabase } from '../helpers/db.js';
import { accepted, errorOf, expectRefused, SQLSTATE } from './support.js';

const db = useTestDatabase();


describe('agent_types', () => {
  it('holds seed 000\'s five agent classes and seed 004\'s five agent kinds', async () => {
    const rows = await accepted<{ name: string }>(db.pool, 'SELECT name FROM agentry.agent_types ORDER BY name');
    expect(rows.map((r) => r.name)).toEqual(
      [
        'CodeAgent',
        'DataAgent',
        'NLPAgent',
        'OrchestratorAgent',
        'ResearchAgent',
        'archon',
        'codegen',
        'documentation',
        'mobile_controller',
        'testing',
      ].sort(),
    );
  });

  it('chk_agent_types_name_format: accepts an identifier, refuses short, digit-first and punctuated names', async () => {
    await accepted(db.pool, 'INSERT INTO agentry.agent_types (name, description) VALUES ($1, $2)', ['VisionAgent', 'Images']);
    for (const bad of ['ab', '1Agent', 'Vision-Agent', 'Vision Agent', '']) {
      await expectRefused(db.pool, 'INSERT INTO agentry.agent_types (name, description) VALUES ($1, $2)', [bad, 'x'], {
        constraint: 'chk_agent_types_name_format',
        table: 'agent_types',
      });
    }
  });

  it('pk_agent_types: a name is listed once', async () => {
    await expectRefused(db.pool, 'INSERT INTO agentry.agent_types (name, description) VALUES ($1, $2)', ['NLPAgent', 'again'], {
      constraint: 'pk_agent_types',
      table: 'agent_types',
    });
  });
});

describe('task_types', () => {
  // Seed 000's task_types INSERT (name, agent_type, avg_complexity, avg_duration_seconds) and
  // its validate_task_input_schema() CASE (required keys); data_analysis is widened to
  // data|file_url because seed 002 submits data_analysis work by reference.
  const seed000: Array<[string, string, string, string, string[]]> = [
    ['text_analysis', 'NLPAgent', '0.50', '5.00', ['text']],
    ['text_generation', 'NLPAgent', '0.60', '10.00', ['prompt']],
    ['translation', 'NLPAgent', '0.55', '8.00', ['text', 'source_lang', 'target_lang']],
    ['code_generation', 'CodeAgent', '0.75', '30.00', ['specification']],
    ['code_analysis', 'CodeAgent', '0.65', '15.00', ['code']],
    ['code_optimization', 'CodeAgent', '0.80', '45.00', []],
    ['data_processing', 'DataAgent', '0.65', '20.00', ['data']],
    ['data_analysis', 'DataAgent', '0.70', '25.00', ['data|file_url']],
    ['data_visualization', 'DataAgent', '0.45', '12.00', []],
    ['research', 'ResearchAgent', '0.75', '60.00', []],
    ['summarization', 'ResearchAgent', '0.55', '15.00', []],
    ['multi_step', 'OrchestratorAgent', '0.85', '120.00', []],
    ['pipeline', 'OrchestratorAgent', '0.75', '90.00', []],
  ];
  const extras: Array<[string, string]> = [
    ['fetch', 'DataAgent'],
    ['process', 'DataAgent'],
    ['code_review', 'CodeAgent'],
    ['test_engineering', 'CodeAgent'],
  ];

  it('holds exactly seed 000\'s 13 types (agent type, complexity, duration, input rules) plus the 4 the other seeds use', async () => {
    const rows = await accepted<{
      name: string;
      agent_type: string;
      avg_complexity: string | null;
      avg_duration_seconds: string | null;
      required_input_keys: string[];
    }>(db.pool, 'SELECT name, agent_type, avg_complexity, avg_duration_seconds, required_input_keys FROM agentry.task_types ORDER BY name');
    const expected = [
      ...seed000.map(([name, agent_type, avg_complexity, avg_duration_seconds, required_input_keys]) => ({
        name,
        agent_type,
        avg_complexity,
        avg_duration_seconds,
        required_input_keys,
      })),
      ...extras.map(([name, agent_type]) => ({
        name,
        agent_type,
        avg_complexity: null,
        avg_duration_seconds: null,
        required_input_keys: [],
      })),
    ].sort((a, b) => (a.name < b.name ? -1 : 1));
    expect(rows).toEqual(expected);
  });

  it('seed 000\'s seven input rules are exactly the types with required_input_keys', async () => {
    const rows = await accepted<{ name: string }>(
      db.pool,
      'SELECT name FROM agentry.task_types WHERE cardinality(required_input_keys) > 0 ORDER BY name',
    );
    expect(rows.map((r) => r.name)).toEqual(
      ['code_analysis', 'code_generation', 'data_analysis', 'data_processing', 'text_analysis', 'text_generation', 'translation'],
    );
  });

  const insertType =
    'INSERT INTO agentry.task_types (name, description, agent_type, avg_complexity, avg_duration_seconds, required_input_keys) VALUES ($1, $2, $3, $4, $5, $6)';

  it('accepts a well-formed type', async () => {
    await accepted(db.pool, insertType, ['image_tagging', 'Tag images', 'DataAgent', 0.3, 4.5, ['image_url|image_data', 'labels']]);
    const rows = await accepted<{ required_input_keys: string[] }>(
      db.pool,
      'SELECT required_input_keys FROM agentry.task_types WHERE name = $1',
      ['image_tagging'],
    );
    expect(rows[0]?.required_input_keys).toEqual(['image_url|image_data', 'labels']);
  });

  it('chk_task_types_name_format: lower-case 3..50 characters of [a-z0-9_]', async () => {
    for (const bad of ['ab', 'TextAnalysis', 'text-analysis', 'text analysis', '_x']) {
      await expectRefused(db.pool, insertType, [bad, 'x', 'DataAgent', null, null, []], {
        constraint: 'chk_task_types_name_format',
        table: 'task_types',
      });
    }
    // 51 characters overflow varchar(50) before the CHECK runs.
    expect((await errorOf(db.pool, insertType, ['x'.repeat(51), 'x', 'DataAgent', null, null, []])).code).toBe('22001');
  });

  it('chk_task_types_avg_complexity_range: 0..1', async () => {
    await accepted(db.pool, insertType, ['edge_complexity_one', 'x', 'DataAgent', 1, null, []]);
    for (const bad of [1.01, -0.01]) {
      await expectRefused(db.pool, insertType, ['bad_complexity', 'x', 'DataAgent', bad, null, []], {
        constraint: 'chk_task_types_avg_complexity_range',
        table: 'task_types',
      });
    }
  });

  it('chk_task_types_avg_duration_nonnegative', async () => {
    await accepted(db.pool, insertType, ['edge_duration_zero', 'x', 'DataAgent', null, 0, []]);
    await expectRefused(db.pool, insertType, ['bad_duration', 'x', 'DataAgent', null, -1, []], {
      constraint: 'chk_task_types_avg_duration_nonnegative',
      table: 'task_types',
    });
  });

  it('chk_task_types_required_input_keys_format: identifiers, alternatives with |, no empty, comma-holding or NULL element', async () => {
    await accepted(db.pool, insertType, ['keys_ok', 'x', 'DataAgent', null, null, ['a', 'b_1|c', 'D']]);
    const bad: unknown[] = [
      ['text', ''], // an empty key could never be present: every task of the type would be refused
      [''],
      ['a,b'], // would look like two keys when joined
      ['a|'],
      ['|a'],
      ['a b'],
      ['text', null],
      ['model-name'],
    ];
    let i = 0;
    for (const keys of bad) {
      await expectRefused(db.pool, insertType, [`bad_keys_${i++}`, 'x', 'DataAgent', null, null, keys], {
        constraint: 'chk_task_types_required_input_keys_format',
        table: 'task_types',
      });
    }
  });

  it('pk_task_types: a name is listed once', async () => {
    await expectRefused(db.pool, insertType, ['translation', 'again', 'NLPAgent', null, null, []], {
      constraint: 'pk_task_types',
      table: 'task_types',
    });
  });

  it('fk_task_types_agent_type: an unknown agent type is refused', async () => {
    await expectRefused(db.pool, insertType, ['orphan_type', 'x', 'NoSuchAgent', null, null, []], {
      constraint: 'fk_task_types_agent_type',
      table: 'task_types',
    });
  });

  it('fk_task_types_agent_type: ON UPDATE CASCADE renames follow, ON DELETE RESTRICT keeps a used agent type', async () => {
    await accepted(db.pool, 'INSERT INTO agentry.agent_types (name, description) VALUES ($1, $2)', ['AudioAgent', 'Audio']);
    await accepted(db.pool, insertType, ['audio_transcription', 'x', 'AudioAgent', null, null, ['audio_url']]);

    await accepted(db.pool, 'UPDATE agentry.agent_types SET name = $1 WHERE name = $2', ['SpeechAgent', 'AudioAgent']);
    const rows = await accepted<{ agent_type: string }>(
      db.pool,
      'SELECT agent_type FROM agentry.task_types WHERE name = $1',
      ['audio_transcription'],
    );
    expect(rows[0]?.agent_type).toBe('SpeechAgent');

    const error = await expectRefused(db.pool, 'DELETE FROM agentry.agent_types WHERE name = $1', ['SpeechAgent'], {
      constraint: 'fk_task_types_agent_type',
      table: 'agent_types',
    });
    expect(error.message).toMatch(/task_types/);

    // Once no type uses it, it can go.
    await accepted(db.pool, 'DELETE FROM agentry.task_types WHERE name = $1', ['audio_transcription']);
    await accepted(db.pool, 'DELETE FROM agentry.agent_types WHERE name = $1', ['SpeechAgent']);
  });

  it('a renamed task type cascades to the tasks of that type (fk_tasks_type ON UPDATE CASCADE)', async () => {
    await accepted(db.pool, insertType, ['old_type_name', 'x', 'DataAgent', null, null, []]);
    const [task] = await accepted<{ id: string }>(
      db.pool,
      'INSERT INTO agentry.tasks (type, input) VALUES ($1, $2) RETURNING id',
      ['old_type_name', { a: 1 }],
    );
    await accepted(db.pool, 'UPDATE agentry.task_types SET name = $1 WHERE name = $2', ['new_type_name', 'old_type_name']);
    const rows = await accepted<{ type: string }>(db.pool, 'SELECT type FROM agentry.tasks WHERE id = $1', [task!.id]);
    expect(rows[0]?.type).toBe('new_type_name');
    await expectRefused(db.pool, 'DELETE FROM agentry.task_types WHERE name = $1', ['new_type_name'], {
      constraint: 'fk_tasks_type',
      table: 'task_types',
    });
  });

  it('is readable but not writable by agentry_app', async () => {
    await inRolledBackTransaction(db.pool, async (client) => {
      await client.query('SET LOCAL ROLE agentry_app');
      const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM agentry.task_types');
      expect(Number(rows[0]!.n)).toBeGreaterThanOrEqual(17);
      const error = await errorOf(client, insertType, ['app_type', 'x', 'DataAgent', null, null, []]);
      expect(error.code).toBe(SQLSTATE.insufficientPrivilege);
    });
  });
});

describe('task_status domain and task_status_transitions', () => {
  const statuses = [
    'pending', 'initializing', 'queued', 'assigned', 'running', 'checkpoint',
    'correcting', 'retrying', 'completed', 'failed', 'cancelled', 'timeout',
  ];
  // The table in /work/shared/design/schema.md, verbatim.
  const schemaMd: Record<string, string[]> = {
    pending: ['initializing', 'queued', 'cancelled'],
    initializing: ['queued', 'failed', 'cancelled'],
    queued: ['assigned', 'running', 'cancelled'],
    assigned: ['running', 'queued', 'cancelled', 'timeout'],
    running: ['completed', 'failed', 'timeout', 'cancelled', 'checkpoint'],
    checkpoint: ['running', 'correcting', 'failed', 'cancelled'],
    correcting: ['queued', 'failed', 'cancelled'],
    failed: ['retrying', 'cancelled'],
    retrying: ['queued', 'cancelled'],
    completed: [],
    cancelled: [],
    timeout: [],
  };

  it('task_status_transitions holds exactly the rows of the schema.md table', async () => {
    const rows = await accepted<{ from_status: string; to_status: string }>(
      db.pool,
      'SELECT from_status, to_status FROM agentry.task_status_transitions',
    );
    const actual = rows.map((r) => `${r.from_status} -> ${r.to_status}`).sort();
    const expected = Object.entries(schemaMd)
      .flatMap(([from, tos]) => tos.map((to) => `${from} -> ${to}`))
      .sort();
    expect(expected).toHaveLength(29);
    expect(actual).toEqual(expected);
  });

  it('the domain agentry.task_status lists the twelve statuses (chk_task_status_valid)', async () => {
    const rows = await accepted<{ def: string }>(
      db.pool,
      `SELECT pg_get_constraintdef(c.oid) AS def
         FROM pg_constraint c JOIN pg_type t ON t.oid = c.contypid
         JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'agentry' AND t.typname = 'task_status' AND c.conname = 'chk_task_status_valid'`,
    );
    expect(rows).toHaveLength(1);
    const listed = [...rows[0]!.def.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]);
    expect(listed).toEqual(statuses);
    for (const status of statuses) {
      const [row] = await accepted<{ ok: string }>(db.pool, 'SELECT $1::agentry.task_status AS ok', [status]);
      expect(row?.ok).toBe(status);
    }
  });

  it('chk_task_status_valid refuses an unknown or upper-case status in the transition table', async () => {
    for (const bad of ['PENDING', 'done', 'in_progress']) {
      await expectRefused(
        db.pool,
        'INSERT INTO agentry.task_status_transitions (from_status, to_status) VALUES ($1, $2)',
        ['pending', bad],
        { constraint: 'chk_task_status_valid', table: 'task_status_transitions' },
      );
    }
  });

  it('chk_task_status_transitions_not_self and pk_task_status_transitions', async () => {
    await expectRefused(
      db.pool,
      'INSERT INTO agentry.task_status_transitions (from_status, to_status) VALUES ($1, $2)',
      ['running', 'running'],
      { constraint: 'chk_task_status_transitions_not_self', table: 'task_status_transitions' },
    );
    await expectRefused(
      db.pool,
      'INSERT INTO agentry.task_status_transitions (from_status, to_status) VALUES ($1, $2)',
      ['pending', 'queued'],
      { constraint: 'pk_task_status_transitions', table: 'task_status_transitions' },
    );
  });

  it('the state machine is data: a new row makes a new move legal for trg_tasks_status_transition', async () => {
    await inRolledBackTransaction(db.pool, async (client) => {
      const [task] = (
        await client.query<{ id: string }>(
          'INSERT INTO agentry.tasks (title, status) VALUES ($1, $2) RETURNING id',
          ['requeue me', 'timeout'],
        )
      ).rows;
      await client.query('SAVEPOINT before_move');
      const refused = await errorOf(client, 'UPDATE agentry.tasks SET status = $2 WHERE id = $1', [task!.id, 'queued']);
      expect(refused.code).toBe(SQLSTATE.illegalTransition);
      expect(refused.constraint).toBe('trg_tasks_status_transition');
      await client.query('ROLLBACK TO SAVEPOINT before_move');

      await client.query(
        'INSERT INTO agentry.task_status_transitions (from_status, to_status, description) VALUES ($1, $2, $3)',
        ['timeout', 'queued', 'requeue after a timeout'],
      );
      const { rows } = await client.query<{ status: string }>(
        'UPDATE agentry.tasks SET status = $2 WHERE id = $1 RETURNING status',
        [task!.id, 'queued'],
      );
      expect(rows[0]?.status).toBe('queued');
    });
  });
});

describe('is_valid_cron', () => {
  const good = [
    '* * * * *',
    '*/5 * * * *', // seed 002: every 5 minutes
    '0 */2 * * *', // seed 002: every 2 hours
    '0 9 * * 1-5', // seed 002: 9 AM on weekdays
    '0 0 1 * *', // seed 002: first day of month at midnight
    '0,15,30,45 * * * *',
    '0-30/10 8-18 * * *',
    '5/15 * * * *',
    '59 23 31 12 7',
    '0 0 * * 0',
    '0 0 1 JAN,JUL *',
    '0 0 * jan-mar mon-fri',
    '30 6 * * SUN',
    '0 12 * DEC SAT',
    '  0   0   *  *  *  ', // surrounding and repeated whitespace
    '0\t0 * * *',
    '05 07 * * *',
    '@yearly',
    '@annually',
    '@monthly',
    '@weekly',
    '@daily',
    '@midnight',
    '@hourly',
  ];
  const bad = [
    '',
    '* * * *', // four fields
    '* * * * * *', // six fields (seconds are not part of the contract)
    '60 * * * *', // minute out of range
    '* 24 * * *', // hour out of range
    '* * 0 * *', // day of month starts at 1
    '* * 32 * *',
    '* * * 0 *', // month starts at 1
    '* * * 13 *',
    '* * * * 8', // day of week 0..7
    '*/0 * * * *', // zero step
    '*/60 * * * *', // step beyond the field
    '30-10 * * * *', // reversed range
    '1,,2 * * * *', // empty list element
    '1, * * * *',
    '-1 * * * *',
    '100 * * * *',
    'JAN * * * *', // month name outside the month field
    '* * * * JAN', // month name in the weekday field
    '* * * MON *', // weekday name in the month field
    '* * * JANUARY *',
    '0 9 ? * MON', // Quartz-only syntax
    '0 0 L * *',
    '@reboot',
    '@every 5m',
    '@DAILY',
    'every day',
    '*/5 * * * * extra',
  ];

  it.each(good)('accepts %j', async (expression) => {
    const [row] = await accepted<{ ok: boolean }>(db.pool, 'SELECT agentry.is_valid_cron($1) AS ok', [expression]);
    expect(row?.ok).toBe(true);
  });

  it.each(bad)('refuses %j', async (expression) => {
    const [row] = await accepted<{ ok: boolean }>(db.pool, 'SELECT agentry.is_valid_cron($1) AS ok', [expression]);
    expect(row?.ok).toBe(false);
  });

  it('is STRICT: NULL in, NULL out', async () => {
    const [row] = await accepted<{ ok: boolean | null }>(db.pool, 'SELECT agentry.is_valid_cron(NULL) AS ok');
    expect(row?.ok).toBeNull();
  });
});

describe('is_valid_timezone', () => {
  it.each(['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Etc/GMT+5'])('accepts %j', async (zone) => {
    const [row] = await accepted<{ ok: boolean }>(db.pool, 'SELECT agentry.is_valid_timezone($1) AS ok', [zone]);
    expect(row?.ok).toBe(true);
  });

  // POSIX strings and offsets parse as a TimeZone in PostgreSQL but are not IANA names.
  it.each(['XYZ3', '+02:00', 'UTC+2', 'Mars/Olympus_Mons', 'europe/berlin', '', 'Europe/Berlin '])('refuses %j', async (zone) => {
    const [row] = await accepted<{ ok: boolean }>(db.pool, 'SELECT agentry.is_valid_timezone($1) AS ok', [zone]);
    expect(row?.ok).toBe(false);
  });
});
