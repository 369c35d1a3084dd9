"""Shared blocks: one NSG rule or named-location range, however many responses block the same
thing, held until the last of them lets go.

    models.py   BlockKey, Holder, HoldOutcome, ReleaseOutcome, SharedBlock, BlockReleasing
    ledger.py   Ledger: hold / release / forget / blocks, in the audit store's database
"""
