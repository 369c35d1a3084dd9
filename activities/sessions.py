"""revoke_sessions: POST /users/{id}/revokeSignInSessions. Harmless to repeat; no revert."""

from __future__ import annotations

from msgraph.graph_service_client import GraphServiceClient

from activities.errors import translated
from activities.outcome import outcome
from activities.sign_in import sign_in_enabled
from riposte.actions import validation
from riposte.actions.catalogue import REVOKE_SESSIONS
from riposte.actions.payloads import ActionInput, ActionName, ActionResult


class SessionActivities:
    """revoke_sessions, on one msgraph client."""

    def __init__(self, graph: GraphServiceClient) -> None:
        self.graph = graph

    @REVOKE_SESSIONS.act.defn
    async def revoke_sessions(self, request: ActionInput) -> ActionResult:
        validation.action(ActionName.REVOKE_SESSIONS, request.action)
        upn = validation.user(request.target)
        call = f"POST /users/{upn}/revokeSignInSessions"
        if request.simulate:
            enabled = await sign_in_enabled(self.graph, upn)  # also proves the user exists
            state = "enabled" if enabled else "disabled"
            summary = f"would revoke every sign-in session of {upn} (sign-in currently {state})"
            return outcome(request, changed=False, summary=summary, calls=[call])
        with translated(f"revoking the sign-in sessions of {upn}"):
            await self.graph.users.by_user_id(upn).revoke_sign_in_sessions.post()
        summary = f"revoked every sign-in session of {upn}"
        return outcome(request, changed=True, summary=summary, calls=[call])
