"""Incident-scope policies: what an incident calls for each time it grows. Pure, no I/O.

An incident-scope policy counts the incident's alerts that meet the rest of its `match` (source,
name, ...) within `match.incident.within` of the latest of them; when every count holds it fires:
- each action answers the incident's shared entities of its kind: a user action its accounts, an
  IP action its attacker IPs (`block_sign_in_from`: the public ones only), once per target;
- its `escalate` is recorded once and sent to the incident's responses.

Each target is answered by a response of its own (`incident_alert`), so the same modes,
approvals, audit and reverts apply; its plan comes from `evaluate` on a snapshot narrowed to the
one policy (`narrowed`).
"""

from __future__ import annotations

import functools
from datetime import timedelta

from riposte.actions.catalogue import CATALOGUE
from riposte.actions.payloads import ActionName
from riposte.alerts import Alert, Entities, Severity
from riposte.incidents.correlation import is_public
from riposte.incidents.models import Escalation, IncidentRecord, IncidentTask, Member
from riposte.model import Frozen
from riposte.policy.matchers import Facts, Matcher, compile_match
from riposte.policy.models import IncidentMatch, Match, Policy, Scope
from riposte.policy.snapshot import PolicySnapshot, SnapshotPolicy

SOURCE = "riposte"  # the source of the alerts an incident raises for its own responses


class IncidentPlan(Frozen):
    tasks: tuple[IncidentTask, ...] = ()  # targets not answered before
    escalations: tuple[Escalation, ...] = ()  # escalations not recorded before


def fired_key(task: IncidentTask) -> str:
    return f"{task.policy}|{task.entity}|{task.target.casefold()}"


def counted(match: Match, members: tuple[Member, ...]) -> tuple[Member, ...]:
    """The members an incident-scope match counts: those meeting its alert conditions, within
    its window of the latest of them."""
    matcher = _alert_level(match)
    meeting = tuple(m for m in members if matcher.holds(Facts(m.alert)))
    window = match.incident.within if match.incident else None
    if not meeting or window is None:
        return meeting
    latest = max(m.alert.time for m in meeting)
    return tuple(m for m in meeting if latest - m.alert.time <= timedelta(seconds=window))


@functools.lru_cache(maxsize=256)
def _alert_level(match: Match) -> Matcher:
    """The match's alert conditions, compiled once (an incident re-counts its members each time
    it grows)."""
    return compile_match(match.model_copy(update={"incident": None}))


def unmet(incident: IncidentMatch, members: tuple[Member, ...]) -> str:
    """Why the counts do not hold ("" when they do)."""
    accounts = {m.alert.entities.user.casefold() for m in members if m.alert.entities.user}
    devices = {m.alert.entities.device for m in members if m.alert.entities.device}
    have = {"accounts": len(accounts), "devices": len(devices), "alerts": len(members)}
    for name, condition in (
        ("accounts", incident.accounts),
        ("devices", incident.devices),
        ("alerts", incident.alerts),
    ):
        if condition is not None and not condition.holds(have[name]):
            return f"{have[name]} {name}, not {condition}"
    return ""


def targets(spec_name: ActionName, members: tuple[Member, ...]) -> tuple[tuple[str, str], ...]:
    """(entity, target) pairs an action of an incident-scope policy acts on."""
    entry = CATALOGUE[spec_name]
    entity = entry.target.value
    found: dict[str, None] = {}
    for member in members:
        value = getattr(member.alert.entities, entity, None)
        if not isinstance(value, str) or not value:
            continue
        if entry.public_targets_only and not is_public(value):
            continue
        found.setdefault(value.casefold() if entity == "user" else value, None)
    return tuple((entity, value) for value in found)


def evaluate_incident(record: IncidentRecord, snapshot: PolicySnapshot) -> IncidentPlan:
    """What the incident's incident-scope policies call for now that weren't answered before."""
    tasks: list[IncidentTask] = []
    escalations: list[Escalation] = []
    fired = set(record.fired)
    escalated = {e.by_policy for e in record.escalations}
    for entry in sorted(snapshot.policies, key=lambda p: p.policy.name):
        policy = entry.policy
        if policy.scope is not Scope.INCIDENT or policy.match.incident is None:
            continue
        members = counted(policy.match, record.members)
        if not members or unmet(policy.match.incident, members):
            continue
        for spec in policy.actions:
            for entity, target in targets(spec.name, members):
                task = IncidentTask(
                    incident_id=record.incident_id, policy=policy.name, entity=entity, target=target
                )
                if fired_key(task) not in fired:
                    fired.add(fired_key(task))
                    tasks.append(task)
        if policy.escalate is not None and policy.name not in escalated:
            escalations.append(
                Escalation(
                    by_policy=policy.name,
                    policy_hash=entry.hash,
                    mode=policy.escalate.mode,
                    policies=policy.escalate.policies,
                )
            )
    return IncidentPlan(tasks=tuple(tasks), escalations=tuple(escalations))


def incident_alert(task: IncidentTask, members: tuple[Member, ...]) -> Alert:
    """The alert an incident raises for one task: its target as the entity, at the time and
    severity of the latest alert behind it."""
    latest = max((m.alert for m in members), key=lambda a: a.time, default=None)
    return Alert(
        id=f"{task.incident_id}:{task.policy}:{task.target}",
        source=SOURCE,
        name=f"Incident {task.incident_id} / {task.policy}",
        severity=latest.severity if latest else Severity.HIGH,
        score=latest.score if latest else 1.0,
        time=latest.time if latest else members[0].alert.time,
        entities=Entities.model_validate({task.entity: task.target}),
    )


def narrowed(snapshot: PolicySnapshot, task: IncidentTask) -> PolicySnapshot:
    """The snapshot an incident-scope response evaluates: its one policy, as if alert-scoped on
    the task's entity (so exclusions, protection, modes and ids work as for any response)."""
    kept: list[SnapshotPolicy] = []
    for entry in snapshot.policies:
        if entry.policy.name == task.policy:
            policy: Policy = entry.policy.model_copy(
                update={
                    "scope": Scope.ALERT,
                    "match": Match(entities=(task.entity,)),
                    "actions": tuple(
                        s for s in entry.policy.actions if CATALOGUE[s.name].target == task.entity
                    ),
                    "escalate": None,
                }
            )
            kept.append(entry.model_copy(update={"policy": policy}))
    return snapshot.model_copy(update={"policies": tuple(kept)})
