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

-- Approval nodes (issue 11): what people are asked to decide, and their decisions. Written by the node
-- runner's parker in the claim's unit of work (one per node run: a retry or resume keeps it); decided
-- through the API under the run's lock, which also settles the parked token.
CREATE TABLE approvals (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id         uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    run_id               uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    node_id              text NOT NULL,
    iteration            integer NOT NULL DEFAULT 0,
    flow_id              uuid NOT NULL,
    title                text NOT NULL,
    message              text NOT NULL DEFAULT '',
    approvers            jsonb NOT NULL,
    required_approvals   integer NOT NULL CHECK (required_approvals >= 1),
    form                 jsonb,
    on_timeout           text NOT NULL CHECK (on_timeout IN ('reject', 'approve', 'fail')),
    remind_every_seconds integer,
    status               text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'expired', 'withdrawn')),
    -- [{by, decision, comment, fields, at}] in the order they were made; any rejection decides.
    decisions            jsonb NOT NULL DEFAULT '[]',
    -- The node's output once decided or expired: {decision, by, comment, fields}.
    outcome              jsonb,
    created_at           timestamptz NOT NULL DEFAULT now(),
    expires_at           timestamptz,
    decided_at           timestamptz,
    UNIQUE (run_id, node_id, iteration),
    FOREIGN KEY (run_id, node_id, iteration) REFERENCES node_runs (run_id, node_id, iteration) ON DELETE CASCADE
);
CREATE INDEX approvals_by_status ON approvals (workspace_id, status, created_at DESC, id DESC);

ALTER TABLE approvals ENABLE ROW LEVEL SECURITY;
ALTER TABLE approvals FORCE ROW LEVEL SECURITY;
CREATE POLICY workspace_scope ON approvals USING (workspace_id = app_workspace())
    WITH CHECK (workspace_id = app_workspace());
