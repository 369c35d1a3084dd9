-- The budget ledger: one row per autonomous action that asked to spend budget, granted or not.
-- Keyed by action id, so a retried spend finds its first answer and never spends twice.
-- A spend takes a transaction-scoped advisory lock before it counts, so workers in any number
-- of processes share one budget; the table is in the audit store's database, so it survives
-- restarts with the trail it belongs beside.
--
-- Grants for a least-privilege deployment: GRANT SELECT, INSERT ON budget_spends TO riposte_writer;

CREATE TABLE budget_spends (
    action_id text PRIMARY KEY,
    action text NOT NULL,
    spent_at timestamptz NOT NULL,
    granted boolean NOT NULL
);

CREATE INDEX budget_spends_window ON budget_spends (granted, spent_at);
