"""Azure network security groups and their security rules, as ARM's Network provider has them.

Writes are long-running operations: a PUT or DELETE changes the rule at once (its
provisioningState reads "Updating" or "Deleting") and returns an operation that reports
InProgress for the first `polls` status reads, then Succeeded. An operation nobody polls settles
by itself after `settle_seconds`, so the state seam never shows a half-done change for long.
"""

from __future__ import annotations

import copy
import functools
import ipaddress
import re
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tenant_emulator.errors import ArmError
from tenant_emulator.seed import SeedNsg

RULE_LIMIT = 1000
_NAME = re.compile(r"^[A-Za-z0-9](?:[\w.-]{0,78}[\w])?$")
_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9.]*$")  # service tags: Internet, VirtualNetwork, ...
_PROTOCOLS = {p.lower(): p for p in ("Tcp", "Udp", "Icmp", "Esp", "Ah", "*")}
_ACCESS = {"allow": "Allow", "deny": "Deny"}
_DIRECTIONS = {"inbound": "Inbound", "outbound": "Outbound"}
_DEFAULT_RULES = (
    ("AllowVnetInBound", 65000, "Inbound", "Allow", "VirtualNetwork", "VirtualNetwork"),
    ("AllowAzureLoadBalancerInBound", 65001, "Inbound", "Allow", "AzureLoadBalancer", "*"),
    ("DenyAllInBound", 65500, "Inbound", "Deny", "*", "*"),
    ("AllowVnetOutBound", 65000, "Outbound", "Allow", "VirtualNetwork", "VirtualNetwork"),
    ("AllowInternetOutBound", 65001, "Outbound", "Allow", "*", "Internet"),
    ("DenyAllOutBound", 65500, "Outbound", "Deny", "*", "*"),
)


class OperationKind(StrEnum):
    PUT = "put"
    DELETE = "delete"


@dataclass
class Operation:
    id: str
    kind: OperationKind
    nsg: Nsg
    rule_name: str
    polls_left: int
    started: float
    done: bool = False

    @property
    def status(self) -> str:
        return "Succeeded" if self.done else "InProgress"


@dataclass
class Nsg:
    name: str
    resource_group: str
    location: str
    cidr: str
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)  # by lower-cased name
    flush_connection: bool = False
    guid: str = field(default_factory=lambda: str(uuid.uuid4()))

    def resource_id(self, subscription: str) -> str:
        return (
            f"/subscriptions/{subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Network/networkSecurityGroups/{self.name}"
        )


def _invalid(code: str, message: str) -> ArmError:
    return ArmError(400, code, message)


def _check_port(value: Any) -> str:
    text = str(value)
    if text == "*":
        return text
    parts = text.split("-")
    ok = len(parts) in (1, 2) and all(p.isdigit() and 0 <= int(p) <= 65535 for p in parts)
    if not ok or (len(parts) == 2 and int(parts[0]) > int(parts[1])):
        raise _invalid(
            "SecurityRuleInvalidPortRange",
            f"Security rule has invalid Port range. Value provided: {text}. Value should be an "
            "integer OR integer range with '-' delimiter. Valid range 0-65535.",
        )
    return text


def _check_prefix(value: Any) -> str:
    text = str(value)
    if text == "*" or _TAG.match(text):
        return text
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError as err:
        raise _invalid(
            "SecurityRuleInvalidAddressPrefix",
            f"Security rule has invalid Address prefix. Value provided: {text}",
        ) from err
    return text


def _pair(props: dict[str, Any], single: str, check: Any) -> dict[str, Any]:
    """A singular/plural property pair (e.g. destinationPortRange / destinationPortRanges)."""
    plural = single + "s" if not single.endswith("x") else single + "es"
    one, many = props.get(single), props.get(plural) or []
    if one is not None and many:
        raise _invalid(
            "SecurityRuleParameterContainsMultipleValues",
            f"Security rule parameters {single} and {plural} cannot both be specified.",
        )
    if one is None and not many:
        kind = "Port range" if "Port" in single else "Address prefix"
        code = (
            "SecurityRuleInvalidPortRange"
            if "Port" in single
            else ("SecurityRuleInvalidAddressPrefix")
        )
        raise _invalid(code, f"Security rule has invalid {kind}. Value provided: null")
    out: dict[str, Any] = {plural: [check(v) for v in many]}
    if one is not None:
        out[single] = check(one)
    return out


def normalize_rule(props: dict[str, Any]) -> dict[str, Any]:
    """Check a securityRule's properties as ARM does and return them in ARM's canonical form."""
    priority = props.get("priority")
    if not isinstance(priority, int) or isinstance(priority, bool) or not 100 <= priority <= 4096:
        raise _invalid(
            "SecurityRuleInvalidPriority",
            f"Security rule has invalid Priority. Value provided: {priority} "
            "Allowed values: 100-4096.",
        )
    enums = (("protocol", _PROTOCOLS), ("access", _ACCESS), ("direction", _DIRECTIONS))
    canonical: dict[str, Any] = {}
    for name, allowed in enums:
        value = allowed.get(str(props.get(name, "")).lower())
        if value is None:
            raise _invalid(
                "InvalidRequestFormat",
                f"Cannot parse the request. Value for '{name}' must be one of "
                f"{', '.join(allowed.values())}; got {props.get(name)!r}.",
            )
        canonical[name] = value
    out: dict[str, Any] = {"provisioningState": "Succeeded", **canonical, "priority": priority}
    if props.get("description"):
        out["description"] = str(props["description"])
    out |= _pair(props, "sourcePortRange", _check_port)
    out |= _pair(props, "destinationPortRange", _check_port)
    out |= _pair(props, "sourceAddressPrefix", _check_prefix)
    out |= _pair(props, "destinationAddressPrefix", _check_prefix)
    return out


@functools.cache
def default_rules() -> tuple[dict[str, Any], ...]:
    """Azure's default rules, every NSG's last ones, as {name, properties} (read only)."""
    rules = []
    for name, priority, direction, access, source, destination in _DEFAULT_RULES:
        props = normalize_rule(
            {
                "priority": 100,
                "direction": direction,
                "access": access,
                "protocol": "*",
                "sourcePortRange": "*",
                "destinationPortRange": "*",
                "sourceAddressPrefix": source,
                "destinationAddressPrefix": destination,
            }
        ) | {"priority": priority}
        rules.append({"name": name, "properties": props})
    return tuple(rules)


class Network:
    """NSGs by (resource group, name), both case-insensitive, and their pending operations."""

    def __init__(
        self, subscription: str, nsgs: tuple[SeedNsg, ...], location: str, *, polls: int = 1
    ) -> None:
        self.subscription = subscription
        self.polls = polls
        self.settle_seconds = 2.0
        self.nsgs: dict[tuple[str, str], Nsg] = {}
        self.operations: dict[str, Operation] = {}
        for seed in nsgs:
            nsg = Nsg(seed.name, seed.resource_group, seed.location or location, seed.protects)
            nsg.flush_connection = seed.flushConnection
            for rule in seed.security_rules:
                props = normalize_rule(rule.model_dump())
                nsg.rules[rule.name.lower()] = self._rule_json(nsg, rule.name, props)
            self.nsgs[(seed.resource_group.lower(), seed.name.lower())] = nsg

    def nsg(self, resource_group: str, name: str) -> Nsg:
        self.settle()
        if not any(rg == resource_group.lower() for rg, _ in self.nsgs):
            raise ArmError(
                404,
                "ResourceGroupNotFound",
                f"Resource group '{resource_group}' could not be found.",
            )
        found = self.nsgs.get((resource_group.lower(), name.lower()))
        if found is None:
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.Network/networkSecurityGroups/{name}' under resource "
                f"group '{resource_group}' was not found. For more details please go to "
                "https://aka.ms/ARMResourceNotFoundFix",
            )
        return found

    def rule(self, nsg: Nsg, name: str) -> dict[str, Any]:
        found = nsg.rules.get(name.lower())
        if found is None:
            raise ArmError(
                404,
                "NotFound",
                f"Resource {nsg.resource_id(self.subscription)}/securityRules/{name} not found.",
            )
        return found

    def put_rule(self, nsg: Nsg, name: str, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Create or update a rule; returns (rule JSON, created). Starts an operation."""
        if not _NAME.match(name):
            raise ArmError(
                400,
                "InvalidResourceName",
                f"Resource name {name} is invalid. The name can be up "
                "to 80 characters long. It must begin with a word character, and it must end "
                "with a word character or with '_'. The name may contain word characters or "
                "'.', '-', '_'.",
            )
        props = normalize_rule(body.get("properties") or {})
        existing = nsg.rules.get(name.lower())
        for other in nsg.rules.values():
            theirs = other["properties"]
            clash = (theirs["priority"], theirs["direction"]) == (
                props["priority"],
                props["direction"],
            )
            if other is not existing and clash:
                raise _invalid(
                    "SecurityRuleConflict",
                    f"Security rule {name} conflicts with rule {other['name']}. Rules cannot have "
                    "the same Priority and Direction. To learn more, see aka.ms/nsgrules.",
                )
        if existing is None and len(nsg.rules) >= RULE_LIMIT:
            raise _invalid(
                "SecurityRuleCountLimitReached",
                f"A security group cannot have more than {RULE_LIMIT} security rules.",
            )
        props["provisioningState"] = "Updating"
        rule = self._rule_json(nsg, existing["name"] if existing else name, props)
        nsg.rules[name.lower()] = rule
        return rule, existing is None

    def put_nsg(self, nsg: Nsg, body: dict[str, Any]) -> None:
        """PUT of the whole NSG: as in ARM, its securityRules replace the rule set, and
        `flushConnection` is set. Every rule is checked first; on any error nothing changes."""
        props = body.get("properties") or {}
        rules: dict[str, dict[str, Any]] = {}
        seen: dict[tuple[int, str], str] = {}
        for item in props.get("securityRules") or []:
            name = str(item.get("name") or "")
            if not _NAME.match(name):
                raise ArmError(400, "InvalidResourceName", f"Resource name {name} is invalid.")
            rule_props = normalize_rule(item.get("properties") or {})
            key = (rule_props["priority"], rule_props["direction"])
            if key in seen:
                raise _invalid(
                    "SecurityRuleConflict",
                    f"Security rule {name} conflicts with rule {seen[key]}. Rules cannot have "
                    "the same Priority and Direction. To learn more, see aka.ms/nsgrules.",
                )
            seen[key] = name
            rules[name.lower()] = self._rule_json(nsg, name, rule_props)
        flush = props.get("flushConnection", nsg.flush_connection)
        if not isinstance(flush, bool):
            raise ArmError(400, "InvalidRequestFormat", "flushConnection must be a boolean.")
        nsg.rules = rules
        nsg.flush_connection = flush

    def start(self, kind: OperationKind, nsg: Nsg, rule_name: str) -> Operation:
        op = Operation(str(uuid.uuid4()), kind, nsg, rule_name, self.polls, time.monotonic())
        self.operations[op.id] = op
        return op

    def mark_deleting(self, nsg: Nsg, name: str) -> bool:
        """Begin deleting a rule; False when there is no such rule (ARM then answers 204)."""
        rule = nsg.rules.get(name.lower())
        if rule is None:
            return False
        rule["properties"]["provisioningState"] = "Deleting"
        return True

    def poll(self, operation_id: str) -> Operation:
        op = self.operations.get(operation_id)
        if op is None:
            raise ArmError(404, "NotFound", f"Operation {operation_id} not found.")
        if not op.done and op.polls_left > 0:
            op.polls_left -= 1
        else:
            self._finish(op)
        return op

    def settle(self) -> None:
        now = time.monotonic()
        for op in self.operations.values():
            if not op.done and now - op.started >= self.settle_seconds:
                self._finish(op)

    def _finish(self, op: Operation) -> None:
        if op.done:
            return
        op.done = True
        rule = op.nsg.rules.get(op.rule_name.lower())
        if rule is None:
            return
        if op.kind is OperationKind.DELETE:
            del op.nsg.rules[op.rule_name.lower()]
        else:
            rule["properties"]["provisioningState"] = "Succeeded"

    def _rule_json(self, nsg: Nsg, name: str, props: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": name,
            "id": f"{nsg.resource_id(self.subscription)}/securityRules/{name}",
            "etag": f'W/"{uuid.uuid4()}"',
            "type": "Microsoft.Network/networkSecurityGroups/securityRules",
            "properties": props,
        }

    def nsg_json(self, nsg: Nsg) -> dict[str, Any]:
        defaults = []
        for default in default_rules():
            rule = self._rule_json(nsg, default["name"], copy.deepcopy(default["properties"]))
            rule["id"] = rule["id"].replace("/securityRules/", "/defaultSecurityRules/")
            rule["type"] = "Microsoft.Network/networkSecurityGroups/defaultSecurityRules"
            defaults.append(rule)
        return {
            "name": nsg.name,
            "id": nsg.resource_id(self.subscription),
            "etag": f'W/"{uuid.uuid4()}"',
            "type": "Microsoft.Network/networkSecurityGroups",
            "location": nsg.location,
            "properties": {
                "provisioningState": "Succeeded",
                "resourceGuid": nsg.guid,
                "flushConnection": nsg.flush_connection,
                "securityRules": list(nsg.rules.values()),
                "defaultSecurityRules": defaults,
            },
        }
