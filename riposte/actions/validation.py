"""Input checks that run before any call to the tenant; each refusal is a non-retryable BadRequest.

An action that fails here has made no request at all, so a typo in a policy or on the command
line can never half-apply.
"""

from __future__ import annotations

import ipaddress
import re

from riposte.actions.payloads import ActionName, ActionParams
from riposte.failures import refuse

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_USER_FORBIDDEN = re.compile(r"[\s/\\?#%]")
_MIN_PORT, _MAX_PORT = 1, 65535


def user(target: str) -> str:
    """A UPN or object id that is safe to put in a Graph path."""
    value = target.strip()
    if not value:
        raise refuse("the target user is empty; give a UPN such as ben@contoso.com")
    if _USER_FORBIDDEN.search(value):
        raise refuse(f"the target user {value!r} is not a UPN or object id")
    return value


def address(target: str) -> IpNetwork:
    """An IP address or CIDR range (a bare address becomes a /32 or /128)."""
    value = target.strip()
    if not value:
        raise refuse("the target IP is empty; give an address such as 10.8.0.25")
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise refuse(f"the target {value!r} is not an IP address or CIDR range") from None


def ports(params: ActionParams) -> tuple[int, ...]:
    """The ports to block: at least one, each in 1-65535, sorted and without repeats."""
    if not params.ports:
        raise refuse("block_ports needs at least one port")
    bad = [port for port in params.ports if not _MIN_PORT <= port <= _MAX_PORT]
    if bad:
        listed = ", ".join(str(port) for port in bad)
        raise refuse(f"port out of range 1-65535: {listed}")
    return tuple(sorted(set(params.ports)))


def message_selection(params: ActionParams) -> tuple[str, ...]:
    """The internetMessageIds to look for; quarantine_mail needs them or a time window."""
    ids = tuple(dict.fromkeys(mid.strip() for mid in params.message_ids))
    if any(not mid for mid in ids):
        raise refuse("a message id is empty")
    if not ids and params.sent_within_seconds is None:
        raise refuse("quarantine_mail needs message ids or sent_within_seconds")
    return ids


def action(expected: ActionName, given: ActionName) -> None:
    """An input meant for another action is refused rather than misread."""
    if given is not expected:
        raise refuse(f"input for {given.value} sent to the {expected.value} activity")


# Ranges that hold no attacker on the Internet, so a sign-in block of them could only lock out
# the tenant's own users: private, shared (CGNAT), loopback, link-local, unique-local, multicast,
# reserved, "this network" and the IETF's special-purpose blocks. Documentation ranges
# (198.51.100.0/24, 2001:db8::/32) stand for public addresses in examples, so they are allowed.
NOT_ATTACKER_RANGES = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/127",
        "::ffff:0:0/96",
        "64:ff9b:1::/48",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)
WIDEST_PREFIX = {4: 16, 6: 48}


def sign_in_range(target: str, prefix: int | None, prefix_v6: int | None) -> IpNetwork:
    """The public range around an attacker's address that `block_sign_in_from` blocks.

    An IPv4-mapped IPv6 address is its IPv4 address. Refused, with the reason: anything that is
    not one address, a range wider than /16 (IPv4) or /48 (IPv6), and any range that overlaps a
    private or reserved one.
    """
    value = target.strip()
    if "%" in value:
        raise refuse(f"{value!r} carries a zone id; a sign-in block takes a public address")
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise refuse(f"the target {value!r} is not an IP address") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    length = (prefix if prefix is not None else 32) if address.version == 4 else prefix_v6
    length = address.max_prefixlen if length is None else length
    if not WIDEST_PREFIX[address.version] <= length <= address.max_prefixlen:
        widest = WIDEST_PREFIX[address.version]
        raise refuse(
            f"/{length} around {address} is wider than /{widest}: a sign-in block that wide "
            "would lock out more than the attacker"
        )
    network = ipaddress.ip_network(f"{address}/{length}", strict=False)
    for reserved in NOT_ATTACKER_RANGES:
        if network.version == reserved.version and network.overlaps(reserved):
            raise refuse(
                f"{network} overlaps {reserved}, a private or reserved range: no attacker signs "
                "in from there, and blocking it could lock out the tenant's own users"
            )
    return network
