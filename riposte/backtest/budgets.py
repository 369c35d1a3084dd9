"""Which hours the engine-wide budgets would have tripped in, over a backtest's actions.

Budgets count autonomous actions carried out in the sliding window (an hour by default) before
each one: at most `per_action` of one action and `total` in all (`Settings.guardrails`). An
action past either waits for approval instead (it is deferred, and consumes no budget). Actions
are recorded as they come, packed into one integer each, and replayed in time order at the end,
so a million actions cost a few megabytes.
"""

from __future__ import annotations

from array import array
from collections import Counter, deque
from collections.abc import Sequence
from datetime import UTC, datetime

from riposte.backtest.report import BudgetHour, Budgets

HOUR = 3600
_POLICY_BITS = 12
_ACTION_BITS = 8
MAX_POLICIES = 1 << _POLICY_BITS
MAX_ACTIONS = 1 << _ACTION_BITS


class BudgetLedger:
    """The autonomous actions of a backtest, to replay against the budgets."""

    def __init__(self) -> None:
        self._packed = array("q")
        self._sorted = True
        self._last = -(1 << 62)

    def record(self, second: int, action: int, policy: int) -> None:
        """One autonomous action at `second` (epoch), by index of action and policy."""
        if not (0 <= action < MAX_ACTIONS and 0 <= policy < MAX_POLICIES):
            raise ValueError(f"budget ledger holds {MAX_ACTIONS} actions, {MAX_POLICIES} policies")
        packed = (second << (_ACTION_BITS + _POLICY_BITS)) | (action << _POLICY_BITS) | policy
        if packed < self._last:
            self._sorted = False
        self._last = packed
        self._packed.append(packed)

    def tripped(
        self, budgets: Budgets, actions: Sequence[str]
    ) -> tuple[list[BudgetHour], dict[int, set[str]]]:
        """The hours budgets tripped in, and per policy index the hours its actions waited."""
        packed = self._packed if self._sorted else array("q", sorted(self._packed))
        window_s = budgets.window_seconds
        per_action = budgets.per_action if budgets.per_action is not None else len(packed)
        total = budgets.total if budgets.total is not None else len(packed)
        recent_all: deque[int] = deque()
        recent: dict[int, deque[int]] = {}
        deferred: Counter[tuple[str, str]] = Counter()
        by_policy: dict[int, set[str]] = {}
        for value in packed:
            second = value >> (_ACTION_BITS + _POLICY_BITS)
            action = (value >> _POLICY_BITS) & (MAX_ACTIONS - 1)
            policy = value & (MAX_POLICIES - 1)
            window = recent.setdefault(action, deque())
            while window and window[0] <= second - window_s:
                window.popleft()
            while recent_all and recent_all[0] <= second - window_s:
                recent_all.popleft()
            if len(window) >= per_action:
                over = actions[action]
            elif len(recent_all) >= total:
                over = "all"
            else:
                window.append(second)
                recent_all.append(second)
                continue
            hour = _hour(second)
            deferred[(hour, over)] += 1
            by_policy.setdefault(policy, set()).add(hour)
        hours = [
            BudgetHour(hour=hour, action=over, deferred=count)
            for (hour, over), count in sorted(deferred.items())
        ]
        return hours, by_policy


def _hour(second: int) -> str:
    return datetime.fromtimestamp(second - second % HOUR, UTC).strftime("%Y-%m-%dT%H:00Z")
