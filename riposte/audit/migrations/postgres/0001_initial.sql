-- The audit trail: hash-chained events, append-only, and the chain head the last append left.
--
-- Grants for a least-privilege deployment (roles are the operator's to create):
--   writer (worker, API):  GRANT SELECT, INSERT ON audit_events TO riposte_writer;
--                          GRANT SELECT, UPDATE ON audit_head TO riposte_writer;
--                          GRANT SELECT ON schema_version TO riposte_writer;
--   auditor (read only):   GRANT SELECT ON audit_events, audit_head, schema_version TO auditor;
-- Migrations run as the owner. The triggers below hold even for the owner; only a role that
-- may ALTER the table can switch them off, and verify still catches what it then changes.

CREATE TABLE audit_events (
    seq bigint PRIMARY KEY,
    id text NOT NULL UNIQUE,
    time timestamptz NOT NULL,
    kind text NOT NULL,
    response_id text NOT NULL,
    alert_id text NOT NULL,
    policy text NOT NULL,
    policy_hash text NOT NULL,
    action_id text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    mode text NOT NULL,
    actor text NOT NULL,
    detail text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL
);

CREATE INDEX audit_events_time ON audit_events (time);
CREATE INDEX audit_events_response ON audit_events (response_id);
CREATE INDEX audit_events_target ON audit_events (target);

CREATE TABLE audit_head (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq bigint NOT NULL,
    hash text NOT NULL
);

INSERT INTO audit_head (one, seq, hash) VALUES (true, 0, repeat('0', 64));

CREATE FUNCTION riposte_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (% on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE FUNCTION riposte_audit_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seq < OLD.seq OR NEW.one IS DISTINCT FROM OLD.one THEN
        RAISE EXCEPTION 'the audit chain head only moves forward'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION riposte_audit_refuse();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION riposte_audit_refuse();
CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION riposte_audit_head_forward();
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION riposte_audit_refuse();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION riposte_audit_refuse();
