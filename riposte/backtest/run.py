"""One backtest from policy folders and an alert source to a report: the CLI, API and console's.

    load_set(DIR, settings) -> CompiledSnapshot      PolicySetError when a file has errors
    run(alerts, policies, against=..., budgets=..., progress=...) -> Backtest

The policies are compiled once (`riposte.policy.compiled`) with the engine-wide settings (kill
switch, default mode, protected users and ranges), exactly as a worker would snapshot them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path

from riposte.alerts import Alert
from riposte.backtest.replay import Backtest, IncidentScope
from riposte.backtest.report import Budgets
from riposte.errors import InvalidInput
from riposte.policy.compiled import CompiledSnapshot, compile_snapshot
from riposte.policy.loader import PolicyError, load_policies, snapshot_of
from riposte.settings import Settings

PROGRESS_EVERY = 10_000


class PolicySetError(InvalidInput):
    """A policy folder that is missing or holds files with errors (each as FILE:LINE: message)."""

    def __init__(self, message: str, errors: Iterable[PolicyError] = ()) -> None:
        super().__init__(message)
        self.errors = tuple(errors)


def load_set(directory: Path, settings: Settings) -> CompiledSnapshot:
    """The policies of `directory`, compiled with the engine-wide settings."""
    if not directory.is_dir():
        raise PolicySetError(f"no policies folder: {directory}")
    loaded = load_policies([directory])
    if loaded.errors:
        raise PolicySetError(f"{directory}: {len(loaded.errors)} policy error(s)", loaded.errors)
    return compile_snapshot(snapshot_of(loaded.policies, settings))


def budgets_of(settings: Settings) -> Budgets:
    """The engine-wide budgets the live engine enforces (`Settings.guardrails`)."""
    guard = settings.guardrails
    return Budgets(
        per_action=guard.budget_per_action,
        total=guard.budget_total,
        window_seconds=guard.budget_window_seconds,
    )


def run(
    alerts: Iterable[Alert],
    policies: CompiledSnapshot,
    *,
    against: CompiledSnapshot | None = None,
    budgets: Budgets | None = None,
    incidents: IncidentScope | None = None,
    against_incidents: IncidentScope | None = None,
    progress: Callable[[int], None] | None = None,
) -> Backtest:
    """Replay `alerts` (a stream, read once) through `policies`; `progress` hears the count.

    With incident-scope policies (`incidents`), the alerts are first sorted by time, since an
    incident grows in alert time order (`in_time_order`: all of them held, compactly)."""
    backtest = Backtest(
        policies,
        against=against,
        budgets=budgets,
        incidents=incidents,
        against_incidents=against_incidents,
    )
    if incidents is not None or against_incidents is not None:
        alerts = in_time_order(alerts)
    add = backtest.add
    for n, alert in enumerate(alerts, start=1):
        add(alert)
        if progress is not None and n % PROGRESS_EVERY == 0:
            progress(n)
    return backtest


def in_time_order(alerts: Iterable[Alert]) -> Iterator[Alert]:
    """`alerts` sorted by time (stable), each held until its turn as its JSON without `raw`,
    which no policy reads: about 300 bytes instead of a 2.3 KB model, and 4 µs to read back."""
    held = [
        (alert.time, n, alert.model_dump_json(exclude={"raw"}).encode())
        for n, alert in enumerate(alerts)
    ]
    held.sort()  # by time, then arrival (n is unique: the texts are never compared)
    for n in range(len(held)):
        _, _, text = held[n]
        held[n] = _DONE  # let each go once it is read back
        yield Alert.model_validate_json(text)


_DONE = (datetime.min, 0, b"")
