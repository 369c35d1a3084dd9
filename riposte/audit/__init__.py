"""The audit trail: append-only, hash-chained events that auditors query, export and verify."""
