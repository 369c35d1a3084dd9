"""Engine-wide budgets: how many autonomous actions may run per sliding window.

    ledger.py    BudgetLedger: the transactional counter beside the audit store (SQLite or
                 PostgreSQL), `open_ledger(url)`
    models.py    BudgetRequest / BudgetGrant (the `spend_budget` activity's payloads), limits

Why a counter in the audit store's database, and not a budget workflow: the store is already
the one place every worker and API replica shares, transactional, and durable across restarts;
a spend is one short transaction (insert-if-absent keyed by action id, so a retry never spends
twice), whereas a singleton budget workflow would put an update round-trip and a hot history on
every autonomous action, and need its own continue-as-new and failure handling.
"""
