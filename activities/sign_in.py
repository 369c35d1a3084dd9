"""disable_sign_in and its revert enable_sign_in: PATCH /users/{id} accountEnabled.

The activity reads the user first; before the write it records what it saw in its heartbeat
(`activities.progress`), so a retry after the write landed still reverts to the state before
Riposte acted.
"""

from __future__ import annotations

from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.user import User
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.graph_service_client import GraphServiceClient

from activities import progress
from activities.errors import translated
from activities.outcome import outcome
from riposte.actions import validation
from riposte.actions.catalogue import DISABLE_SIGN_IN, ENABLE_SIGN_IN
from riposte.actions.payloads import ActionInput, ActionName, ActionResult, RevertInput, RevertState
from riposte.failures import refuse


class SignInActivities:
    """disable_sign_in and enable_sign_in, on one msgraph client."""

    def __init__(self, graph: GraphServiceClient) -> None:
        self.graph = graph

    @DISABLE_SIGN_IN.act.defn
    async def disable_sign_in(self, request: ActionInput) -> ActionResult:
        validation.action(ActionName.DISABLE_SIGN_IN, request.action)
        upn = validation.user(request.target)
        earlier = progress.recall()
        enabled = await sign_in_enabled(self.graph, upn)
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

    @ENABLE_SIGN_IN.defn
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
        if await sign_in_enabled(self.graph, upn):
            summary = f"sign-in for {upn} is already enabled; nothing changed"
            return outcome(request, changed=False, summary=summary)
        with translated(f"enabling sign-in for {upn}"):
            await self.graph.users.by_user_id(upn).patch(User(account_enabled=True))
        call = f"PATCH /users/{upn} accountEnabled=true"
        return outcome(request, changed=True, summary=f"enabled sign-in for {upn}", calls=[call])


async def sign_in_enabled(graph: GraphServiceClient, upn: str) -> bool:
    """Whether the user's sign-in is enabled (reading it also proves the user exists)."""
    query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
        select=["id", "userPrincipalName", "accountEnabled"]
    )
    with translated(f"reading user {upn}"):
        user = await graph.users.by_user_id(upn).get(RequestConfiguration(query_parameters=query))
    return user is None or user.account_enabled is not False
