"""GET /v1/incidents and /v1/incidents/{id}; one decision for an incident's pending actions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request

from riposte.api.auth import Permission, deny, require
from riposte.api.context import ApiContext, api_context
from riposte.api.errors import Problem
from riposte.api.routes.approvals import REFUSALS, Approve, Reject
from riposte.api.tokens import Principal
from riposte.errors import NotPermitted
from riposte.incidents.models import IncidentView
from riposte.incidents.operations import IncidentDecision, decide_all

router = APIRouter(prefix="/v1", tags=["incidents"])

# An incident decision also answers 404 for an unknown incident (found by tests/test_api_fuzz).
_DECISION_REFUSALS = {**REFUSALS, 404: {"model": Problem, "description": "no such incident"}}
Reader = Annotated[Principal, Depends(require(Permission.READ_RESPONSES))]
Decider = Annotated[Principal, Depends(require(Permission.DECIDE))]
Context = Annotated[ApiContext, Depends(api_context)]
Limit = Annotated[int, Query(ge=1, le=1000)]


@router.get(
    "/incidents",
    responses={401: {"model": Problem}, 403: {"model": Problem}, 422: {"model": Problem}},
)
async def list_incidents(_: Reader, ctx: Context, limit: Limit = 50) -> list[IncidentView]:
    """Incidents, the one with the latest alert first: each with its key, status, accounts,
    devices, attacker IPs, alert count and response ids."""
    return await ctx.service.incidents.list(limit)


@router.get(
    "/incidents/{incident_id}",
    responses={401: {"model": Problem}, 403: {"model": Problem}, 404: {"model": Problem}},
)
async def get_incident(incident_id: str, _: Reader, ctx: Context) -> IncidentView:
    """One incident."""
    return await ctx.service.incidents.view(incident_id)


@router.post("/incidents/{incident_id}/approve", responses=_DECISION_REFUSALS)
async def approve_incident(
    incident_id: str,
    request: Request,
    principal: Decider,
    ctx: Context,
    body: Annotated[Approve | None, Body()] = None,
) -> IncidentDecision:
    """Approve every pending action of the incident, each recorded under the caller."""
    return await _decide(ctx, request, principal, incident_id, True, body.comment if body else "")


@router.post("/incidents/{incident_id}/reject", responses=_DECISION_REFUSALS)
async def reject_incident(
    incident_id: str, request: Request, body: Reject, principal: Decider, ctx: Context
) -> IncidentDecision:
    """Reject every pending action of the incident, with a reason."""
    return await _decide(ctx, request, principal, incident_id, False, body.comment, body.reason)


async def _decide(
    ctx: ApiContext,
    request: Request,
    principal: Principal,
    incident_id: str,
    approve: bool,
    comment: str,
    reason: str = "",
) -> IncidentDecision:
    incident = await ctx.service.incidents.view(incident_id)
    try:
        return await decide_all(
            ctx.service,
            incident,
            approve=approve,
            by=principal.name,
            comment=comment,
            reason=reason,
        )
    except NotPermitted as err:  # the alerts' own sender: refused, and audited
        await deny(ctx, request, err, principal)
        raise
