-- Callback nodes (ASL shape `callback`, lambda:invoke.waitForTaskToken): the node runner parks the task token
-- here and returns; nothing runs while the node waits. Whoever completes it (a decision, an agent runner)
-- settles the row with a compare-and-set on `status`, records the node run, then sends SendTaskSuccess or
-- SendTaskFailure. One row per node run: a retry, a redrive or a resume parks again with the new token.
CREATE TABLE parked_tasks (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    run_id       uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    node_id      text NOT NULL,
    iteration    integer NOT NULL DEFAULT 0,
    node_type    text NOT NULL,
    -- The node run's claim (node_runs.attempts) that parked this token.
    attempt      integer NOT NULL,
    task_token   text NOT NULL,
    -- What the node waits for (kind-specific: an approval's id, an agent task's id), never node data.
    waits_for    jsonb NOT NULL DEFAULT '{}',
    status       text NOT NULL CHECK (status IN ('PARKED', 'COMPLETED', 'FAILED', 'WITHDRAWN', 'EXPIRED')),
    parked_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz,
    timeout_at   timestamptz,
    closed_at    timestamptz,
    -- Who or what settled it: a user sub, `system`, or the reason it was withdrawn or expired.
    closed_by    text,
    PRIMARY KEY (run_id, node_id, iteration),
    FOREIGN KEY (run_id, node_id, iteration) REFERENCES node_runs (run_id, node_id, iteration) ON DELETE CASCADE
);
CREATE INDEX parked_tasks_open ON parked_tasks (workspace_id, run_id) WHERE status = 'PARKED';

ALTER TABLE parked_tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE parked_tasks FORCE ROW LEVEL SECURITY;
CREATE POLICY workspace_scope ON parked_tasks USING (workspace_id = app_workspace())
    WITH CHECK (workspace_id = app_workspace());
