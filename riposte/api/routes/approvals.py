"""Approvals and releases: an admin's decisions, always in the authenticated principal's name."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field, StringConstraints

from riposte.api.auth import Permission, deny, require
from riposte.api.context import ApiContext, api_context
from riposte.api.errors import Problem
from riposte.api.tokens import Principal
from riposte.errors import Conflict, NotFound, NotPermitted
from riposte.model import Frozen
from riposte.response import ActionView, Decision, Release
from riposte.service import ApprovalRequest

log = structlog.get_logger("riposte.api")
router = APIRouter(prefix="/v1", tags=["approvals"])
NEXT_PAGE_HEADER = "X-Next-Page"
Decider = Annotated[Principal, Depends(require(Permission.DECIDE))]
Context = Annotated[ApiContext, Depends(api_context)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem},
    403: {"model": Problem, "description": "a role that may not decide, or the alert's sender"},
    409: {
        "model": Problem,
        "description": "unknown, already decided or expired (its state), or approved already "
        "by this principal",
    },
    422: {"model": Problem},
}


class ApprovalStatus(StrEnum):
    PENDING = "pending"


class Approve(Frozen):
    """The approver is the caller: a body cannot name anyone else."""

    comment: Text = ""


class Reject(Frozen):
    reason: Annotated[Text, Field(min_length=1)]
    comment: Text = ""


class ReleaseBody(Frozen):
    comment: Text = ""


@router.get(
    "/approvals",
    response_model=list[ApprovalRequest],
    responses={401: {"model": Problem}, 403: {"model": Problem}, 422: {"model": Problem}},
)
async def list_approvals(
    request: Request,
    _: Decider,
    ctx: Context,
    status: ApprovalStatus = ApprovalStatus.PENDING,
    limit: Annotated[int, Query(ge=1, le=1000, description="responses per page")] = 100,
    page: Annotated[str | None, Query(max_length=4096, description="from X-Next-Page")] = None,
) -> JSONResponse:
    """Pending actions, each with its alert, the policies that matched and the response's
    other actions: one page of `limit` responses at a time. When there are more, the
    `X-Next-Page` header (and a `Link: rel="next"`) carries the next page's token."""
    found = await ctx.service.pending_page(limit, page)
    headers: dict[str, str] = {}
    if found.next_page is not None:
        headers[NEXT_PAGE_HEADER] = found.next_page
        following = request.url.include_query_params(page=found.next_page)
        headers["Link"] = f'<{following}>; rel="next"'
    body = [r.model_dump(mode="json") for r in found.requests]
    return JSONResponse(body, headers=headers)


@router.post("/approvals/{action_id:path}/approve", responses=REFUSALS)
async def approve(
    action_id: str,
    request: Request,
    principal: Decider,
    ctx: Context,
    body: Annotated[Approve | None, Body()] = None,
) -> ActionView:
    """Approve a pending action; it runs at once."""
    comment = body.comment if body else ""
    decision = Decision(action_id=action_id, approve=True, by=principal.name, comment=comment)
    return await _decide(ctx, request, principal, decision)


@router.post("/approvals/{action_id:path}/reject", responses=REFUSALS)
async def reject(
    action_id: str, request: Request, body: Reject, principal: Decider, ctx: Context
) -> ActionView:
    """Reject a pending action, with a reason; it never runs."""
    decision = Decision(
        action_id=action_id,
        approve=False,
        by=principal.name,
        comment=body.comment,
        reason=body.reason,
    )
    return await _decide(ctx, request, principal, decision)


@router.post("/actions/{action_id:path}/release", responses=REFUSALS)
async def release(
    action_id: str,
    principal: Decider,
    ctx: Context,
    body: Annotated[ReleaseBody | None, Body()] = None,
) -> ActionView:
    """Revert an executed action now, before its duration runs out."""
    comment = body.comment if body else ""
    request = Release(action_id=action_id, by=principal.name, comment=comment)
    try:
        view = await ctx.service.release(request)
    except NotFound as err:
        raise Conflict(str(err), state="unknown") from err
    log.info("action.released", action_id=action_id, by=principal.name)
    return view


async def _decide(
    ctx: ApiContext, request: Request, principal: Principal, decision: Decision
) -> ActionView:
    try:
        view = await ctx.service.decide(decision)
    except NotFound as err:
        # DESIGN.md: a decision on an unknown action is a 409 too, with its state.
        raise Conflict(str(err), state="unknown") from err
    except NotPermitted as err:  # the alert's own sender: refused, and audited
        await deny(ctx, request, err, principal)
        raise
    log.info(
        "action.decided", action_id=decision.action_id, approve=decision.approve, by=decision.by
    )
    return view
