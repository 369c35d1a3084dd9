"""A backtest of the audit store agrees with what the live engine did with the same alerts."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from riposte.backtest.service import BacktestRequest, backtest
from riposte.demo import demo_alerts
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
    """Per policy, what the live responses planned: actions by kind and by mode (as carried
    out, escalations included), and distinct targets."""
    out: dict[str, dict[str, Any]] = {}
    for view in views:
        for action in view.actions:
            entry = out.setdefault(
                action.policy,
                {"actions": Counter(), "by_mode": {}, "targets": set(), "excluded": 0},
            )
            if action.state is ActionState.EXCLUDED:
                entry["excluded"] += 1
            else:
                entry["actions"][action.action.value] += 1
                entry["by_mode"].setdefault(action.mode.value, Counter())[action.action.value] += 1
                entry["targets"].add(action.target)
    return out


async def test_a_backtest_of_the_demo_matches_what_the_live_engine_did(
    make_stack: StackFactory,
) -> None:
    """Replaying the audit store through the same policies as `policy backtest` does, incident
    scope included, gives the live actions, their modes (the campaign's escalation of the
    takeover included) and targets, and the campaign's own response."""
    shipped = {p.stem: p.read_text() for p in POLICIES.glob("*.yaml")}
    stack = await make_stack(shipped)
    alerts = demo_alerts("bt", datetime.now(UTC))
    ids = [(await stack.service.submit(alert)).response_id for alert in alerts]
    views = [await wait_for(stack.service, rid, all_in(*SETTLED)) for rid in ids]
    # A response learns its incident after the incident answered its growth, so by now each
    # incident lists the incident-scope responses its members' alerts started.
    incidents = sorted({view.incident_id for view in views})
    assert "" not in incidents
    own = [
        rid
        for incident_id in incidents
        for rid in (await stack.service.incidents.view(incident_id)).responses
        if rid not in ids
    ]
    assert own, "the shipped campaign policy should have fired"
    views += [await wait_for(stack.service, rid, all_in(*SETTLED)) for rid in own]
    live = carried(views)
    matched = Counter(m.name for view in views for m in view.matched)

    # The incident's own alerts are in the store too: the replay raises them again instead.
    report = backtest(BacktestRequest(), stack.settings)

    assert report.alerts == len(alerts) and report.skipped_events == 0
    assert set(live) <= set(report.policies)
    for name, policy in report.policies.items():
        assert policy.matched == matched[name], name
        expected = live.get(name, {"actions": {}, "by_mode": {}, "targets": set(), "excluded": 0})
        assert policy.actions == dict(expected["actions"]), name
        assert policy.by_mode == {m: dict(c) for m, c in expected["by_mode"].items()}, name
        assert set(policy.targets) == expected["targets"], name
        assert policy.excluded == expected["excluded"], name
    assert set(report.policies["m365-account-takeover"].by_mode) == {"autonomous"}
