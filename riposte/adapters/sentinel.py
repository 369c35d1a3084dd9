"""Microsoft Sentinel incidents onto the native alert (source "sentinel").

Reads the incident resource (GET .../providers/Microsoft.SecurityInsights/incidents/{id}), also
when wrapped as an automation trigger's `object`. The id is the incident's name (a GUID, unique
per workspace, unlike its number, which is the fallback); the alert name is `properties.title`.
Entities come from `properties.relatedEntities` or a sibling `entities` list, as Sentinel's
entity kinds: Account (accountName@upnSuffix), Mailbox, Ip, Host and MailMessage. The incident's
owner is the analyst it is assigned to and never becomes an entity.
"""

from __future__ import annotations

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
from riposte.adapters.scales import SCORE_OF, severity_named
from riposte.alerts import Alert
from riposte.errors import InvalidInput

SOURCE = "sentinel"


def looks_like(body: object) -> bool:
    if not isinstance(body, Mapping):
        return False
    incident = body.get("object", body)
    if not isinstance(incident, Mapping):
        return False
    if "Microsoft.SecurityInsights/incidents" in str(incident.get("type", "")):
        return True
    properties = incident.get("properties")
    return isinstance(properties, Mapping) and "incidentNumber" in properties


def parse(body: object) -> Alert:
    incident = mapping(body, "")
    prefix = ""
    if isinstance(incident.get("object"), Mapping):
        incident, prefix = incident["object"], "object."
    properties = mapping(incident.get("properties"), f"{prefix}properties")
    where = f"{prefix}properties"
    incident_id = optional_text(incident, "name") or text(
        properties, "incidentNumber", f"{where}.incidentNumber"
    )
    severity = severity_named(text(properties, "severity", f"{where}.severity"))
    when = next(
        (
            properties[key]
            for key in ("createdTimeUtc", "firstActivityTimeUtc", "lastModifiedTimeUtc")
            if properties.get(key)
        ),
        None,
    )
    entities: dict[str, Any] = {}
    related = properties.get("relatedEntities", incident.get("entities", []))
    if not isinstance(related, list):
        raise InvalidInput("expected an array", location=f"{where}.relatedEntities")
    for entity in mappings(related):
        _read_entity(entity, entities)
    return build_alert(
        {
            "id": incident_id,
            "source": SOURCE,
            "name": text(properties, "title", f"{where}.title"),
            "severity": severity,
            "score": SCORE_OF[severity],
            "time": timestamp(when, f"{where}.createdTimeUtc"),
            "entities": entities,
            "incident": incident_ref(incident_id),
            "raw": dict(body) if isinstance(body, Mapping) else {},
        }
    )


def _read_entity(entity: Mapping[str, Any], entities: dict[str, Any]) -> None:
    found = entity.get("properties")
    props: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    match str(entity.get("kind", "")).casefold():
        case "account":
            name, suffix = optional_text(props, "accountName"), optional_text(props, "upnSuffix")
            if name and suffix:
                entities.setdefault("user", f"{name}@{suffix}")
        case "mailbox":
            address = optional_text(props, "mailboxPrimaryAddress") or optional_text(props, "upn")
            if address:
                entities.setdefault("user", address)
        case "ip":
            ip = host_ip(props.get("address"))
            if ip:
                entities.setdefault("ip", ip)
        case "host":
            host = optional_text(props, "hostName")
            domain = optional_text(props, "dnsDomain")
            if host:
                entities.setdefault("device", f"{host}.{domain}" if domain else host)
        case "mailmessage":
            message_id = optional_text(props, "internetMessageId")
            if message_id:
                entities["messages"] = (*entities.get("messages", ()), message_id)
