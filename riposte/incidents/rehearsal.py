"""A dry run of incidents: alerts in order, correlated and grown as `TrackIncident` would, with
the incident-scope policies evaluated at each step. Pure, no I/O (`policy test`, `policy check`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

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
from riposte.incidents.scope import evaluate_incident, fired_key
from riposte.model import Frozen
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


def rehearse(
    alerts: Sequence[Alert], snapshot: PolicySnapshot, window_seconds: int = 72 * 3600
) -> Rehearsal:
    window = timedelta(seconds=window_seconds)
    by_key: dict[str, list[IncidentRecord]] = {}
    steps: list[IncidentStep] = []
    for alert in alerts:
        key = correlation_key(alert)
        records = by_key.setdefault(key, [])
        index = admit(records, key, window, Member(response_id=alert.key, alert=alert))
        record = records[index]
        plan = evaluate_incident(record, snapshot)
        record = record.model_copy(
            update={
                "fired": (*record.fired, *(fired_key(t) for t in plan.tasks)),
                "escalations": (*record.escalations, *plan.escalations),
            }
        )
        records[index] = record
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


def escalated_mode(steps: Sequence[IncidentStep], upto: int, policy: str) -> Escalation | None:
    """The escalation in force for `policy` in the incident of step `upto`, by then."""
    incident = steps[upto].incident_id
    for step in steps[: upto + 1]:
        if step.incident_id == incident:
            for escalation in step.escalations:
                if policy in escalation.policies:
                    return escalation
    return None
