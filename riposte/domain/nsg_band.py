"""Riposte's priority band on an NSG: where its deny rules go, and why one would not hold.

An NSG evaluates rules by priority, lowest number first, and stops at the first match. A deny
that Riposte adds only takes effect if no Allow rule matching the same traffic comes before it.
So each NSG has a band of priorities for Riposte's rules (default 100-149, a setting per NSG),
and ordinary rules sit below it (higher numbers):

- the deny takes the lowest free priority in the band;
- an Allow rule that matches the device's traffic and comes before that priority (above the band,
  or in it) means the block would not hold: `AllowBeforeDeny` names it;
- a band with no free priority: `BandFull`.

Both are permanent: retrying cannot fix them; an operator moves the rule or widens the band.
`riposte doctor` reports the Allow rules above each band before go-live (`allows_not_below`).

Whether an Allow rule matches is decided on what can be known: "*" and CIDR prefixes exactly;
the service tag `Internet` as the public addresses; `VirtualNetwork` as the private ones (a
VNet and what is peered or connected to it, such as a VPN range); any other tag is taken not to
cover a customer's device. Destinations and ports that overlap count as a match.

Errors:

    RiposteError
    └── BandViolation        .nsg, .band
        ├── AllowBeforeDeny  .rule, .priority: the Allow rule the deny would not beat
        └── BandFull         no free priority in the band for that direction
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Sequence
from typing import Self

from pydantic import Field, model_validator

from riposte.errors import RiposteError
from riposte.model import Frozen

RULE_PREFIX = "riposte-"
MIN_PRIORITY, MAX_PRIORITY = 100, 4096
_ANY = frozenset({"*", "any", "0.0.0.0/0", "::/0", "internet"})


class PriorityBand(Frozen):
    """The priorities Riposte's rules may take on one NSG, both ends included."""

    low: int = Field(default=100, ge=MIN_PRIORITY, le=MAX_PRIORITY)
    high: int = Field(default=149, ge=MIN_PRIORITY, le=MAX_PRIORITY)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.low > self.high:
            raise ValueError(f"the band's low end {self.low} is above its high end {self.high}")
        return self

    def __str__(self) -> str:
        return f"{self.low}-{self.high}"

    def free(self, taken: Iterable[int]) -> int | None:
        """The lowest priority of the band not in `taken`; None when the band is full."""
        used = set(taken)
        return next((p for p in range(self.low, self.high + 1) if p not in used), None)


class BandViolation(RiposteError):
    def __init__(self, message: str, *, nsg: str, band: PriorityBand) -> None:
        super().__init__(message)
        self.nsg = nsg
        self.band = band


class AllowBeforeDeny(BandViolation):
    """An Allow rule matching the device is evaluated before Riposte's deny would be."""

    def __init__(self, *, nsg: str, band: PriorityBand, rule: str, priority: int) -> None:
        where = "above Riposte's band" if priority < band.low else "inside Riposte's band"
        super().__init__(
            f"allow rule {rule} (priority {priority}) on {nsg} matches this traffic and sits "
            f"{where} {band}: a deny there would not hold; move {rule} below the band",
            nsg=nsg,
            band=band,
        )
        self.rule = rule
        self.priority = priority


class BandFull(BandViolation):
    def __init__(self, *, nsg: str, band: PriorityBand, direction: str) -> None:
        super().__init__(
            f"Riposte's band {band} on {nsg} has no free {direction.lower()} priority: "
            "release a block or widen the band",
            nsg=nsg,
            band=band,
        )


class RuleView(Frozen):
    """An NSG security rule, as far as the band needs it."""

    name: str
    priority: int
    direction: str  # Inbound | Outbound
    allows: bool
    sources: tuple[str, ...] = ("*",)  # address prefixes: "*", CIDR, IP or a service tag
    destinations: tuple[str, ...] = ("*",)
    ports: tuple[str, ...] = ("*",)  # destination port ranges: "*", "445", "1000-2000"


class DenyView(Frozen):
    """The deny Riposte wants: from `source` to `destination` on `ports` (empty: all)."""

    nsg: str
    direction: str
    source: str
    destination: str = "*"
    ports: tuple[int, ...] = ()


def shared_rule_name(resource_group: str, nsg: str, deny: DenyView) -> str:
    """The one name every response blocking the same thing on this NSG uses: from the NSG,
    the direction, the address and the ports. Two such responses share one rule."""
    ports = ",".join(str(port) for port in sorted(set(deny.ports))) or "*"
    key = "\x00".join(
        (resource_group.lower(), nsg.lower(), deny.direction.lower(), deny.source, ports)
    )
    return RULE_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:16]


def choose_priority(rules: Sequence[RuleView], deny: DenyView, band: PriorityBand) -> int:
    """The priority for `deny` in the band, or the violation that makes it not hold."""
    same = [rule for rule in rules if rule.direction.lower() == deny.direction.lower()]
    priority = band.free(rule.priority for rule in same)
    if priority is None:
        raise BandFull(nsg=deny.nsg, band=band, direction=deny.direction)
    before = sorted(
        (rule for rule in same if rule.priority < priority and matches(rule, deny)),
        key=lambda rule: rule.priority,
    )
    if before:
        raise AllowBeforeDeny(
            nsg=deny.nsg, band=band, rule=before[0].name, priority=before[0].priority
        )
    return priority


def still_holds(rules: Sequence[RuleView], deny: DenyView, priority: int) -> RuleView | None:
    """For a deny already in place at `priority`: the first Allow rule now before it, if any."""
    before = [
        rule
        for rule in rules
        if rule.direction.lower() == deny.direction.lower()
        and rule.priority < priority
        and matches(rule, deny)
    ]
    return min(before, key=lambda rule: rule.priority) if before else None


def allows_not_below(rules: Sequence[RuleView], band: PriorityBand) -> list[RuleView]:
    """The Allow rules above the band or inside it: a block of a device they match would not
    hold (or, inside it, might not)."""
    return sorted(
        (rule for rule in rules if rule.allows and rule.priority <= band.high),
        key=lambda rule: (rule.direction, rule.priority),
    )


def matches(rule: RuleView, deny: DenyView) -> bool:
    """Whether an Allow `rule` lets through some of the traffic `deny` is meant to stop."""
    if not rule.allows or rule.direction.lower() != deny.direction.lower():
        return False
    if not any(_covers(prefix, deny.source) for prefix in rule.sources):
        return False
    if not any(_overlaps_range(prefix, deny.destination) for prefix in rule.destinations):
        return False
    if not deny.ports:
        return True
    return any(_overlaps_port(text, port) for text in rule.ports for port in deny.ports)


def _covers(prefix: str, address: str) -> bool:
    """Whether the rule's source prefix covers the deny's source address."""
    text = prefix.strip().lower()
    try:
        inner = ipaddress.ip_network(address, strict=False)
    except ValueError:
        return True  # unreadable: assume it may match
    if text in ("*", "any", "0.0.0.0/0", "::/0"):
        return True
    if text == "internet":
        return inner.network_address.is_global
    if text == "virtualnetwork":
        return inner.network_address.is_private
    try:
        outer = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False  # another service tag: Azure's own services, not a customer's device
    return inner.version == outer.version and inner.subnet_of(outer)  # type: ignore[arg-type]


def _overlaps_range(prefix: str, destination: str) -> bool:
    text = prefix.strip().lower()
    if text in _ANY or destination.strip() in ("*", ""):
        return True
    try:
        outer = ipaddress.ip_network(text, strict=False)
        inner = ipaddress.ip_network(destination, strict=False)
    except ValueError:
        return True  # a service tag as destination: it may overlap
    return outer.version == inner.version and outer.overlaps(inner)


def _overlaps_port(ports: str, port: int) -> bool:
    text = ports.strip()
    if text in ("*", ""):
        return True
    low, _, high = text.partition("-")
    try:
        return int(low) <= port <= int(high or low)
    except ValueError:
        return True  # unreadable: assume it may overlap
