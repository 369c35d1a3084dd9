-- The keyed chain: events from `keyed_from` on are sealed with HMAC-SHA256 under the audit key
-- (which never enters the database); the earlier ones stay a plain SHA-256 chain, still checked.
-- The chain head carries a seal of its own (`mac`, over seq, hash and keyed_from).

ALTER TABLE audit_head ADD COLUMN mac TEXT NOT NULL DEFAULT '';

CREATE TABLE audit_keying (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    keyed_from INTEGER NOT NULL
);

INSERT INTO audit_keying (one, keyed_from) SELECT 1, seq + 1 FROM audit_head;

CREATE TRIGGER audit_keying_no_update BEFORE UPDATE ON audit_keying
BEGIN
    SELECT RAISE(ABORT, 'the audit keying record never changes');
END;

CREATE TRIGGER audit_keying_no_delete BEFORE DELETE ON audit_keying
BEGIN
    SELECT RAISE(ABORT, 'the audit keying record never changes');
END;
