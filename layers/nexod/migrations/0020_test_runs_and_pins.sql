-- Issue 13: test runs of a flow's draft, and pinned node outputs.
--
-- A test run executes a snapshot of the draft. The snapshot is a `flow_versions` row with a NEGATIVE number
-- (-1, -2, ... per flow): runs keep their foreign key to the version they execute, the node runner's
-- per-(flow, version) cache and claim work unchanged, and published versions stay 1, 2, 3... A test snapshot
-- is never live and never listed; the sweeper deletes it with its runs after the retention period.
ALTER TABLE flow_versions DROP CONSTRAINT flow_versions_version_check;
ALTER TABLE flow_versions ADD CONSTRAINT flow_versions_version_check CHECK (version <> 0);

-- A run of a test snapshot is a test run: derived, so it cannot disagree with the version it executes.
ALTER TABLE runs ADD COLUMN test boolean GENERATED ALWAYS AS (version < 0) STORED;
CREATE INDEX runs_tests_by_age ON runs (created_at) WHERE test;

-- A node run whose output was pinned: recorded when the test run was created, never executed (executions 0).
ALTER TABLE node_runs ADD COLUMN pinned boolean NOT NULL DEFAULT false;

-- Pins: one output per flow and node, typed by hand or copied from a run's node output.
CREATE TABLE flow_pins (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    flow_id      uuid NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    node_id      text NOT NULL,
    output       jsonb,
    output_ref   jsonb,  -- a large output copied from a run: its blob pointer {key, size, sha256}
    from_run     uuid,   -- where it was copied from (the run may be gone since)
    pinned_by    text NOT NULL,
    pinned_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (flow_id, node_id),
    CHECK (nexod_blob_pointer_ok(output_ref, workspace_id, output))
);
CREATE INDEX flow_pins_by_workspace ON flow_pins (workspace_id, flow_id);

ALTER TABLE flow_pins ENABLE ROW LEVEL SECURITY;
ALTER TABLE flow_pins FORCE ROW LEVEL SECURITY;
CREATE POLICY workspace_scope ON flow_pins USING (workspace_id = app_workspace())
    WITH CHECK (workspace_id = app_workspace());

-- The sweeper lists expired test runs of every workspace (ids and times only, under app.sweep = 'test_runs'),
-- then deletes each in a unit of work scoped to its workspace.
CREATE POLICY sweep ON runs FOR SELECT USING (current_setting('app.sweep', true) = 'test_runs' AND test);
