-- The audit log is append-only (issue 9). The app role already has no UPDATE or DELETE grant on it
-- (ensure_app_role revokes them); this trigger refuses them for every other role too, the owner and
-- admin sessions included. An operator erasing a workspace's history on purpose (a data-protection
-- request) does it inside a transaction that first runs `SET LOCAL nexod.audit_purge = 'on'`, which is
-- itself visible in the statement log.

CREATE FUNCTION nexod_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('nexod.audit_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION nexod_audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION nexod_audit_append_only();
