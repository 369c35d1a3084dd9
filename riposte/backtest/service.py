"""The backtest the CLI, the API and the console share: a request in, a report out.

    BacktestRequest(files=..., bodies=..., since=..., against=...)
    backtest(request, settings, on_bad=..., progress=...) -> BacktestReport

Alerts come from one source: files or folders (`files`), alert bodies already decoded
(`bodies`, as uploaded), or else the audit store's last `since` seconds (30 days by default).
The policies are the settings' folder, compared with `against` when given. Nothing is changed
anywhere; the audit store is only read.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from riposte.adapters import AUTO, parse_alert
from riposte.alerts import Alert
from riposte.audit.store import SQLITE_PREFIX, open_store
from riposte.backtest.incidents import IncidentReplay, incident_policies
from riposte.backtest.report import BacktestReport
from riposte.backtest.run import budgets_of, load_set, run
from riposte.backtest.sources import (
    BadInput,
    Item,
    Meter,
    Tally,
    alerts_from_files,
    alerts_from_store,
    alerts_of,
    counted,
)
from riposte.errors import InvalidInput
from riposte.model import Frozen
from riposte.policy.compiled import CompiledSnapshot
from riposte.settings import Settings

DEFAULT_SINCE = 30 * 86400
BODIES = "alerts"  # bad bodies are reported as alerts:INDEX


class BacktestRequest(Frozen):
    files: tuple[Path, ...] = ()  # alert files or folders
    uploads: tuple[tuple[str, str], ...] = ()  # (file name, text) of uploaded alert files
    bodies: tuple[Any, ...] | None = None  # decoded alert bodies
    since: int | None = None  # seconds back from now, for the audit store
    against: Path | None = None
    source_format: str = AUTO


def backtest(
    request: BacktestRequest,
    settings: Settings,
    *,
    on_bad: Callable[[BadInput], None] = lambda bad: None,
    progress: Callable[[int], None] | None = None,
    meter: Meter | None = None,
) -> BacktestReport:
    """The report for `request`: PolicySetError for a broken policy folder, InvalidInput for a
    missing alert file, Unavailable when the audit store cannot be read."""
    policies = load_set(settings.policies_dir, settings)
    against = load_set(request.against, settings) if request.against is not None else None
    tally = Tally()
    budgets = budgets_of(settings)
    window = settings.incidents.window_seconds
    # Incidents are regrown only for a set with incident-scope policies.
    incidents = _replay(policies, window)
    against_incidents = _replay(against, window) if against is not None else None
    if request.files or request.uploads or request.bodies is not None:
        missing = [str(path) for path in request.files if not path.exists()]
        if missing:
            raise InvalidInput(f"no such file or folder: {', '.join(missing)}")
        alerts = counted(_items(request, meter), tally, on_bad)
        tested = run(
            alerts,
            policies,
            against=against,
            budgets=budgets,
            incidents=incidents,
            against_incidents=against_incidents,
            progress=progress,
        )
        return tested.report(bad_input=tally.bad)
    url = settings.audit_store_url
    if url.startswith(SQLITE_PREFIX) and not Path(url.removeprefix(SQLITE_PREFIX)).exists():
        # Opening would create it: a backtest changes nothing, not even the data dir.
        raise InvalidInput(f"no audit store at {url.removeprefix(SQLITE_PREFIX)}; name alert files")
    store = open_store(url)
    try:
        since = datetime.now(UTC) - timedelta(seconds=request.since or DEFAULT_SINCE)
        stored: Iterator[Alert] = alerts_from_store(store, since, tally)
        tested = run(
            stored,
            policies,
            against=against,
            budgets=budgets,
            incidents=incidents,
            against_incidents=against_incidents,
            progress=progress,
        )
    finally:
        store.close()
    return tested.report(skipped_events=tally.skipped)


def _replay(policies: CompiledSnapshot, window: int) -> IncidentReplay | None:
    return (
        IncidentReplay(policies.snapshot, window) if incident_policies(policies.snapshot) else None
    )


def _items(request: BacktestRequest, meter: Meter | None) -> Iterator[Item]:
    fmt = request.source_format
    yield from alerts_from_files(request.files, fmt, meter)
    for name, text in request.uploads:
        yield from alerts_of(name, io.StringIO(text), fmt)
    for n, body in enumerate(request.bodies or ()):
        try:
            yield parse_alert(body, fmt)
        except InvalidInput as err:
            yield BadInput(BODIES, n, f"not an alert: {err}")
