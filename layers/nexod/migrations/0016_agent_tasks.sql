-- Agent and crew nodes (issue 10). The agent launcher leaves each runner's task here in the claim's unit of
-- work (one row per claim: a retried node gets a new attempt and a new runner); the broker serves it to the
-- runner that holds the capability token for (run, node, iteration, attempt), records each LLM call it makes
-- for it, and its result. The runner itself never touches the database.
CREATE TABLE agent_tasks (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    run_id       uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    node_id      text NOT NULL,
    iteration    integer NOT NULL DEFAULT 0,
    attempt      integer NOT NULL,
    -- What the runner gets: the agents' specs at the versions the node named, the rendered tasks.
    task         jsonb NOT NULL,
    -- The LLM calls the broker made for it: [{agent, model, tokens_in, tokens_out, cost_usd, ms}].
    calls        jsonb NOT NULL DEFAULT '[]',
    -- The runner's last word as the broker recorded it: {status, output | error, usage}.
    result       jsonb,
    runner       text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    PRIMARY KEY (run_id, node_id, iteration, attempt),
    FOREIGN KEY (run_id, node_id, iteration) REFERENCES node_runs (run_id, node_id, iteration) ON DELETE CASCADE
);

-- What each agent of an agent or crew node run consumed, at the version that ran: the agents dashboard and
-- `GET .../agents/{agent}/runs` read it (a crew's node run uses several agents).
CREATE TABLE node_run_agents (
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    run_id        uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    node_id       text NOT NULL,
    iteration     integer NOT NULL DEFAULT 0,
    member        text NOT NULL,
    agent_id      uuid NOT NULL,
    agent_version integer NOT NULL,
    calls         integer NOT NULL DEFAULT 0,
    tokens_in     bigint NOT NULL DEFAULT 0,
    tokens_out    bigint NOT NULL DEFAULT 0,
    cost_usd      numeric(18, 8) NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, node_id, iteration, member),
    FOREIGN KEY (run_id, node_id, iteration) REFERENCES node_runs (run_id, node_id, iteration) ON DELETE CASCADE
);
CREATE INDEX node_run_agents_by_agent ON node_run_agents (workspace_id, agent_id);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['agent_tasks', 'node_run_agents'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY workspace_scope ON %I USING (workspace_id = app_workspace())'
                       ' WITH CHECK (workspace_id = app_workspace())', t);
    END LOOP;
END $$;
