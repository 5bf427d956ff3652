// The reference rows the catalog migration ships (agent types, task types and
// the task state machine), as data. `agentry seed` restores them to these
// values; test/cli/seed.test.ts holds them equal to what the migrations insert,
// so a migration that changes a reference row must change this file too.

export interface AgentTypeRow {
  name: string;
  description: string;
}

export interface TaskTypeRow {
  name: string;
  description: string;
  agentType: string;
  /** numeric(3, 2) as PostgreSQL prints it, or null. */
  avgComplexity: string | null;
  /** numeric(10, 2) as PostgreSQL prints it, or null. */
  avgDurationSeconds: string | null;
  /** Keys tasks.input must hold; 'a|b' means either. */
  requiredInputKeys: readonly string[];
}

export interface TransitionRow {
  from: string;
  to: string;
  description: string | null;
}

export const AGENT_TYPES: readonly AgentTypeRow[] = [
  { name: 'NLPAgent', description: 'Natural-language work: analysis, generation, translation' },
  { name: 'CodeAgent', description: 'Code generation, analysis and optimisation' },
  { name: 'DataAgent', description: 'Data processing, analysis and visualisation' },
  { name: 'ResearchAgent', description: 'Research and summarisation' },
  { name: 'OrchestratorAgent', description: 'Multi-step tasks and pipelines' },
  { name: 'codegen', description: 'Autonomous coding agent (seed 004)' },
  { name: 'testing', description: 'Test-writing agent (seed 004)' },
  { name: 'documentation', description: 'Documentation agent (seed 004)' },
  { name: 'archon', description: 'Architect / planner agent (seed 004)' },
  { name: 'mobile_controller', description: 'Mobile-Agent-V3 device controller (seed 004)' },
];

const taskType = (
  name: string,
  description: string,
  agentType: string,
  avgComplexity: string | null,
  avgDurationSeconds: string | null,
  requiredInputKeys: readonly string[],
): TaskTypeRow => ({ name, description, agentType, avgComplexity, avgDurationSeconds, requiredInputKeys });

export const TASK_TYPES: readonly TaskTypeRow[] = [
  taskType('text_analysis', 'Analyze text for sentiment, entities, etc.', 'NLPAgent', '0.50', '5.00', ['text']),
  taskType('text_generation', 'Generate text from prompts', 'NLPAgent', '0.60', '10.00', ['prompt']),
  taskType('translation', 'Translate text between languages', 'NLPAgent', '0.55', '8.00', ['text', 'source_lang', 'target_lang']),
  taskType('code_generation', 'Generate code from specifications', 'CodeAgent', '0.75', '30.00', ['specification']),
  taskType('code_analysis', 'Analyze code for bugs, quality', 'CodeAgent', '0.65', '15.00', ['code']),
  taskType('code_optimization', 'Optimize existing code', 'CodeAgent', '0.80', '45.00', []),
  taskType('data_processing', 'Process and transform data', 'DataAgent', '0.65', '20.00', ['data']),
  taskType('data_analysis', 'Statistical analysis of data', 'DataAgent', '0.70', '25.00', ['data|file_url']),
  taskType('data_visualization', 'Create visualizations', 'DataAgent', '0.45', '12.00', []),
  taskType('research', 'Conduct research on topic', 'ResearchAgent', '0.75', '60.00', []),
  taskType('summarization', 'Summarize documents/data', 'ResearchAgent', '0.55', '15.00', []),
  taskType('multi_step', 'Complex multi-stage task', 'OrchestratorAgent', '0.85', '120.00', []),
  taskType('pipeline', 'Data pipeline execution', 'OrchestratorAgent', '0.75', '90.00', []),
  taskType('fetch', 'Fetch data from a source (seed 002 chains)', 'DataAgent', null, null, []),
  taskType('process', 'Process fetched data (seed 002 chains)', 'DataAgent', null, null, []),
  taskType('code_review', 'Review code (seed 003)', 'CodeAgent', null, null, []),
  taskType('test_engineering', 'Write and run tests (seed 003)', 'CodeAgent', null, null, []),
];

const moves: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['pending', ['initializing', 'queued', 'cancelled']],
  ['initializing', ['queued', 'failed', 'cancelled']],
  ['queued', ['assigned', 'running', 'cancelled']],
  ['assigned', ['running', 'queued', 'cancelled', 'timeout']],
  ['running', ['completed', 'failed', 'timeout', 'cancelled', 'checkpoint']],
  ['checkpoint', ['running', 'correcting', 'failed', 'cancelled']],
  ['correcting', ['queued', 'failed', 'cancelled']],
  ['failed', ['retrying', 'cancelled']],
  ['retrying', ['queued', 'cancelled']],
];

/** The task state machine (schema.md); the migration gives no descriptions. */
export const TASK_STATUS_TRANSITIONS: readonly TransitionRow[] = moves.flatMap(([from, tos]) =>
  tos.map((to) => ({ from, to, description: null })),
);
