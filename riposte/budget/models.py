"""The `spend_budget` activity's input and result, and the limits it applies."""

from __future__ import annotations

from pydantic import Field

from riposte.activity_refs import ActivityRef
from riposte.model import Frozen


class BudgetLimits(Frozen):
    """Autonomous actions allowed per sliding window; None: no limit."""

    per_action: int | None = Field(default=10, ge=0)
    total: int | None = Field(default=50, ge=0)
    window_seconds: int = Field(default=3600, gt=0)

    @property
    def unlimited(self) -> bool:
        return self.per_action is None and self.total is None


class BudgetRequest(Frozen):
    """One autonomous action asking to spend one unit of budget."""

    response_id: str
    action_id: str  # the spend's key: asking again gives the first answer
    action: str


class BudgetGrant(Frozen):
    """The ledger's answer. `spent_action` and `spent_total` count the window's granted spends
    (this one included when granted)."""

    granted: bool
    spent_action: int = 0
    spent_total: int = 0
    reason: str = ""  # why not, when refused: "disable_sign_in: 10 of 10 this hour"


SPEND_BUDGET = ActivityRef("spend_budget", BudgetRequest, BudgetGrant)
