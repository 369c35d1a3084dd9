"""Microsoft Graph security alerts onto the native alert (source "defender").

The current shape is `alerts_v2` (GET /security/alerts_v2/{id}); its entities come from the
evidence:
- userEvidence and mailboxEvidence: the account's UPN (or the mailbox's primary address) is the
  user. An account with no UPN (a local "root", say) is not a Microsoft 365 user and gives none;
  neither does a bare object id, since exclusions and protected accounts are written as UPNs;
- ipEvidence: the IP; deviceEvidence: the device's DNS name, and its first interface address
  when no ipEvidence names one;
- analyzedMessageEvidence: the message's internetMessageId.
The first evidence of each kind wins. The legacy `security/alerts` (v1) shape is read too: its
userStates and hostStates give the user, IP and host. Graph gives a severity and no score;
`scales` maps one onto the other.
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

SOURCE = "defender"
_V2_KEYS = frozenset({"evidence", "providerAlertId", "serviceSource", "detectionSource"})


def looks_like(body: object) -> bool:
    if not isinstance(body, Mapping):
        return False
    kind = str(body.get("@odata.type", "")) + str(body.get("@odata.context", ""))
    return (
        "microsoft.graph.security.alert" in kind.casefold()
        or "#security/" in kind.casefold()
        or bool(_V2_KEYS & body.keys())
        or "vendorInformation" in body
    )


def parse(body: object) -> Alert:
    alert = mapping(body, "")
    if isinstance(alert.get("value"), list):
        raise InvalidInput("a Graph collection, not one alert: send its items one at a time")
    if "title" not in alert and "displayName" in alert:
        raise InvalidInput("a Graph security incident, not an alert: send its alerts_v2 instead")
    entities: dict[str, Any] = {}
    if "vendorInformation" in alert or "userStates" in alert or "hostStates" in alert:
        _read_legacy(alert, entities)
    else:
        for index, evidence in enumerate(_evidence(alert)):
            _read_evidence(evidence, entities, f"evidence[{index}]")
    severity = severity_named(optional_text(alert, "severity") or "")
    when = next(
        (
            alert[key]
            for key in ("createdDateTime", "firstActivityDateTime", "eventDateTime")
            if alert.get(key)
        ),
        None,
    )
    return build_alert(
        {
            "id": text(alert, "id", "id"),
            "source": SOURCE,
            "name": text(alert, "title", "title"),
            "severity": severity,
            "score": SCORE_OF[severity],
            "time": timestamp(when, "createdDateTime"),
            "entities": entities,
            "incident": incident_ref(alert.get("incidentId")),
            "raw": dict(alert),
        }
    )


def _evidence(alert: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    evidence = alert.get("evidence", [])
    if not isinstance(evidence, list):
        raise InvalidInput("expected an array", location="evidence")
    return mappings(evidence)


def _read_evidence(evidence: Mapping[str, Any], entities: dict[str, Any], where: str) -> None:
    kind = str(evidence.get("@odata.type", "")).rpartition(".")[2]
    account = evidence.get("userAccount")
    upn = optional_text(account, "userPrincipalName") if isinstance(account, Mapping) else None
    match kind:
        case "userEvidence":
            if upn:
                entities.setdefault("user", upn)
        case "mailboxEvidence":
            mailbox = upn or optional_text(evidence, "primaryAddress")
            if mailbox:
                entities.setdefault("user", mailbox)
        case "ipEvidence":
            address = host_ip(evidence.get("ipAddress"))
            if address:
                entities.setdefault("ip", address)
        case "deviceEvidence":
            name = optional_text(evidence, "deviceDnsName")
            if name:
                entities.setdefault("device", name)
            interfaces = evidence.get("ipInterfaces")
            addresses = [host_ip(a) for a in interfaces] if isinstance(interfaces, list) else []
            first = next((a for a in addresses if a), None)
            if first:
                entities.setdefault("ip", first)
        case "analyzedMessageEvidence":
            message_id = optional_text(evidence, "internetMessageId")
            if message_id:
                entities["messages"] = (*entities.get("messages", ()), message_id)
        case "":
            raise InvalidInput("missing", location=f"{where}.@odata.type")


def _read_legacy(alert: Mapping[str, Any], entities: dict[str, Any]) -> None:
    for state in mappings(alert.get("userStates")):
        upn = optional_text(state, "userPrincipalName")
        if upn and "@" in upn:
            entities.setdefault("user", upn)
        address = host_ip(state.get("logonIp"))
        if address:
            entities.setdefault("ip", address)
    for host in mappings(alert.get("hostStates")):
        name = optional_text(host, "fqdn") or optional_text(host, "netBiosName")
        if name:
            entities.setdefault("device", name)
        for key in ("publicIpAddress", "privateIpAddress"):
            address = host_ip(host.get(key))
            if address:
                entities.setdefault("ip", address)
