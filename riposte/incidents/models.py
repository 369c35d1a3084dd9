"""An incident's public shape, and the messages of the `TrackIncident` workflow.

TrackInput        the workflow's input (and what continue-as-new carries on)
JoinRequest       signal `join`: a response's alert joins the key's incident
Membership        signal to the response: the incident it belongs to, and its escalations
IncidentTask      the input of a response an incident starts for one shared target
Escalation        an incident-scope policy's `escalate`, once it has matched
IncidentRecord    one incident as the workflow holds it
IncidentView      one incident as the CLI, API and console show it
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from pydantic import Field

from riposte.alerts import Alert
from riposte.incidents.correlation import is_public
from riposte.model import Frozen
from riposte.modes import Mode

DEFAULT_HISTORY_BOUND = 2000  # events; past it the workflow continues as new


class IncidentStatus(StrEnum):
    OPEN = "open"  # the key's current incident: alerts within its window still join it
    CLOSED = "closed"  # a later alert fell outside the window and opened the next incident


class JoinRequest(Frozen):
    response_id: str
    alert: Alert  # `raw` dropped: the incident keeps what correlation and policies read
    sender: str = ""  # the principal that sent the alert ("" from before joins carried it)


class Escalation(Frozen):
    by_policy: str  # the incident-scope policy whose `escalate` this is
    policy_hash: str
    mode: Mode
    policies: tuple[str, ...]  # alert-scope policies whose responses change mode


class Membership(Frozen):
    incident_id: str
    escalations: tuple[Escalation, ...] = ()


class IncidentTask(Frozen):
    """What an incident-scope response answers: one policy, on one shared entity."""

    incident_id: str
    policy: str
    entity: str  # "user" | "ip" | "device"
    target: str


class Member(Frozen):
    response_id: str
    alert: Alert
    sender: str = ""  # who sent its alert: they may not decide on the incident's own responses


class IncidentRecord(Frozen):
    incident_id: str  # "{key}:{number}"
    key: str
    number: int = Field(ge=1)
    opened: datetime  # the first alert's time: the window runs from here
    members: tuple[Member, ...] = ()
    responses: tuple[str, ...] = ()  # the incident-scope responses it started
    fired: tuple[str, ...] = ()  # "{policy}|{action}|{target}" already answered
    escalations: tuple[Escalation, ...] = ()
    closed: bool = False


class TrackInput(Frozen):
    key: str
    window_seconds: int = Field(default=72 * 3600, gt=0)
    history_bound: int = Field(default=DEFAULT_HISTORY_BOUND, ge=10)
    incidents: tuple[IncidentRecord, ...] = ()  # carried over by continue-as-new
    pending: tuple[JoinRequest, ...] = ()  # joins received but not yet handled


class IncidentView(Frozen):
    """One incident (DESIGN.md, "Incidents"): `alerts` is a count, `responses` are ids."""

    incident_id: str
    key: str
    status: IncidentStatus
    accounts: tuple[str, ...]
    devices: tuple[str, ...]
    attacker_ips: tuple[str, ...]
    asns: tuple[str, ...]
    alerts: int
    responses: tuple[str, ...]
    opened: datetime
    last_alert: datetime
    escalations: tuple[Escalation, ...] = ()


class IncidentsView(Frozen):
    """The `view` query of one key's workflow: its incidents, oldest first."""

    incidents: tuple[IncidentView, ...] = ()


def incident_id_of(key: str, number: int) -> str:
    return f"{key}:{number}"


def split_incident_id(incident_id: str) -> tuple[str, int] | None:
    """(key, number) of an incident id, or None when it is not one."""
    key, sep, number = incident_id.rpartition(":")
    if not sep or not key or not number.isdigit() or int(number) < 1:
        return None
    return key, int(number)


def accounts_of(members: tuple[Member, ...]) -> tuple[str, ...]:
    return _distinct(m.alert.entities.user.casefold() for m in members if m.alert.entities.user)


def devices_of(members: tuple[Member, ...]) -> tuple[str, ...]:
    return _distinct(m.alert.entities.device for m in members if m.alert.entities.device)


def ips_of(members: tuple[Member, ...], *, public_only: bool = False) -> tuple[str, ...]:
    found = (m.alert.entities.ip for m in members if m.alert.entities.ip)
    return _distinct(ip for ip in found if not public_only or is_public(ip))


def asns_of(members: tuple[Member, ...]) -> tuple[str, ...]:
    return _distinct(m.alert.entities.asn.upper() for m in members if m.alert.entities.asn)


def view_of(record: IncidentRecord) -> IncidentView:
    members = record.members
    return IncidentView(
        incident_id=record.incident_id,
        key=record.key,
        status=IncidentStatus.CLOSED if record.closed else IncidentStatus.OPEN,
        accounts=accounts_of(members),
        devices=devices_of(members),
        attacker_ips=ips_of(members),
        asns=asns_of(members),
        alerts=len(members),
        responses=(*(m.response_id for m in members), *record.responses),
        opened=record.opened,
        last_alert=max((m.alert.time for m in members), default=record.opened),
        escalations=record.escalations,
    )


def _distinct(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))
