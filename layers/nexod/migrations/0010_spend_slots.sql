-- The month's spend counter in slots (issue 8's fan-out bench): every node run's finish added its cost to
-- one row per workspace and month, so the 48 parallel branches of a fan-out queued on that row's lock until
-- each other's transactions committed. Each finish now adds to one of 16 slots chosen at random; the
-- month's spend is the sum of its slots (16 primary-key rows). The soft-limit crossing moves to its own
-- row per month, stamped once.
ALTER TABLE workspace_spend ADD COLUMN slot smallint NOT NULL DEFAULT 0 CHECK (slot >= 0 AND slot < 16);
ALTER TABLE workspace_spend DROP CONSTRAINT workspace_spend_pkey;
ALTER TABLE workspace_spend ADD PRIMARY KEY (workspace_id, month, slot);

CREATE TABLE workspace_budget_crossings (
    workspace_id    uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    month           date NOT NULL,
    soft_crossed_at timestamptz NOT NULL DEFAULT now(),
    spent_usd       numeric(18, 8) NOT NULL,
    soft_limit_usd  numeric(14, 2) NOT NULL,
    PRIMARY KEY (workspace_id, month)
);
INSERT INTO workspace_budget_crossings (workspace_id, month, soft_crossed_at, spent_usd, soft_limit_usd)
SELECT s.workspace_id, s.month, s.soft_crossed_at, s.spent_usd, COALESCE(b.monthly_soft_usd, 0)
FROM workspace_spend s LEFT JOIN workspace_budgets b ON b.workspace_id = s.workspace_id
WHERE s.soft_crossed_at IS NOT NULL;
ALTER TABLE workspace_spend DROP COLUMN soft_crossed_at;

ALTER TABLE workspace_budget_crossings ENABLE ROW LEVEL SECURITY;
ALTER TABLE workspace_budget_crossings FORCE ROW LEVEL SECURITY;
CREATE POLICY workspace_scope ON workspace_budget_crossings USING (workspace_id = app_workspace())
    WITH CHECK (workspace_id = app_workspace());
