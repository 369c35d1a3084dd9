-- The incident an event's response belongs to ('' for events written before, or with none).
-- An empty incident_id is left out of the hash (riposte.audit.chain), so older events verify.

ALTER TABLE audit_events ADD COLUMN incident_id TEXT NOT NULL DEFAULT '';
