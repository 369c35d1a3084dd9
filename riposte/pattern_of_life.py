"""Learning a device's pattern of life from its flow-log tuples, one blob at a time. Pure.

    learner = PatternLearner(device="10.8.0.25", since_ms=..., until_ms=...)
    for name, content in blobs:               # one hour of one NIC at a time
        learner.add_blob(name, content)       # a malformed blob is skipped and named
    allow = learner.allow_list(min_days=2, cap=40)   # or AllowListTooLarge
    denied = learner.denied_recently(allow)   # last hour's flows the allow-list would deny

Learned: outbound, non-denied tuples from the device within the window, as (destination,
port, protocol) seen on at least `min_days` distinct UTC days. Destinations of one /24 that
share a port and protocol are folded into that /24 when at least `fold_hosts` hosts of it
appear (their days are then counted together). Memory holds one blob's tuples and, per distinct
(destination, port, protocol), a bitmask of the days it was seen; never the window's tuples.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import operator
from collections import Counter, defaultdict
from collections.abc import Sequence
from enum import StrEnum

from riposte.domain.nsg_band import (
    AllowBeforeDeny,
    BandFull,
    DenyView,
    PriorityBand,
    RuleView,
    still_holds,
)
from riposte.flow_logs import FlowState, MalformedFlowLog, parse_blob
from riposte.model import Frozen

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
FOLD_HOSTS = 4


class Protocol(StrEnum):
    TCP = "Tcp"
    UDP = "Udp"
    ICMP = "Icmp"
    OTHER = "*"

    @classmethod
    def of(cls, number: int) -> Protocol:
        return _BY_NUMBER.get(number, cls.OTHER)


_BY_NUMBER = {6: Protocol.TCP, 17: Protocol.UDP, 1: Protocol.ICMP}


class Destination(Frozen):
    """One allow-list entry: an address or a /24, a port, a protocol."""

    prefix: str
    port: int
    protocol: Protocol
    days: int = 0

    def covers(self, address: str, port: int, protocol: Protocol) -> bool:
        if port != self.port or protocol != self.protocol:
            return False
        return ipaddress.ip_address(address) in ipaddress.ip_network(self.prefix)

    @property
    def text(self) -> str:
        return f"{self.prefix} {self.protocol.value.lower()}/{self.port}"


class DeniedFlow(Frozen):
    """A destination of the last hour the allow-list would deny, and how many flows went there."""

    dst: str
    port: int
    protocol: Protocol
    flows: int


class SkippedBlob(Frozen):
    name: str
    reason: str


class PatternOfLifeError(Exception):
    """Why a pattern of life cannot be learned; the message says so in words.

    PatternOfLifeError
    ├── DeviceNotFound           no NIC holds the device's IP
    ├── NoFlowLogConfiguration   no Network Watcher flow log covers its NIC or VNet
    ├── NoFlowLogs               a flow log covers it, but no usable blob is in the window
    └── AllowListTooLarge        more destinations than the cap (setting)
    """


class DeviceNotFound(PatternOfLifeError):
    pass


class NoFlowLogConfiguration(PatternOfLifeError):
    pass


class NoFlowLogs(PatternOfLifeError):
    pass


class AllowListTooLarge(PatternOfLifeError):
    def __init__(self, size: int, cap: int) -> None:
        super().__init__(
            f"the learned allow-list has {size} entries, over the cap of {cap}: the device's "
            "traffic is too varied to enforce as a pattern of life"
        )
        self.size, self.cap = size, cap


_Key = tuple[str, int, Protocol]


class PatternLearner:
    def __init__(self, device: str, since_ms: int, until_ms: int) -> None:
        self.device = str(ipaddress.ip_address(device))
        self.since_ms, self.until_ms = since_ms, until_ms
        self.first_day = since_ms // DAY_MS
        self.days: dict[_Key, int] = {}  # a bit per UTC day since the window's first
        self.recent: Counter[_Key] = Counter()
        self.skipped: list[SkippedBlob] = []
        self.blobs = 0
        self.tuples = 0

    def add_blob(self, name: str, content: bytes) -> None:
        """Learn from one blob; a malformed one is skipped whole and remembered by name."""
        try:
            tuples = parse_blob(content)
        except MalformedFlowLog as err:
            self.skipped.append(SkippedBlob(name=name, reason=str(err)))
            return
        self.blobs += 1
        recent_from = self.until_ms - HOUR_MS
        for flow in tuples:
            if not flow.outbound or flow.state is FlowState.DENIED or flow.src != self.device:
                continue
            if not self.since_ms <= flow.time_ms <= self.until_ms:
                continue
            self.tuples += 1
            key = (flow.dst, flow.dst_port, Protocol.of(flow.protocol))
            self.days[key] = self.days.get(key, 0) | 1 << (flow.time_ms // DAY_MS - self.first_day)
            if flow.time_ms >= recent_from:  # a flow counts once, at its beginning
                self.recent[key] += 1 if flow.state is FlowState.BEGIN else 0

    def allow_list(
        self, min_days: int, cap: int, fold_hosts: int = FOLD_HOSTS
    ) -> tuple[Destination, ...]:
        """The destinations seen on at least `min_days` days, folded by /24; sorted."""
        groups: dict[tuple[str, int, Protocol], list[_Key]] = defaultdict(list)
        for key in self.days:
            address = ipaddress.ip_address(key[0])
            block = str(ipaddress.ip_network(f"{address}/24", strict=False))
            groups[(block if address.version == 4 else key[0], key[1], key[2])].append(key)
        learned: list[Destination] = []
        for (block, port, protocol), keys in groups.items():
            if len(keys) >= fold_hosts:
                folded = [(block, functools.reduce(operator.or_, (self.days[k] for k in keys)))]
            else:
                folded = [(str(ipaddress.ip_network(k[0])), self.days[k]) for k in keys]
            learned += [
                Destination(prefix=prefix, port=port, protocol=protocol, days=days.bit_count())
                for prefix, days in folded
                if days.bit_count() >= min_days
            ]
        learned.sort(key=lambda d: (ipaddress.ip_network(d.prefix), d.protocol, d.port))
        if len(learned) > cap:
            raise AllowListTooLarge(len(learned), cap)
        return tuple(learned)

    def denied_recently(self, allow: tuple[Destination, ...]) -> tuple[DeniedFlow, ...]:
        """The last hour's destinations that no allow-list entry covers, most flows first."""
        denied = [
            DeniedFlow(dst=dst, port=port, protocol=protocol, flows=count)
            for (dst, port, protocol), count in self.recent.items()
            if not any(d.covers(dst, port, protocol) for d in allow)
        ]
        denied.sort(key=lambda d: (-d.flows, ipaddress.ip_address(d.dst), d.port))
        return tuple(denied)


# Enforcing: the rules on the NSG that protects the device.

RULE_PREFIX = "riposte-"


class PatternRule(Frozen):
    """One rule of the enforcement: an Allow per learned destination, then one Deny of the
    device's other outbound traffic (`destination` None)."""

    name: str
    priority: int
    destination: Destination | None

    @property
    def allows(self) -> bool:
        return self.destination is not None

    def describe(self) -> str:
        what = f"Allow {self.destination.text}" if self.destination else "Deny all other outbound"
        return f"{what} ({self.name}, priority {self.priority})"


def rule_name(nsg: str, device: str, destination: Destination | None) -> str:
    """Derived from NSG, device and destination, so a retry or a rerun finds its own rules."""
    what = destination.text if destination else "deny-outbound"
    digest = hashlib.sha256(f"{nsg.lower()}\x00{device}\x00{what}".encode()).hexdigest()
    return f"{RULE_PREFIX}pol-{digest[:16]}"


def rule_names(nsg: str, device: str, allow: tuple[Destination, ...]) -> tuple[str, ...]:
    """The names `plan_rules` gives, in its order: the allows, then the deny."""
    return tuple(rule_name(nsg, device, destination) for destination in (*allow, None))


def plan_rules(
    nsg: str,
    device: str,
    allow: tuple[Destination, ...],
    existing: Sequence[RuleView],
    band: PriorityBand,
) -> tuple[PatternRule, ...]:
    """Priorities in the NSG's band for the allows, in order, then the deny after all of them.
    `existing` are the NSG's rules; a rule of ours already there keeps its priority. As for
    block_outbound (`riposte.domain.nsg_band`), a full band is `BandFull`, and someone else's
    Allow rule that matches the device before the deny is `AllowBeforeDeny`: it would not hold."""
    outbound = [r for r in existing if r.direction.lower() == "outbound"]
    taken = {r.name: r.priority for r in outbound}
    used = set(taken.values())
    free = (p for p in range(band.low, band.high + 1) if p not in used)
    rules: list[PatternRule] = []
    for destination in (*allow, None):
        name = rule_name(nsg, device, destination)
        priority = taken.get(name)
        highest = max((r.priority for r in rules), default=band.low - 1)
        if destination is None and priority is not None and priority < highest:
            priority = None  # an old deny above a new allow would shadow it: move it
        if priority is None:
            priority = next((p for p in free if p > highest), None)
            if priority is None:
                raise BandFull(nsg=nsg, band=band, direction="Outbound")
        rules.append(PatternRule(name=name, priority=priority, destination=destination))
    deny = DenyView(nsg=nsg, direction="Outbound", source=device)
    theirs = [r for r in outbound if not r.name.startswith(RULE_PREFIX)]  # ours are the allows
    before = still_holds(theirs, deny, rules[-1].priority)
    if before is not None:
        raise AllowBeforeDeny(nsg=nsg, band=band, rule=before.name, priority=before.priority)
    return tuple(rules)
