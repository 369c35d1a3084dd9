"""Addresses, normalised once before any check: planning, exclusions, protected ranges, activities.

An alert's IP is attacker-influenced text. Before it is compared with an exclusion or written
into an NSG rule it becomes one canonical address, or it is refused with a typed reason:

- an IPv4-mapped IPv6 address is its IPv4 address (`::ffff:10.0.0.5` is 10.0.0.5, so it meets
  an exclusion of 10.0.0.0/24);
- a zone id (`fe80::1%eth0`) is refused: it names an interface of the sender's host, and NSGs
  would store it verbatim;
- the unspecified, loopback and multicast addresses are not a single host's address;
- the network and broadcast addresses of a range it sits in (the NSG ranges and protected ranges
  the caller passes), and the limited broadcast 255.255.255.255, are refused;
- Azure's platform addresses, 168.63.129.16 (DNS, health probes, DHCP) and 169.254.169.254
  (instance metadata), are refused: a deny on them breaks every VM behind the NSG.

Errors:

    InvalidInput (riposte.errors)
    └── AddressRefused     .reason: AddressRefusal, .text: what was given
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from enum import StrEnum

from riposte.errors import InvalidInput

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

PLATFORM_ADDRESSES: dict[Address, str] = {
    ipaddress.IPv4Address("168.63.129.16"): "Azure's platform address (DNS, health probes)",
    ipaddress.IPv4Address("169.254.169.254"): "Azure's instance metadata address",
}
LIMITED_BROADCAST = ipaddress.IPv4Address("255.255.255.255")
_MAPPED_PREFIX = 96  # ::ffff:0:0/96 holds the IPv4-mapped addresses
_MAX_TEXT = 100


class AddressRefusal(StrEnum):
    """Why an address cannot be acted on."""

    EMPTY = "empty"
    MALFORMED = "malformed"
    ZONE_ID = "zone_id"
    NOT_A_HOST = "not_a_host"  # unspecified, loopback, multicast
    NETWORK_ADDRESS = "network_address"
    BROADCAST = "broadcast"
    PLATFORM = "platform"


class AddressRefused(InvalidInput):
    """An address that is refused before any check or call; `reason` says which rule refused it."""

    def __init__(self, text: str, reason: AddressRefusal, why: str) -> None:
        super().__init__(f"{text[:_MAX_TEXT]!r} is refused: {why}")
        self.text = text
        self.reason = reason
        self.why = why


def normalise_address(text: str, *, ranges: Iterable[IpNetwork] = ()) -> Address:
    """The one canonical host address `text` names, or AddressRefused.

    `ranges` are the ranges whose network and broadcast addresses are refused (the configured
    NSG ranges and protected ranges). A bare `/32` or `/128` suffix is accepted.
    """
    value = text.strip()
    if not value:
        raise AddressRefused(text, AddressRefusal.EMPTY, "no address given")
    if "%" in value:
        raise AddressRefused(
            text, AddressRefusal.ZONE_ID, "a zone id names the sender's own interface"
        )
    host, slash, prefix = value.partition("/")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise AddressRefused(text, AddressRefusal.MALFORMED, "not an IP address") from None
    if slash and prefix != str(address.max_prefixlen):
        raise AddressRefused(text, AddressRefusal.MALFORMED, "a range, not a single host's address")
    address = unmapped(address)
    _refuse_special(text, address, tuple(ranges))
    return address


def normalise_range(text: str) -> IpNetwork:
    """A CIDR range (a bare address is its /32 or /128), IPv4-mapped ranges as IPv4, no zone id."""
    value = text.strip()
    if not value:
        raise AddressRefused(text, AddressRefusal.EMPTY, "no range given")
    if "%" in value:
        raise AddressRefused(
            text, AddressRefusal.ZONE_ID, "a zone id names the sender's own interface"
        )
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise AddressRefused(text, AddressRefusal.MALFORMED, "not an IP address or range") from None
    return unmapped_network(network)


def unmapped(address: Address) -> Address:
    """An IPv4-mapped IPv6 address as its IPv4 address; any other address as it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def unmapped_network(network: IpNetwork) -> IpNetwork:
    """An IPv4-mapped IPv6 range (inside ::ffff:0:0/96) as the IPv4 range it maps."""
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= _MAPPED_PREFIX:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            return ipaddress.IPv4Network((mapped, network.prefixlen - _MAPPED_PREFIX))
    return network


def contains(network: IpNetwork, address: Address) -> bool:
    """Whether `address` lies in `network`, with IPv4-mapped ranges and addresses unmapped."""
    outer, inner = unmapped_network(network), unmapped(address)
    return outer.version == inner.version and inner in outer


def host_text(address: Address) -> str:
    """The address as NSG rules and audit records spell it (compressed, no prefix)."""
    return str(address)


def _refuse_special(text: str, address: Address, ranges: tuple[IpNetwork, ...]) -> None:
    if address.is_unspecified or address.is_loopback or address.is_multicast:
        raise AddressRefused(
            text, AddressRefusal.NOT_A_HOST, f"{address} is not a single host's address"
        )
    platform = PLATFORM_ADDRESSES.get(address)
    if platform is not None:
        raise AddressRefused(text, AddressRefusal.PLATFORM, f"{address} is {platform}")
    if address == LIMITED_BROADCAST:
        raise AddressRefused(text, AddressRefusal.BROADCAST, "the limited broadcast address")
    for network in map(unmapped_network, ranges):
        if network.version != address.version or address not in network:
            continue
        if network.num_addresses <= 2:  # /31 and /32 (and their IPv6 peers) have no such rule
            continue
        if address == network.network_address:
            raise AddressRefused(
                text, AddressRefusal.NETWORK_ADDRESS, f"the network address of {network}"
            )
        if network.version == 4 and address == network.broadcast_address:
            raise AddressRefused(
                text, AddressRefusal.BROADCAST, f"the broadcast address of {network}"
            )
