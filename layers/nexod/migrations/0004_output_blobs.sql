-- Large outputs live in the blob store (issue 8, DESIGN §2): S3 in AWS, `.localdb/blobs/` locally.
-- A node output (or a run output) whose JSON exceeds the threshold (256 KiB) is written there, and its row
-- keeps only the pointer {key, size, sha256} in `output_ref`, with `output` NULL. Readers (the node runner's
-- templating, the API) hydrate the pointer; see nexod.runtime.blobs.
-- 0003 is taken by a concurrent change; this one depends on 0001 only.

ALTER TABLE node_runs ADD COLUMN output_ref jsonb;
ALTER TABLE runs ADD COLUMN output_ref jsonb;

-- A pointer is exactly {key, size, sha256}, under its own workspace's prefix, and replaces the value.
CREATE OR REPLACE FUNCTION nexod_blob_pointer_ok(ref jsonb, ws uuid, val jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT ref IS NULL OR (
        val IS NULL
        AND jsonb_typeof(ref) = 'object'
        AND jsonb_typeof(ref -> 'key') = 'string'
        AND jsonb_typeof(ref -> 'size') = 'number'
        AND jsonb_typeof(ref -> 'sha256') = 'string'
        AND (ref ->> 'sha256') ~ '^[0-9a-f]{64}$'
        AND starts_with(ref ->> 'key', 'ws/' || ws::text || '/runs/')
    )
$$;

ALTER TABLE node_runs ADD CONSTRAINT node_runs_output_ref_ok
    CHECK (nexod_blob_pointer_ok(output_ref, workspace_id, output));
ALTER TABLE runs ADD CONSTRAINT runs_output_ref_ok
    CHECK (nexod_blob_pointer_ok(output_ref, workspace_id, output));
