-- Triggers (issue 12): flows that start themselves. A trigger belongs to a flow; each delivery it receives
-- (a schedule's due time, a webhook request, later an SQS message or an EventBridge event) is recorded once
-- per idempotency key: the UNIQUE (trigger_id, idempotency_key) decides which of concurrent duplicates
-- starts the run, the others answer with its run id.

CREATE TABLE triggers (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id   uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    flow_id        uuid NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    kind           text NOT NULL CHECK (kind IN ('schedule', 'webhook', 'sqs', 'eventbridge')),
    config         jsonb NOT NULL DEFAULT '{}',
    enabled        boolean NOT NULL DEFAULT true,
    version        integer CHECK (version >= 1),  -- NULL: the flow's live version at each firing
    input_mapping  text,                          -- a JMESPath expression over {delivery, trigger}
    -- A webhook's HMAC key is not here: it is a value in the Vault port under 'trigger.<id>' (HMAC needs
    -- the key itself to verify, so a hash cannot serve). This only says one is set and when it rotated.
    secret_set_at  timestamptz,
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    last_fired_at  timestamptz,
    next_fire_at   timestamptz                    -- schedules: the next due time (NULL: none left or disabled)
);
CREATE INDEX triggers_of_flow ON triggers (workspace_id, flow_id, created_at);
CREATE INDEX triggers_due ON triggers (next_fire_at) WHERE enabled AND next_fire_at IS NOT NULL;

CREATE TABLE trigger_deliveries (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id     uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    trigger_id       uuid NOT NULL REFERENCES triggers (id) ON DELETE CASCADE,
    received_at      timestamptz NOT NULL DEFAULT now(),
    idempotency_key  text NOT NULL,
    status           text NOT NULL CHECK (status IN ('received', 'duplicate', 'started', 'rejected')),
    reason           text,
    run_id           uuid,
    UNIQUE (trigger_id, idempotency_key)
);
CREATE INDEX trigger_deliveries_recent ON trigger_deliveries (workspace_id, trigger_id, received_at DESC);
CREATE INDEX trigger_deliveries_age ON trigger_deliveries (received_at);

-- The webhook door knows only the trigger id from its path: this index answers "which workspace?" and
-- nothing else (readable without a workspace in scope; rows are written inside their workspace).
CREATE TABLE trigger_hooks (
    trigger_id    uuid PRIMARY KEY REFERENCES triggers (id) ON DELETE CASCADE,
    workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['triggers', 'trigger_deliveries', 'trigger_hooks'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY workspace_scope ON %I USING (workspace_id = app_workspace()) '
                       'WITH CHECK (workspace_id = app_workspace())', t);
    END LOOP;
END $$;
CREATE POLICY hook_lookup ON trigger_hooks FOR SELECT USING (true);
