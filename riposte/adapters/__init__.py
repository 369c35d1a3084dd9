"""Alert adapters: vendor alert JSON onto Riposte's native alert.

`parse_alert(body, fmt)` takes a decoded JSON body and a format: one of `SUPPORTED_FORMATS`, or
"auto" to tell the format from the body's shape. Errors:
- `UnknownFormat` (an InvalidInput) for a format name no adapter reads, or a body whose shape
  fits none, naming the supported formats;
- `InvalidInput` for a body that does not hold a valid alert of its format, with the field path.
Adapters are pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from riposte.adapters import darktrace, defender, native, sentinel
from riposte.alerts import Alert
from riposte.errors import InvalidInput, UnknownFormat

AUTO: Final = "auto"
_ADAPTERS: dict[str, tuple[Callable[[object], bool], Callable[[object], Alert]]] = {
    "native": (native.looks_like, native.parse),
    "darktrace": (darktrace.looks_like, darktrace.parse),
    "defender": (defender.looks_like, defender.parse),
    "sentinel": (sentinel.looks_like, sentinel.parse),
}
SUPPORTED_FORMATS: Final[tuple[str, ...]] = tuple(_ADAPTERS)
"""The formats an adapter reads; `parse_alert` also takes "auto"."""


def detect_format(body: object) -> str:
    """The format a body's shape fits; UnknownFormat when it fits none."""
    if not isinstance(body, dict | list):
        raise InvalidInput("an alert is a JSON object")
    for name, (looks_like, _) in _ADAPTERS.items():
        if looks_like(body):
            return name
    if isinstance(body, list):
        raise UnknownFormat("a JSON array is not one alert: send alerts one at a time")
    raise UnknownFormat(
        "cannot tell the alert's format from its shape; name one of: "
        + ", ".join(SUPPORTED_FORMATS)
    )


def parse_alert(body: object, fmt: str = AUTO) -> Alert:
    """The native alert for a decoded JSON body in format `fmt` (or "auto")."""
    if fmt == AUTO:
        fmt = detect_format(body)
    adapter = _ADAPTERS.get(fmt)
    if adapter is None:
        raise UnknownFormat(
            f"unknown alert format {fmt!r}; supported: {', '.join((AUTO, *SUPPORTED_FORMATS))}"
        )
    return adapter[1](body)
