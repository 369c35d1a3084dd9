"""The documented criteria for the attacker's inbox rules, on Graph's own rule JSON (no I/O)."""

from __future__ import annotations

from typing import Any

from riposte.actions.payloads import RuleSelection
from riposte.actions.rule_selection import internal, only_punctuation, select

DOMAINS = ("contoso.com",)
FOLDERS = {
    "F-RSS": "RSS Feeds",
    "F-ARCH": "Archive",
    "F-CH": "Conversation History",
    "F-INV": "Invoices",
}


def rule(name: str, **actions: Any) -> dict[str, Any]:
    return {"id": f"id-{name}", "displayName": name, "conditions": {}, "actions": actions}


def to(address: str) -> list[dict[str, Any]]:
    return [{"emailAddress": {"name": "x", "address": address}}]


def names(rules: list[dict[str, Any]], *named: str) -> list[str]:
    chosen = select(
        rules, RuleSelection.SUSPICIOUS, named=named, domains=DOMAINS, folder_names=FOLDERS
    )
    return [choice.name for choice in chosen]


def test_forwarding_outside_the_tenant_is_suspicious_inside_is_not() -> None:
    """Forwarding or redirecting outside contoso.com is flagged; inside it is not."""
    rules = [
        rule("out", forwardTo=to("x@evil.example")),
        rule("attach", forwardAsAttachmentTo=to("x@evil.example")),
        rule("redirect", redirectTo=to("x@evil.example")),
        rule("colleague", forwardTo=to("julia@contoso.com")),
        rule("subdomain", forwardTo=to("ops@eu.contoso.com")),
        rule("lookalike", forwardTo=to("x@contoso.com.evil.example")),
    ]
    assert names(rules) == ["out", "attach", "redirect", "lookalike"]


def test_moving_to_rarely_read_folders_and_deleting_is_suspicious() -> None:
    """Moves to RSS Feeds, Archive or Conversation History, and deleting, are flagged."""
    rules = [
        rule("rss", moveToFolder="F-RSS"),
        rule("archive", moveToFolder="F-ARCH"),
        rule("history", moveToFolder="F-CH"),
        rule("invoices", moveToFolder="F-INV"),
        rule("gone", delete=True),
        rule("really gone", permanentDelete=True),
        rule("important", markImportance="high"),
    ]
    assert names(rules) == ["rss", "archive", "history", "gone", "really gone"]


def test_named_and_punctuation_rules_are_suspicious() -> None:
    """A rule named in the alert, or named only with punctuation, is flagged whatever it does."""
    rules = [rule("."), rule(".."), rule(" - "), rule("Sales"), rule("Named by alert")]
    assert names(rules, "Named by alert") == [".", "..", " - ", "Named by alert"]


def test_read_only_rules_are_never_selected() -> None:
    """Rules the REST API cannot delete are left out, even with `which: all`."""
    locked = {**rule(".", delete=True), "isReadOnly": True}
    chosen = select([locked], RuleSelection.ALL, named=(), domains=DOMAINS, folder_names={})
    assert chosen == []


def test_reasons_say_why_each_rule_was_chosen() -> None:
    """Each selected rule carries every criterion it met."""
    [choice] = select(
        [rule(".", forwardTo=to("x@evil.example"))],
        RuleSelection.SUSPICIOUS,
        named=["."],
        domains=DOMAINS,
        folder_names={},
    )
    assert choice.reasons == (
        "named in the alert",
        "sends mail outside the tenant to x@evil.example",
        "name is only punctuation",
    )


def test_address_checks() -> None:
    """Addresses without a domain are not trusted; names with letters are not punctuation."""
    assert internal("ben@CONTOSO.com", DOMAINS)
    assert not internal("ben", DOMAINS)
    assert only_punctuation("")
    assert not only_punctuation("a.")
