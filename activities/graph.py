"""Microsoft Graph actions: sign-in, sessions, inbox rules and mail quarantine.

Each activity validates its input before any call, reads the current state, and either
describes the change (simulate) or makes it. Before a write it records what it saw in its
heartbeat (`riposte.tenant.progress`), so a retry after the write landed still reverts to the
state before Riposte acted.
"""

from __future__ import annotations

import json
from typing import Any

from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.user import User
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.graph_service_client import GraphServiceClient
from temporalio import activity

from riposte.actions import (
    ActionInput,
    ActionName,
    ActionResult,
    RevertInput,
    RevertState,
    SavedRule,
)
from riposte.settings import TenantSettings
from riposte.tenant import progress, quarantine, selection, validation
from riposte.tenant.errors import refuse, translated
from riposte.tenant.mailbox import Mailbox, creatable
from riposte.tenant.outcome import outcome, quoted

_RULES = "/mailFolders/inbox/messageRules"


class GraphActivities:
    """Every Graph action and its revert, on one msgraph client."""

    def __init__(self, graph: GraphServiceClient, tenant: TenantSettings) -> None:
        self.graph = graph
        self.tenant = tenant

    # Sign-in

    @activity.defn(name="disable_sign_in")
    async def disable_sign_in(self, request: ActionInput) -> ActionResult:
        validation.action(ActionName.DISABLE_SIGN_IN, request.action)
        upn = validation.user(request.target)
        earlier = progress.recall()
        enabled = await self._enabled(upn)
        was_enabled = enabled
        if earlier is not None and earlier.was_enabled is not None:
            was_enabled = earlier.was_enabled
        call = f"PATCH /users/{upn} accountEnabled=false"
        if request.simulate:
            if not enabled:
                summary = f"sign-in for {upn} is already disabled; would change nothing"
                return outcome(request, changed=False, summary=summary)
            summary = f"would disable sign-in for {upn} (currently enabled)"
            return outcome(request, changed=False, summary=summary, calls=[call])
        revert = RevertState(was_enabled=was_enabled)
        if not enabled:
            if was_enabled:
                summary = f"disabled sign-in for {upn} (applied by an earlier attempt)"
                return outcome(request, changed=True, summary=summary, revert=revert)
            summary = f"sign-in for {upn} was already disabled; nothing changed"
            return outcome(request, changed=False, summary=summary, revert=revert)
        progress.remember(revert)
        with translated(f"disabling sign-in for {upn}"):
            await self.graph.users.by_user_id(upn).patch(User(account_enabled=False))
        summary = f"disabled sign-in for {upn}"
        return outcome(request, changed=True, summary=summary, calls=[call], revert=revert)

    @activity.defn(name="enable_sign_in")
    async def enable_sign_in(self, request: RevertInput) -> ActionResult:
        validation.action(ActionName.DISABLE_SIGN_IN, request.action)
        upn = validation.user(request.target)
        if request.revert.was_enabled is None:
            raise refuse(
                f"the revert state does not say whether sign-in for {upn} was enabled before "
                "Riposte acted; not enabling it"
            )
        if not request.revert.was_enabled:
            summary = f"left sign-in for {upn} disabled: it was disabled before Riposte acted"
            return outcome(request, changed=False, summary=summary)
        if await self._enabled(upn):
            summary = f"sign-in for {upn} is already enabled; nothing changed"
            return outcome(request, changed=False, summary=summary)
        with translated(f"enabling sign-in for {upn}"):
            await self.graph.users.by_user_id(upn).patch(User(account_enabled=True))
        call = f"PATCH /users/{upn} accountEnabled=true"
        return outcome(request, changed=True, summary=f"enabled sign-in for {upn}", calls=[call])

    # Sessions

    @activity.defn(name="revoke_sessions")
    async def revoke_sessions(self, request: ActionInput) -> ActionResult:
        validation.action(ActionName.REVOKE_SESSIONS, request.action)
        upn = validation.user(request.target)
        call = f"POST /users/{upn}/revokeSignInSessions"
        if request.simulate:
            enabled = await self._enabled(upn)  # also proves the user exists
            state = "enabled" if enabled else "disabled"
            summary = f"would revoke every sign-in session of {upn} (sign-in currently {state})"
            return outcome(request, changed=False, summary=summary, calls=[call])
        with translated(f"revoking the sign-in sessions of {upn}"):
            await self.graph.users.by_user_id(upn).revoke_sign_in_sessions.post()
        summary = f"revoked every sign-in session of {upn}"
        return outcome(request, changed=True, summary=summary, calls=[call])

    # Inbox rules

    @activity.defn(name="delete_inbox_rules")
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
            chosen = selection.select(
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

    @activity.defn(name="restore_inbox_rules")
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

    # Mail

    @activity.defn(name="quarantine_mail")
    async def quarantine_mail(self, request: ActionInput) -> ActionResult:
        """Move the matching mail into quarantine (see `riposte.tenant.quarantine`)."""
        validation.action(ActionName.QUARANTINE_MAIL, request.action)
        return await quarantine.quarantine(self.graph, self.tenant, request)

    @activity.defn(name="release_mail")
    async def release_mail(self, request: RevertInput) -> ActionResult:
        validation.action(ActionName.QUARANTINE_MAIL, request.action)
        return await quarantine.release(self.graph, request)

    # Reads

    async def _enabled(self, upn: str) -> bool:
        query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
            select=["id", "userPrincipalName", "accountEnabled"]
        )
        with translated(f"reading user {upn}"):
            user = await self.graph.users.by_user_id(upn).get(
                RequestConfiguration(query_parameters=query)
            )
        return user is None or user.account_enabled is not False

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
