-- Credentials (issue 9). `credentials` holds metadata only, in every mode: name, type, which fields are
-- set, who created and rotated it, when it was last used. Values live behind the Vault port: one Secrets
-- Manager secret per credential in AWS, and in local mode `credential_values` (AES-256-GCM ciphertexts,
-- nexod.adapters.vault_local; the key is a file outside the database). Both tables are workspace-scoped by
-- row-level security like every other table.

CREATE TABLE credentials (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (name ~ '^[A-Za-z][A-Za-z0-9_-]{0,63}$'),
    type         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    fields       text[] NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    rotated_by   text,
    rotated_at   timestamptz,
    last_used_at timestamptz,
    PRIMARY KEY (workspace_id, name)
);

CREATE TABLE credential_values (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL,
    key_id       text NOT NULL,
    nonce        bytea NOT NULL CHECK (length(nonce) = 12),
    ciphertext   bytea NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, name)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['credentials', 'credential_values'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY workspace_scope ON %I USING (workspace_id = app_workspace()) '
                       'WITH CHECK (workspace_id = app_workspace())', t);
    END LOOP;
END $$;
