"""Which inbox rules `delete_inbox_rules {which: suspicious}` removes, and why.

A rule is suspicious when any of these holds:

1. **Named in the alert.** Its display name is one of the alert's `inbox_rules` (exact match,
   ignoring surrounding whitespace).
2. **It sends mail outside the tenant.** An address in `forwardTo`, `forwardAsAttachmentTo` or
   `redirectTo` whose domain is not one of the tenant's domains (or a subdomain of one). An
   address without a domain counts as outside: what cannot be checked is not trusted.
3. **It hides mail.** `moveToFolder` names a rarely read folder: RSS Feeds, RSS Subscriptions,
   Archive, Conversation History, or Deleted Items (where moving equals deleting). The folder id
   is resolved to its display name by the caller; matching ignores case.
4. **It destroys mail.** `delete` or `permanentDelete` is set.
5. **Its name is only punctuation or whitespace**, like the attacker's ".", or is empty.

`which: all` selects every rule. Either way read-only rules are left alone: the rules API cannot
delete them. The input is Graph's own JSON for each rule (camelCase), as saved for the revert.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from riposte.actions.payloads import RuleSelection
from riposte.model import Frozen

RARELY_READ_FOLDERS = frozenset(
    {"rss feeds", "rss subscriptions", "archive", "conversation history", "deleted items"}
)
_SENDING_ACTIONS = ("forwardTo", "forwardAsAttachmentTo", "redirectTo")


class Selected(Frozen):
    """A rule chosen for deletion, with the reasons that chose it."""

    rule: dict[str, Any]
    reasons: tuple[str, ...]

    @property
    def name(self) -> str:
        return str(self.rule.get("displayName") or "")


def select(
    rules: Sequence[Mapping[str, Any]],
    which: RuleSelection,
    *,
    named: Iterable[str],
    domains: Iterable[str],
    folder_names: Mapping[str, str],
) -> list[Selected]:
    """The rules to delete, in their listed order. `folder_names` maps folder ids to names."""
    wanted = {name.strip() for name in named}
    tenant = tuple(domain.lower().strip(".") for domain in domains)
    chosen: list[Selected] = []
    for rule in rules:
        if rule.get("isReadOnly"):
            continue
        if which is RuleSelection.ALL:
            chosen.append(Selected(rule=dict(rule), reasons=("all rules selected",)))
            continue
        reasons = suspicion(rule, wanted, tenant, folder_names)
        if reasons:
            chosen.append(Selected(rule=dict(rule), reasons=reasons))
    return chosen


def suspicion(
    rule: Mapping[str, Any],
    named: set[str],
    domains: tuple[str, ...],
    folder_names: Mapping[str, str],
) -> tuple[str, ...]:
    """Every criterion the rule meets, as short phrases; empty when it looks ordinary."""
    name = str(rule.get("displayName") or "")
    actions: Mapping[str, Any] = rule.get("actions") or {}
    reasons: list[str] = []
    if name.strip() in named:
        reasons.append("named in the alert")
    outside = [address for address in recipients(actions) if not internal(address, domains)]
    if outside:
        reasons.append("sends mail outside the tenant to " + ", ".join(outside))
    folder_id = actions.get("moveToFolder")
    if folder_id:
        folder = folder_names.get(str(folder_id), str(folder_id))
        if folder.strip().lower() in RARELY_READ_FOLDERS:
            reasons.append(f"moves mail to {folder}")
    if actions.get("delete") or actions.get("permanentDelete"):
        reasons.append("deletes mail")
    if only_punctuation(name):
        reasons.append("name is only punctuation")
    return tuple(reasons)


def recipients(actions: Mapping[str, Any]) -> list[str]:
    """The addresses a rule forwards or redirects to."""
    found: list[str] = []
    for key in _SENDING_ACTIONS:
        for recipient in actions.get(key) or ():
            email = (recipient or {}).get("emailAddress") or {}
            found.append(str(email.get("address") or "").strip())
    return found


def internal(address: str, domains: tuple[str, ...]) -> bool:
    """Whether the address is in one of the tenant's domains (or a subdomain of one)."""
    _, at, domain = address.rpartition("@")
    domain = domain.lower().strip()
    if not at or not domain:
        return False
    return any(domain == own or domain.endswith("." + own) for own in domains)


def only_punctuation(name: str) -> bool:
    """True for names made only of punctuation, symbols or whitespace (and for empty names)."""
    return all(unicodedata.category(char)[0] in "PSZ" for char in name)
