"""A policy's `match` block compiled once into matchers: the hot path tests, it never parses.

    compile_match(Match) -> Matcher
        Matcher.holds(facts) -> bool           short-circuits; no allocation
        Matcher.misses(facts) -> (Miss, ...)   why not, one per failing key, in field order

An alert is read once into `Facts` (display name, severity rank, casefolded source, the entities
it carries); every matcher of every policy tests those facts. Each key of a match compiles to a
`Condition`: a test and the explanation of its miss. To teach the language a new key, add a
compiler to `CONDITION_COMPILERS` (it returns None when the key is not set); a key that reads
something `Facts.memo_key` does not cover must add it there.

Nothing here performs I/O: workflow code evaluates through it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import NamedTuple

from riposte.alerts import Alert, Severity
from riposte.policy.models import Match
from riposte.policy.patterns import compiled_globs, compiled_regex, display_name

IDENTITY_KEYS = frozenset({"source", "name", "name_regex"})
MEMO_LIMIT = 4096  # distinct alert names remembered per name matcher
RANK: dict[Severity, int] = {severity: rank for rank, severity in enumerate(Severity)}


class Miss(NamedTuple):
    """One key of a match that does not hold, and why."""

    key: str
    reason: str

    @property
    def weight(self) -> int:
        return 10 if self.key in IDENTITY_KEYS else 1


class Facts:
    """What matchers read of one alert, computed once per alert."""

    __slots__ = ("alert", "name", "present", "rank", "score", "source")

    def __init__(self, alert: Alert) -> None:
        self.alert = alert
        self.source = alert.source.casefold()
        self.name = _display(alert.name)
        self.rank = RANK[alert.severity]
        self.score = alert.score
        self.present = frozenset(key for key, value in alert.entities.__dict__.items() if value)

    def memo_key(self) -> tuple[str, str, int, float, frozenset[str]]:
        """Everything conditions read: alerts with the same key match and miss alike. A
        condition that reads more of the alert must add it here (no-match reasons are
        remembered by this key)."""
        return (self.alert.source, self.name, self.rank, self.score, self.present)


_display = functools.lru_cache(maxsize=8192)(display_name)


class Condition(NamedTuple):
    """One compiled key of a match: whether it holds, and why not."""

    key: str
    test: Callable[[Facts], bool]
    explain: Callable[[Facts], str]


class Matcher:
    """A compiled match block: every condition must hold."""

    __slots__ = ("conditions", "tests")

    def __init__(self, conditions: Sequence[Condition]) -> None:
        self.conditions = tuple(conditions)
        self.tests = tuple(condition.test for condition in self.conditions)

    def holds(self, facts: Facts) -> bool:
        # A plain loop: all() over a generator costs a frame per call on the hot path.
        for test in self.tests:  # noqa: SIM110
            if not test(facts):
                return False
        return True

    def misses(self, facts: Facts) -> tuple[Miss, ...]:
        return tuple(Miss(c.key, c.explain(facts)) for c in self.conditions if not c.test(facts))


def _any_of(values: Sequence[str]) -> str:
    return " or ".join(repr(value) for value in values)


def _source(match: Match) -> Condition | None:
    if not match.source:
        return None
    wanted = frozenset(source.casefold() for source in match.source)
    text = _any_of(match.source)
    return Condition(
        "source",
        lambda f: f.source in wanted,
        lambda f: f"source {f.alert.source!r} is not {text}",
    )


def _memoized(test: Callable[[str], bool]) -> Callable[[Facts], bool]:
    """A test of the alert's name, remembered per name (alert names repeat)."""
    memo: dict[str, bool] = {}

    def on_name(facts: Facts) -> bool:
        found = memo.get(facts.name)
        if found is None:
            found = test(facts.name)
            if len(memo) < MEMO_LIMIT:
                memo[facts.name] = found
        return found

    return on_name


def _name(match: Match) -> Condition | None:
    if not match.name:
        return None
    regex = compiled_globs(match.name)
    text = _any_of(match.name)
    return Condition(
        "name",
        _memoized(lambda name: regex.fullmatch(name) is not None),
        lambda f: f"name {f.name!r} matches none of {text}",
    )


def _name_regex(match: Match) -> Condition | None:
    if not match.name_regex:
        return None
    regexes = tuple(compiled_regex(pattern) for pattern in match.name_regex)
    return Condition(
        "name_regex",
        _memoized(lambda name: any(rx.search(name) is not None for rx in regexes)),
        lambda f: f"name {f.name!r} matches no name_regex",
    )


def _severity(match: Match) -> Condition | None:
    if not match.severity:
        return None
    ranks = frozenset(RANK[s] for s in Severity if any(c.holds(s) for c in match.severity))
    wanted = " or ".join(str(c) for c in match.severity)
    return Condition(
        "severity",
        lambda f: f.rank in ranks,
        lambda f: f"severity {f.alert.severity.value} is not {wanted}",
    )


def _score(match: Match) -> Condition | None:
    if not match.score:
        return None
    comparisons = tuple((c.op.holds, c.value) for c in match.score)
    wanted = " or ".join(str(c) for c in match.score)
    return Condition(
        "score",
        lambda f: any(holds(f.score, value) for holds, value in comparisons),
        lambda f: f"score {f.score:g} is not {wanted}",
    )


def _entities(match: Match) -> Condition | None:
    if not match.entities:
        return None
    required = frozenset(match.entities)
    order = match.entities

    def explain(facts: Facts) -> str:
        missing = [entity for entity in order if entity not in facts.present]
        noun = "entity" if len(missing) == 1 else "entities"
        return f"alert lacks {noun} {', '.join(missing)}"

    return Condition("entities", lambda f: required <= f.present, explain)


def _any(match: Match) -> Condition | None:
    if not match.any_of:
        return None
    alternatives = tuple(compile_match(sub) for sub in match.any_of)

    def explain(facts: Facts) -> str:
        closest = min(
            (alt.misses(facts) for alt in alternatives),
            key=lambda misses: sum(m.weight for m in misses),
        )
        why = "; ".join(m.reason for m in closest)
        return f"no 'any' alternative holds (closest: {why})"

    return Condition("any", lambda f: any(alt.holds(f) for alt in alternatives), explain)


def _not(match: Match) -> Condition | None:
    if match.none_of is None:
        return None
    inner = compile_match(match.none_of)
    return Condition("not", lambda f: not inner.holds(f), lambda f: "its 'not' block holds")


CONDITION_COMPILERS: list[Callable[[Match], Condition | None]] = [
    _source,
    _name,
    _name_regex,
    _severity,
    _score,
    _entities,
    _any,
    _not,
]
"""One compiler per key of `Match`, in the order misses are reported."""


def compile_match(match: Match) -> Matcher:
    """The matcher for one match block (compiled once, then tested per alert)."""
    found = (compiler(match) for compiler in CONDITION_COMPILERS)
    return Matcher([condition for condition in found if condition is not None])
