"""Bounds on attacker-sized input: nesting depth before adapting, field lengths after.

Both checks are linear in the input and raise `InvalidInput` naming the field, so the API
answers 422 and the CLI prints where the alert broke. The caps themselves are settings
(`AlertCaps`); nothing here performs I/O.
"""

from __future__ import annotations

import json
import re

from riposte.adapters import parse_alert
from riposte.alerts import Alert, AlertCaps
from riposte.errors import InvalidInput

ID_CHARSET = re.compile(r"[A-Za-z0-9_.:@-]+")
"""What an alert id or source may hold at intake: nothing a URL, a path or a terminal reads as
syntax. DESIGN.md names `[A-Za-z0-9._:@-]`; `_` is added because Microsoft's own alert ids
carry it (`da637578995287051192_756343937`), and it is as inert in a URL as `-`. Checked at
intake rather than in the model, so responses and audit history from before still load."""


class TooDeep(InvalidInput):
    """JSON nested deeper than the cap: refused before any adapter walks it."""


def check_depth(value: object, limit: int, location: str = "") -> None:
    """Refuse a decoded JSON value nested deeper than `limit` (iteratively: no recursion)."""
    stack: list[tuple[object, int, str]] = [(value, 0, location)]
    while stack:
        node, depth, where = stack.pop()
        if isinstance(node, dict):
            children = [
                (child, f"{where}.{key}" if where else str(key)) for key, child in node.items()
            ]
        elif isinstance(node, list):
            children = [(child, f"{where}[{i}]") for i, child in enumerate(node)]
        else:
            continue
        if depth >= limit:
            raise TooDeep(f"nested deeper than {limit} levels", location=_head(where))
        stack.extend((child, depth + 1, path) for child, path in children)


def _head(where: str) -> str:
    """The field a depth error names: its first two steps (the rest is the same nesting)."""
    return where if len(where) <= 64 else where[:64] + "..."


def check_caps(alert: Alert, caps: AlertCaps) -> None:
    """Refuse an alert whose fields run past their caps, naming the first such field."""
    entities = alert.entities
    singles: tuple[tuple[str, str | None, int], ...] = (
        ("id", alert.id, caps.id),
        ("source", alert.source, caps.source),
        ("name", alert.name, caps.name),
        ("entities.user", entities.user, caps.user),
        ("entities.ip", entities.ip, caps.ip),
        ("entities.asn", entities.asn, caps.asn),
        ("entities.device", entities.device, caps.device),
    )
    for location, value, cap in singles:
        if value is not None and len(value) > cap:
            raise InvalidInput(f"longer than {cap} characters", location=location)
    for location, value in (("id", alert.id), ("source", alert.source)):
        if ID_CHARSET.fullmatch(value) is None:
            raise InvalidInput("may hold only letters, digits and . _ : @ -", location=location)
    lists = (
        ("entities.messages", entities.messages, caps.messages, caps.message),
        ("entities.inbox_rules", entities.inbox_rules, caps.inbox_rules, caps.inbox_rule),
    )
    for location, items, count, cap in lists:
        if len(items) > count:
            raise InvalidInput(f"more than {count} items", location=location)
        for index, item in enumerate(items):
            if len(item) > cap:
                raise InvalidInput(f"longer than {cap} characters", location=f"{location}[{index}]")
    if alert.raw and len(json.dumps(alert.raw, separators=(",", ":"))) > caps.raw:
        raise InvalidInput(f"longer than {caps.raw} characters as JSON", location="raw")


def parse_bounded(body: object, fmt: str, caps: AlertCaps) -> Alert:
    """`parse_alert` with the caps applied: depth before adapting, lengths after."""
    check_depth(body, caps.depth)
    alert = parse_alert(body, fmt)
    check_caps(alert, caps)
    return alert
