-- Costs per node run, monthly spend per workspace and budgets (issue 9, DESIGN §9; nexod.domain.cost).
-- `cost_usd` stays the LLM cost (LiteLLM's price table); `cost_source` says whether the model had a price.
ALTER TABLE node_runs
    ADD COLUMN cost_source            text CHECK (cost_source IN ('price_table', 'unknown')),
    ADD COLUMN compute_cost_usd       numeric(14, 8),
    ADD COLUMN transitions            integer,
    ADD COLUMN orchestration_cost_usd numeric(14, 8);

-- Monthly budgets (calendar months in UTC); NULL is no limit.
CREATE TABLE workspace_budgets (
    workspace_id     uuid PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    monthly_soft_usd numeric(14, 2) CHECK (monthly_soft_usd >= 0),
    monthly_hard_usd numeric(14, 2) CHECK (monthly_hard_usd >= 0),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (monthly_soft_usd IS NULL OR monthly_hard_usd IS NULL OR monthly_hard_usd >= monthly_soft_usd)
);

-- What each workspace spent per UTC month: one row, incremented in the unit of work that records a node
-- run's cost, so that the budget guard is one primary-key read instead of a sum over node runs.
CREATE TABLE workspace_spend (
    workspace_id    uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    month           date NOT NULL,
    spent_usd       numeric(18, 8) NOT NULL DEFAULT 0,
    soft_crossed_at timestamptz,
    PRIMARY KEY (workspace_id, month)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['workspace_budgets', 'workspace_spend'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY workspace_scope ON %I USING (workspace_id = app_workspace()) '
                       'WITH CHECK (workspace_id = app_workspace())', t);
    END LOOP;
END $$;

-- Usage reads a workspace's node runs by when they finished (GET /v1/workspaces/{ws}/usage).
CREATE INDEX node_runs_workspace_finished ON node_runs (workspace_id, finished_at);
