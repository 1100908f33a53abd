-- Runs that read well (issue 13): a per-flow run number, an optional label, the time a run spent executing
-- (`active_ms`), and a RETRYING node status while Step Functions waits to retry a failed attempt.

-- Run numbers: a counter on the flow, bumped by the insert's own trigger. The UPDATE takes the flow row's
-- lock, so concurrent starts of one flow queue on it and never share a number; UNIQUE (flow_id, number)
-- says so to anyone who writes runs another way. Every run of the flow counts (test runs too).
ALTER TABLE flows ADD COLUMN run_counter integer NOT NULL DEFAULT 0;
ALTER TABLE runs
    ADD COLUMN number integer,
    ADD COLUMN label text CHECK (label IS NULL OR length(label) BETWEEN 1 AND 200),
    -- Milliseconds spent executing in the executions that ended; NULL when unknown (runs redriven before
    -- this migration). `attempt_started_at`: when the current execution began (NULL between executions).
    ADD COLUMN active_ms bigint,
    ADD COLUMN attempt_started_at timestamptz;

-- The time a run spent executing between two instants: the window, less the time when only approval and
-- wait nodes were in flight (parked for a person or a clock) and no other node ran beside them.
CREATE FUNCTION run_active_ms(p_run uuid, p_from timestamptz, p_to timestamptz) RETURNS bigint
LANGUAGE sql STABLE AS $$
    WITH spans AS (
        SELECT node_type IN ('approval', 'wait') AS parked,
               tstzrange(GREATEST(started_at, p_from), LEAST(COALESCE(finished_at, p_to), p_to)) AS span
        FROM node_runs
        WHERE run_id = p_run AND started_at IS NOT NULL AND started_at < p_to
          AND COALESCE(finished_at, p_to) > p_from AND COALESCE(finished_at, p_to) >= started_at
    ), idle AS (
        SELECT COALESCE(range_agg(span) FILTER (WHERE parked), '{}'::tstzmultirange)
             - COALESCE(range_agg(span) FILTER (WHERE NOT parked), '{}'::tstzmultirange) AS m
        FROM spans
    )
    SELECT GREATEST(0, round(extract(epoch FROM p_to - p_from) * 1000
        - COALESCE((SELECT sum(extract(epoch FROM upper(r) - lower(r)) * 1000) FROM idle, unnest(idle.m) r), 0)))::bigint
$$;

-- Backfill (the owner is subject to the forced row-level security: lift it for this transaction only, as
-- 0003 does). Numbers follow the order runs were created in; a run that ran once gets its active time,
-- one that was redriven cannot be measured any more (NULL).
ALTER TABLE runs NO FORCE ROW LEVEL SECURITY;
ALTER TABLE flows NO FORCE ROW LEVEL SECURITY;
ALTER TABLE node_runs NO FORCE ROW LEVEL SECURITY;
UPDATE runs r SET number = n.number
    FROM (SELECT id, row_number() OVER (PARTITION BY flow_id ORDER BY created_at, id) AS number FROM runs) n
    WHERE r.id = n.id;
UPDATE flows f SET run_counter = m.top
    FROM (SELECT flow_id, max(number) AS top FROM runs GROUP BY flow_id) m WHERE f.id = m.flow_id;
UPDATE runs SET active_ms = run_active_ms(id, COALESCE(started_at, created_at), finished_at)
    WHERE attempt <= 1 AND finished_at IS NOT NULL;
UPDATE runs SET active_ms = 0, attempt_started_at = COALESCE(started_at, created_at)
    WHERE attempt <= 1 AND finished_at IS NULL;
ALTER TABLE runs FORCE ROW LEVEL SECURITY;
ALTER TABLE flows FORCE ROW LEVEL SECURITY;
ALTER TABLE node_runs FORCE ROW LEVEL SECURITY;

ALTER TABLE runs
    ALTER COLUMN number SET NOT NULL,
    ALTER COLUMN active_ms SET DEFAULT 0,
    ALTER COLUMN attempt_started_at SET DEFAULT now(),
    ADD CONSTRAINT runs_number_per_flow UNIQUE (flow_id, number);

CREATE FUNCTION runs_number_default() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.number IS NULL THEN
        UPDATE flows SET run_counter = run_counter + 1 WHERE id = NEW.flow_id RETURNING run_counter INTO NEW.number;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER runs_number BEFORE INSERT ON runs FOR EACH ROW EXECUTE FUNCTION runs_number_default();

-- RETRYING: the attempt failed with an error the node's retry policy retries; `next_attempt_at` is when
-- the orchestrator tries again (interval * backoff^retries, capped); `retries` counts the retries recorded
-- since the node last succeeded or failed for good (Step Functions' own retry counter, which a redrive resets
-- as a final FAILED does here). The next attempt's execution makes it RUNNING.
ALTER TABLE node_runs DROP CONSTRAINT node_runs_status_check;
ALTER TABLE node_runs
    ADD CONSTRAINT node_runs_status_check CHECK (status IN ('RUNNING', 'RETRYING', 'SUCCEEDED', 'FAILED', 'SKIPPED')),
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN retries integer NOT NULL DEFAULT 0;
