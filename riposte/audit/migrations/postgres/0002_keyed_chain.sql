-- The keyed chain: events from `keyed_from` on are sealed with HMAC-SHA256 under the audit key
-- (which never enters the database); the earlier ones stay a plain SHA-256 chain, still checked.
-- The chain head carries a seal of its own (`mac`, over seq, hash and keyed_from).
-- Grants: writer and auditor need SELECT on audit_keying.

ALTER TABLE audit_head ADD COLUMN mac text NOT NULL DEFAULT '';

CREATE TABLE audit_keying (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    keyed_from bigint NOT NULL
);

INSERT INTO audit_keying (one, keyed_from) SELECT true, seq + 1 FROM audit_head;

CREATE TRIGGER audit_keying_append_only BEFORE UPDATE OR DELETE ON audit_keying
    FOR EACH ROW EXECUTE FUNCTION riposte_audit_refuse();
CREATE TRIGGER audit_keying_no_truncate BEFORE TRUNCATE ON audit_keying
    FOR EACH STATEMENT EXECUTE FUNCTION riposte_audit_refuse();
