"""Planning NSG deny rules: which NSGs apply, the rule's stable name, a free priority. No I/O.

- `block_ports` puts an inbound Deny (source: the attacker, destination: the protected range, the
  given TCP/UDP ports) on every configured NSG whose protected range does not contain the
  attacker: those are the ranges it reaches into. An attacker outside every range is blocked on
  all of them.
- `block_outbound` puts an outbound Deny (source: the device, any destination, any port) on every
  configured NSG whose protected range contains the device.
- The rule name is "riposte-" plus a hash of the response and action ids, so a retry or a second
  run finds its own rule instead of adding another.
- The priority is the lowest number from 100 to 4096 that no rule of the same direction uses:
  the deny then wins over every rule it can.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable
from enum import StrEnum

from riposte.actions.payloads import ActionName
from riposte.actions.validation import IpNetwork
from riposte.model import Frozen
from riposte.settings import NsgBinding, TenantSettings

MIN_PRIORITY, MAX_PRIORITY = 100, 4096
RULE_PREFIX = "riposte-"


class Direction(StrEnum):
    INBOUND = "Inbound"
    OUTBOUND = "Outbound"


class DenyRule(Frozen):
    """The deny rule one action puts on one NSG (priority chosen later, against its rules)."""

    nsg: NsgBinding
    name: str
    direction: Direction
    source: str
    destination: str
    ports: tuple[int, ...] = ()  # empty: every port

    @property
    def port_text(self) -> str:
        return ", ".join(str(port) for port in self.ports) if self.ports else "all ports"

    def describe(self, priority: int) -> str:
        """ "Deny rule riposte-… priority 110 on nsg-servers for 10.8.0.25 → 445, 9401"."""
        reach = self.port_text if self.direction is Direction.INBOUND else "all outbound traffic"
        return (
            f"Deny rule {self.name} priority {priority} on {self.nsg.name} "
            f"for {self.source} → {reach}"
        )


class ExistingRule(Frozen):
    """A security rule already on an NSG, as far as choosing a priority needs it."""

    name: str
    priority: int
    direction: Direction
    allows: bool = False
    sources: tuple[str, ...] = ()  # address prefixes ("*", CIDR, IP or a service tag)
    ports: tuple[str, ...] = ()  # destination port ranges ("*", "445", "1000-2000")

    def precedes(self, rule: DenyRule, priority: int) -> bool:
        """Whether this is an Allow rule evaluated before `rule` for some of its traffic.

        Only what can be decided is reported: a source of "*" or a range holding the rule's
        source, and ports that overlap (service tags such as VirtualNetwork are not judged).
        """
        if not self.allows or self.direction is not rule.direction or self.priority >= priority:
            return False
        if not any(_covers(prefix, rule.source) for prefix in self.sources):
            return False
        if not rule.ports or not self.ports:
            return True
        return any(_overlaps(text, port) for text in self.ports for port in rule.ports)


def rule_name(response_id: str, action_id: str) -> str:
    """The rule's name: stable for one action of one response, distinct across actions."""
    digest = hashlib.sha256(f"{response_id}\x00{action_id}".encode()).hexdigest()
    return RULE_PREFIX + digest[:16]


def plan(
    action: ActionName,
    source: IpNetwork,
    tenant: TenantSettings,
    *,
    name: str,
    ports: tuple[int, ...] = (),
) -> list[DenyRule]:
    """The deny rules `action` adds for `source`; empty when no configured NSG applies."""
    address = _text(source)
    rules: list[DenyRule] = []
    for binding in tenant.nsgs:
        inside = _within(source, binding)
        if action is ActionName.BLOCK_PORTS and not inside:
            rules.append(
                DenyRule(
                    nsg=binding,
                    name=name,
                    direction=Direction.INBOUND,
                    source=address,
                    destination=binding.cidr,
                    ports=ports,
                )
            )
        elif action is ActionName.BLOCK_OUTBOUND and inside:
            rules.append(
                DenyRule(
                    nsg=binding,
                    name=name,
                    direction=Direction.OUTBOUND,
                    source=address,
                    destination="*",
                )
            )
    return rules


def free_priority(taken: Iterable[int], *, after: int = MIN_PRIORITY - 1) -> int | None:
    """The lowest priority above `after` (and in 100-4096) not in `taken`; None when full."""
    used = set(taken)
    for priority in range(max(after + 1, MIN_PRIORITY), MAX_PRIORITY + 1):
        if priority not in used:
            return priority
    return None


def _covers(prefix: str, source: str) -> bool:
    if prefix.strip() in ("*", "0.0.0.0/0", "::/0"):
        return True
    try:
        outer = ipaddress.ip_network(prefix.strip(), strict=False)
        inner = ipaddress.ip_network(source, strict=False)
    except ValueError:
        return False
    return inner.version == outer.version and inner.subnet_of(outer)  # type: ignore[arg-type]


def _overlaps(ports: str, port: int) -> bool:
    text = ports.strip()
    if text in ("*", ""):
        return True
    low, _, high = text.partition("-")
    try:
        return int(low) <= port <= int(high or low)
    except ValueError:
        return True  # unreadable: assume it may overlap


def _within(source: IpNetwork, binding: NsgBinding) -> bool:
    protected = ipaddress.ip_network(binding.cidr)
    if source.version != protected.version:
        return False
    return source.subnet_of(protected)  # type: ignore[arg-type]


def _text(source: IpNetwork) -> str:
    """A single address without its /32 or /128; a range as CIDR."""
    full = 32 if source.version == 4 else 128
    return str(source.network_address) if source.prefixlen == full else str(source)
