-- Up Migration
-- Validates the CHECKs that 1764547210000_numeric_not_nan replaced NOT VALID:
-- a scan of each table under SHARE UPDATE EXCLUSIVE, which lets reads and
-- writes go on. A row holding NaN fails it, naming the constraint.
SET LOCAL ROLE agentry_owner;
SET LOCAL lock_timeout = '5s';
-- Whole-table scans (tasks may hold millions of rows); writes go on meanwhile.
SET LOCAL statement_timeout = '15min';

ALTER TABLE agentry.task_types VALIDATE CONSTRAINT chk_task_types_avg_duration_nonnegative;
ALTER TABLE agentry.agents VALIDATE CONSTRAINT chk_agents_average_latency_nonnegative;
ALTER TABLE agentry.agent_capabilities VALIDATE CONSTRAINT chk_agent_capabilities_price_nonnegative;
ALTER TABLE agentry.workflows VALIDATE CONSTRAINT chk_workflows_cost_nonnegative;
ALTER TABLE agentry.plans VALIDATE CONSTRAINT chk_plans_hours_nonnegative;
ALTER TABLE agentry.tasks VALIDATE CONSTRAINT chk_tasks_hours_nonnegative;
ALTER TABLE agentry.tasks VALIDATE CONSTRAINT chk_tasks_usage_nonnegative;

RESET ROLE;

-- Down Migration
-- Back to NOT VALID, as 1764547210000_numeric_not_nan left them: the same rules,
-- dropped and added again without the scan.
SET LOCAL ROLE agentry_owner;

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
