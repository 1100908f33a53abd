-- Agents as versioned specs (issue 10, DESIGN §5): a draft per agent and immutable versions, like flows.
-- `spec` is the AgentSpec's JSON form (nexod.domain.agents); `spec_hash` lets publishing an unchanged
-- draft return the existing version instead of a new one.
CREATE TABLE agents (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id   uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    spec           json NOT NULL,  -- json, not jsonb: key order is the author's (a JSON Schema reads type first)
    live_version   integer,
    latest_version integer NOT NULL DEFAULT 0,
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    deleted_at     timestamptz
);
CREATE INDEX agents_by_workspace ON agents (workspace_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;

CREATE TABLE agent_versions (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    agent_id     uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    version      integer NOT NULL CHECK (version > 0),
    spec         json NOT NULL,
    spec_hash    text NOT NULL,
    description  text NOT NULL DEFAULT '',
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agent_id, version)
);

-- Versions are immutable (the app role also loses UPDATE and DELETE on the table: db.ensure_app_role).
CREATE FUNCTION agent_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'agent versions are immutable (agent %, version %)', OLD.agent_id, OLD.version
        USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER agent_versions_no_update BEFORE UPDATE ON agent_versions
    FOR EACH ROW EXECUTE FUNCTION agent_versions_immutable();

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['agents', 'agent_versions'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY workspace_scope ON %I USING (workspace_id = app_workspace()) '
                       'WITH CHECK (workspace_id = app_workspace())', t);
    END LOOP;
END $$;

-- Which agent version a node run used (agent and crew nodes; NULL for every other kind). A crew node
-- records its agents in its output; these columns name the one agent of an `agent` node.
ALTER TABLE node_runs
    ADD COLUMN agent_id      uuid,
    ADD COLUMN agent_version integer;
CREATE INDEX node_runs_by_agent ON node_runs (workspace_id, agent_id, started_at DESC) WHERE agent_id IS NOT NULL;
