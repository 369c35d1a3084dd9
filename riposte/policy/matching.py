"""Whether an alert meets a policy's `match` block, and if not, why not.

`failures` returns the misses of a match, one per failing key in the order the keys are written;
an empty tuple means it holds. Misses feed the no-match explanation, where the closest policy is
the one with the lightest misses: a wrong source or name weighs more than a missing entity or a
low severity, since it means the policy is about something else entirely.

These compile the match on each call; the engine compiles a snapshot once
(`riposte.policy.compiled`) and tests the same matchers.
"""

from __future__ import annotations

from riposte.alerts import Alert
from riposte.policy.matchers import IDENTITY_KEYS, Facts, Miss, compile_match
from riposte.policy.models import Match

__all__ = ["IDENTITY_KEYS", "Miss", "failures", "holds"]


def failures(match: Match, alert: Alert) -> tuple[Miss, ...]:
    """Why `match` does not hold for `alert` (empty when it does)."""
    return compile_match(match).misses(Facts(alert))


def holds(match: Match, alert: Alert) -> bool:
    return compile_match(match).holds(Facts(alert))
