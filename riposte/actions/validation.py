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
