"""`policy test` over several alerts: each alert's plan, and how their incidents grow."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from riposte.adapters.caps import parse_bounded
from riposte.alerts import Alert
from riposte.cli import common
from riposte.errors import InvalidInput
from riposte.incidents.rehearsal import (
    IncidentStep,
    Rehearsal,
    escalation_for,
    escalation_while_waiting,
    in_force,
    rehearse,
)
from riposte.modes import Mode
from riposte.policy.engine import ResponsePlan, evaluate
from riposte.policy.snapshot import PolicySnapshot
from riposte.settings import Settings


def read_alerts(text: str, fmt: str, settings: Settings) -> list[Alert]:
    """One alert, a JSON array of them, or NDJSON (one a line); InvalidInput naming the item."""
    try:
        values: list[Any] = [json.loads(text)]
    except json.JSONDecodeError as err:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) < 2 or not _is_json(lines[0]):
            raise InvalidInput(
                f"malformed JSON: {err.msg}", location=f"line {err.lineno} column {err.colno}"
            ) from None
        values = []
        for n, line in enumerate(lines, start=1):
            try:
                values.append(json.loads(line))
            except json.JSONDecodeError as bad:
                raise InvalidInput(f"malformed JSON: {bad.msg}", location=f"line {n}") from None
    if len(values) == 1 and isinstance(values[0], list):
        try:
            return [parse_bounded(values[0], fmt, settings.alert_caps)]  # one alert as an array
        except InvalidInput:
            values = values[0]
    alerts = []
    for n, value in enumerate(values):
        try:
            alerts.append(parse_bounded(value, fmt, settings.alert_caps))
        except InvalidInput as err:
            where = f"[{n}]" if len(values) > 1 else ""
            raise InvalidInput(f"{where} {err}".strip()) from None
    return alerts


def plans_and_growth(
    alerts: list[Alert], snapshot: PolicySnapshot, settings: Settings
) -> tuple[list[ResponsePlan], Rehearsal]:
    plans = [evaluate(a, snapshot, a.key) for a in alerts]
    rehearsal = rehearse(alerts, snapshot, settings.incidents.window_seconds)
    if not snapshot.force_passive:
        times = [a.time for a in alerts]
        plans = [_escalated(p, n, rehearsal.steps, times) for n, p in enumerate(plans)]
    return plans, rehearsal


def _escalated(
    plan: ResponsePlan, n: int, steps: tuple[IncidentStep, ...], times: list[datetime]
) -> ResponsePlan:
    """The plan with the modes its incident's escalations give it: those in force by step `n`,
    and for an action still waiting for approval, those later alerts record within its wait."""
    escalations = in_force(steps, n)
    actions = []
    for action in plan.actions:
        escalation = escalation_for(escalations, action.policy, action.mode)
        if escalation is None and action.mode is Mode.HUMAN_CONFIRM:
            timeout = action.approval_timeout_seconds
            escalation = escalation_while_waiting(steps, times, n, action.policy, timeout)
        if escalation is not None:
            action = action.model_copy(update={"mode": escalation.mode})
        actions.append(action)
    return plan.model_copy(update={"actions": tuple(actions)})


def step_line(step: IncidentStep) -> str:
    line = (
        f"incident  {step.incident_id}: {step.alerts} alerts, {step.accounts} accounts, "
        f"{step.devices} devices"
    )
    for task in step.started:
        line += f"\n          starts {task.policy} on {task.entity} {task.target}"
    for escalation in step.escalations:
        line += (
            f"\n          escalates {', '.join(escalation.policies)} to {escalation.mode.value}"
            f" ({escalation.by_policy})"
        )
    return line


def print_growth(alerts: list[Alert], plans: list[ResponsePlan], rehearsal: Rehearsal) -> None:
    for alert, plan, step in zip(alerts, plans, rehearsal.steps, strict=True):
        who = alert.entities.user or alert.entities.device or alert.entities.ip or "-"
        print(f"alert     {alert.key}: {alert.name} ({who}, {alert.time:%Y-%m-%d %H:%M})")
        for action in plan.to_carry_out:
            print(f"          {action.action.value} {action.target} [{action.mode.value}]")
        if not plan.matched:
            print(f"          no policy matched: {plan.no_match_reason}")
        print(step_line(step))
    for incident in rehearsal.incidents:
        print(
            f"\n{incident.incident_id}: {incident.alerts} alerts; accounts "
            f"{', '.join(incident.accounts) or '-'}; devices {', '.join(incident.devices) or '-'}"
        )
    print("(a dry run: nothing was changed)")


def print_growth_json(alerts: list[Alert], plans: list[ResponsePlan], rehearsal: Rehearsal) -> None:
    items = [
        {
            "response_id": alert.key,
            "alert": alert.model_dump(mode="json"),
            **plan.model_dump(mode="json"),
            "incident": step.model_dump(mode="json"),
        }
        for alert, plan, step in zip(alerts, plans, rehearsal.steps, strict=True)
    ]
    common.print_json(
        {"alerts": items, "incidents": [i.model_dump(mode="json") for i in rehearsal.incidents]}
    )


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True
