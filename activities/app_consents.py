"""revoke_app_consents {granted_within} and its revert restore_app_consents: the user's recent
oauth2PermissionGrants, saved and deleted, then re-created from the saved copy.

Graph's grants carry no time, so "recent" comes from the directory audit: the user's "Consent to
application" events from `granted_within` before the alert (`ActionParams.since`) onwards name
the apps (service principals) consented; the user's grants to those apps are the ones revoked.
Each grant is saved whole, in the heartbeat before any deletion, so the revert re-creates
exactly what was deleted, even after a retry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.audit_logs.directory_audits.directory_audits_request_builder import (
    DirectoryAuditsRequestBuilder,
)
from msgraph.generated.models.o_auth2_permission_grant import OAuth2PermissionGrant
from msgraph.generated.oauth2_permission_grants.oauth2_permission_grants_request_builder import (
    Oauth2PermissionGrantsRequestBuilder,
)
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.graph_service_client import GraphServiceClient

from activities import progress
from activities.errors import needing, status_of, translated
from activities.mailbox import from_json, to_json
from activities.outcome import outcome
from riposte.actions import validation
from riposte.actions.catalogue import RESTORE_APP_CONSENTS, REVOKE_APP_CONSENTS
from riposte.actions.payloads import (
    ActionInput,
    ActionName,
    ActionResult,
    RevertInput,
    RevertState,
    SavedGrant,
)
from riposte.failures import refuse

NEEDS = REVOKE_APP_CONSENTS.graph
USERS = needing(NEEDS, "User.Read.All")
GRANTS = needing(NEEDS, "DelegatedPermissionGrant.ReadWrite.All")
AUDIT = needing(NEEDS, "AuditLog.Read.All")
CONSENT = "Consent to application"
_CREATABLE = ("clientId", "consentType", "principalId", "resourceId", "scope")


class AppConsentActivities:
    """revoke_app_consents and restore_app_consents, on one msgraph client."""

    def __init__(self, graph: GraphServiceClient) -> None:
        self.graph = graph

    @REVOKE_APP_CONSENTS.act.defn
    async def revoke_app_consents(self, request: ActionInput) -> ActionResult:
        validation.action(ActionName.REVOKE_APP_CONSENTS, request.action)
        upn = validation.user(request.target)
        since = request.params.since
        if since is None:
            raise refuse("revoke_app_consents needs the window's start (granted_within)")
        user_id = await self._user_id(upn)
        grants = await self._grants(user_id, upn)
        earlier = progress.recall()
        if earlier is not None and earlier.grants:
            saved = earlier.grants  # an earlier attempt chose these, and may have deleted some
        else:
            apps = await self._consented_since(user_id, upn, since)
            saved = tuple(
                SavedGrant(user=upn, grant=grant, app=apps[str(grant.get("clientId"))])
                for grant in grants
                if str(grant.get("clientId")) in apps
            )
        present = {str(grant.get("id")) for grant in grants}
        pending = [kept for kept in saved if str(kept.grant.get("id")) in present]
        window = f"consented since {since.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        names = ", ".join(_describe(kept) for kept in saved)
        calls = [f"DELETE /oauth2PermissionGrants/{kept.grant.get('id')}" for kept in pending]
        if not saved:
            summary = f"no app consent of {upn} was {window} ({len(grants)} grants checked)"
            summary += "; would change nothing" if request.simulate else "; nothing changed"
            return outcome(request, changed=False, summary=summary)
        total = len(grants) + len(saved) - len(pending)
        if request.simulate:
            summary = f"would revoke {len(saved)} of {total} app consents of {upn} {window}: "
            return outcome(request, changed=False, summary=summary + names, calls=calls)
        revert = RevertState(grants=saved)
        progress.remember(revert)
        for kept in pending:
            grant_id = str(kept.grant.get("id"))
            with translated(f"revoking the consent of {upn} to {kept.app}", GRANTS):
                try:
                    await self.graph.oauth2_permission_grants.by_o_auth2_permission_grant_id(
                        grant_id
                    ).delete()
                except Exception as err:
                    if status_of(err) != 404:
                        raise
        summary = f"revoked {len(saved)} of {total} app consents of {upn} {window}: {names}"
        return outcome(request, changed=True, summary=summary, calls=calls, revert=revert)

    @RESTORE_APP_CONSENTS.defn
    async def restore_app_consents(self, request: RevertInput) -> ActionResult:
        validation.action(ActionName.REVOKE_APP_CONSENTS, request.action)
        validation.user(request.target)
        restored: list[str] = []
        calls: list[str] = []
        already = 0
        for user in dict.fromkeys(kept.user for kept in request.revert.grants):
            upn = validation.user(user)
            existing = {_signature(g) for g in await self._grants(await self._user_id(upn), upn)}
            for kept in request.revert.grants:
                if kept.user != user:
                    continue
                if _signature(kept.grant) in existing:
                    already += 1
                    continue
                body = from_json(
                    {key: kept.grant.get(key) for key in _CREATABLE},
                    OAuth2PermissionGrant,
                )
                with translated(f"re-creating the consent of {upn} to {kept.app}", GRANTS):
                    await self.graph.oauth2_permission_grants.post(body)
                existing.add(_signature(kept.grant))
                restored.append(_describe(kept))
                calls.append(f"POST /oauth2PermissionGrants clientId={kept.grant.get('clientId')}")
        summary = f"re-created {len(restored)} app consents: {', '.join(restored)}"
        if not restored:
            summary = "no app consent to re-create"
        if already:
            summary += f" ({already} already in place)"
        return outcome(request, changed=bool(restored), summary=summary, calls=calls)

    # Reads

    async def _user_id(self, upn: str) -> str:
        query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(select=["id"])
        with translated(f"reading user {upn}", USERS):
            user = await self.graph.users.by_user_id(upn).get(
                RequestConfiguration(query_parameters=query)
            )
        if user is None or not user.id:
            raise refuse(f"no user {upn} in the tenant")
        return str(user.id)

    async def _grants(self, user_id: str, upn: str) -> list[dict[str, Any]]:
        """The user's delegated permission grants, each as Graph's JSON."""
        query = Oauth2PermissionGrantsRequestBuilder.Oauth2PermissionGrantsRequestBuilderGetQueryParameters(  # noqa: E501
            filter=f"principalId eq '{user_id}'"
        )
        builder = self.graph.oauth2_permission_grants
        found: list[dict[str, Any]] = []
        with translated(f"listing the app consents of {upn}", GRANTS):
            page = await builder.get(RequestConfiguration(query_parameters=query))
            while page is not None:
                found.extend(to_json(grant) for grant in page.value or [])
                if not page.odata_next_link:
                    break
                page = await builder.with_url(page.odata_next_link).get()
        return found

    async def _consented_since(self, user_id: str, upn: str, since: datetime) -> dict[str, str]:
        """The apps (client service principal id -> name) the user consented to since `since`."""
        when = since.strftime("%Y-%m-%dT%H:%M:%SZ")
        query = DirectoryAuditsRequestBuilder.DirectoryAuditsRequestBuilderGetQueryParameters(
            filter=f"activityDisplayName eq '{CONSENT}' and initiatedBy/user/id eq '{user_id}' "
            f"and activityDateTime ge {when}"
        )
        builder = self.graph.audit_logs.directory_audits
        apps: dict[str, str] = {}
        with translated(f"reading the consent audit of {upn}", AUDIT):
            page = await builder.get(RequestConfiguration(query_parameters=query))
            while page is not None:
                for event in page.value or []:
                    for target in (event.target_resources or [])[:1]:
                        if target.id:
                            apps[str(target.id)] = str(target.display_name or target.id)
                if not page.odata_next_link:
                    break
                page = await builder.with_url(page.odata_next_link).get()
        return apps


def _describe(kept: SavedGrant) -> str:
    return f"'{kept.app}' ({kept.grant.get('scope') or 'no scope'})"


def _signature(grant: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(grant.get(key) for key in ("clientId", "principalId", "resourceId", "scope"))
