"""Messages for a value outside a finite set of choices, with a "did you mean" when one is close."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import TypeVar

E = TypeVar("E", bound=StrEnum)


def closest(value: str, choices: Iterable[str]) -> str | None:
    """The choice most like `value`, if any is close enough to be a likely typo."""
    options = list(choices)
    folded = {option.casefold(): option for option in options}
    if value.casefold() in folded:
        return folded[value.casefold()]
    prefixed = [option for option in options if option.casefold().startswith(value.casefold())]
    if value and len(prefixed) == 1:
        return prefixed[0]
    found = difflib.get_close_matches(value.casefold(), list(folded), n=1, cutoff=0.5)
    return folded[found[0]] if found else None


def unknown_choice(
    kind: str, value: object, choices: Iterable[str], *, hint: str | None = None
) -> str:
    """ "unknown mode 'humanconfirm' (did you mean 'human-confirm'?); valid: passive, ..."."""
    options = list(choices)
    text = f"unknown {kind} {str(value)!r}"
    suggestion = hint or closest(str(value), options)
    if suggestion is not None and suggestion != str(value):
        text += f" (did you mean {suggestion!r}?)"
    return f"{text}; valid: {', '.join(options)}"


def choice(enum: type[E], kind: str) -> Callable[[object], E | object]:
    """A before-validator for a StrEnum field whose error names the choices."""

    def validate(value: object) -> E | object:
        if value is None or isinstance(value, enum):
            return value
        if isinstance(value, str) and value in enum._value2member_map_:
            return enum(value)
        raise ValueError(unknown_choice(kind, value, [member.value for member in enum]))

    return validate
