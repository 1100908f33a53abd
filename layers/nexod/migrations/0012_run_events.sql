-- Run events (issue 11): every state change of a run, a node run or a workspace, appended in the
-- transaction of the change. Readers page by (xact_id, id) and only see events whose transaction id is
-- below the oldest transaction still running (pg_snapshot_xmin), so an event that commits late can never
-- land behind a cursor a reader already holds (docs/decisions.md, 2026-11-26 "run events").
-- No counter row is updated per append: parallel branches of a run never wait on each other here.
CREATE TABLE run_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xact_id      xid8 NOT NULL DEFAULT pg_current_xact_id(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    run_id       uuid REFERENCES runs (id) ON DELETE CASCADE,
    type         text NOT NULL CHECK (type ~ '^[a-z_]+(\.[a-z_]+)+$'),
    node_id      text,
    iteration    integer,
    data         jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),  -- when it was written (just before commit)
    -- The EventBridge outbox: events of a published type wait here until the relay sent them.
    publish      boolean NOT NULL DEFAULT false,
    published_at timestamptz
);
ALTER TABLE run_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE run_events FORCE ROW LEVEL SECURITY;
CREATE POLICY workspace_scope ON run_events
    USING (workspace_id = app_workspace()) WITH CHECK (workspace_id = app_workspace());

CREATE INDEX run_events_run ON run_events (run_id, xact_id, id) WHERE run_id IS NOT NULL;
CREATE INDEX run_events_workspace ON run_events (workspace_id, xact_id, id);
CREATE INDEX run_events_outbox ON run_events (workspace_id, id) WHERE publish AND published_at IS NULL;
