-- The audit trail: hash-chained events, append-only, and the chain head the last append left.

CREATE TABLE audit_events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    time TEXT NOT NULL,            -- canonical UTC text: 2021-06-09T09:12:00.000000Z
    kind TEXT NOT NULL,
    response_id TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    policy TEXT NOT NULL,
    policy_hash TEXT NOT NULL,
    action_id TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    mode TEXT NOT NULL,
    actor TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

CREATE INDEX audit_events_time ON audit_events (time);
CREATE INDEX audit_events_response ON audit_events (response_id);
CREATE INDEX audit_events_target ON audit_events (target);

CREATE TABLE audit_head (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);

INSERT INTO audit_head (one, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head
WHEN NEW.seq < OLD.seq OR NEW.one IS NOT OLD.one
BEGIN
    SELECT RAISE(ABORT, 'the audit chain head only moves forward');
END;

CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN
    SELECT RAISE(ABORT, 'the audit chain head is never deleted');
END;
