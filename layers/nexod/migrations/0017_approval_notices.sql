-- Approval notifications, reminders and signed one-time links (issue 11).

-- Who an approval node notifies besides the workspace's inbox ({"emails": [...], "chat_webhook_credential"}),
-- when its first notice went out and when it last reminded.
ALTER TABLE approvals ADD COLUMN notify jsonb;
ALTER TABLE approvals ADD COLUMN notified_at timestamptz;
ALTER TABLE approvals ADD COLUMN last_reminded_at timestamptz;

-- What the sweeper (`services.approvals.remind_due`) must send and when: one row per approval that notifies
-- anyone outside the inbox or reminds. Only ids and times, so the sweeper may list the due rows of every
-- workspace (the `sweep` policy, under `app.sweep = 'approval_notices'`); it reads and changes each
-- approval in a unit of work scoped to that approval's workspace.
CREATE TABLE approval_notices (
    approval_id  uuid PRIMARY KEY REFERENCES approvals (id) ON DELETE CASCADE,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    due_at       timestamptz NOT NULL
);
CREATE INDEX approval_notices_due ON approval_notices (due_at);

ALTER TABLE approval_notices ENABLE ROW LEVEL SECURITY;
ALTER TABLE approval_notices FORCE ROW LEVEL SECURITY;
CREATE POLICY workspace_scope ON approval_notices USING (workspace_id = app_workspace())
    WITH CHECK (workspace_id = app_workspace());
CREATE POLICY sweep ON approval_notices FOR SELECT
    USING (current_setting('app.sweep', true) = 'approval_notices');

-- Signed one-time approval links: one row per link sent, so a link decides once. The token (HMAC-signed
-- claims: approval, workspace, recipient, expiry, this row's nonce) is never stored.
CREATE TABLE approval_links (
    nonce        text PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    approval_id  uuid NOT NULL REFERENCES approvals (id) ON DELETE CASCADE,
    recipient    text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX approval_links_by_approval ON approval_links (workspace_id, approval_id);

ALTER TABLE approval_links ENABLE ROW LEVEL SECURITY;
ALTER TABLE approval_links FORCE ROW LEVEL SECURITY;
CREATE POLICY workspace_scope ON approval_links USING (workspace_id = app_workspace())
    WITH CHECK (workspace_id = app_workspace());
