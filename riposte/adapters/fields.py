"""Reading vendor JSON: typed accessors that raise InvalidInput with the field's path."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from riposte.alerts import Alert
from riposte.errors import InvalidInput


def mapping(value: object, location: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"expected a JSON object, got {_kind(value)}", location=location)
    return value


def mappings(value: object) -> list[Mapping[str, Any]]:
    """The objects in a JSON array (anything else in it, or a non-array, is skipped)."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def text(body: Mapping[str, Any], key: str, location: str) -> str:
    """A required, non-empty string (numbers are taken as their text)."""
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        problem = "missing" if value is None else f"expected a string, got {_kind(value)}"
        raise InvalidInput(problem, location=location)
    return str(value).strip()


def optional_text(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


_INCIDENT_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,256}$")


def incident_ref(value: object) -> str | None:
    """A vendor incident id fit to correlate on; anything else (odd characters, too long, the
    wrong type) is no incident, never a refused alert."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text if _INCIDENT_ID.match(text) else None


def host_ip(value: object) -> str | None:
    """An IP address, unless it is malformed or unspecified (0.0.0.0 means "none")."""
    if not isinstance(value, str):
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    return None if address.is_unspecified else str(address)


def timestamp(value: object, location: str) -> datetime:
    """Epoch milliseconds, or ISO 8601 text (a missing zone means UTC)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str):
        try:
            parsed = _iso(value.strip())
        except ValueError:
            raise InvalidInput(f"not a timestamp: {value!r}", location=location) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise InvalidInput("missing" if value is None else "not a timestamp", location=location)


def _iso(value: str) -> datetime:
    head, dot, rest = value.partition(".")
    if dot:  # Graph writes 7 fractional digits; Python reads at most 6
        digits = len(rest) - len(rest.lstrip("0123456789"))
        rest = rest[: min(digits, 6)] + rest[digits:]
        value = f"{head}.{rest}"
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def build_alert(fields: dict[str, Any], source_location: str = "") -> Alert:
    """The native alert from adapted fields; InvalidInput naming the field that broke."""
    try:
        return Alert.model_validate(fields)
    except ValidationError as err:
        raise invalid(err, source_location) from None


def invalid(err: ValidationError, prefix: str = "") -> InvalidInput:
    """InvalidInput for a pydantic error: the first error's path, and how many more there are."""
    details = err.errors(include_url=False)
    first = details[0]
    location = dotted(first["loc"], prefix)
    message = first["msg"]
    if len(details) > 1:
        others = "; ".join(f"{dotted(d['loc'], prefix)}: {d['msg']}" for d in details[1:4])
        message += f" (and {len(details) - 1} more: {others})"
    return InvalidInput(message, location=location)


def dotted(loc: tuple[str | int, ...], prefix: str = "") -> str:
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _kind(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number" if isinstance(value, int | float) else "a value")
