-- The budget ledger: one row per autonomous action that asked to spend budget, granted or not.
-- Keyed by action id, so a retried spend finds its first answer and never spends twice.
-- Spends are counted inside the write transaction (BEGIN IMMEDIATE), so workers in several
-- processes share one budget; the table is in the audit store's database, so it survives
-- restarts with the trail it belongs beside.

CREATE TABLE budget_spends (
    action_id TEXT PRIMARY KEY,
    action TEXT NOT NULL,
    spent_at TEXT NOT NULL,        -- canonical UTC text, as audit_events.time
    granted INTEGER NOT NULL CHECK (granted IN (0, 1))
);

CREATE INDEX budget_spends_window ON budget_spends (granted, spent_at);
