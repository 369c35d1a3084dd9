"""A dry run of incidents: alerts in order, correlated and grown as `TrackIncident` would, with
the incident-scope policies evaluated at each step. Pure, no I/O (`policy test`, `policy check`;
`policy backtest` grows its incidents with `grow_incident` and escalates with `escalation_for`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from riposte.alerts import Alert
from riposte.incidents.correlation import correlation_key
from riposte.incidents.growth import admit
from riposte.incidents.models import (
    Escalation,
    IncidentRecord,
    IncidentTask,
    IncidentView,
    Member,
    view_of,
)
from riposte.incidents.scope import IncidentPlan, evaluate_incident, fired_key
from riposte.model import Frozen
from riposte.modes import Mode
from riposte.policy.snapshot import PolicySnapshot


class IncidentStep(Frozen):
    """What one alert did to its incident."""

    alert: str  # the alert's key
    incident_id: str
    accounts: int
    devices: int
    alerts: int
    started: tuple[IncidentTask, ...] = ()  # incident-scope responses this step starts
    escalations: tuple[Escalation, ...] = ()  # escalations this step records


class Rehearsal(Frozen):
    steps: tuple[IncidentStep, ...]
    incidents: tuple[IncidentView, ...]


def grow_incident(
    incidents: dict[str, list[IncidentRecord]],
    member: Member,
    snapshot: PolicySnapshot,
    window: timedelta,
) -> tuple[IncidentRecord, IncidentPlan]:
    """`member` joins its key's incident in `incidents` (changed in place), whose incident-scope
    policies are then evaluated, as `TrackIncident` does: the grown incident, with the tasks and
    escalations it called for recorded, and what it called for."""
    key = correlation_key(member.alert)
    records = incidents.setdefault(key, [])
    index = admit(records, key, window, member)
    record = records[index]
    plan = evaluate_incident(record, snapshot)
    record = record.model_copy(
        update={
            "fired": (*record.fired, *(fired_key(t) for t in plan.tasks)),
            "escalations": (*record.escalations, *plan.escalations),
        }
    )
    records[index] = record
    return record, plan


def rehearse(
    alerts: Sequence[Alert], snapshot: PolicySnapshot, window_seconds: int = 72 * 3600
) -> Rehearsal:
    window = timedelta(seconds=window_seconds)
    by_key: dict[str, list[IncidentRecord]] = {}
    steps: list[IncidentStep] = []
    for alert in alerts:
        member = Member(response_id=alert.key, alert=alert)
        record, plan = grow_incident(by_key, member, snapshot, window)
        view = view_of(record)
        steps.append(
            IncidentStep(
                alert=alert.key,
                incident_id=record.incident_id,
                accounts=len(view.accounts),
                devices=len(view.devices),
                alerts=view.alerts,
                started=plan.tasks,
                escalations=plan.escalations,
            )
        )
    views = tuple(view_of(r) for records in by_key.values() for r in records)
    return Rehearsal(steps=tuple(steps), incidents=views)


def in_force(steps: Sequence[IncidentStep], upto: int) -> tuple[Escalation, ...]:
    """The escalations recorded in the incident of step `upto`, by then (its own included)."""
    incident = steps[upto].incident_id
    return tuple(
        escalation
        for step in steps[: upto + 1]
        if step.incident_id == incident
        for escalation in step.escalations
    )


def escalation_while_waiting(
    steps: Sequence[IncidentStep],
    times: Sequence[datetime],
    asked: int,
    policy: str,
    timeout_seconds: int,
) -> Escalation | None:
    """The escalation a human-confirm action of `policy`, asked at step `asked`, takes while it
    still waits for approval: the first recorded in its incident by a later alert that came
    within its approval timeout, as the live engine signals its still-pending responses."""
    incident, since = steps[asked].incident_id, times[asked]
    for step, when in zip(steps[asked + 1 :], times[asked + 1 :], strict=True):
        waited = (when - since).total_seconds()
        if step.incident_id != incident or not 0 <= waited < timeout_seconds:
            continue
        escalation = escalation_for(step.escalations, policy, Mode.HUMAN_CONFIRM)
        if escalation is not None:
            return escalation
    return None


def escalation_for(escalations: Iterable[Escalation], policy: str, mode: Mode) -> Escalation | None:
    """The escalation that changes the mode of an action of `policy` planned in `mode`, if any:
    the first naming the policy with another mode, as `RespondToAlert._escalation_for` picks it.
    Under the kill switch none applies: callers check `force_passive`, as the live response."""
    return next((e for e in escalations if policy in e.policies and e.mode is not mode), None)
