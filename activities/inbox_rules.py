"""delete_inbox_rules and its revert restore_inbox_rules: GET, DELETE and POST .../messageRules.

Which rules are the attacker's is decided purely (`riposte.actions.rule_selection`); each chosen
rule is saved whole, and the saved set recorded in the heartbeat, before any deletion, so the
revert re-creates exactly what was deleted, even after a retry.
"""

from __future__ import annotations

import json
from typing import Any

from msgraph.graph_service_client import GraphServiceClient

from activities import progress
from activities.errors import translated
from activities.mailbox import Mailbox, creatable
from activities.outcome import outcome, quoted
from riposte.actions import rule_selection, validation
from riposte.actions.catalogue import DELETE_INBOX_RULES, RESTORE_INBOX_RULES
from riposte.actions.payloads import (
    ActionInput,
    ActionName,
    ActionResult,
    RevertInput,
    RevertState,
    SavedRule,
)
from riposte.settings import TenantSettings

_RULES = "/mailFolders/inbox/messageRules"


class InboxRuleActivities:
    """delete_inbox_rules and restore_inbox_rules, on one msgraph client."""

    def __init__(self, graph: GraphServiceClient, tenant: TenantSettings) -> None:
        self.graph = graph
        self.tenant = tenant

    @DELETE_INBOX_RULES.act.defn
    async def delete_inbox_rules(self, request: ActionInput) -> ActionResult:
        validation.action(ActionName.DELETE_INBOX_RULES, request.action)
        upn = validation.user(request.target)
        earlier = progress.recall()
        box = Mailbox(self.graph, upn)
        with translated(f"reading the inbox rules of {upn}"):
            rules = await box.rules()
            folders = await self._folder_names(box, rules)
        present = {str(rule.get("id")) for rule in rules}
        if earlier is not None and earlier.rules:
            saved = earlier.rules  # an earlier attempt chose these, and may have deleted some
            gone = sum(1 for kept in saved if str(kept.rule.get("id")) not in present)
            total, why = len(rules) + gone, ""
        else:
            chosen = rule_selection.select(
                rules,
                request.params.which,
                named=request.params.rule_names,
                domains=self.tenant.domains,
                folder_names=folders,
            )
            saved = tuple(SavedRule(user=upn, rule=choice.rule) for choice in chosen)
            total = len(rules)
            why = "; ".join(f"'{c.name}' {', '.join(c.reasons)}" for c in chosen)
        pending = [kept for kept in saved if str(kept.rule.get("id")) in present]
        names = quoted(str(kept.rule.get("displayName") or "") for kept in saved)
        calls = [f"DELETE /users/{upn}{_RULES}/{kept.rule.get('id')}" for kept in pending]
        reasons = f" ({why})" if why else ""
        if not saved:
            summary = f"no inbox rule of {upn} looks like the attacker's ({total} checked)"
            summary += "; would change nothing" if request.simulate else "; nothing changed"
            return outcome(request, changed=False, summary=summary)
        if request.simulate:
            summary = f"would delete {len(saved)} of {total} inbox rules: {names}{reasons}"
            return outcome(request, changed=False, summary=summary, calls=calls)
        revert = RevertState(rules=saved)
        progress.remember(revert)
        for kept in pending:
            with translated(f"deleting inbox rule '{kept.rule.get('displayName')}' of {upn}"):
                await box.delete_rule(str(kept.rule.get("id")))
        summary = f"deleted {len(saved)} of {total} inbox rules: {names}{reasons}"
        return outcome(request, changed=True, summary=summary, calls=calls, revert=revert)

    @RESTORE_INBOX_RULES.defn
    async def restore_inbox_rules(self, request: RevertInput) -> ActionResult:
        validation.action(ActionName.DELETE_INBOX_RULES, request.action)
        validation.user(request.target)
        restored: list[str] = []
        calls: list[str] = []
        already = 0
        for user in dict.fromkeys(kept.user for kept in request.revert.rules):
            upn = validation.user(user)
            box = Mailbox(self.graph, upn)
            with translated(f"reading the inbox rules of {upn}"):
                existing = {_signature(rule) for rule in await box.rules()}
            for kept in request.revert.rules:
                if kept.user != user:
                    continue
                if _signature(kept.rule) in existing:
                    already += 1
                    continue
                name = str(kept.rule.get("displayName") or "")
                with translated(f"re-creating inbox rule '{name}' of {upn}"):
                    await box.create_rule(kept.rule)
                existing.add(_signature(kept.rule))
                restored.append(name)
                calls.append(f"POST /users/{upn}{_RULES} displayName='{name}'")
        summary = f"re-created {len(restored)} inbox rules: {quoted(restored)}"
        if not restored:
            summary = "no inbox rule to re-create"
        if already:
            summary += f" ({already} already in place)"
        return outcome(request, changed=bool(restored), summary=summary, calls=calls)

    async def _folder_names(self, box: Mailbox, rules: list[dict[str, Any]]) -> dict[str, str]:
        """The display names of the folders the rules move mail to."""
        ids = {str((rule.get("actions") or {}).get("moveToFolder") or "") for rule in rules}
        names: dict[str, str] = {}
        for folder_id in sorted(ids - {""}):
            name = await box.folder_name(folder_id)
            if name is not None:
                names[folder_id] = name
        return names


def _signature(rule: dict[str, Any]) -> str:
    """What makes two rules the same rule: name, conditions, exceptions and actions."""
    body = creatable(rule)
    keys = ("displayName", "conditions", "exceptions", "actions")
    return json.dumps({key: body.get(key) for key in keys}, sort_keys=True)
