-- Per-workspace rate limits shared by every concurrent node runner (issue 9: LLM requests and tokens per
-- minute). GCRA, the generic cell rate algorithm: one row per (workspace, bucket) holds the "theoretical
-- arrival time" (TAT). A bucket allowing L units per minute spends 60/L seconds of TAT per unit and accepts
-- a request while the new TAT stays within 60 seconds of now, so a full minute's allowance may arrive at
-- once and then one unit per 60/L seconds. A refused request spends nothing and learns how long to wait.
-- Each call is one statement (a row lock held for microseconds); see docs/decisions.md for the contention.

CREATE TABLE rate_limit_state (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    bucket       text NOT NULL,
    tat          timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, bucket)
);
ALTER TABLE rate_limit_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE rate_limit_state FORCE ROW LEVEL SECURITY;
CREATE POLICY workspace_scope ON rate_limit_state
    USING (workspace_id = app_workspace()) WITH CHECK (workspace_id = app_workspace());

-- Spend `amount` units of a bucket allowing `per_minute`: 0 when granted, else the seconds to wait.
-- An amount above a whole minute's allowance (a huge prompt) is granted when the bucket is idle and
-- leaves the debt in the TAT, so it cannot starve forever nor overspend the minute after.
CREATE FUNCTION nexod_rate_acquire(ws uuid, bucket_name text, amount double precision, per_minute double precision)
RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    now_ts  timestamptz := clock_timestamp();
    step    double precision := 60.0 / per_minute;
    current timestamptz;
    wait    double precision;
BEGIN
    INSERT INTO rate_limit_state (workspace_id, bucket, tat) VALUES (ws, bucket_name, now_ts)
        ON CONFLICT (workspace_id, bucket) DO NOTHING;
    SELECT tat INTO current FROM rate_limit_state WHERE workspace_id = ws AND bucket = bucket_name FOR UPDATE;
    current := greatest(current, now_ts);
    wait := extract(epoch FROM current - now_ts) + least(amount * step, 60.0) - 60.0;
    IF wait > 0 THEN
        RETURN wait;
    END IF;
    UPDATE rate_limit_state SET tat = current + make_interval(secs => amount * step)
        WHERE workspace_id = ws AND bucket = bucket_name;
    RETURN 0;
END $$;

-- Correct an earlier spend once the real amount is known (tokens: an estimate before the call, the
-- provider's count after): a positive `delta` spends more, a negative one gives back (never below now).
CREATE FUNCTION nexod_rate_settle(ws uuid, bucket_name text, delta double precision, per_minute double precision)
RETURNS void LANGUAGE sql AS $$
    UPDATE rate_limit_state
       SET tat = greatest(tat + make_interval(secs => delta * 60.0 / per_minute), clock_timestamp())
     WHERE workspace_id = ws AND bucket = bucket_name
$$;
