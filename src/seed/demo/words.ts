// Word lists the demo generator picks from. Changing a list changes the data
// of every seed: bump GENERATOR_VERSION in plan.ts when you do.

export const FIRST_NAMES = [
  'Akira', 'Amara', 'Anna', 'Bruno', 'Chen', 'Dalia', 'Diego', 'Elif', 'Emma', 'Farid', 'Greta', 'Hana', 'Ivan', 'Jonas',
  'Kofi', 'Lena', 'Lucas', 'Maya', 'Mateo', 'Nia', 'Noah', 'Olga', 'Omar', 'Priya', 'Quinn', 'Rosa', 'Sami', 'Sofia',
  'Tariq', 'Uma', 'Victor', 'Wei', 'Yara', 'Zoe',
];

export const LAST_NAMES = [
  'Adams', 'Bauer', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Haddad', 'Ito', 'Jensen', 'Kim', 'Lopez', 'Moreau',
  'Nakamura', 'Okafor', 'Petrov', 'Quist', 'Rossi', 'Silva', 'Tanaka', 'Uddin', 'Varga', 'Wagner', 'Xu', 'Yilmaz', 'Zhang',
];

export const AGENT_NAMES = [
  'akira', 'atlas', 'bolt', 'cobalt', 'echo', 'ember', 'flux', 'gizmo', 'halo', 'iris', 'juno', 'kite', 'lumen', 'mako',
  'nova', 'onyx', 'pixel', 'quartz', 'rune', 'sable', 'tango', 'umbra', 'vega', 'wren', 'xeno', 'yuki', 'zephyr',
];

export const EMOJIS = ['🤖', '🦊', '🐙', '🦉', '🐝', '🚀', '🧠', '🛰️', '🔧', '📚'];

export const MODELS = ['claude-sonnet-4', 'claude-haiku-4', 'gpt-4o', 'gpt-4o-mini', 'gemini-2.5-pro', 'llama-3.1-70b', 'mistral-large'];

export const SUBJECTS = [
  'customer reviews', 'the billing service', 'quarterly sales data', 'the onboarding flow', 'support tickets',
  'the payments API', 'release notes', 'the search index', 'clickstream logs', 'the mobile app', 'the data warehouse',
  'user feedback', 'the authentication module', 'inventory forecasts', 'the recommendation model', 'error reports',
  'the deployment pipeline', 'marketing copy', 'the pricing page', 'sensor readings',
];

export const LANGUAGES = ['python', 'typescript', 'go', 'rust', 'java', 'sql'];
export const HUMAN_LANGUAGES = ['en', 'de', 'fr', 'es', 'ja', 'pt', 'zh'];

export const TAGS = ['urgent', 'backend', 'frontend', 'data', 'ml', 'docs', 'security', 'billing', 'infra', 'mobile', 'research', 'qa'];

export const ERRORS = [
  'upstream model returned 503', 'input document could not be parsed', 'rate limit exceeded at provider',
  'tool execution failed: exit code 1', 'context window exceeded', 'validation of the output schema failed',
  'worker lost heartbeat', 'dependency task failed',
];

export const CANCEL_REASONS = ['superseded by a newer request', 'cancelled by the user', 'workflow cancelled', 'duplicate submission', 'budget limit reached'];

export const TOOLS = ['claude_code', 'gemini_cli', 'ollama', 'aider', 'codex_cli'];

export const WORKFLOW_TYPES = ['code_review_pipeline', 'data_pipeline', 'research_report', 'release', 'translation_batch', 'incident_analysis'];

export const PROJECT_NAMES = ['Atlas', 'Beacon', 'Compass', 'Delta', 'Evergreen', 'Falcon', 'Granite', 'Harbor', 'Ion', 'Juniper', 'Keystone', 'Lighthouse'];

export const GUIDANCE = [
  'Use the existing helper instead of duplicating the parsing logic.',
  'The tests do not cover the error path; add cases for empty input.',
  'Follow the style guide: small functions and explicit names.',
  'The approach is too broad: limit the change to the billing module.',
  'Handle the timeout of the upstream call and retry with backoff.',
  'The summary misses the key figures of the last quarter.',
];

export const KNOWLEDGE_TOPICS = [
  'Retry policy for flaky upstream calls', 'How we paginate large result sets', 'ADR: PostgreSQL as the task queue',
  'Prompt template for code review', 'Pattern: idempotent webhook handlers', 'Runbook: rotating API keys',
  'Snippet: streaming CSV parsing', 'ADR: monthly partitions for telemetry', 'Checklist for release notes',
];

export const CRON_EXPRESSIONS = ['*/15 * * * *', '0 * * * *', '0 3 * * *', '30 6 * * MON-FRI', '0 0 1 * *', '@daily', '@hourly'];
export const TIMEZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'Australia/Sydney'];

export const WEBHOOK_EVENTS = ['task.completed', 'task.failed', 'checkpoint.created', 'workflow.completed', 'agent.registered'];
export const USER_AGENTS = ['agentry-sdk/0.1 (node 20)', 'curl/8.5.0', 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0', 'python-requests/2.32'];
