"""Durations as policies write them: "90s", "30m", "4h", "1d", "1w", or combined ("1h30m").

A duration is held as whole seconds and written back in the same compact form, so a policy that
crosses a boundary as JSON reads the same as its YAML.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

from riposte.policy.choices import unknown_choice

UNITS: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_SECONDS = 366 * 86400

_PART = re.compile(r"(\d+)([A-Za-z]*)")


def parse_duration(value: object) -> int:
    """Whole seconds for a duration written with units; ValueError naming the valid units."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(
            f"a duration is a number with a unit, like 4h or 30m, not {value!r}"
            f" (units: {', '.join(UNITS)})"
        )
    text = value.strip()
    position, total = 0, 0
    if not text:
        raise ValueError("a duration cannot be empty (write e.g. 4h)")
    while position < len(text):
        part = _PART.match(text, position)
        if part is None or part.end() == position:
            raise ValueError(f"bad duration {value!r}: write a number and a unit, like 4h or 1h30m")
        number, unit = part.groups()
        if not number:
            raise ValueError(f"bad duration {value!r}: a unit needs a number before it")
        if not unit:
            raise ValueError(
                f"duration {value!r} needs a unit after {number} (units: {', '.join(UNITS)})"
            )
        if unit not in UNITS:
            hint = unit[0] if unit[0] in UNITS else None
            message = unknown_choice("duration unit", unit, UNITS, hint=hint)
            raise ValueError(f"{message} (in {value!r})")
        total += int(number) * UNITS[unit]
        position = part.end()
    if total <= 0:
        raise ValueError(f"duration {value!r} must be longer than zero")
    if total > MAX_SECONDS:
        raise ValueError(f"duration {value!r} is longer than a year")
    return total


def format_duration(seconds: int) -> str:
    """The compact form parse_duration reads back: 5400 -> "1h30m"."""
    parts: list[str] = []
    rest = seconds
    for unit, size in sorted(UNITS.items(), key=lambda item: -item[1]):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


Duration = Annotated[
    int,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]
"""A policy field holding a duration: seconds in Python, "4h" in YAML and JSON."""
