-- Concurrency limits (issue 12): at most N runs of a flow, or of a workspace, at a time; what exceeds a
-- limit waits in `run_queue` (its run stays QUEUED, without an execution) or is refused, by setting.
-- A row with flow_id NULL is the workspace's limit. max_concurrent_runs NULL: unlimited.
CREATE TABLE run_limits (
    workspace_id         uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    flow_id              uuid REFERENCES flows (id) ON DELETE CASCADE,
    max_concurrent_runs  integer CHECK (max_concurrent_runs BETWEEN 1 AND 10000),
    on_limit             text NOT NULL DEFAULT 'queue' CHECK (on_limit IN ('queue', 'reject')),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX run_limits_scope
    ON run_limits (workspace_id, COALESCE(flow_id, '00000000-0000-0000-0000-000000000000'::uuid));

-- Runs held back by a limit, oldest first. A run leaves this table when a slot frees and it starts (or
-- when it is cancelled). Every admission decision takes the workspace's advisory lock, so two runs that
-- finish at the same moment never start more than the free slots.
CREATE TABLE run_queue (
    run_id        uuid PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    flow_id       uuid NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    queued_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    reason        text NOT NULL
);
CREATE INDEX run_queue_oldest ON run_queue (workspace_id, queued_at, run_id);
CREATE INDEX runs_active_by_flow ON runs (workspace_id, flow_id) WHERE status IN ('QUEUED', 'RUNNING');

-- Delivery recovery: a delivery keeps the run input it maps to, so a delivery left `received` by a process
-- that died before starting its run can be started later by the sweep (SQL NULL: recorded before this).
ALTER TABLE trigger_deliveries ADD COLUMN run_input jsonb;
CREATE INDEX trigger_deliveries_unsettled ON trigger_deliveries (received_at) WHERE status = 'received';

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['run_limits', 'run_queue'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY workspace_scope ON %I USING (workspace_id = app_workspace()) '
                       'WITH CHECK (workspace_id = app_workspace())', t);
    END LOOP;
END $$;
