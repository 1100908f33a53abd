-- The LLM gateway's per-workspace policy (issue 9): which models the workspace's nodes may name (empty:
-- any), the model behind "default" (NULL: the deployment's), and its request and token rates per minute
-- (NULL: unlimited), enforced through the GCRA rows of 0006.
ALTER TABLE workspaces
    ADD COLUMN llm_allowed_models text[] NOT NULL DEFAULT '{}',
    ADD COLUMN llm_default_model text,
    ADD COLUMN llm_requests_per_minute integer CHECK (llm_requests_per_minute > 0),
    ADD COLUMN llm_tokens_per_minute integer CHECK (llm_tokens_per_minute > 0);

-- An llm_provider credential's provider (openai, anthropic...) is not secret: kept with its metadata so
-- the API can say which providers a workspace has keys for without reading a value, and the gateway reads
-- one value per call. NULL for other types (and for credentials created before this migration).
ALTER TABLE credentials ADD COLUMN provider text;
