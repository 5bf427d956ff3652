-- Up Migration
-- numeric NaN passed every CHECK that has a lower bound only: PostgreSQL orders
-- NaN above every number, so 'NaN' >= 0 holds, and a cost, an hour count, a
-- latency or a price could be stored as NaN (and summed into a workflow's
-- totals). The DAL refused it in TypeScript for tasks only; these CHECKs now
-- refuse it for every such column, whoever writes. (A CHECK with an upper
-- bound already refused it; these columns have a precision, which refuses
-- Infinity.)
--
-- Each rule is replaced NOT VALID (a brief lock, no scan: it holds for every
-- write from now on); the next migration validates the rows already there,
-- without blocking writes.
SET LOCAL ROLE agentry_owner;
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '1min';

ALTER TABLE agentry.task_types DROP CONSTRAINT chk_task_types_avg_duration_nonnegative;
ALTER TABLE agentry.task_types
ADD CONSTRAINT chk_task_types_avg_duration_nonnegative CHECK (
  avg_duration_seconds >= 0
  AND avg_duration_seconds <> 'NaN'
) NOT VALID;

ALTER TABLE agentry.agents DROP CONSTRAINT chk_agents_average_latency_nonnegative;
ALTER TABLE agentry.agents
ADD CONSTRAINT chk_agents_average_latency_nonnegative CHECK (
  average_latency_ms >= 0
  AND average_latency_ms <> 'NaN'
) NOT VALID;

ALTER TABLE agentry.agent_capabilities DROP CONSTRAINT chk_agent_capabilities_price_nonnegative;
ALTER TABLE agentry.agent_capabilities
ADD CONSTRAINT chk_agent_capabilities_price_nonnegative CHECK (price >= 0 AND price <> 'NaN') NOT VALID;

ALTER TABLE agentry.workflows DROP CONSTRAINT chk_workflows_cost_nonnegative;
ALTER TABLE agentry.workflows
ADD CONSTRAINT chk_workflows_cost_nonnegative CHECK (
  total_tokens_used >= 0
  AND total_cost_usd >= 0
  AND total_cost_usd <> 'NaN'
) NOT VALID;

ALTER TABLE agentry.plans DROP CONSTRAINT chk_plans_hours_nonnegative;
ALTER TABLE agentry.plans
ADD CONSTRAINT chk_plans_hours_nonnegative CHECK (
  estimated_hours >= 0
  AND actual_hours >= 0
  AND estimated_hours <> 'NaN'
  AND actual_hours <> 'NaN'
) NOT VALID;

ALTER TABLE agentry.tasks DROP CONSTRAINT chk_tasks_hours_nonnegative;
ALTER TABLE agentry.tasks
ADD CONSTRAINT chk_tasks_hours_nonnegative CHECK (
  estimated_hours >= 0
  AND actual_hours >= 0
  AND estimated_hours <> 'NaN'
  AND actual_hours <> 'NaN'
) NOT VALID;

ALTER TABLE agentry.tasks DROP CONSTRAINT chk_tasks_usage_nonnegative;
ALTER TABLE agentry.tasks
ADD CONSTRAINT chk_tasks_usage_nonnegative CHECK (tokens_used >= 0 AND cost_usd >= 0 AND cost_usd <> 'NaN') NOT VALID;

RESET ROLE;

-- Down Migration
SET LOCAL ROLE agentry_owner;

ALTER TABLE agentry.tasks DROP CONSTRAINT chk_tasks_usage_nonnegative;
ALTER TABLE agentry.tasks ADD CONSTRAINT chk_tasks_usage_nonnegative CHECK (tokens_used >= 0 AND cost_usd >= 0);

ALTER TABLE agentry.tasks DROP CONSTRAINT chk_tasks_hours_nonnegative;
ALTER TABLE agentry.tasks ADD CONSTRAINT chk_tasks_hours_nonnegative CHECK (estimated_hours >= 0 AND actual_hours >= 0);

ALTER TABLE agentry.plans DROP CONSTRAINT chk_plans_hours_nonnegative;
ALTER TABLE agentry.plans ADD CONSTRAINT chk_plans_hours_nonnegative CHECK (estimated_hours >= 0 AND actual_hours >= 0);

ALTER TABLE agentry.workflows DROP CONSTRAINT chk_workflows_cost_nonnegative;
ALTER TABLE agentry.workflows
ADD CONSTRAINT chk_workflows_cost_nonnegative CHECK (total_tokens_used >= 0 AND total_cost_usd >= 0);

ALTER TABLE agentry.agent_capabilities DROP CONSTRAINT chk_agent_capabilities_price_nonnegative;
ALTER TABLE agentry.agent_capabilities ADD CONSTRAINT chk_agent_capabilities_price_nonnegative CHECK (price >= 0);

ALTER TABLE agentry.agents DROP CONSTRAINT chk_agents_average_latency_nonnegative;
ALTER TABLE agentry.agents ADD CONSTRAINT chk_agents_average_latency_nonnegative CHECK (average_latency_ms >= 0);

ALTER TABLE agentry.task_types DROP CONSTRAINT chk_task_types_avg_duration_nonnegative;
ALTER TABLE agentry.task_types ADD CONSTRAINT chk_task_types_avg_duration_nonnegative CHECK (avg_duration_seconds >= 0);

RESET ROLE;
