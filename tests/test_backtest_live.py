"""A backtest of the audit store agrees with what the live engine did with the same alerts."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from riposte.audit.events import AuditFilter, AuditKind
from riposte.audit.received import alert_of
from riposte.backtest.run import load_set, run
from riposte.backtest.sources import Tally, alerts_from_store
from riposte.demo import demo_alerts
from riposte.incidents.scope import SOURCE as INCIDENT_SOURCE
from riposte.response import ActionState, ResponseView
from tests.plugins.temporal import StackFactory
from tests.responses import all_in, wait_for

POLICIES = Path(__file__).resolve().parents[1] / "policies"
SETTLED = (
    ActionState.PENDING_APPROVAL,
    ActionState.SIMULATED,
    ActionState.EXECUTED,
    ActionState.EXCLUDED,
    ActionState.FAILED,
)


def carried(views: list[ResponseView]) -> dict[str, dict[str, Any]]:
    """Per policy, what the live responses planned: actions by kind and distinct targets."""
    out: dict[str, dict[str, Any]] = {}
    for view in views:
        for action in view.actions:
            entry = out.setdefault(
                action.policy, {"actions": Counter(), "targets": set(), "excluded": 0}
            )
            if action.state is ActionState.EXCLUDED:
                entry["excluded"] += 1
            else:
                entry["actions"][action.action.value] += 1
                entry["targets"].add(action.target)
    return out


async def test_a_backtest_of_the_demo_matches_what_the_live_engine_did(
    make_stack: StackFactory,
) -> None:
    """Replaying the audit store through the same policies gives the live actions and targets."""
    shipped = {p.stem: p.read_text() for p in POLICIES.glob("*.yaml")}
    stack = await make_stack(shipped)
    alerts = demo_alerts("bt", datetime.now(UTC))
    ids = [(await stack.service.submit(alert)).response_id for alert in alerts]
    views = [await wait_for(stack.service, rid, all_in(*SETTLED)) for rid in ids]
    live = carried(views)
    matched = Counter(m.name for view in views for m in view.matched)

    tally = Tally()
    received = stack.store.query(AuditFilter(kind=AuditKind.ALERT_RECEIVED))
    # An incident-scope response's alert is the incident's own: the replay raises it again.
    senders = [alert_of(e.kind, e.detail) for e in received]
    external = [a for a in senders if a is not None and a.source != INCIDENT_SOURCE]
    replayed = list(alerts_from_store(stack.store, None, tally))
    assert tally.skipped == 0 and len(replayed) == len(external) == len(alerts)
    report = run(replayed, load_set(stack.settings.policies_dir, stack.settings)).report()

    assert report.alerts == len(alerts)
    for name, policy in report.policies.items():
        assert policy.matched == matched[name], name
        expected = live.get(name, {"actions": {}, "targets": set(), "excluded": 0})
        assert policy.actions == dict(expected["actions"]), name
        assert set(policy.targets) == expected["targets"], name
        assert policy.excluded == expected["excluded"], name
