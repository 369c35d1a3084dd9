"""force_password_change: PATCH /users/{id} passwordProfile.forceChangePasswordNextSignIn=true.

It reads the flag first, so a user already made to change their password is left alone (and a
simulation says so). Not reversible: a forced change cannot be taken back once the user has
made it, and clearing the flag would only hand the attacker's password back its life.
"""

from __future__ import annotations

from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.password_profile import PasswordProfile
from msgraph.generated.models.user import User
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.graph_service_client import GraphServiceClient

from activities.errors import needing, translated
from activities.outcome import outcome
from riposte.actions import validation
from riposte.actions.catalogue import FORCE_PASSWORD_CHANGE
from riposte.actions.payloads import ActionInput, ActionName, ActionResult

NEEDS = FORCE_PASSWORD_CHANGE.graph
USERS = needing(NEEDS, "User.Read.All")
PASSWORD_PROFILE = needing(NEEDS, "User-PasswordProfile.ReadWrite.All")


class PasswordActivities:
    """force_password_change, on one msgraph client."""

    def __init__(self, graph: GraphServiceClient) -> None:
        self.graph = graph

    @FORCE_PASSWORD_CHANGE.act.defn
    async def force_password_change(self, request: ActionInput) -> ActionResult:
        validation.action(ActionName.FORCE_PASSWORD_CHANGE, request.action)
        upn = validation.user(request.target)
        call = f"PATCH /users/{upn} passwordProfile.forceChangePasswordNextSignIn=true"
        if await self._forced(upn):
            summary = f"{upn} must already change their password at next sign-in; " + (
                "would change nothing" if request.simulate else "nothing changed"
            )
            return outcome(request, changed=False, summary=summary)
        if request.simulate:
            summary = f"would make {upn} change their password at next sign-in (not forced now)"
            return outcome(request, changed=False, summary=summary, calls=[call])
        profile = PasswordProfile(force_change_password_next_sign_in=True)
        with translated(f"forcing a password change for {upn}", PASSWORD_PROFILE):
            await self.graph.users.by_user_id(upn).patch(User(password_profile=profile))
        summary = f"{upn} must change their password at next sign-in"
        return outcome(request, changed=True, summary=summary, calls=[call])

    async def _forced(self, upn: str) -> bool:
        query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
            select=["id", "userPrincipalName", "passwordProfile"]
        )
        with translated(f"reading the password profile of {upn}", USERS):
            user = await self.graph.users.by_user_id(upn).get(
                RequestConfiguration(query_parameters=query)
            )
        profile = user.password_profile if user is not None else None
        return profile is not None and profile.force_change_password_next_sign_in is True
