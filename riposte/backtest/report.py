"""The backtest report: what a policy set would have done with a stream of past alerts.

The JSON form is DESIGN.md's: `alerts` (a count) and `policies`, a map from policy name to
`{matched, actions: {action: count}, targets}`, plus `changed` (a list) with `--against`. The
other keys add detail: actions by mode, exclusions, the hours in which budgets would have
tripped, and what the sources could not read.
"""

from __future__ import annotations

from enum import StrEnum

from riposte.model import Frozen


class PolicyReport(Frozen):
    """One policy's share of the backtest. `actions` counts actions it would carry out."""

    matched: int = 0  # alerts it matched
    actions: dict[str, int] = {}  # action -> count, excluded ones not counted
    by_mode: dict[str, dict[str, int]] = {}  # mode -> action -> count
    targets: tuple[str, ...] = ()  # distinct targets acted on, sorted
    excluded: int = 0  # actions excluded (policy exclude, protected entity)
    excluded_targets: tuple[str, ...] = ()
    budget_hours: tuple[str, ...] = ()  # hours in which one of its actions would have waited


class BudgetHour(Frozen):
    """An hour (UTC, "2021-06-09T09:00Z") in which autonomous actions went past a budget."""

    hour: str
    action: str  # the action whose budget tripped, or "all" for the engine-wide total
    deferred: int  # actions that would have waited for approval instead


class ChangeKind(StrEnum):
    NEW_MATCH = "new_match"
    LOST_MATCH = "lost_match"
    MODE = "mode"
    ACTIONS = "actions"


class Change(Frozen):
    """How one policy's outcome for one alert differs from the `--against` set, and why."""

    policy: str
    kind: ChangeKind
    reason: str


class ChangedAlert(Frozen):
    alert: str  # the alert's key, source:id
    name: str
    time: str
    changes: tuple[Change, ...]


class Budgets(Frozen):
    """Engine-wide limits on autonomous actions per sliding window (None: no limit)."""

    per_action: int | None = 10
    total: int | None = 50
    window_seconds: int = 3600


class BacktestReport(Frozen):
    alerts: int  # alerts replayed
    policies: dict[str, PolicyReport]
    changed: tuple[ChangedAlert, ...] | None = None  # with --against only
    unmatched: int = 0  # alerts no policy matched
    duplicates: int = 0  # alerts seen again (same source and id): the engine responds once
    bad_input: int = 0  # values the files held that were not alerts
    skipped_events: int = 0  # alert_received events that kept no alert (written before)
    budgets: Budgets = Budgets()
    budget_hours: tuple[BudgetHour, ...] = ()
