-- Workspaces, members, flows, immutable versions, runs, node runs and the audit log.
-- Every tenant table carries workspace_id and is guarded by forced row-level security keyed on the
-- transaction-local setting app.workspace_id (set by the app with set_config(..., true)).

CREATE TABLE workspaces (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    allowed_hosts text[] NOT NULL DEFAULT '{}',
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE members (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_sub     text NOT NULL,
    email        text,
    name         text,
    role         text NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, user_sub)
);
CREATE INDEX members_by_user ON members (user_sub);

CREATE TABLE flows (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id   uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description    text NOT NULL DEFAULT '',
    definition     jsonb NOT NULL,
    live_version   integer,
    latest_version integer NOT NULL DEFAULT 0,
    state_machine_arn text,
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    deleted_at     timestamptz
);
CREATE INDEX flows_by_workspace ON flows (workspace_id, updated_at DESC) WHERE deleted_at IS NULL;

CREATE TABLE flow_versions (
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    flow_id       uuid NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    version       integer NOT NULL CHECK (version > 0),
    definition    jsonb NOT NULL,
    asl           jsonb NOT NULL,
    config_hash   text NOT NULL,
    state_machine_version_arn text,
    description   text NOT NULL DEFAULT '',
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (flow_id, version)
);

-- Versions are immutable: nothing may rewrite one once published.
CREATE FUNCTION flow_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'flow versions are immutable (flow %, version %)', OLD.flow_id, OLD.version
        USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER flow_versions_no_update BEFORE UPDATE ON flow_versions
    FOR EACH ROW EXECUTE FUNCTION flow_versions_immutable();

CREATE TABLE runs (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    flow_id       uuid NOT NULL,
    version       integer NOT NULL,
    status        text NOT NULL CHECK (status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
    input         jsonb NOT NULL DEFAULT '{}',
    output        jsonb,
    error         jsonb,
    execution_arn text,
    trigger       text NOT NULL DEFAULT 'manual',
    attempt       integer NOT NULL DEFAULT 0,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz,
    FOREIGN KEY (flow_id, version) REFERENCES flow_versions (flow_id, version)
);
CREATE INDEX runs_by_workspace ON runs (workspace_id, created_at DESC, id DESC);
CREATE INDEX runs_by_flow ON runs (flow_id, created_at DESC, id DESC);
CREATE INDEX runs_in_flight ON runs (status) WHERE status IN ('QUEUED', 'RUNNING');

CREATE TABLE node_runs (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    run_id       uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    node_id      text NOT NULL,
    iteration    integer NOT NULL DEFAULT 0,
    node_type    text NOT NULL,
    status       text NOT NULL CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'SKIPPED')),
    attempts     integer NOT NULL DEFAULT 0,
    -- How many times the node's side effect actually ran (memoised replays do not count).
    executions   integer NOT NULL DEFAULT 0,
    config_hash  text NOT NULL,
    input        jsonb,
    output       jsonb,
    take         jsonb,
    error        jsonb,
    started_at   timestamptz,
    finished_at  timestamptz,
    duration_ms  integer,
    model        text,
    tokens_in    integer,
    tokens_out   integer,
    cost_usd     numeric(14, 6),
    PRIMARY KEY (run_id, node_id, iteration)
);

CREATE TABLE audit_log (
    id           bigserial PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    actor        text NOT NULL,
    action       text NOT NULL,
    target_type  text NOT NULL,
    target_id    text NOT NULL,
    details      jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_by_workspace ON audit_log (workspace_id, id DESC);

-- Tenancy. NULLIF makes "no workspace set" compare as NULL: such a query sees nothing.
CREATE FUNCTION app_workspace() RETURNS uuid LANGUAGE sql STABLE AS
    $$ SELECT NULLIF(current_setting('app.workspace_id', true), '')::uuid $$;
CREATE FUNCTION app_user() RETURNS text LANGUAGE sql STABLE AS
    $$ SELECT NULLIF(current_setting('app.user_sub', true), '') $$;

ALTER TABLE workspaces ENABLE ROW LEVEL SECURITY;
ALTER TABLE workspaces FORCE ROW LEVEL SECURITY;
-- A user sees the workspace in scope and the workspaces they belong to (for /v1/me).
CREATE POLICY workspace_scope ON workspaces
    USING (id = app_workspace()
           OR id IN (SELECT m.workspace_id FROM members m WHERE m.user_sub = app_user()))
    WITH CHECK (id = app_workspace());

ALTER TABLE members ENABLE ROW LEVEL SECURITY;
ALTER TABLE members FORCE ROW LEVEL SECURITY;
CREATE POLICY member_scope ON members
    USING (workspace_id = app_workspace() OR user_sub = app_user())
    WITH CHECK (workspace_id = app_workspace());

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['flows', 'flow_versions', 'runs', 'node_runs', 'audit_log'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY workspace_scope ON %I USING (workspace_id = app_workspace()) '
                       'WITH CHECK (workspace_id = app_workspace())', t);
    END LOOP;
END $$;
