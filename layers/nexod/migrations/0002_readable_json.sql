-- Make every stored JSON value readable again (issue 7). Before the API refused hostile JSON at its door,
-- it stored values nested too deep for the API's readers (one such run input failed its workspace's whole
-- run list) and numbers beyond a double, which Python cannot read back past 4300 digits. This rewrites
-- only such values, the same way nexod.services.json_limits.storable() treats new external data:
--   * an object or array nested deeper than 128 levels (MAX_STORED_DEPTH) becomes the string
--     "[cut: nested deeper than 128 levels]";
--   * a number beyond +-1.7976931348623157e308 becomes its digits as a string (a marker past 4000 digits).
-- Idempotent: a repaired value has no problem left, and the functions stay for later use
-- (SELECT nexod_repair_stored_json() repairs again and returns how many rows it changed).

CREATE OR REPLACE FUNCTION nexod_json_problem(doc jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT doc IS NOT NULL AND (
        jsonb_path_exists(doc, 'strict $.**{128 to last} ? (@.type() == "object" || @.type() == "array")')
        OR jsonb_path_exists(
            doc, 'strict $.** ? (@.type() == "number" && (@ > 1.7976931348623157e308 || @ < -1.7976931348623157e308))'
        )
    )
$$;

CREATE OR REPLACE FUNCTION nexod_readable_json(doc jsonb) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    fix record;
BEGIN
    IF NOT nexod_json_problem(doc) THEN
        RETURN doc;
    END IF;
    -- Walk the value level by level (a recursive query, not recursion: the values are too deep for that)
    -- down to level 128, collecting the places to rewrite; those places never contain one another.
    FOR fix IN
        WITH RECURSIVE node (path, value, level) AS (
            SELECT ARRAY[]::text[], doc, 0
            UNION ALL
            SELECT n.path || c.key, c.value, n.level + 1
            FROM node AS n
            CROSS JOIN LATERAL (
                SELECT e.key, e.value
                FROM jsonb_each(CASE WHEN jsonb_typeof(n.value) = 'object' THEN n.value END) AS e
                UNION ALL
                SELECT (a.ordinality - 1)::text, a.value
                FROM jsonb_array_elements(CASE WHEN jsonb_typeof(n.value) = 'array' THEN n.value END)
                    WITH ORDINALITY AS a (value, ordinality)
            ) AS c
            WHERE n.level < 128
        )
        SELECT path,
               CASE
                   WHEN jsonb_typeof(value) IN ('object', 'array')
                       THEN to_jsonb('[cut: nested deeper than 128 levels]'::text)
                   WHEN length(value #>> '{}') > 4000 THEN to_jsonb('[cut: a number too large to store]'::text)
                   ELSE to_jsonb(value #>> '{}')
               END AS replacement
        FROM node
        WHERE (level = 128 AND jsonb_typeof(value) IN ('object', 'array'))
           OR (jsonb_typeof(value) = 'number' AND abs((value #>> '{}')::numeric) > 1.7976931348623157e308)
    LOOP
        IF cardinality(fix.path) = 0 THEN
            doc := fix.replacement;
        ELSE
            doc := jsonb_set(doc, fix.path, fix.replacement);
        END IF;
    END LOOP;
    RETURN doc;
END $$;

CREATE OR REPLACE FUNCTION nexod_repair_stored_json() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    changed integer := 0;
    n integer;
BEGIN
    -- The owner is subject to the forced row-level security (no workspace set: no rows). Lift it for this
    -- transaction only; DDL is transactional, so a failure leaves it forced.
    ALTER TABLE flows NO FORCE ROW LEVEL SECURITY;
    ALTER TABLE flow_versions NO FORCE ROW LEVEL SECURITY;
    ALTER TABLE runs NO FORCE ROW LEVEL SECURITY;
    ALTER TABLE node_runs NO FORCE ROW LEVEL SECURITY;
    ALTER TABLE audit_log NO FORCE ROW LEVEL SECURITY;
    -- Published versions are immutable to everyone else; a repair of an unreadable one is the exception.
    ALTER TABLE flow_versions DISABLE TRIGGER flow_versions_no_update;

    UPDATE flows SET definition = nexod_readable_json(definition) WHERE nexod_json_problem(definition);
    GET DIAGNOSTICS n = ROW_COUNT;
    changed := changed + n;
    UPDATE flow_versions SET definition = nexod_readable_json(definition), asl = nexod_readable_json(asl)
    WHERE nexod_json_problem(definition) OR nexod_json_problem(asl);
    GET DIAGNOSTICS n = ROW_COUNT;
    changed := changed + n;
    UPDATE runs SET input = nexod_readable_json(input), output = nexod_readable_json(output),
                    error = nexod_readable_json(error)
    WHERE nexod_json_problem(input) OR nexod_json_problem(output) OR nexod_json_problem(error);
    GET DIAGNOSTICS n = ROW_COUNT;
    changed := changed + n;
    UPDATE node_runs SET input = nexod_readable_json(input), output = nexod_readable_json(output),
                         take = nexod_readable_json(take), error = nexod_readable_json(error)
    WHERE nexod_json_problem(input) OR nexod_json_problem(output) OR nexod_json_problem(take)
       OR nexod_json_problem(error);
    GET DIAGNOSTICS n = ROW_COUNT;
    changed := changed + n;
    UPDATE audit_log SET details = nexod_readable_json(details) WHERE nexod_json_problem(details);
    GET DIAGNOSTICS n = ROW_COUNT;
    changed := changed + n;

    ALTER TABLE flow_versions ENABLE TRIGGER flow_versions_no_update;
    ALTER TABLE flows FORCE ROW LEVEL SECURITY;
    ALTER TABLE flow_versions FORCE ROW LEVEL SECURITY;
    ALTER TABLE runs FORCE ROW LEVEL SECURITY;
    ALTER TABLE node_runs FORCE ROW LEVEL SECURITY;
    ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
    RETURN changed;
END $$;

-- Only the owner repairs: the app role must not lift row-level security (it cannot: it owns no table).
REVOKE ALL ON FUNCTION nexod_repair_stored_json() FROM PUBLIC;

SELECT nexod_repair_stored_json();
