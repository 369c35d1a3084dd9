"""The budget activity: spend one unit of the engine-wide budget for an autonomous action.

One short transaction in the ledger beside the audit store (riposte.budget.ledger); idempotent
by action id, so Temporal's retries never spend twice. A ledger that cannot be reached fails the
attempt, which is retried: an action never runs unbudgeted, and never is dropped.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from riposte.budget.ledger import BudgetLedger
from riposte.budget.models import SPEND_BUDGET, BudgetGrant, BudgetLimits, BudgetRequest


class BudgetActivities:
    def __init__(self, ledger: BudgetLedger, limits: BudgetLimits) -> None:
        self._ledger = ledger
        self._limits = limits

    @SPEND_BUDGET.defn
    async def spend_budget(self, request: BudgetRequest) -> BudgetGrant:
        """Grant or refuse one autonomous action, counting this sliding window's spends."""
        if self._limits.unlimited:
            return BudgetGrant(granted=True)
        return await asyncio.to_thread(self._ledger.spend, request, self._limits, datetime.now(UTC))
