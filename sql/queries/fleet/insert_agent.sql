-- name: fleet.insert_agent
-- description: Registers an agent under its text id. A NULL for a column with a default means that default
-- description: (the same values as the table's DEFAULT clauses). trust_score and the task counters start at their
-- description: defaults: trust moves only through trust_records, the counters follow the agent's tasks.
-- param: $1 id text = 'akira-001'
-- param: $2 name text = 'Akira'
-- param: $3 type text = 'CodeAgent'
-- param: $4 role text = 'Senior reviewer'
-- param: $5 model text = 'claude-sonnet-4'
-- param: $6 status text = 'online'
-- param: $7 worker_id uuid = (SELECT id FROM agentry.workers LIMIT 1)
-- param: $8 specialties text[] = ARRAY['typescript', 'postgresql']
-- param: $9 capabilities jsonb = '["code:v1", "review:v1"]'
-- param: $10 configuration jsonb = '{"temperature": 0.2}'
-- param: $11 metadata jsonb = '{"team": "platform"}'
-- param: $12 backstory text = 'Reviews pull requests for the platform team.'
-- param: $13 personality_emoji text = '🦊'
-- param: $14 public_key text = 'ed25519:AAAAC3NzaC1lZDI1NTE5AAAAIB'
-- param: $15 endpoint text = 'https://agents.example.com/akira'
-- param: $16 signature text = 'sig:3f9a1c'
-- param: $17 mobile_capable boolean = false
-- param: $18 device_affinity text = NULL
-- param: $19 location_enabled boolean = NULL
-- param: $20 battery_aware boolean = NULL
-- param: $21 ip_address inet = '10.0.4.17'
-- param: $22 host_name text = 'agents-1.internal'
-- expect: no-seq-scan agents
INSERT INTO
  agentry.agents (
    id,
    name,
    type,
    role,
    model,
    status,
    worker_id,
    specialties,
    capabilities,
    configuration,
    metadata,
    backstory,
    personality_emoji,
    public_key,
    endpoint,
    signature,
    mobile_capable,
    device_affinity,
    location_enabled,
    battery_aware,
    ip_address,
    host_name,
    last_heartbeat
  )
VALUES
  (
    $1,
    $2,
    $3,
    $4,
    $5,
    coalesce($6::text, 'offline'),
    $7,
    coalesce($8::text[], '{}'),
    coalesce($9::jsonb, '[]'),
    coalesce($10::jsonb, '{}'),
    coalesce($11::jsonb, '{}'),
    $12,
    $13,
    $14,
    $15,
    $16,
    coalesce($17::boolean, false),
    $18,
    coalesce($19::boolean, false),
    coalesce($20::boolean, false),
    $21,
    $22,
    -- An agent registered online has just been heard from.
    CASE
      WHEN $6 IN ('online', 'busy') THEN now()
    END
  )
RETURNING
  *
