"""Whether a flow would pass, as Azure decides it: the outbound rules of the NSG protecting the
source, then the inbound rules of the NSG protecting the destination, each in priority order,
Azure's default rules last. The first rule that matches decides; an address no NSG protects
adds no check.

Service tags: `VirtualNetwork` is the tenant's VNet address space, `Internet` any address
outside it, `AzureLoadBalancer` 168.63.129.16, `*` anything.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from tenant_emulator.network import Nsg, default_rules
from tenant_emulator.topology import Address, Topology

EPHEMERAL_PORT = 49152
AZURE_PLATFORM = ipaddress.ip_address("168.63.129.16")


class Protocol(StrEnum):
    TCP = "tcp"
    UDP = "udp"
    ICMP = "icmp"


def _in_prefix(topology: Topology, address: Address, prefix: str) -> bool:
    tag = prefix.lower()
    if tag in ("*", "any"):
        return True
    if tag == "virtualnetwork":
        return topology.in_vnet(address)
    if tag == "internet":
        return not topology.in_vnet(address) and address != AZURE_PLATFORM
    if tag == "azureloadbalancer":
        return address == AZURE_PLATFORM
    try:
        return address in ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        return False  # another service tag: not modelled, so it matches nothing


def _in_ports(port: int, ranges: list[str]) -> bool:
    for text in ranges:
        if text == "*":
            return True
        low, _, high = text.partition("-")
        if int(low) <= port <= int(high or low):
            return True
    return False


def _values(props: dict[str, Any], single: str) -> list[str]:
    plural = single + ("es" if single.endswith("x") else "s")
    return [props[single]] if props.get(single) is not None else list(props.get(plural) or [])


def _rules(nsg: Nsg, direction: str) -> Iterator[dict[str, Any]]:
    custom = [r for r in nsg.rules.values() if r["properties"]["direction"] == direction]
    defaults = [r for r in default_rules() if r["properties"]["direction"] == direction]
    yield from sorted(custom, key=lambda r: int(r["properties"]["priority"]))
    yield from defaults


def _matches(
    topology: Topology,
    props: dict[str, Any],
    src: Address,
    dst: Address,
    sport: int,
    port: int,
    proto: Protocol,
) -> bool:
    protocol = str(props["protocol"]).lower()
    return (
        protocol in ("*", proto.value)
        and any(_in_prefix(topology, src, p) for p in _values(props, "sourceAddressPrefix"))
        and any(_in_prefix(topology, dst, p) for p in _values(props, "destinationAddressPrefix"))
        and _in_ports(sport, _values(props, "sourcePortRange"))
        and _in_ports(port, _values(props, "destinationPortRange"))
    )


def stage(
    topology: Topology,
    address: Address,
    direction: str,
    flow: tuple[Address, Address, int, Protocol, int],
) -> dict[str, Any] | None:
    """The rule of the NSG protecting `address` that decides `flow` in `direction`, or None
    when no NSG protects it."""
    nsg = topology.nsg_for(address)
    if nsg is None:
        return None
    src, dst, port, proto, sport = flow
    for rule in _rules(nsg, direction):
        if _matches(topology, rule["properties"], src, dst, sport, port, proto):
            return {
                "decision": str(rule["properties"]["access"]).lower(),
                "nsg": nsg.name,
                "rule": rule["name"],
                "direction": direction,
                "priority": rule["properties"]["priority"],
            }
    raise AssertionError("the default rules match every flow")  # pragma: no cover


def decide(
    topology: Topology,
    src: Address,
    dst: Address,
    port: int,
    proto: Protocol,
    sport: int = EPHEMERAL_PORT,
) -> dict[str, Any]:
    """`{decision: allow|deny, nsg, rule, direction, priority}`; nsg and rule are None when no
    NSG protects either end."""
    topology.network.settle()
    flow = (src, dst, port, proto, sport)
    last: dict[str, Any] = {"decision": "allow", "nsg": None, "rule": None, "direction": None}
    for address, direction in ((src, "Outbound"), (dst, "Inbound")):
        found = stage(topology, address, direction, flow)
        if found is not None:
            last = found
            if found["decision"] == "deny":
                return last
    return last
