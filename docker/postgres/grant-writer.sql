-- The writer role's grants on the audit store, run as its owner once the migrations created the
-- tables (riposte/audit/migrations/postgres/0001_initial.sql documents them). The triggers keep
-- events append-only whatever is granted; these keep the writer to what appending needs.
GRANT USAGE ON SCHEMA public TO riposte_writer;
GRANT SELECT, INSERT ON audit_events TO riposte_writer;
GRANT SELECT, UPDATE ON audit_head TO riposte_writer;
GRANT SELECT ON schema_version TO riposte_writer;
GRANT SELECT ON audit_keying TO riposte_writer;
-- 0002, the keyed chain: where the keyed part starts.
GRANT SELECT ON audit_keying TO riposte_writer;
-- 0003, shared blocks: their holders come and go.
GRANT SELECT, INSERT, UPDATE, DELETE ON shared_blocks, block_holders TO riposte_writer;
-- 0004, the budget ledger: one row per autonomous spend.
GRANT SELECT, INSERT ON budget_spends TO riposte_writer;
