-- Who started each run (issue 8): a user (their subject), a trigger (its id) or the system (a reason).
-- The API serves it as "started_by": {"kind": ..., "id": ...}. Every run so far was started by a user
-- through the API, as its created_by says: that is the backfill.

ALTER TABLE runs ADD COLUMN started_by_kind text, ADD COLUMN started_by_id text;

-- The owner is subject to the forced row-level security (no workspace set: no rows). Lift it for this
-- transaction only, as 0002 does; DDL is transactional, so a failure leaves it forced.
ALTER TABLE runs NO FORCE ROW LEVEL SECURITY;
UPDATE runs SET started_by_kind = 'user', started_by_id = created_by WHERE started_by_kind IS NULL;
ALTER TABLE runs FORCE ROW LEVEL SECURITY;

-- A writer that does not name the actor yet (code deployed before this migration, while a deployment
-- rolls) records the user it already writes into created_by.
CREATE FUNCTION runs_started_by_default() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.started_by_kind := COALESCE(NEW.started_by_kind, 'user');
    NEW.started_by_id := COALESCE(NEW.started_by_id, NEW.created_by);
    RETURN NEW;
END $$;
CREATE TRIGGER runs_started_by BEFORE INSERT ON runs FOR EACH ROW EXECUTE FUNCTION runs_started_by_default();

ALTER TABLE runs
    ALTER COLUMN started_by_kind SET NOT NULL,
    ALTER COLUMN started_by_id SET NOT NULL,
    ADD CONSTRAINT runs_started_by_kind CHECK (started_by_kind IN ('user', 'trigger', 'system'));
