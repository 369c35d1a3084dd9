"""Darktrace model breaches onto the native alert.

Reads three shapes of the same thing:
- a v5 breach, whose model is under `model.then` (as it was when it fired) and `model.now`;
- an older breach, whose model is `model` itself (`model.name`);
- the event list of `/details?pbid=`: a "policybreach" event plus the connections behind it.

The alert id is "dt-{pbid}", the source "darktrace", and the name the model's name in the UI form
("SaaS / Compromise / ..."; the API writes "SaaS::Compromise::..."). Severity follows the score and
the model's category (see `scales`). Entities: the breaching device's IP and hostname; a SaaS
"device" ("SaaS::Office365: ben@contoso.com") is a user, not a host; component filters add an
actor's UPN, an ASN, and for a device without an address an IP-valued filter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from riposte.adapters.fields import (
    build_alert,
    host_ip,
    incident_ref,
    mapping,
    mappings,
    optional_text,
    text,
    timestamp,
)
from riposte.adapters.scales import severity_of_score
from riposte.alerts import Alert
from riposte.errors import InvalidInput
from riposte.policy.patterns import display_name

SOURCE = "darktrace"
_SAAS_PREFIX = "SaaS::"
_ASN = re.compile(r"^\s*(AS\d+)\b", re.IGNORECASE)


def looks_like(body: object) -> bool:
    if isinstance(body, list):
        return any(_is_breach_event(item) for item in body)
    if not isinstance(body, Mapping):
        return False
    return "pbid" in body or (isinstance(body.get("model"), Mapping) and "score" in body)


def parse(body: object) -> Alert:
    if isinstance(body, list):
        return build_alert(_from_details(body))
    return build_alert(_fields(mapping(body, "")))


def _fields(breach: Mapping[str, Any]) -> dict[str, Any]:
    """The native alert's fields for one breach object."""
    if "pbid" not in breach:
        raise InvalidInput("missing: not a Darktrace model breach", location="pbid")
    pbid = text(breach, "pbid", "pbid")
    model = _model(breach)
    name = optional_text(model, "name") or optional_text(breach, "name")
    if name is None:
        raise InvalidInput("missing", location="model.then.name")
    score = _score(breach)
    when = next((breach[k] for k in ("timems", "time", "creationTime") if k in breach), None)
    entities: dict[str, Any] = {}
    device = breach.get("device")
    if isinstance(device, Mapping):
        _read_device(device, entities)
    for component in mappings(breach.get("triggeredComponents")):
        component_device = component.get("device")
        if isinstance(component_device, Mapping):
            _read_device(component_device, entities)
        _read_filters(component, entities)
    return {
        "id": f"dt-{pbid}",
        "source": SOURCE,
        "name": display_name(name),
        "severity": severity_of_score(score, optional_text(model, "category") or ""),
        "score": score,
        "time": timestamp(when, "time"),
        "entities": entities,
        "incident": _ai_analyst_incident(breach),
        "raw": dict(breach),
    }


def _ai_analyst_incident(breach: Mapping[str, Any]) -> str | None:
    """The AI Analyst incident the breach was pieced into: its group id (as incident events and
    breaches enriched from /aianalyst/incidentevents carry it), else its incident event id."""
    for holder in (breach, breach.get("aianalyst")):
        if isinstance(holder, Mapping):
            for key in ("groupId", "aiaGroupId", "incidentEventId"):
                found = incident_ref(holder.get(key))
                if found:
                    return f"aia-{found}"
    return None


def _model(breach: Mapping[str, Any]) -> Mapping[str, Any]:
    """The model as it was when the breach fired (v5 `then`), else the older flat `model`."""
    model = breach.get("model")
    if not isinstance(model, Mapping):
        return {}
    for key in ("then", "now"):
        version = model.get(key)
        if isinstance(version, Mapping) and optional_text(version, "name"):
            return version
    return model


def _score(breach: Mapping[str, Any]) -> float:
    score = breach.get("score")
    if isinstance(score, int | float) and not isinstance(score, bool) and 0 <= score <= 1:
        return float(score)
    percent = breach.get("percentscore")
    if isinstance(percent, int | float) and not isinstance(percent, bool) and 0 <= percent <= 100:
        return float(percent) / 100
    problem = "missing" if score is None else f"expected a number from 0 to 1, got {score!r}"
    raise InvalidInput(problem, location="score")


def _read_device(device: Mapping[str, Any], entities: dict[str, Any]) -> None:
    hostname = optional_text(device, "hostname")
    saas_user = _saas_user(hostname or "")
    if saas_user is not None:
        entities.setdefault("user", saas_user)
        return
    if hostname:
        entities.setdefault("device", hostname)
    address = host_ip(device.get("ip"))
    if address is None:
        addresses = (host_ip(item.get("ip")) for item in mappings(device.get("ips")))
        address = next((a for a in addresses if a), None)
    if address is not None:
        entities.setdefault("ip", address)


def _saas_user(hostname: str) -> str | None:
    """The account of a SaaS "device" (`SaaS::Office365: ben@contoso.com`), else None.

    String operations, not a regex: `\\S+@\\S+` backtracks quadratically on a run of `@`.
    """
    if not hostname.startswith(_SAAS_PREFIX):
        return None
    _, colon, rest = hostname[len(_SAAS_PREFIX) :].partition(":")
    user = rest.strip()
    if not colon or not user or any(char.isspace() for char in user):
        return None
    return user if "@" in user[1:-1] else None


def _read_filters(component: Mapping[str, Any], entities: dict[str, Any]) -> None:
    for item in mappings(component.get("triggeredFilters")):
        trigger = item.get("trigger")
        value = optional_text(trigger, "value") if isinstance(trigger, Mapping) else None
        kind = (optional_text(item, "filterType") or "").casefold()
        if value is None:
            continue
        if ("actor" in kind or "user" in kind) and "@" in value:
            entities.setdefault("user", value)
        elif kind == "asn" and (asn := _ASN.match(value)):
            entities.setdefault("asn", asn.group(1).upper())
        elif (address := host_ip(value)) is not None:
            entities.setdefault("ip", address)


def _is_breach_event(item: object) -> bool:
    return isinstance(item, Mapping) and item.get("eventType") == "policybreach"


def _from_details(events: list[Any]) -> dict[str, Any]:
    """The event list of /details?pbid=: the breach event, and the devices in its connections."""
    breach = next((item for item in events if _is_breach_event(item)), None)
    if breach is None:
        raise InvalidInput("no event with eventType 'policybreach'", location="[*].eventType")
    device_ids = set(breach.get("devices") or ())
    entities: dict[str, Any] = {}
    for event in mappings(events):
        for key in ("sourceDevice", "destinationDevice"):
            device = event.get(key)
            if isinstance(device, Mapping) and device.get("did") in device_ids:
                _read_device(device, entities)
    fields = _fields(breach)
    return {**fields, "entities": {**fields["entities"], **entities}, "raw": {"events": events}}
