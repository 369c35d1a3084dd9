"""Conditional Access as Graph keeps it: named locations and policies (routes: graph_ca).

Only ipNamedLocation is modelled (countryNamedLocation is refused). As in Graph, a named
location's PATCH must carry its @odata.type and replaces `ipRanges` whole; an IPv4 range shorter
than /8 is refused; a location a policy still uses cannot be deleted. PATCH answers 204.
"""

from __future__ import annotations

import copy
import datetime as dt
import ipaddress
import uuid
from typing import Any

from tenant_emulator.errors import GraphError

IP_LOCATION = "#microsoft.graph.ipNamedLocation"
RANGE_TYPES = {4: "#microsoft.graph.iPv4CidrRange", 6: "#microsoft.graph.iPv6CidrRange"}
STATES = ("enabled", "disabled", "enabledForReportingButNotEnforced")


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _bad(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def _ranges(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise _bad("ipRanges must contain at least one range.")
    out = []
    for item in value:
        text = item.get("cidrAddress") if isinstance(item, dict) else None
        try:
            network = ipaddress.ip_network(str(text), strict=False)
        except ValueError as err:
            raise _bad(f"Invalid IP range: {text!r}.") from err
        if network.version == 4 and network.prefixlen < 8:
            raise _bad(f"IP range {text} is too wide: IPv4 prefixes must be /8 or longer.")
        out.append({"@odata.type": RANGE_TYPES[network.version], "cidrAddress": str(text)})
    return out


class ConditionalAccess:
    """Named locations and policies by id, served and snapshotted by display name."""

    def __init__(
        self, locations: tuple[dict[str, Any], ...], policies: tuple[dict[str, Any], ...]
    ) -> None:
        self.locations: dict[str, dict[str, Any]] = {}
        self.policies: dict[str, dict[str, Any]] = {}
        for location in locations:
            self.create_location(copy.deepcopy(location))
        for policy in policies:
            self.create_policy(copy.deepcopy(policy))

    def create_location(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("@odata.type") != IP_LOCATION:
            raise _bad("The emulator models ipNamedLocation only (@odata.type is required).")
        name = body.get("displayName")
        if not isinstance(name, str) or not name.strip():
            raise _bad("displayName is required.")
        now = _now()
        location: dict[str, Any] = {
            "@odata.type": IP_LOCATION,
            "id": str(body.get("id") or uuid.uuid4()),
            "displayName": name,
            "modifiedDateTime": now,
            "createdDateTime": now,
            "isTrusted": bool(body.get("isTrusted", False)),
            "ipRanges": _ranges(body.get("ipRanges")),
        }
        self.locations[location["id"]] = location
        return location

    def location(self, key: str) -> dict[str, Any]:
        found = self.locations.get(key)
        if found is None:
            raise GraphError(404, "ResourceNotFound", f"Named location '{key}' not found.")
        return found

    def update_location(self, key: str, body: dict[str, Any]) -> None:
        location = self.location(key)
        if body.get("@odata.type") != IP_LOCATION:
            raise _bad("The @odata.type of a named location is required in a PATCH.")
        if "displayName" in body:
            if not isinstance(body["displayName"], str) or not body["displayName"].strip():
                raise _bad("displayName must not be empty.")
            location["displayName"] = body["displayName"]
        if "ipRanges" in body:
            location["ipRanges"] = _ranges(body["ipRanges"])
        if "isTrusted" in body:
            location["isTrusted"] = bool(body["isTrusted"])
        location["modifiedDateTime"] = _now()

    def delete_location(self, key: str) -> None:
        self.location(key)
        for policy in self.policies.values():
            locations = (policy.get("conditions") or {}).get("locations") or {}
            used = [*locations.get("includeLocations", []), *locations.get("excludeLocations", [])]
            if key in used:
                raise _bad(f"Named location '{key}' is used by policy {policy['displayName']!r}.")
        del self.locations[key]

    def _check_policy(self, policy: dict[str, Any]) -> None:
        if policy.get("state") not in STATES:
            raise _bad(f"state must be one of {', '.join(STATES)}.")
        conditions = policy.get("conditions")
        if not isinstance(conditions, dict) or not conditions.get("users"):
            raise _bad("conditions.users is required.")
        if not (conditions.get("applications") or {}).get("includeApplications"):
            raise _bad("conditions.applications.includeApplications is required.")
        locations = conditions.get("locations") or {}
        for key in (*locations.get("includeLocations", []), *locations.get("excludeLocations", [])):
            if key not in ("All", "AllTrusted") and key not in self.locations:
                raise _bad(f"Named location '{key}' does not exist.")
        if not policy.get("grantControls") and not policy.get("sessionControls"):
            raise _bad("A policy needs grantControls or sessionControls.")

    def create_policy(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("displayName")
        if not isinstance(name, str) or not name.strip():
            raise _bad("displayName is required.")
        now = _now()
        policy: dict[str, Any] = {
            "id": str(body.get("id") or uuid.uuid4()),
            "templateId": None,
            "displayName": name,
            "createdDateTime": now,
            "modifiedDateTime": None,
            "state": body.get("state"),
            "sessionControls": body.get("sessionControls"),
            "conditions": body.get("conditions"),
            "grantControls": body.get("grantControls"),
        }
        self._check_policy(policy)
        self.policies[policy["id"]] = policy
        return policy

    def policy(self, key: str) -> dict[str, Any]:
        found = self.policies.get(key)
        if found is None:
            raise GraphError(404, "ResourceNotFound", f"Policy '{key}' not found.")
        return found

    def update_policy(self, key: str, body: dict[str, Any]) -> None:
        policy = self.policy(key)
        changed = copy.deepcopy(policy)
        for name in ("displayName", "state", "conditions", "grantControls", "sessionControls"):
            if name in body:
                changed[name] = body[name]
        self._check_policy(changed)
        changed["modifiedDateTime"] = _now()
        self.policies[key] = changed

    def snapshot(self) -> dict[str, Any]:
        return {
            "named_locations": {
                loc["displayName"]: {
                    "id": loc["id"],
                    "isTrusted": loc["isTrusted"],
                    "ipRanges": [r["cidrAddress"] for r in loc["ipRanges"]],
                }
                for loc in self.locations.values()
            },
            "conditional_access_policies": {
                policy["displayName"]: copy.deepcopy(policy) for policy in self.policies.values()
            },
        }
