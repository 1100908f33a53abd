-- Workspace deletion (issue 9): a tombstone on the workspace row, not a cascade.
--
-- `deleted_at` is set the moment an admin confirms: from then on the workspace is in nobody's list and
-- every route under it answers 404 (membership checks read it). Its runs are cancelled and its credential
-- values destroyed next; `deletion_completed_at` records that every step finished (until then only a
-- repeated DELETE by an admin still reaches it, to finish the job). The row itself stays: audit_log rows
-- reference it and are append-only (0007), so a hard DELETE of the workspace would cascade into the audit
-- log and its trigger refuses that. Erasing a tenant's rows for good is an operator's purge (see
-- docs/architecture.md, "Deleting a workspace").
ALTER TABLE workspaces
    ADD COLUMN deleted_at timestamptz,
    ADD COLUMN deleted_by text,
    ADD COLUMN deletion_completed_at timestamptz,
    ADD CONSTRAINT workspaces_deletion_order
        CHECK (deletion_completed_at IS NULL OR deleted_at IS NOT NULL);
