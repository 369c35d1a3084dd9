"""Matching semantics: globs, any-of lists, comparisons, entities, any/not, RE2, name spellings."""

from __future__ import annotations

from typing import Any

import pytest

from riposte.alerts import Alert
from riposte.policy.matching import failures as misses
from riposte.policy.matching import holds
from riposte.policy.models import Match
from riposte.policy.patterns import display_name, glob_to_regex


def alert(**fields: Any) -> Alert:
    base: dict[str, Any] = {
        "id": "dt-1",
        "source": "darktrace",
        "name": "SaaS / Compromise / Unusual Login and New Email Rule",
        "severity": "high",
        "score": 0.93,
        "time": "2021-06-09T09:12:00Z",
        "entities": {"user": "ben@contoso.com"},
    }
    return Alert.model_validate(base | fields)


def failures(m: Match, a: Alert) -> tuple[str, ...]:
    return tuple(miss.reason for miss in misses(m, a))


def match(**fields: Any) -> Match:
    return Match.model_validate(fields)


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("SaaS / Compromise / *", "SaaS / Compromise / Unusual Login", True),
        ("SaaS / Compromise / *", "SaaS::Compromise::Unusual Login", True),
        ("SaaS::Compromise::*", "SaaS / Compromise / Unusual Login", True),
        ("SaaS / Compromise / *", "SaaS / Access / Unusual Login", False),
        ("Device / Network Scan", "Device / Network Scan and Recon", False),
        ("Device / SMB Session Brute Force*", "Device::SMB Session Brute Force (Non-Admin)", True),
        ("device / network scan", "Device / Network Scan", True),
        ("Device / ??? Scan", "Device / SMB Scan", True),
        ("Device / [!S]* Scan", "Device / SMB Scan", False),
        ("Unusual Login Location + Sender Surge", "Unusual Login Location + Sender Surge", True),
    ],
)
def test_name_globs(pattern: str, name: str, expected: bool) -> None:
    """Globs match the whole name, ignoring case and the "::" vs " / " spelling."""
    assert holds(match(name=pattern), alert(name=name)) is expected


def test_both_darktrace_spellings_read_the_same() -> None:
    """The API's "::" and the UI's " / " normalize to one display form."""
    assert display_name("SaaS::Access::Suspicious Login Attempt") == (
        "SaaS / Access / Suspicious Login Attempt"
    )
    assert display_name(" SaaS  /Access/ Suspicious  Login ") == "SaaS / Access / Suspicious Login"


def test_glob_metacharacters_of_regexes_are_literal() -> None:
    """Regex syntax inside a glob is matched literally, never interpreted."""
    assert glob_to_regex("a.b+(c)") == r"a\.b\+\(c\)"
    assert not holds(match(name="Device / Scan.*"), alert(name="Device / Scan Activity"))


def test_a_list_means_any_of() -> None:
    """Any one glob or source in a list is enough."""
    m = match(source=["defender", "darktrace"], name=["Device / *", "SaaS / Compromise / *"])
    assert holds(m, alert())
    assert not holds(m, alert(source="sentinel"))


def test_every_key_must_hold() -> None:
    """One failing key fails the match, and the reason names it."""
    m = match(source="darktrace", severity=">= critical")
    assert failures(m, alert()) == ("severity high is not >= critical",)


@pytest.mark.parametrize(
    ("condition", "severity", "expected"),
    [
        (">= high", "high", True),
        (">= high", "critical", True),
        (">= high", "medium", False),
        ("> high", "high", False),
        ("< medium", "low", True),
        ("<= low", "informational", True),
        ("== medium", "medium", True),
        ("medium", "high", False),
    ],
)
def test_severity_comparisons_follow_the_order(
    condition: str, severity: str, expected: bool
) -> None:
    """Severity compares by rank: informational < low < medium < high < critical."""
    assert holds(match(severity=condition), alert(severity=severity)) is expected


@pytest.mark.parametrize(
    ("condition", "score", "expected"),
    [(">= 0.7", 0.7, True), (">= 0.7", 0.69, False), ("< 0.5", 0.2, True), ("0.5", 0.5, True)],
)
def test_score_comparisons(condition: str, score: float, expected: bool) -> None:
    """Scores compare as numbers; a bare value means equality."""
    assert holds(match(score=condition), alert(score=score)) is expected


def test_a_list_of_comparisons_is_any_of() -> None:
    """Either of two severity conditions suffices."""
    m = match(severity=["== low", ">= critical"])
    assert holds(m, alert(severity="low"))
    assert not holds(m, alert(severity="high"))


def test_required_entities_must_all_be_present() -> None:
    """Each listed entity must be present; the reason lists the missing ones."""
    m = match(entities=["user", "ip", "inbox_rules"])
    assert failures(m, alert()) == ("alert lacks entities ip, inbox_rules",)
    full = alert(entities={"user": "ben@contoso.com", "ip": "198.51.100.7", "inbox_rules": ["."]})
    assert holds(m, full)


def test_a_blank_entity_counts_as_absent() -> None:
    """An empty string for the user is no user at all."""
    assert failures(match(entities="user"), alert(entities={"user": "  "})) == (
        "alert lacks entity user",
    )


def test_any_block_needs_one_alternative() -> None:
    """`any:` holds when at least one of its sub-matches holds."""
    m = match(source="darktrace", any=[{"severity": "critical"}, {"score": ">= 0.9"}])
    assert holds(m, alert(severity="high", score=0.93))
    reasons = failures(m, alert(severity="high", score=0.5))
    assert len(reasons) == 1 and reasons[0].startswith("no 'any' alternative holds")


def test_not_block_must_not_hold() -> None:
    """`not:` excludes the alerts its sub-match describes."""
    m = match(source="darktrace", **{"not": {"name": "* / Test / *"}})
    assert holds(m, alert())
    assert failures(m, alert(name="SaaS / Test / Canary")) == ("its 'not' block holds",)


def test_name_regex_uses_re2_on_the_display_name() -> None:
    """`name_regex` searches the " / " form of the name with RE2."""
    m = match(name_regex=r"^SaaS / (Compromise|Unusual Activity) / .*Login")
    assert holds(m, alert(name="SaaS::Compromise::Unusual Login and New Email Rule"))
    assert not holds(m, alert(name="SaaS / Access / Unusual Login"))


def test_name_regex_runs_in_linear_time_on_hostile_input() -> None:
    """A pattern that backtracks catastrophically in Python's re stays fast under RE2."""
    m = match(name_regex=r"^(a+)+$")
    hostile = "a" * 400 + "!"
    assert not holds(m, alert(name=hostile))  # Python's re would take longer than the universe


def test_an_empty_match_is_refused() -> None:
    """A match with no conditions would match every alert, so it is refused."""
    with pytest.raises(ValueError, match="at least one condition"):
        match()
