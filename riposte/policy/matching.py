"""Whether an alert meets a policy's `match` block, and if not, why not.

`failures` returns the misses of a match, one per failing key in the order the keys are written;
an empty tuple means it holds. Misses feed the no-match explanation, where the closest policy is
the one with the lightest misses: a wrong source or name weighs more than a missing entity or a
low severity, since it means the policy is about something else entirely.
"""

from __future__ import annotations

from typing import NamedTuple

from riposte.alerts import Alert
from riposte.policy.models import Match
from riposte.policy.patterns import display_name, glob_matches, regex_matches

IDENTITY_KEYS = frozenset({"source", "name", "name_regex"})


class Miss(NamedTuple):
    """One key of a match that does not hold, and why."""

    key: str
    reason: str

    @property
    def weight(self) -> int:
        return 10 if self.key in IDENTITY_KEYS else 1


def _any_of(values: tuple[str, ...]) -> str:
    return " or ".join(repr(value) for value in values)


def failures(match: Match, alert: Alert) -> tuple[Miss, ...]:
    """Why `match` does not hold for `alert` (empty when it does)."""
    reasons: list[Miss] = []
    name = display_name(alert.name)
    if match.source and alert.source.casefold() not in {s.casefold() for s in match.source}:
        reasons.append(Miss("source", f"source {alert.source!r} is not {_any_of(match.source)}"))
    if match.name and not glob_matches(match.name, name):
        reasons.append(Miss("name", f"name {name!r} matches none of {_any_of(match.name)}"))
    if match.name_regex and not any(regex_matches(rx, name) for rx in match.name_regex):
        reasons.append(Miss("name_regex", f"name {name!r} matches no name_regex"))
    if match.severity and not any(c.holds(alert.severity) for c in match.severity):
        wanted = " or ".join(str(c) for c in match.severity)
        reasons.append(Miss("severity", f"severity {alert.severity.value} is not {wanted}"))
    if match.score and not any(c.holds(alert.score) for c in match.score):
        wanted = " or ".join(str(c) for c in match.score)
        reasons.append(Miss("score", f"score {alert.score:g} is not {wanted}"))
    present = alert.entities.present()
    missing = [entity for entity in match.entities if entity not in present]
    if missing:
        noun = "entity" if len(missing) == 1 else "entities"
        reasons.append(Miss("entities", f"alert lacks {noun} {', '.join(missing)}"))
    if match.any_of:
        alternatives = [failures(sub, alert) for sub in match.any_of]
        if all(alternatives):
            closest = min(alternatives, key=lambda misses: sum(m.weight for m in misses))
            why = "; ".join(m.reason for m in closest)
            reasons.append(Miss("any", f"no 'any' alternative holds (closest: {why})"))
    if match.none_of is not None and not failures(match.none_of, alert):
        reasons.append(Miss("not", "its 'not' block holds"))
    return tuple(reasons)


def holds(match: Match, alert: Alert) -> bool:
    return not failures(match, alert)
