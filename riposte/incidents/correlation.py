"""Which incident an alert belongs to: its correlation key, strongest evidence first.

1. the vendor's own incident (Darktrace AI Analyst, Defender `incidentId`, Sentinel incident);
2. the attacker's public IP;
3. the attacker's ASN;
4. else the target: the user, else the IP, else the device (a private address such as a VPN
   device's is a target, not attacker infrastructure).
"""

from __future__ import annotations

import functools
import ipaddress
from enum import StrEnum

from riposte.alerts import Alert

# Addresses that belong to no attacker on the Internet: private, shared (CGNAT), loopback,
# link-local, unique-local. Documentation ranges (198.51.100.0/24) stand for public addresses.
_INTERNAL = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "0.0.0.0/8",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
)


class KeyKind(StrEnum):
    VENDOR = "vendor"
    IP = "ip"
    ASN = "asn"
    TARGET = "target"
    ALERT = "alert"  # nothing to correlate on: an incident of one


@functools.lru_cache(maxsize=4096)
def is_public(address: str) -> bool:
    """Whether `address` can be an attacker's address on the Internet."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.is_multicast or ip.is_unspecified:
        return False
    return not any(ip.version == net.version and ip in net for net in _INTERNAL)


def correlation_key(alert: Alert) -> str:
    """The key whose incident this alert joins, as "KIND:VALUE"."""
    entities = alert.entities
    if alert.incident:
        return f"{KeyKind.VENDOR.value}:{alert.source}:{alert.incident}"
    if entities.ip and is_public(entities.ip):
        return f"{KeyKind.IP.value}:{entities.ip}"
    if entities.asn:
        return f"{KeyKind.ASN.value}:{entities.asn.upper()}"
    target = entities.user or entities.ip or entities.device
    if target:
        return f"{KeyKind.TARGET.value}:{target.casefold()}"
    return f"{KeyKind.ALERT.value}:{alert.key}"
