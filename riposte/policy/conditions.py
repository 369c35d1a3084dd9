"""The conditions a policy's `match` block is made of: comparisons and entity names.

A comparison is written as a string with an operator and a value: ">= high", "< 0.5", "== low".
A bare value means "==". It is held parsed and written back as the same string.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

from riposte.alerts import Entities, Severity
from riposte.model import Frozen
from riposte.policy.choices import closest, unknown_choice


class Op(StrEnum):
    GE = ">="
    GT = ">"
    LE = "<="
    LT = "<"
    EQ = "=="

    def holds(self, left: float, right: float) -> bool:
        return _OPERATORS[self](left, right)


_OPERATORS: dict[Op, Callable[[float, float], bool]] = {
    Op.GE: operator.ge,
    Op.GT: operator.gt,
    Op.LE: operator.le,
    Op.LT: operator.lt,
    Op.EQ: operator.eq,
}

_COMPARISON = re.compile(r"^\s*(?P<op>[^\w\s.]*)\s*(?P<value>.*?)\s*$")

ENTITY_NAMES: tuple[str, ...] = tuple(Entities.model_fields)
SEVERITY_NAMES: tuple[str, ...] = tuple(s.value for s in Severity)


def _split(text: object, what: str) -> tuple[Op, str]:
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ValueError(f"a {what} condition is a string like '>= high', not {text!r}")
    parts = _COMPARISON.match(str(text))
    assert parts is not None  # the pattern matches any string
    symbol, value = parts.group("op"), parts.group("value")
    if not value:
        raise ValueError(f"bad comparison {text!r}: no {what} after the operator")
    if not symbol:
        return Op.EQ, value
    if symbol not in {op.value for op in Op}:
        swapped = [op.value for op in Op if sorted(op.value) == sorted(symbol)]
        hint = swapped[0] if swapped else closest(symbol, [op.value for op in Op])
        suggestion = f" (did you mean {hint!r}?)" if hint else ""
        raise ValueError(
            f"bad comparison {text!r}: unknown operator {symbol!r}{suggestion};"
            f" valid: {', '.join(op.value for op in Op)}"
        )
    return Op(symbol), value


class SeverityCondition(Frozen):
    op: Op
    value: Severity

    def holds(self, severity: Severity) -> bool:
        return self.op.holds(severity.rank, self.value.rank)

    def __str__(self) -> str:
        return f"{self.op.value} {self.value.value}"


class ScoreCondition(Frozen):
    op: Op
    value: float

    def holds(self, score: float) -> bool:
        return self.op.holds(score, self.value)

    def __str__(self) -> str:
        return f"{self.op.value} {self.value:g}"


class CountCondition(Frozen):
    """A count of an incident's distinct accounts, devices or alerts: ">= 2"."""

    op: Op
    value: int

    def holds(self, count: int) -> bool:
        return self.op.holds(count, self.value)

    def __str__(self) -> str:
        return f"{self.op.value} {self.value}"


def parse_count_condition(text: object) -> CountCondition | Any:
    if isinstance(text, CountCondition):
        return text
    op, value = _split(text, "count")
    if not value.isdigit():
        raise ValueError(f"bad comparison {text!r}: {value!r} is not a whole number")
    return CountCondition(op=op, value=int(value))


def parse_severity_condition(text: object) -> SeverityCondition | Any:
    if isinstance(text, SeverityCondition):
        return text
    op, value = _split(text, "severity")
    if value.casefold() not in SEVERITY_NAMES:
        where = f" (in {text!r})" if value != text else ""
        raise ValueError(unknown_choice("severity", value, SEVERITY_NAMES) + where)
    return SeverityCondition(op=op, value=Severity(value.casefold()))


def parse_score_condition(text: object) -> ScoreCondition | Any:
    if isinstance(text, ScoreCondition):
        return text
    op, value = _split(text, "score")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"bad comparison {text!r}: {value!r} is not a number") from None
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"bad comparison {text!r}: a score runs from 0 to 1")
    return ScoreCondition(op=op, value=number)


def parse_entity_name(value: object) -> str:
    if not isinstance(value, str) or value not in ENTITY_NAMES:
        raise ValueError(unknown_choice("entity", value, ENTITY_NAMES))
    return value


SeverityComparison = Annotated[
    SeverityCondition,
    BeforeValidator(parse_severity_condition),
    PlainSerializer(str, return_type=str),
]
ScoreComparison = Annotated[
    ScoreCondition,
    BeforeValidator(parse_score_condition),
    PlainSerializer(str, return_type=str),
]
CountComparison = Annotated[
    CountCondition,
    BeforeValidator(parse_count_condition),
    PlainSerializer(str, return_type=str),
]
EntityName = Annotated[str, BeforeValidator(parse_entity_name)]
